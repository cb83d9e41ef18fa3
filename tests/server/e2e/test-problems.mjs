// test-problems.mjs - problems in a room: the problem on join and on change,
// starter code only into an empty document, Run tests and Submit streaming
// run.test with hidden tests redacted everywhere a browser can read (messages,
// timeline, submissions REST), the refusals, and the admin's problem routes.
//
// The fixtures of tests/problems are imported with `tandem problems import`.
// Runs need the judge (root): when it is down this file skips (77) locally
// and fails in CI.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { CI, PG, REPO, TANDEM_BIN, Tandem, converge, requirements } from './harness.mjs';

await requirements();

let srv;
let judgeDown = null;
before(async () => {
	srv = await Tandem.start();
	execFileSync(TANDEM_BIN, ['problems', 'import', '--pg', PG, path.join(REPO, 'tests', 'problems')], {
		stdio: ['ignore', 'ignore', 'inherit'],
	});
});
after(async () => {
	await srv?.stop();
	if (judgeDown && !CI) {
		console.error(`SKIP: the judge is down: ${judgeDown}`);
		process.exit(77);
	}
});

const HASH = `def pair_sum(nums, target):
    seen = {}
    for i, x in enumerate(nums):
        if target - x in seen:
            return [seen[target - x], i]
        seen[x] = i
`;

// Prints, writes and raises what it was given, and returns it: nothing of a
// hidden test may reach a browser anyway.
const LEAKY = `import sys, os
def pair_sum(nums, target):
    print("ARGS", nums, target)
    sys.stderr.write("ERR %r\\n" % (nums,))
    os.write(1, ("RAW %r\\n" % (nums,)).encode())
    if len(nums) == 5:
        raise ValueError("SECRET %r" % (nums,))
    return nums
`;

// Looks for the harness's request (all the tests the sandbox was given) on
// the stack and among live objects, and prints it as a sample's output.
const SNOOP = `import sys, gc
def pair_sum(nums, target):
    for o in gc.get_objects():
        if isinstance(o, dict) and "tests" in o and "mode" in o:
            print("REQ", o["tests"])
    f = sys._getframe()
    while f:
        for v in list(f.f_locals.values()):
            if isinstance(v, (list, dict)):
                print("FRAME", v)
        f = f.f_back
    return [0, 1]
`;

// Text that only pair-sum's hidden tests hold (args and expected values).
const HIDDEN_MARKERS = ['-1, -2, -3', '-1,-2,-3', '1000000001', '59998', '[0, 4, 3, 0]', '[0,4,3,0]'];

function assertNoHidden(what, value) {
	const s = typeof value === 'string' ? value : JSON.stringify(value);
	for (const m of HIDDEN_MARKERS) assert.ok(!s.includes(m), `${what} leaks hidden text ${m}: ${s.slice(0, 500)}`);
}

async function room2(problem = 'pair-sum') {
	const room = await srv.createRoom(problem ? { problem } : {});
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	return { room, iv, cand };
}

function setText(c, text) {
	c.edit((d) => {
		if (d.length) d.delete(0, d.length);
		d.insert(0, text);
	});
}

// A run of mode from c; resolves {started, tests, result} as seen by each of clients.
async function run(c, clients, body) {
	const id = c.send({ t: 'run', ...body });
	const first = await c.next(
		(x) => x.msg && ((x.msg.t === 'run.started' && x.msg.id === id) || (x.msg.t === 'error' && x.msg.id === id)),
		`run.started or an error for ${id}`,
		{ timeout: 20000 },
	);
	if (first.msg.t === 'error') {
		if (first.msg.code === 'judge_down') {
			judgeDown = first.msg.message || 'judge_down';
			if (CI) assert.fail(`the judge is down in CI: ${JSON.stringify(first.msg)}`);
			return null;
		}
		return { error: first.msg };
	}
	const runId = first.msg.run;
	const seen = await Promise.all(
		clients.map(async (k) => {
			const result = await k.msg('run.result', (x) => x.run === runId, { timeout: 60000 });
			const tests = k.inbox.filter((x) => x.msg && x.msg.t === 'run.test' && x.msg.run === runId).map((x) => x.msg);
			k.inbox = k.inbox.filter((x) => !(x.msg && x.msg.t === 'run.test' && x.msg.run === runId));
			return { tests, result };
		}),
	);
	return { started: first.msg, seen };
}

