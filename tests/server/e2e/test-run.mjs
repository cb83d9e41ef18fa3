// test-run.mjs - Run: the room's merged text goes to the judge, and every
// connection of the room sees run.started, the run.output chunks and the
// run.result; a second run while one is in flight is refused.
//
// The judge needs root (namespaces, cgroups).  When the server says the
// judge is down (error judge_down, e.g. tandem started by an ordinary
// user), this file skips (exit 77) locally and fails in CI.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { CI, Tandem, converge, requirements } from './harness.mjs';

await requirements();

let srv;
let judgeDown = null;
before(async () => {
	srv = await Tandem.start();
});
after(async () => {
	await srv?.stop();
	if (judgeDown && !CI) {
		console.error(`SKIP: the judge is down: ${judgeDown}`);
		process.exit(77);
	}
});

// Sends a run from c and collects, on every client, run.started, the
// outputs and the result of that run.  Returns {id, run, results: [per client]}.
async function run(c, clients) {
	for (let attempt = 0; ; attempt++) {
		const id = c.send({ t: 'run' });
		const first = await c.next(
			(x) => x.msg && ((x.msg.t === 'run.started' && (x.msg.id === undefined || x.msg.id === id)) || (x.msg.t === 'error' && x.msg.id === id)),
			`run.started or an error for run request ${id}`,
			{ timeout: 20000 },
		);
		const m = first.msg;
		if (m.t === 'error') {
			if (m.code === 'judge_down') {
				judgeDown = m.message || 'judge_down';
				if (CI) assert.fail(`the judge is down in CI: ${JSON.stringify(m)}\n${srv.output.slice(-2000)}`);
				return null;
			}
			if (m.code === 'judge_busy' && attempt < 5) {
				await new Promise((r) => setTimeout(r, Number(m.retry_ms) || 200));
				continue;
			}
			assert.fail(`run refused: ${JSON.stringify(m)}`);
		}
		const runId = m.run;
		assert.ok(runId !== undefined, `run.started names its run: ${JSON.stringify(m)}`);
		const results = await Promise.all(
			clients.map(async (k) => {
				if (k !== c) await k.msg('run.started', (x) => x.run === runId);
				const result = await k.msg('run.result', (x) => x.run === runId, { timeout: 30000 });
				// Every output of the run came before its result.
				const outputs = [];
				for (const x of k.inbox.slice()) {
					if (x.msg && x.msg.t === 'run.output' && x.msg.run === runId) {
						outputs.push(x.msg);
						k.inbox.splice(k.inbox.indexOf(x), 1);
					}
				}
				return { seat: k.seat, result, outputs };
			}),
		);
		return { id, run: runId, results };
	}
}

const streamText = (outputs, stream) =>
	outputs
		.filter((o) => o.stream === stream)
		.map((o) => o.data)
		.join('');

async function room3() {
	const room = await srv.createRoom();
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	const obs = await srv.join(room, 'observer');
	return { room, iv, cand, obs };
}

test('a run of the merged text streams its output and result to everyone', async (t) => {
	const { iv, cand, obs } = await room3();
	iv.edit((d) => d.insert(0, 'a = 20\n'));
	await converge([iv, cand]);
	cand.edit((d) => d.insert(d.length, 'print("hello from tandem", a + 22)\n'));
	await converge([iv, cand]);

	const r = await run(cand, [iv, cand, obs]);
	if (!r) return t.skip(`judge down: ${judgeDown}`);
	for (const { seat, result, outputs } of r.results) {
		assert.equal(result.verdict, 'OK', `${seat}: verdict of a clean run: ${JSON.stringify(result)}`);
		assert.equal(result.stdout, 'hello from tandem 42\n', `${seat}: stdout of the merged text`);
		assert.equal(result.exit_code, 0, `${seat}: exit code`);
		for (const k of ['cpu_ms', 'wall_ms', 'mem_kb'])
			assert.equal(typeof result[k], 'number', `${seat}: result.${k} is a number: ${JSON.stringify(result)}`);
		assert.ok(outputs.length > 0, `${seat}: at least one run.output chunk before run.result`);
		assert.equal(streamText(outputs, 'stdout'), 'hello from tandem 42\n', `${seat}: the stdout chunks`);
	}
	for (const x of [iv, cand, obs]) await x.close();
});

