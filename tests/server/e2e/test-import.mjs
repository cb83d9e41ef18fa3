// test-import.mjs - `tandem problems import`: what it stores and refuses
// when it reads problems on several threads and stores them over two
// pipelined connections (server/problems-cli.c).
//
// Every problem is a folder written here, with ids of this run only, so the
// shared database is read through `tandem problems list --json` without
// minding what other files stored.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { PG, TANDEM_BIN, migrate, requirements } from './harness.mjs';

await requirements();
await migrate();

const RUN = crypto.randomBytes(3).toString('hex');
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-import-'));
after(() => fs.rmSync(DIR, { recursive: true, force: true }));

// A valid problem folder: inc(x) = x + k, one sample and `hidden` hidden tests.
function problem(dir, id, { k = 1, hidden = 10, title = 'Increment' } = {}) {
	fs.mkdirSync(path.join(dir, 'tests'), { recursive: true });
	fs.writeFileSync(
		path.join(dir, 'problem.yaml'),
		`id: ${id}\ntitle: ${title}\ndifficulty: easy\ntags: [math]\nstatement: Return x + ${k}.\n` +
			`signature: {kind: function, entry: inc}\nstarter: |\n  def inc(x):\n      ...\n`,
	);
	const line = (name, x) => JSON.stringify({ name, args: [x], expected: x + k });
	fs.writeFileSync(path.join(dir, 'tests', 'sample.jsonl'), `${line('s', 0)}\n`);
	fs.writeFileSync(
		path.join(dir, 'tests', 'hidden.jsonl'),
		Array.from({ length: hidden }, (_, i) => line(`h${i}`, i * 3)).join('\n') + '\n',
	);
}

function tandem(...args) {
	const r = spawnSync(TANDEM_BIN, ['problems', ...args], { encoding: 'utf8' });
	return { status: r.status, out: r.stdout, err: r.stderr };
}
const imp = (...paths) => tandem('import', '--pg', PG, ...paths);

// The stored problems of this run: id -> revision.
function stored() {
	const r = tandem('list', '--pg', PG, '--json');
	assert.equal(r.status, 0, r.err);
	const m = {};
	for (const l of r.out.split('\n').filter(Boolean)) {
		const p = JSON.parse(l);
		if (p.id.includes(RUN)) m[p.id] = p.revision;
	}
	return m;
}

function psql(sql) {
	const r = spawnSync('psql', [PG, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' });
	assert.equal(r.status, 0, `psql: ${r.stderr}`);
}

test('valid problems are stored; a broken one and both holders of a duplicate id are not', () => {
	const bank = path.join(DIR, 'bank');
	problem(path.join(bank, 'a'), `imp-${RUN}-a`);
	problem(path.join(bank, 'b'), `imp-${RUN}-b`, { k: 2 });
	problem(path.join(bank, 'c'), `imp-${RUN}-c`);
	fs.appendFileSync(path.join(bank, 'c', 'problem.yaml'), 'limits: {cpu_ms: [\n');
	problem(path.join(bank, 'd1'), `imp-${RUN}-d`);
	problem(path.join(bank, 'd2'), `imp-${RUN}-d`);
	const r = imp(bank);
	assert.equal(r.status, 1, r.out + r.err);
	assert.match(r.err, /c\/problem\.yaml:\d+/);
	assert.match(r.err, new RegExp(`duplicate id 'imp-${RUN}-d'`));
	assert.match(r.out, new RegExp(`stored imp-${RUN}-a revision 1\\nstored imp-${RUN}-b revision 1\\n`));
	assert.match(r.out, /2 stored, 0 unchanged, 2 refused/);
	assert.deepEqual(stored(), { [`imp-${RUN}-a`]: 1, [`imp-${RUN}-b`]: 1 });
});

test('an unchanged problem keeps its revision; a changed one gets the next', () => {
	const bank = path.join(DIR, 'bank2');
	problem(path.join(bank, 'e'), `imp-${RUN}-e`);
	problem(path.join(bank, 'f'), `imp-${RUN}-f`);
	assert.equal(imp(bank).status, 0);
	let r = imp(bank);
	assert.equal(r.status, 0, r.err);
	assert.match(r.out, /0 stored, 2 unchanged, 0 refused/);
	problem(path.join(bank, 'f'), `imp-${RUN}-f`, { title: 'Increment, again' });
	r = imp(bank);
	assert.equal(r.status, 0, r.err);
	assert.match(r.out, new RegExp(`unchanged imp-${RUN}-e revision 1\\nstored imp-${RUN}-f revision 2\\n`));
	const s = stored();
	assert.equal(s[`imp-${RUN}-e`], 1);
	assert.equal(s[`imp-${RUN}-f`], 2);
});

test('forty problems at once: all stored, reported in path order', () => {
	const bank = path.join(DIR, 'many');
	const ids = Array.from({ length: 40 }, (_, i) => `imp-${RUN}-m${String(i).padStart(2, '0')}`);
	// Sizes differ so the two connections get different shares.
	ids.forEach((id, i) => problem(path.join(bank, id), id, { hidden: 10 + ((i * 37) % 300) }));
	const r = imp(bank);
	assert.equal(r.status, 0, r.err);
	const lines = r.out.split('\n').filter((l) => l.startsWith('stored '));
	assert.deepEqual(
		lines,
		ids.map((id) => `stored ${id} revision 1`),
	);
	const s = stored();
	for (const id of ids) assert.equal(s[id], 1, id);
});

test('a problem the database refuses is not stored, and those queued after it on its connection are', () => {
	const bank = path.join(DIR, 'refused');
	const ids = Array.from({ length: 8 }, (_, i) => `imp-${RUN}-r${i}`);
	ids.forEach((id) => problem(path.join(bank, id), id));
	const fn = `imp_refuse_${RUN}`;
	psql(
		`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
			`RAISE EXCEPTION 'refused by the test'; END $$; ` +
			`CREATE TRIGGER ${fn} BEFORE INSERT ON problems FOR EACH ROW ` +
			`WHEN (NEW.id IN ('${ids[1]}', '${ids[2]}')) EXECUTE FUNCTION ${fn}()`,
	);
	let r;
	try {
		r = imp(bank);
	} finally {
		psql(`DROP TRIGGER ${fn} ON problems; DROP FUNCTION ${fn}()`);
	}
	assert.equal(r.status, 1, r.out + r.err);
	assert.match(r.err, new RegExp(`${ids[1]}: not stored: ERROR:  refused by the test`));
	assert.match(r.err, new RegExp(`${ids[2]}: not stored: ERROR:  refused by the test`));
	assert.match(r.out, /6 stored, 0 unchanged, 0 refused/);
	const s = stored();
	for (const [i, id] of ids.entries()) assert.equal(s[id], i === 1 || i === 2 ? undefined : 1, id);
	// Nothing of a refused problem is left behind: importing again stores it whole.
	r = imp(bank);
	assert.equal(r.status, 0, r.err);
	assert.match(r.out, /2 stored, 6 unchanged, 0 refused/);
});