test('every seat gets the problem on join; the starter fills the empty document once', async () => {
	const { room, iv, cand } = await room2();
	let starter;
	for (const c of [iv, cand]) {
		const p = await c.msg('problem');
		starter = p.problem.starter;
		assert.equal(p.problem?.id, 'pair-sum', JSON.stringify(p));
		assert.equal(p.reason, 'join');
		assert.equal(p.problem.samples.length, 2);
		assert.equal(p.problem.hidden, 4);
		assert.deepEqual(p.problem.signature.params, ['nums', 'target']);
		assert.equal(p.problem.limits.cpu_ms, 1000);
		assert.equal(p.problem.complexity, true);
		assert.equal(p.problem.hidden_tests, undefined, 'no hidden tests in the room view');
		assertNoHidden('the problem message', p);
	}
	await converge([iv, cand]);
	assert.equal(iv.text(), starter);
	// A late observer sees the problem and the same one starter, not two.
	const obs = await srv.join(room, 'observer');
	await obs.msg('problem');
	assert.equal(obs.text(), starter);
	for (const x of [iv, cand, obs]) await x.close();
});

test('the interviewer switches the problem; code stays; the others may not', async () => {
	const { iv, cand } = await room2();
	await iv.msg('problem');
	await converge([iv, cand]);
	setText(cand, 'my code\n');
	await converge([iv, cand]);
	const id = iv.send({ t: 'problem', problem: 'growth' });
	for (const c of [iv, cand]) {
		const p = await c.msg('problem', (x) => x.reason === 'change');
		assert.equal(p.problem.id, 'growth');
		assert.equal(p.by, 'interviewer');
		assert.equal(p.id, id);
	}
	await converge([iv, cand]);
	assert.equal(cand.text(), 'my code\n', 'a switch never changes the code');
	cand.send({ t: 'problem', problem: 'pair-sum' });
	await cand.error('forbidden');
	const bad = iv.send({ t: 'problem', problem: 'no-such-problem' });
	assert.equal((await iv.error('unknown_problem')).id, bad);
	iv.send({ t: 'problem', problem: 42 });
	await iv.error('bad_request');
	iv.send({ t: 'problem', problem: null });
	const cleared = await cand.msg('problem', (x) => x.reason === 'change' && x.problem === null);
	assert.equal(cleared.problem, null);
	cand.send({ t: 'run', mode: 'submit' });
	await cand.error('no_problem');
	for (const x of [iv, cand]) await x.close();
});

test('the interviewer\'s token lists the bank for the picker: summaries only; other seats refused', async () => {
	const room = await srv.createRoom({ problem: 'pair-sum' });
	const path = `/api/rooms/${room.id}/problems`;
	const r = await srv.api('GET', path, { token: room.tokens.interviewer });
	assert.equal(r.status, 200, r.text);
	const admin = await srv.api('GET', '/api/problems', { token: srv.adminKey });
	assert.deepEqual(
		r.json.problems.map((p) => p.id),
		admin.json.problems.map((p) => p.id),
		'every problem the bank lists',
	);
	const pair = r.json.problems.find((p) => p.id === 'pair-sum');
	const want = admin.json.problems.find((p) => p.id === 'pair-sum');
	assert.deepEqual(pair, { id: want.id, title: want.title, difficulty: want.difficulty, tags: want.tags });
	for (const p of r.json.problems) assert.deepEqual(Object.keys(p).sort(), ['difficulty', 'id', 'tags', 'title']);
	assertNoHidden('the picker\'s list', r.text);
	assert.equal((await srv.api('GET', path, { token: room.tokens.candidate })).status, 403, 'candidate');
	assert.equal((await srv.api('GET', path, { token: room.tokens.observer })).status, 403, 'observer');
	assert.equal((await srv.api('GET', path)).status, 401, 'no token');
	assert.equal((await srv.api('POST', path, { token: room.tokens.interviewer })).status, 405);
	assert.equal((await srv.api('GET', path, { token: srv.adminKey })).status, 200, 'the admin key');
	// A closed room's tokens are revoked: its interviewer no longer picks problems.
	assert.equal((await srv.api('POST', `/api/rooms/${room.id}/close`, { token: srv.adminKey })).status, 200, 'the admin key closes');
	assert.equal((await srv.api('GET', path, { token: room.tokens.interviewer })).status, 401, 'after the close');
});

