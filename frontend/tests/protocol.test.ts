// protocol.ts against docs/protocol.md (STYLE rule 10: the frontend's
// message constants are checked against the specification).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLOSE, ERROR_CODES, MESSAGE_TYPES } from '../src/lib/protocol';

const md = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');

describe('protocol.ts matches docs/protocol.md', () => {
	it('message types: the Seats table', () => {
		const table = md.slice(md.indexOf('| message | client may send'), md.indexOf('Every message has `t`'));
		const names = new Set<string>();
		for (const line of table.split('\n').slice(2)) {
			const cell = line.split('|')[1] ?? '';
			for (const m of cell.matchAll(/`([a-z.]+)`/g)) names.add(m[1]!);
		}
		expect([...names].sort()).toEqual([...MESSAGE_TYPES].sort());
	});
	it('close codes', () => {
		const table = md.slice(md.indexOf('| close code | meaning |'));
		const codes = [...table.matchAll(/^\| (\d{4}) \|/gm)].map((m) => Number(m[1]));
		expect(codes.sort()).toEqual(Object.values(CLOSE).sort());
	});
	it('error codes', () => {
		const para = md.slice(md.indexOf('Codes:\n'), md.indexOf('| close code'));
		const codes = new Set([...para.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!));
		for (const c of ERROR_CODES) expect(codes, c).toContain(c);
	});
});