test('an error in user code is verdict RE with the traceback on stderr', async (t) => {
	const { iv, cand, obs } = await room3();
	iv.edit((d) => d.insert(0, 'print("before")\nraise ValueError("boom")\n'));
	await converge([iv, cand]);
	const r = await run(iv, [iv, cand]);
	if (!r) return t.skip(`judge down: ${judgeDown}`);
	for (const { seat, result, outputs } of r.results) {
		assert.equal(result.verdict, 'RE', `${seat}: ${JSON.stringify(result)}`);
		assert.equal(result.stdout, 'before\n');
		assert.match(result.stderr, /ValueError: boom/, `${seat}: stderr`);
		assert.notEqual(result.exit_code, 0);
		assert.match(streamText(outputs, 'stderr'), /ValueError/, `${seat}: stderr chunks`);
	}
	// The observer saw the run too (it was in the room, though not asked to wait above).
	await obs.msg('run.result', (x) => x.run === r.run);
	for (const x of [iv, cand, obs]) await x.close();
});

test('a second run while one is in flight is refused with run_in_progress', async (t) => {
	const { iv, cand, obs } = await room3();
	// Long enough that the second request surely arrives before it ends.
	iv.edit((d) => d.insert(0, 'import time\nprint("start", flush=True)\ntime.sleep(0.5)\nprint("end")\n'));
	await converge([iv, cand]);
	const id1 = cand.send({ t: 'run' });
	const started = await cand.next(
		(x) => x.msg && (x.msg.t === 'run.started' || (x.msg.t === 'error' && x.msg.id === id1)),
		'run.started',
		{ timeout: 20000 },
	);
	if (started.msg.t === 'error') {
		if (started.msg.code === 'judge_down') {
			judgeDown = started.msg.message || 'judge_down';
			if (CI) assert.fail(`the judge is down in CI: ${JSON.stringify(started.msg)}`);
			return t.skip(`judge down: ${judgeDown}`);
		}
		assert.fail(`run refused: ${JSON.stringify(started.msg)}`);
	}
	const id2 = iv.send({ t: 'run' });
	const e = await iv.error('run_in_progress');
	assert.equal(e.id, id2, 'the refusal echoes the id of the refused request');
	const result = await cand.msg('run.result', (x) => x.run === started.msg.run, { timeout: 30000 });
	assert.equal(result.verdict, 'OK', JSON.stringify(result));
	assert.equal(result.stdout, 'start\nend\n');
	// Only one run happened: the interviewer saw one run.started.
	await iv.msg('run.result', (x) => x.run === started.msg.run);
	assert.equal(iv.peek('run.started').length, 1, 'one run.started only');
	for (const x of [iv, cand, obs]) await x.close();
});

test('more runs per minute than --runs-per-min get rate_limited with retry_ms', async (t) => {
	const { iv, cand, obs } = await room3();
	iv.edit((d) => d.insert(0, 'print(1)\n'));
	await converge([iv, cand]);
	const limit = cand.welcome.limits?.runs_per_min ?? 10;
	for (let i = 0; i < limit; i++) {
		const r = await run(cand, [cand]);
		if (!r) return t.skip(`judge down: ${judgeDown}`);
		assert.equal(r.results[0].result.verdict, 'OK', `run ${i + 1} of ${limit} is allowed`);
	}
	const id = cand.send({ t: 'run' });
	const e = await cand.error('rate_limited');
	assert.equal(e.id, id);
	assert.ok(Number(e.retry_ms) > 0, `rate_limited carries a positive retry_ms: ${JSON.stringify(e)}`);
	// The allowance is per seat: the interviewer may still run.
	const r = await run(iv, [iv]);
	assert.equal(r.results[0].result.verdict, 'OK', 'the other seat is not limited');
	for (const x of [iv, cand, obs]) await x.close();
});