test('Run tests: samples and custom tests in full; bad custom tests refused', async (t) => {
	const { iv, cand } = await room2();
	await converge([iv, cand]);
	setText(cand, HASH);
	await converge([iv, cand]);
	const r2 = await run(cand, [iv, cand], {
		mode: 'tests',
		tests: [
			{ name: 'mine', args: [[5, 5], 10], expected: [0, 1] },
			{ args: [[1, 2], 4], expected: [0, 1] },
		],
	});
	if (!r2) return t.skip(`judge down: ${judgeDown}`);
	assert.equal(r2.started.mode, 'tests');
	assert.equal(r2.started.total, 4);
	for (const { tests, result } of r2.seen) {
		assert.deepEqual(tests.map((x) => x.name), ['first two', 'middle', 'mine', 'custom 2']);
		assert.deepEqual(tests.map((x) => x.verdict), ['AC', 'AC', 'AC', 'WA']);
		assert.deepEqual(tests[0].args, [[2, 7, 11, 15], 9]);
		assert.deepEqual(tests[3].actual, null);
		assert.equal(result.verdict, 'WA');
		assert.equal(result.passed, 3);
		assert.equal(result.total, 4);
		assert.equal(result.submission, undefined, 'Run tests stores no submission');
	}
	cand.send({ t: 'run', mode: 'tests', tests: [{ args: [1, 2, 3] }] });
	const e = await cand.error('bad_request');
	assert.match(e.message, /custom test 1: args: pair_sum\(\) takes 2 arguments, got 3/);
	cand.send({ t: 'run', mode: 'fast' });
	await cand.error('bad_request');
	for (const x of [iv, cand]) await x.close();
});

