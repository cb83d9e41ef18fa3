// submit.mjs - the Submit benchmark: a trivial function against 50 hidden
// tests through a real `tandem serve` (WebSocket request -> final run.result
// at the client), one room at a time (latency) and 100 rooms submitting at
// once (throughput); beside it, in the same run, the same 50 tests judged by
// 50 separate `tandem-run` script runs (a process and a judge each); then the
// import of the shipped problems and `tandem problems check` on them, timed.
//
// Started by bench/judge/submit (which builds and sets the environment);
// prints one JSON object.  Everything waits on a message with a deadline.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PG, REPO, TANDEM_BIN, Tandem, converge, requirements } from '../../tests/server/e2e/harness.mjs';

const opt = { seq: 200, rooms: 100, rounds: 3, check: true };
for (let i = 2; i < process.argv.length; i++) {
	const a = process.argv[i];
	if (a === '--seq') opt.seq = Number(process.argv[++i]);
	else if (a === '--rooms') opt.rooms = Number(process.argv[++i]);
	else if (a === '--rounds') opt.rounds = Number(process.argv[++i]);
	else if (a === '--no-check') opt.check = false;
	else throw new Error(`unknown option ${a}`);
}
const TANDEM_RUN = process.env.TANDEM_RUN;

// CPU (ms) of this process's cgroup v1 cpuacct (bench/judge/submit puts the
// benchmark in one of its own: tandem, its judge and every sandbox), minus
// this process's own; null when there is none.  Redis and PostgreSQL are not in it.
const CPUACCT = (() => {
	const line = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => /:cpuacct[,:]|:cpu,cpuacct:/.test(l));
	const rel = line ? line.split(':')[2] : null;
	const file = rel && rel !== '/' ? path.join('/sys/fs/cgroup/cpuacct', rel, 'cpuacct.usage') : null;
	return file && fs.existsSync(file) ? file : null;
})();
const serverCpu = () => {
	if (!CPUACCT) return null;
	const u = process.cpuUsage();
	return Number(fs.readFileSync(CPUACCT, 'utf8')) / 1e6 - (u.user + u.system) / 1000;
};

await requirements();

const pct = (v, p) => {
	const s = [...v].sort((a, b) => a - b);
	return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
};
const now = () => performance.now();

// The problem: inc(x) = x + 1, one sample and 50 hidden tests.
const id = `bench-inc-${crypto.randomBytes(3).toString('hex')}`;
const problem = {
	title: 'Increment',
	difficulty: 'easy',
	statement: 'Return x + 1.',
	signature: { kind: 'function', entry: 'inc' },
	starter: 'def inc(x):\n    ...\n',
	tests: {
		sample: [{ args: [0], expected: 1 }],
		hidden: Array.from({ length: 50 }, (_, i) => ({ args: [i * 7], expected: i * 7 + 1 })),
	},
};
const CODE = 'def inc(x):\n    return x + 1\n';

