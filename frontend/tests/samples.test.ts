// samples.ts: how a sample test reads in the Problem pane.
import { describe, expect, it } from 'vitest';
import { argsText, sampleLines, statementHasExamples } from '../src/room/samples';

describe('sampleLines', () => {
	it('a function call and its answer', () => {
		const p = { signature: { kind: 'function', entry: 'pair_sum', params: ['nums', 'target'] } };
		expect(sampleLines(p, { name: 's', args: [[2, 7], 9], expected: [0, 1] })).toEqual([
			'pair_sum([2,7], 9)',
			'→ [0,1]',
		]);
	});
	it('a design problem: one line per call, null results left out', () => {
		const p = { signature: { kind: 'class', entry: 'LRUCache', params: [] } };
		const s = {
			name: 's',
			args: { calls: ['LRUCache', 'put', 'get'], args: [[2], [1, 1], [1]] },
			expected: [null, null, 1],
		};
		expect(sampleLines(p, s)).toEqual(['LRUCache(2)', 'put(1, 1)', 'get(1) → 1']);
	});
	it('a result_arg problem: the argument afterwards, no return value', () => {
		const p = { signature: { kind: 'function', entry: 'move_zeros', params: ['nums'], result_arg: 0 } };
		expect(sampleLines(p, { name: 's', args: [[0, 1]], expected: [1, 0] })).toEqual([
			'move_zeros([0,1])',
			'nums afterwards: [1,0]',
		]);
	});
});

describe('statementHasExamples', () => {
	it('finds bold and heading examples, not the word in prose', () => {
		expect(statementHasExamples('Do it.\n\n**Example 1**\n\n```\nx\n```')).toBe(true);
		expect(statementHasExamples('## Examples\n')).toBe(true);
		expect(statementHasExamples('For example, return 0.')).toBe(false);
	});
});

describe('argsText', () => {
	it('an argument list and a design test', () => {
		expect(argsText([[1, 2], 3])).toBe('[1,2], 3');
		expect(argsText({ calls: ['LRUCache', 'get'], args: [[2], [1]] })).toBe('LRUCache(2), get(1)');
	});
});