test('Submit: every test runs, hidden ones leak nothing anywhere; the submission is stored', async (t) => {
	const { room, iv, cand } = await room2();
	const obs = await srv.join(room, 'observer');
	await converge([iv, cand]);
	setText(cand, LEAKY);
	await converge([iv, cand]);
	const r = await run(cand, [iv, cand, obs], { mode: 'submit' });
	if (!r) return t.skip(`judge down: ${judgeDown}`);
	assert.equal(r.started.total, 6);
	for (const { tests, result } of r.seen) {
		assert.equal(tests.length, 6, JSON.stringify(tests));
		for (const x of tests.filter((x) => x.hidden)) {
			// A test without a time of its own (SKIPPED, or cut off) carries no figures.
			const figures = 'cpu_ms' in x ? ['cpu_ms', 'mem_kb'] : [];
			if (!figures.length) assert.notEqual(x.verdict, 'AC', JSON.stringify(x));
			assert.deepEqual(Object.keys(x).sort(), [...figures, 'hidden', 'index', 'name', 'run', 't', 'verdict'].sort());
			assert.match(x.name, /^hidden [1-4]$/);
		}
		assert.equal(tests[3].verdict, 'RE', 'the negatives test raised');
		assert.equal(result.verdict, 'WA');
		assert.equal(result.total, 6);
		assert.match(result.submission, /^s_/);
	}
	// No message any seat received holds a hidden test's text.
	for (const c of [iv, cand, obs]) assertNoHidden(`${c.seat}'s messages`, c.inbox.map((x) => x.msg ?? null));
	for (const { tests, result } of r.seen) assertNoHidden('run.test and run.result', [tests, result]);

	// The timeline (what replay reads) holds none either.
	const tl = await srv.api('GET', `/api/rooms/${room.id}/timeline?limit=1000`, { token: room.tokens.interviewer });
	assert.equal(tl.status, 200);
	assertNoHidden('the timeline', tl.text);
	const kinds = tl.json.events.map((e) => e.kind);
	for (const k of ['edit', 'run', 'run.test', 'run.result', 'submission'])
		assert.ok(kinds.includes(k), `timeline has ${k}: ${kinds}`);
	const starterEdit = tl.json.events.find((e) => e.kind === 'edit');
	assert.equal(starterEdit.actor, 'server', 'the starter is the server\'s edit');

	// Submissions over REST: staff see it; hidden tests are name, verdict, time, memory.
	const sid = r.seen[0].result.submission;
	const list = await srv.api('GET', `/api/rooms/${room.id}/submissions`, { token: room.tokens.interviewer });
	assert.equal(list.status, 200, list.text);
	assert.equal(list.json.submissions[0].id, sid);
	assert.equal(list.json.submissions[0].passed, r.seen[0].result.passed);
	const one = await srv.api('GET', `/api/rooms/${room.id}/submissions/${sid}`, { token: room.tokens.observer });
	assert.equal(one.status, 200, one.text);
	assert.equal(one.json.code, LEAKY);
	assert.equal(one.json.tests.length, 6);
	const figures = 'cpu_ms' in one.json.tests[2] ? ['cpu_ms', 'mem_kb'] : [];
	assert.deepEqual(Object.keys(one.json.tests[2]).sort(), [...figures, 'hidden', 'name', 'verdict'].sort());
	assert.deepEqual(one.json.tests[0].args, [[2, 7, 11, 15], 9]);
	assertNoHidden('GET submission', one.text);
	// The candidate sees its own; an interviewer's submission is not its to see.
	const mine = await srv.api('GET', `/api/rooms/${room.id}/submissions`, { token: room.tokens.candidate });
	assert.equal(mine.json.submissions.length, 1);
	setText(iv, HASH);
	await converge([iv, cand]);
	const r2 = await run(iv, [iv], { mode: 'submit' });
	assert.equal(r2.seen[0].result.verdict, 'AC', JSON.stringify(r2.seen[0].result));
	const theirs = await srv.api('GET', `/api/rooms/${room.id}/submissions/${r2.seen[0].result.submission}`, { token: room.tokens.candidate });
	assert.equal(theirs.status, 404);
	const all = await srv.api('GET', `/api/rooms/${room.id}/submissions?limit=1`, { token: room.tokens.interviewer });
	assert.equal(all.json.submissions.length, 1);
	assert.equal(all.json.submissions[0].id, r2.seen[0].result.submission, 'newest first');
	assert.equal(all.json.next, r2.seen[0].result.submission);
	const page2 = await srv.api('GET', `/api/rooms/${room.id}/submissions?limit=1&before=${all.json.next}`, { token: room.tokens.interviewer });
	assert.equal(page2.json.submissions[0].id, sid);
	assert.equal(page2.json.next, null);
	// The admin key reads them as the interviewer does; a wrong key is no key.
	const byAdmin = await srv.api('GET', `/api/rooms/${room.id}/submissions`, { token: srv.adminKey });
	assert.equal(byAdmin.status, 200, byAdmin.text);
	assert.deepEqual(
		byAdmin.json.submissions.map((x) => x.id),
		[r2.seen[0].result.submission, sid],
		'the admin key lists every seat\'s submissions',
	);
	const oneByAdmin = await srv.api('GET', `/api/rooms/${room.id}/submissions/${sid}`, { token: srv.adminKey });
	assert.equal(oneByAdmin.status, 200, oneByAdmin.text);
	assert.deepEqual(oneByAdmin.json, one.json, 'the same submission, hidden tests redacted');
	assert.equal((await srv.api('GET', `/api/rooms/${room.id}/submissions`, { token: `${srv.adminKey}0` })).status, 401);
	for (const x of [iv, cand, obs]) await x.close();
});