const srv = await Tandem.start({ args: ['--runs-per-min', '1000000'] });
let out = {};
try {
	const put = await srv.api('PUT', `/api/problems/${id}`, { token: srv.adminKey, body: problem });
	if (put.status !== 201) throw new Error(`PUT problem: ${put.status} ${put.text}`);

	async function room() {
		const r = await srv.createRoom({ problem: id });
		const c = await srv.join(r, 'candidate');
		await c.msg('problem');
		await converge([c]);
		c.edit((d) => {
			d.delete(0, d.length);
			d.insert(0, CODE);
		});
		await c.acked();
		return c;
	}

	// One submit: request -> run.result at the client (ms).  With stages, the
	// arrival of run.started, of the first and last run.test and of run.result
	// (ms after the request) are pushed to it.
	async function submit(c, stages) {
		const t0 = now();
		const rid = c.send({ t: 'submit' });
		const st = await c.next(
			(x) => x.msg && ((x.msg.t === 'run.started' && x.msg.id === rid) || (x.msg.t === 'error' && x.msg.id === rid)),
			'run.started',
			{ timeout: 60000 },
		);
		if (st.msg.t === 'error') throw new Error(`submit refused: ${JSON.stringify(st.msg)}`);
		const res = await c.msg('run.result', (x) => x.run === st.msg.run, { timeout: 120000 });
		const ms = now() - t0;
		const tests = c.inbox.filter((x) => x.msg && x.msg.t === 'run.test' && x.msg.run === st.msg.run);
		if (stages && tests.length)
			stages.push([st.at, tests[0].at, tests[tests.length - 1].at, t0 + ms].map((t) => t - t0));
		c.inbox = c.inbox.filter((x) => !(x.msg && x.msg.t === 'run.test'));
		if (res.verdict !== 'AC' || res.total !== 51 || !res.submission)
			throw new Error(`unexpected result ${JSON.stringify(res)}`);
		return ms;
	}

	// Latency: one room, one submit at a time.
	const c = await room();
	for (let i = 0; i < 5; i++) await submit(c); // warm-up
	const lat = [];
	const stages = [];
	const cpu0 = serverCpu();
	for (let i = 0; i < opt.seq; i++) lat.push(await submit(c, stages));

	const seqCpu = cpu0 === null ? null : (serverCpu() - cpu0) / opt.seq;

	// Throughput: many rooms submitting at once, a few rounds.
	const clients = [];
	for (let i = 0; i < opt.rooms; i++) clients.push(await room());
	const all = [];
	let answered = 0;
	const t0 = now();
	for (let r = 0; r < opt.rounds; r++) {
		const ms = await Promise.all(clients.map((k) => submit(k)));
		all.push(...ms);
		answered += ms.length;
	}
	const wall = now() - t0;
	out = {
		tests_per_submit: 51,
		seq: {
			n: lat.length,
			p50_ms: pct(lat, 50),
			p99_ms: pct(lat, 99),
			// CPU of tandem, its judge and the sandboxes per submit (not Redis, PostgreSQL)
			cpu_ms: seqCpu,
			// p50 of when each step reached the client, ms after the request
			stages_p50_ms: Object.fromEntries(
				['started', 'first_test', 'last_test', 'result'].map((k, i) => [k, pct(stages.map((s) => s[i]), 50)]),
			),
		},
		conc: {
			rooms: opt.rooms,
			rounds: opt.rounds,
			answered,
			p50_ms: pct(all, 50),
			p99_ms: pct(all, 99),
			per_s: (answered / wall) * 1000,
		},
	};
	for (const k of [c, ...clients]) await k.close();
} finally {
	await srv.stop();
}

// Anchor: the same 50 hidden tests as 50 separate tandem-run script runs.
{
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-submit-'));
	const file = path.join(dir, 'inc.py');
	const times = [];
	for (let i = 0; i < 50; i++) {
		fs.writeFileSync(file, `${CODE}print(inc(${i * 7}))\n`);
		const t0 = now();
		const r = spawnSync(TANDEM_RUN, ['--quiet', '--pool', '1', file], { encoding: 'utf8' });
		times.push(now() - t0);
		const j = JSON.parse(r.stdout);
		if (j.verdict !== 'OK' || j.stdout.trim() !== String(i * 7 + 1)) throw new Error(`tandem-run: ${r.stdout}`);
	}
	fs.rmSync(dir, { recursive: true, force: true });
	out.anchor = { runs: 50, total_ms: times.reduce((a, b) => a + b, 0), p50_ms: pct(times, 50) };
}

// The shipped bank: import (twice: the second finds nothing changed) and check.
const bank = path.join(REPO, 'problems');
if (fs.existsSync(bank)) {
	const n = fs.readdirSync(bank).filter((f) => fs.existsSync(path.join(bank, f, 'problem.yaml'))).length;
	// Into a database of its own, made and dropped here, so the first import
	// stores every problem whatever the shared database already holds.
	const db = `tandem_bench_${crypto.randomBytes(4).toString('hex')}`;
	const dbPg = /^postgres(ql)?:\/\//.test(PG)
		? Object.assign(new URL(PG), { pathname: `/${db}` }).toString()
		: `${PG} dbname=${db}`;
	const psql = (sql) => execFileSync('psql', [PG, '-qAtc', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
	psql(`CREATE DATABASE ${db}`);
	try {
		execFileSync(TANDEM_BIN, ['migrate', '--pg', dbPg, '--migrations', process.env.TANDEM_MIGRATIONS || path.join(REPO, 'migrations')], {
			stdio: 'ignore',
		});
		let t0 = now();
		execFileSync(TANDEM_BIN, ['problems', 'import', '--pg', dbPg, bank], { stdio: 'ignore' });
		const imp = now() - t0;
		t0 = now();
		execFileSync(TANDEM_BIN, ['problems', 'import', '--pg', dbPg, bank], { stdio: 'ignore' });
		const again = now() - t0;
		out.bank = { problems: n, import_ms: imp, reimport_ms: again };
	} finally {
		psql(`DROP DATABASE ${db} WITH (FORCE)`);
	}
	if (opt.check) {
		const t0 = now();
		const r = spawnSync(TANDEM_BIN, ['problems', 'check', bank], { encoding: 'utf8' });
		out.bank.check_ms = now() - t0;
		out.bank.check_ok = r.status === 0;
		out.bank.check_line = r.stdout.trim().split('\n').pop();
	}
}
out.load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(JSON.stringify(out));
