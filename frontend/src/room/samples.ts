// samples.ts - a problem's sample tests as text the candidate reads: a
// function call and its answer, a design problem's call sequence, or the
// argument a `result_arg` function changes in place.
import type { Problem, Sample } from '../lib/protocol';

export interface DesignArgs {
	calls: string[];
	args: unknown[][];
}

export function isDesignArgs(a: unknown): a is DesignArgs {
	return (
		!!a &&
		typeof a === 'object' &&
		!Array.isArray(a) &&
		Array.isArray((a as DesignArgs).calls) &&
		Array.isArray((a as DesignArgs).args)
	);
}

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** The lines that show one sample test. */
export function sampleLines(p: Pick<Problem, 'signature'>, s: Sample): string[] {
	const args: unknown = s.args;
	if (isDesignArgs(args)) {
		const expected = Array.isArray(s.expected) ? s.expected : [];
		return args.calls.map((call, i) => {
			const a = Array.isArray(args.args[i]) ? args.args[i]! : [];
			const r = expected[i];
			return `${call}(${a.map(show).join(', ')})${r === null || r === undefined ? '' : ` → ${show(r)}`}`;
		});
	}
	const list = Array.isArray(args) ? args : [args];
	const call = `${p.signature?.entry ?? 'f'}(${list.map(show).join(', ')})`;
	const ra = p.signature?.result_arg;
	if (typeof ra === 'number') {
		const name = p.signature?.params?.[ra] ?? `argument ${ra + 1}`;
		return [call, `${name} afterwards: ${show(s.expected)}`];
	}
	return [call, `→ ${show(s.expected)}`];
}

/** Whether the statement already carries worked examples (then the samples are folded away). */
export function statementHasExamples(statement: string): boolean {
	return /^\s*(\*\*Examples?\b|#+\s*Examples?\b)/im.test(statement);
}

/** A test's arguments on one line: an argument list, or a design test's calls. */
export function argsText(args: unknown): string {
	if (isDesignArgs(args))
		return args.calls
			.map((c, i) => `${c}(${(Array.isArray(args.args[i]) ? args.args[i]! : []).map(show).join(', ')})`)
			.join(', ');
	return Array.isArray(args) ? args.map(show).join(', ') : show(args);
}