test('Submit: samples and hidden tests start at once; the samples\' CPU counts against the budget, their tests go out first', async (t) => {
	// Each call burns 150 ms of its thread's CPU; the budget is 600 ms: the
	// two samples spend 300, so the hidden sandbox (started with the whole
	// budget, beside the samples') is cut at hidden 1 or 2, not at hidden 4
	// where its own CPU alone would pass the budget.
	const id = `budget-${crypto.randomBytes(3).toString('hex')}`;
	const line = (x) => ({ args: [x], expected: x + 1 });
	const put = await srv.api('PUT', `/api/problems/${id}`, {
		token: srv.adminKey,
		body: {
			title: 'Budget',
			difficulty: 'easy',
			statement: 'Return x + 1.',
			signature: { kind: 'function', entry: 'inc' },
			starter: 'def inc(x):\n    ...\n',
			limits: { cpu_ms: 400, submit_cpu_ms: 600 },
			tests: { sample: [line(1), line(2)], hidden: [3, 4, 5, 6, 7, 8].map(line) },
		},
	});
	assert.equal(put.status, 201, put.text);
	const { room, iv, cand } = await room2(id);
	await iv.msg('problem');
	await converge([iv, cand]);
	setText(cand, 'import time\ndef inc(x):\n    t = time.thread_time()\n    while time.thread_time() - t < 0.15:\n        pass\n    return x + 1\n');
	await converge([iv, cand]);
	const r = await run(cand, [iv, cand], { mode: 'submit' });
	if (!r) return t.skip(`judge down: ${judgeDown}`);
	for (const { tests, result } of r.seen) {
		const v = tests.map((x) => x.verdict);
		assert.deepEqual(v.slice(0, 2), ['AC', 'AC'], JSON.stringify(tests));
		const cut = v.indexOf('TLE');
		assert.ok(cut === 2 || cut === 3, `cut at hidden 1 or 2: ${v}`);
		assert.deepEqual(v.slice(cut + 1), Array(v.length - cut - 1).fill('SKIPPED'), `${v}`);
		assert.deepEqual(tests.map((x) => x.index), [0, 1, 2, 3, 4, 5, 6, 7], 'every test once, in order');
		assert.equal(result.verdict, 'TLE');
		assert.equal(result.budget_exceeded, true);
		assert.equal(result.passed, cut);
		const stored = await srv.api('GET', `/api/rooms/${room.id}/submissions/${result.submission}`, { token: room.tokens.interviewer });
		assert.equal(stored.status, 200, stored.text);
		assert.deepEqual(stored.json.tests.map((x) => x.verdict), v, 'stored as streamed');
		assert.equal(stored.json.budget_exceeded, true);
	}
	// Slow samples, quick hidden tests: the hidden sandbox ends first, and
	// its tests are held until the samples' have gone out.
	setText(cand, 'import time\ndef inc(x):\n    t = time.thread_time()\n    while x < 3 and time.thread_time() - t < 0.15:\n        pass\n    return x + 1\n');
	await converge([iv, cand]);
	const r2 = await run(cand, [iv, cand], { mode: 'submit' });
	for (const { tests, result } of r2.seen) {
		assert.deepEqual(tests.map((x) => x.index), [0, 1, 2, 3, 4, 5, 6, 7], 'every test once, in order');
		assert.deepEqual(tests.map((x) => x.verdict), Array(8).fill('AC'));
		assert.equal(result.verdict, 'AC', JSON.stringify(result));
		assert.equal(result.budget_exceeded, false);
	}
	for (const x of [iv, cand]) await x.close();
});

test('a sample cannot read the hidden tests: they run in a sandbox of their own', async (t) => {
	const { iv, cand } = await room2();
	await converge([iv, cand]);
	setText(cand, SNOOP);
	await converge([iv, cand]);
	const r = await run(cand, [iv], { mode: 'submit' });
	if (!r) return t.skip(`judge down: ${judgeDown}`);
	const { tests } = r.seen[0];
	assert.match(tests[0].stdout, /REQ .*\[2, 7, 11, 15\]/, 'the snoop did find the request it was given');
	assertNoHidden('the samples\' output', tests);
	for (const x of [iv, cand]) await x.close();
});

test('a submit while a run is in flight is refused; a switch during a submit changes nothing of it', async (t) => {
	const { room, iv, cand } = await room2();
	await converge([iv, cand]);
	setText(cand, 'import time\ndef pair_sum(nums, target):\n    time.sleep(0.3)\n    return [0, 1]\n');
	await converge([iv, cand]);
	const id = cand.send({ t: 'submit' });
	const started = await cand.next((x) => x.msg && ((x.msg.t === 'run.started' && x.msg.id === id) || (x.msg.t === 'error' && x.msg.id === id)), 'run.started', { timeout: 20000 });
	if (started.msg.t === 'error') {
		judgeDown = started.msg.message;
		if (CI) assert.fail(JSON.stringify(started.msg));
		return t.skip('judge down');
	}
	const id2 = iv.send({ t: 'run', mode: 'submit' });
	assert.equal((await iv.error('run_in_progress')).id, id2);
	iv.send({ t: 'problem', problem: 'growth' });
	await cand.msg('problem', (x) => x.reason === 'change');
	const result = await cand.msg('run.result', (x) => x.run === started.msg.run, { timeout: 60000 });
	assert.equal(result.problem, 'pair-sum', 'judged against the problem it started with');
	const one = await srv.api('GET', `/api/rooms/${room.id}/submissions/${result.submission}`, { token: room.tokens.interviewer });
	assert.equal(one.json.problem, 'pair-sum');
	assert.equal(one.json.total, 6);
	for (const x of [iv, cand]) await x.close();
});

test('a complexity request estimates the room code\'s growth class; refused without a generator', async (t) => {
	const { room, iv, cand } = await room2();
	await converge([iv, cand]);
	setText(cand, HASH);
	await converge([iv, cand]);
	const id = cand.send({ t: 'complexity' });
	const first = await cand.next((x) => x.msg && ((x.msg.t === 'complexity.started' && x.msg.id === id) || (x.msg.t === 'error' && x.msg.id === id)), 'complexity.started', { timeout: 20000 });
	if (first.msg.t === 'error') {
		if (first.msg.code === 'judge_down') {
			judgeDown = first.msg.message;
			if (CI) assert.fail(JSON.stringify(first.msg));
			return t.skip('judge down');
		}
		assert.fail(JSON.stringify(first.msg));
	}
	for (const c of [iv, cand]) {
		const res = await c.msg('complexity.result', (x) => x.run === first.msg.run, { timeout: 30000 });
		assert.ok(['O(n)', 'O(n log n)'].includes(res.class) || ['O(n)', 'O(n log n)'].includes(res.alternative), JSON.stringify(res));
		assert.ok(res.points.length >= 4, JSON.stringify(res));
		for (const p of res.points) assert.deepEqual(Object.keys(p).sort(), ['cpu_ms', 'mem_kb', 'n']);
		assert.ok(res.confidence >= 0 && res.confidence <= 1);
	}
	// A problem without gen.py cannot be estimated.
	const pid = `nogen-${crypto.randomBytes(3).toString('hex')}`;
	const put = await srv.api('PUT', `/api/problems/${pid}`, {
		token: srv.adminKey,
		body: { title: 'N', difficulty: 'easy', statement: 's', signature: { kind: 'function', entry: 'f' }, starter: 'def f(a):\n    ...\n', tests: { sample: [], hidden: [{ args: [1], expected: 1 }] } },
	});
	assert.equal(put.status, 201, put.text);
	iv.send({ t: 'problem', problem: pid });
	await cand.msg('problem', (x) => x.reason === 'change' && x.problem?.id === pid);
	cand.send({ t: 'complexity' });
	await cand.error('no_generator');
	const tl = await srv.api('GET', `/api/rooms/${room.id}/timeline?limit=1000`, { token: room.tokens.interviewer });
	const kinds = tl.json.events.map((e) => e.kind);
	assert.ok(kinds.includes('complexity') && kinds.includes('complexity.result') && kinds.includes('problem'), `${kinds}`);
	for (const x of [iv, cand]) await x.close();
});

test('admin problem routes: list, get with hidden tests, put (JSON and tar), delete', async () => {
	const key = srv.adminKey;
	assert.equal((await srv.api('GET', '/api/problems')).status, 401);
	const list = await srv.api('GET', '/api/problems', { token: key });
	assert.equal(list.status, 200, list.text);
	assert.ok(list.json.problems.some((p) => p.id === 'pair-sum'));
	const got = await srv.api('GET', '/api/problems/pair-sum', { token: key });
	assert.equal(got.json.hidden_tests.length, 4, 'the admin sees hidden tests');

	const id = `upload-${crypto.randomBytes(4).toString('hex')}`;
	const body = {
		title: 'Add',
		difficulty: 'easy',
		statement: 'Add two numbers.',
		signature: { kind: 'function', entry: 'add' },
		starter: 'def add(a, b):\n    ...\n',
		tests: { sample: [{ args: [1, 2], expected: 3 }], hidden: [{ args: [2, 2], expected: 4 }] },
	};
	let r = await srv.api('PUT', `/api/problems/${id}`, { token: key, body });
	assert.equal(r.status, 201, r.text);
	assert.deepEqual(r.json, { id, revision: 1, changed: true });
	r = await srv.api('PUT', `/api/problems/${id}`, { token: key, body });
	assert.deepEqual(r.json, { id, revision: 1, changed: false }, 'unchanged: no new revision');
	r = await srv.api('PUT', `/api/problems/${id}`, { token: key, body: { ...body, tests: { sample: [], hidden: [{ args: [1, 2, 3], expected: 4 }] } } });
	assert.equal(r.status, 400);
	assert.ok(r.json.errors.some((e) => e.includes('upload: tests.hidden:1: args: add() takes 2 arguments, got 3')), r.text);
	r = await srv.api('PUT', `/api/problems/${id}`, { token: key, body: '{"title": 1,' });
	assert.equal(r.status, 400);
	assert.equal((await srv.api('GET', `/api/problems/${id}`, { token: key })).json.revision, 1, 'nothing stored by a bad upload');

	// A tar of a problem folder (one leading folder), revision 2.
	const files = {
		[`${id}/problem.yaml`]: `id: ${id}\ntitle: Add\ndifficulty: medium\nstatement: Add.\nsignature: {kind: function, entry: add}\nstarter: |\n  def add(a, b):\n      ...\n`,
		[`${id}/tests/sample.jsonl`]: '{"args": [1, 2], "expected": 3}\n',
		[`${id}/tests/hidden.jsonl`]: '{"args": [5, 5], "expected": 10}\n',
	};
	const tar = execFileSync('sh', ['-c', `d=$(mktemp -d); cd $d; ${Object.entries(files).map(([f, c]) => `mkdir -p $(dirname ${f}); printf '%s' '${c.replace(/'/g, "'\\''")}' > ${f}`).join('; ')}; tar --format=ustar -cf - ${id}; rm -rf $d`]);
	const res = await fetch(`${srv.base}/api/problems/${id}`, { method: 'PUT', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-tar' }, body: tar });
	const tj = await res.json();
	assert.equal(res.status, 200, JSON.stringify(tj));
	assert.deepEqual(tj, { id, revision: 2, changed: true });
	const g2 = await srv.api('GET', `/api/problems/${id}`, { token: key });
	assert.equal(g2.json.difficulty, 'medium');
	assert.equal(g2.json.revisions.length, 2);

	// A Py-Katas YAML file (Content-Type application/yaml): the kata loader's validation,
	// its errors as file:line: reason, nothing stored by a broken one.
	const kataText = fs.readFileSync(path.join(REPO, 'problems/katas/digital-root.yaml'), 'utf8');
	const kid = `kata-${crypto.randomBytes(4).toString('hex')}`;
	const putYaml = async (pid, text, type = 'application/yaml') => {
		const res = await fetch(`${srv.base}/api/problems/${pid}`, {
			method: 'PUT',
			headers: { authorization: `Bearer ${key}`, 'content-type': type },
			body: text,
		});
		return { status: res.status, json: await res.json() };
	};
	let y = await putYaml(kid, kataText.replace(/^id: .*$/m, `id: ${kid.replace('-', '_')}`));
	assert.equal(y.status, 201, JSON.stringify(y.json));
	assert.deepEqual(y.json, { id: kid, revision: 1, changed: true });
	const kg = await srv.api('GET', `/api/problems/${kid}`, { token: key });
	assert.equal(kg.json.title, 'Digital Root');
	assert.equal(kg.json.samples.length, 2, 'the first two test cases are samples');
	assert.ok(kg.json.hidden_tests.length >= 8, 'the rest hidden');
	y = await putYaml(kid, kataText.replace(/^id: .*$/m, `id: ${kid}`), 'text/yaml; charset=utf-8');
	assert.deepEqual(y.json, { id: kid, revision: 1, changed: false }, 'unchanged: no new revision');
	// Broken YAML (line 3 opens a flow sequence that never closes).
	y = await putYaml(kid, `id: ${kid}\ntitle: Broken\ndescription: [unclosed\n`);
	assert.equal(y.status, 400, JSON.stringify(y.json));
	assert.equal(y.json.error, 'invalid');
	assert.ok(y.json.errors.every((e) => /^upload\/[a-z0-9-]+\.yaml:\d+: /.test(e)), JSON.stringify(y.json.errors));
	assert.ok(!JSON.stringify(y.json).includes('/tmp/'), 'the private folder is never named');
	// A missing key, and an id that is not the path's.
	y = await putYaml(kid, kataText.replace(/^function_name: .*$/m, ''));
	assert.equal(y.status, 400);
	assert.ok(y.json.errors.some((e) => e.includes(`upload/${kid}.yaml`) && e.includes("missing key 'function_name'")), JSON.stringify(y.json.errors));
	y = await putYaml(kid, kataText);
	assert.equal(y.status, 400);
	assert.ok(y.json.errors.some((e) => e.includes("id 'digital-root' is not the path's")), JSON.stringify(y.json.errors));
	assert.equal((await srv.api('GET', `/api/problems/${kid}`, { token: key })).json.revision, 1, 'nothing stored by a bad kata');

	// Deleting: refused while an open room uses it, then archived.
	const room = await srv.createRoom({ problem: id });
	r = await srv.api('DELETE', `/api/problems/${id}`, { token: key });
	assert.equal(r.status, 409, r.text);
	assert.deepEqual(r.json.rooms, [room.id]);
	assert.equal((await srv.api('POST', `/api/rooms/${room.id}/close`, { token: room.tokens.interviewer })).status, 200);
	r = await srv.api('DELETE', `/api/problems/${id}`, { token: key });
	assert.equal(r.status, 200, r.text);
	const after = await srv.api('GET', '/api/problems', { token: key });
	assert.ok(!after.json.problems.some((p) => p.id === id), 'archived problems leave the list');
	assert.equal((await srv.api('DELETE', '/api/problems/no-such-one', { token: key })).status, 404);
});
