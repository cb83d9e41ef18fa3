// load.mjs - the server load benchmark: tandem and y-websocket under the same
// typing load on loopback, side by side.
//
// It starts each server itself (a fresh process per phase, on a free
// loopback port), forks the load-generator workers (worker.mjs), tells them
// when to connect, type, open and close the measured window, and reads the
// CPU and memory of every process involved from /proc while they run:
//
//   phase 1, both systems: 500 rooms, 2 clients each, 5 characters a second
//     per client at random places; 10 s warm-up, 60 s measured; latency from
//     the keystroke to the peer applying it, delivered vs sent, convergence
//     (both peers equal, and equal to a late joiner), server CPU and peak RSS.
//   tandem's transport alone: tandem-transport (server/meson.build), the
//     same server with each update forwarded and nothing else done with it
//     (no merge, no timeline, no acks), under the same load: what
//     libwebsockets, libuv and the kernel cost before any room work.
//   the forwarding floor: bench/server/floor.c (its own typists and a
//     forwarder in C, epoll + recv + send) under the same shape of load, for
//     the CPU one recv and one send per keystroke cost the kernel.
//   phase 2, tandem only: the same typing plus one Run per room every 10 s;
//     run request -> run.result latency and verdicts.
//   idle rooms, both systems, fresh servers: rooms created and joined by one
//     client that stays, silent; RSS growth per room.
//   flood, tandem only (issue 14, defect 3): the typing phase's rooms and
//     typists on a fresh server at the documented per-connection budget
//     (--ops-per-s 200, the default), and in every 10th room the
//     candidate's connection also floods awareness (4096 bytes, the largest
//     relayed), events and notes as fast as its socket takes them; the
//     typists' latency in flooded and quiet rooms, the flooders' refused
//     frames, and whether any peer was closed.
//   ctyping and cflood, tandem only: the typing and the flood phases typed
//     by bench/server/typists.c (tandem-typists, one epoll loop in C with
//     the native CRDT) instead of the node workers, whose own event loops
//     are in every latency they measure; the flooders in a process of
//     their own; "## Typing from C".
//
// Prints the tables (markdown) and, with --write, replaces the
// "## Server load" section of BENCHMARKS.md, and the "## Typing under a
// flood" section when the flood phase ran (a run of --only with flood
// among its phases writes that section alone).  Everything is bounded: each
// wait has a deadline, and the servers are stopped on exit.

import { spawn, fork, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

// ---- options -------------------------------------------------------------------

const opt = {
	build: path.join(root, 'build-loadbench'),
	rooms: 500,
	warmup: 10,
	measure: 60,
	workers: 2, // one node process at 5,000 keystrokes/s used ~80% of a core on y-websocket
	idleRooms: 500,
	idleCycles: 2,
	runEvery: 10,
	drain: 10,
	// The flood phase's drain: a flooder's own keystrokes wait in its socket
	// behind the flood frames the kernel holds (megabytes), which the server
	// reads at the budget's pace (it does not read a connection over budget).
	floodDrain: 60,
	only: null, // tandem | yws | transport | floor | runs | idle | flood | ctyping | cflood (comma list)
	floodEvery: 10, // flood phase: every Nth room of each worker is flooded
	floodPerMs: 1, // ... each flooder sends at most this many frames a millisecond
	floodQueue: 65536, // ... while less than this many bytes wait in its socket
	floodOpsPerS: 200, // ... against a server at this --ops-per-s (the documented default)
	write: false,
	json: null,
	// The development machine is shared with builds and test suites.  As
	// root, the benchmark's processes (servers, judge, generator: everything
	// started from here) run at this nice value, and so does their
	// scheduler autogroup when this process leads its own session (`run`
	// starts it under setsid): with autogroups, a plain nice value only
	// ranks processes within one session.  Redis and PostgreSQL are shared
	// services and keep their own priority.
	nice: -10,
	deadline: 900, // s: everything is stopped after this, whatever happens
};
for (let i = 2; i < process.argv.length; i++) {
	const a = process.argv[i];
	const v = () => process.argv[++i];
	if (a === '--build') opt.build = path.resolve(v());
	else if (a === '--rooms') opt.rooms = Number(v());
	else if (a === '--warmup') opt.warmup = Number(v());
	else if (a === '--measure') opt.measure = Number(v());
	else if (a === '--workers') opt.workers = Number(v());
	else if (a === '--idle-rooms') opt.idleRooms = Number(v());
	else if (a === '--idle-cycles') opt.idleCycles = Number(v());
	else if (a === '--only') opt.only = v().split(',');
	else if (a === '--flood-every') opt.floodEvery = Number(v());
	else if (a === '--flood-per-ms') opt.floodPerMs = Number(v());
	else if (a === '--flood-ops-per-s') opt.floodOpsPerS = Number(v());
	else if (a === '--write') opt.write = true;
	else if (a === '--json') opt.json = v();
	else if (a === '--nice') opt.nice = Number(v());
	else if (a === '--deadline') opt.deadline = Number(v());
	else if (a === '--report-from') opt.reportFrom = v();
	else {
		console.error(
			'usage: load.mjs [--build DIR] [--rooms N] [--warmup S] [--measure S] [--workers N]\n' +
				'                [--idle-rooms N] [--only tandem,yws,transport,floor,runs,idle,flood,ctyping,cflood] [--write] [--json FILE] [--nice N]\n' +
				'                [--flood-every N] [--flood-per-ms N] [--flood-ops-per-s N]',
		);
		process.exit(2);
	}
}
const want = (p) => !opt.only || opt.only.includes(p);

const tandemBin = path.join(opt.build, 'server/tandem');
const wasm = path.join(opt.build, 'crdt/wasm/tandem-crdt.wasm');
const transportBin = path.join(opt.build, 'server/tandem-transport');
const floorBin = path.join(opt.build, 'bench/tandem-floor');
const typistsBin = path.join(opt.build, 'bench/tandem-typists');
const ywsServer = path.join(here, 'node_modules/@y/websocket-server/src/server.js');
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-loadbench-'));
const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---- /proc -----------------------------------------------------------------------

function readStat(pid) {
	try {
		const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
		// fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
		return {
			ppid: Number(f[1]),
			self: (Number(f[11]) + Number(f[12])) / TICK,
			children: (Number(f[13]) + Number(f[14])) / TICK,
		};
	} catch {
		return null;
	}
}

function readStatus(pid) {
	try {
		const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
		const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1] || 0);
		return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
	} catch {
		return { rss: 0, hwm: 0 };
	}
}

function readPss(pid) {
	try {
		const s = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
		return Number((s.match(/^Pss:\s+(\d+)/m) || [])[1] || 0) * 1024;
	} catch {
		return 0;
	}
}

// pid and all its live descendants.
function tree(pid) {
	const kids = new Map();
	for (const d of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(d)) continue;
		const s = readStat(d);
		if (!s) continue;
		if (!kids.has(s.ppid)) kids.set(s.ppid, []);
		kids.get(s.ppid).push(Number(d));
	}
	const out = [];
	const stack = [pid];
	while (stack.length) {
		const p = stack.pop();
		out.push(p);
		for (const k of kids.get(p) || []) stack.push(k);
	}
	return out;
}

// CPU seconds of a group: each process's own time plus what its reaped
// children used (so a sandbox that ran and exited still counts).
function groupCpu(pids) {
	let t = 0;
	for (const p of pids) {
		const s = readStat(p);
		if (s) t += s.self + s.children;
	}
	return t;
}

function servicePids() {
	const data = process.env.TANDEM_DATA || path.join(root, 'data');
	let redis = null;
	let pg = null;
	try {
		redis = Number(fs.readFileSync(path.join(data, 'redis/redis.pid'), 'utf8').trim());
	} catch {
		/* not found */
	}
	let pgBase = data;
	try {
		pgBase = fs.readFileSync(path.join(data, 'pg.location'), 'utf8').trim() || data;
	} catch {
		/* the default place */
	}
	try {
		pg = Number(fs.readFileSync(path.join(pgBase, 'pg/postmaster.pid'), 'utf8').split('\n')[0]);
	} catch {
		/* not found */
	}
	return { redis, pg };
}

// The groups of processes measured in a phase: name -> () => [pids].
function groupsFor(system) {
	const g = {};
	if (system.kind === 'tandem') {
		g.server = () => [system.pid];
		g.judge = () => (system.judgePid ? tree(system.judgePid) : []);
		const { redis, pg } = servicePids();
		if (redis) g.redis = () => [redis];
		if (pg) g.postgres = () => tree(pg);
	} else {
		g.server = () => [system.pid];
	}
	return g;
}

function sampleCpu(groups) {
	const out = {};
	for (const [k, f] of Object.entries(groups)) out[k] = groupCpu(f());
	return out;
}

// Memory of each group: RSS sum (PostgreSQL and the judge: PSS sum, their
// processes share pages: the buffer pool, the zygote's heap).
function sampleMem(groups) {
	const out = {};
	for (const [k, f] of Object.entries(groups)) {
		const pids = f();
		out[k] =
			k === 'postgres' || k === 'judge'
				? pids.reduce((s, p) => s + readPss(p), 0)
				: pids.reduce((s, p) => s + readStatus(p).rss, 0);
	}
	return out;
}

// ---- servers ---------------------------------------------------------------------

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

const children = new Set();
function stopAll() {
	for (const c of children) {
		try {
			if (c.group) process.kill(-c.pid, 'SIGKILL');
			else c.kill('SIGKILL');
		} catch {
			/* gone */
		}
	}
}
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
	process.on(sig, () => {
		stopAll();
		process.exit(130);
	});

async function httpGet(url) {
	const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
	return { status: r.status, body: await r.text() };
}

let serverSeq = 0;
async function startTandem(label, extra = [], bin = tandemBin) {
	const port = await freePort();
	const secret = randomBytes(24).toString('hex');
	const admin = randomBytes(24).toString('hex');
	const logFile = path.join(logDir, `tandem-${++serverSeq}-${label}.log`);
	const out = fs.openSync(logFile, 'w');
	const env = {
		...process.env,
		TANDEM_SECRET: secret,
		TANDEM_ADMIN_KEY: admin,
		TANDEM_LOG_LEVEL: process.env.TANDEM_LOG_LEVEL || 'info',
	};
	// TANDEM_BENCH_WRAP (debugging aid, e.g. "heaptrack -o /tmp/ht"): a
	// command tandem runs under.  The figures then include the wrapper.
	const wrap = (process.env.TANDEM_BENCH_WRAP || '').split(' ').filter(Boolean);
	const p = spawn(
		wrap.length ? wrap[0] : bin,
		[
			...wrap.slice(1),
			...(wrap.length ? [bin] : []),
			'serve',
			'--listen',
			`127.0.0.1:${port}`,
			'--ops-per-s',
			'10000',
			'--runs-per-min',
			'6000',
			'--migrations',
			path.join(root, 'migrations'),
			...extra,
		],
		// A wrapper gets its own process group, so stopping it stops tandem too.
		{ env, stdio: ['ignore', out, out], detached: wrap.length > 0 },
	);
	p.group = wrap.length > 0;
	children.add(p);
	p.on('exit', () => children.delete(p));
	const base = `http://127.0.0.1:${port}`;
	const t0 = Date.now();
	let judgeUp = false;
	while (Date.now() - t0 < 20000) {
		if (p.exitCode !== null) throw new Error(`tandem exited (${p.exitCode}); see ${logFile}`);
		try {
			const r = await httpGet(`${base}/readyz`);
			if (r.status === 200) {
				judgeUp = /judge up/.test(r.body);
				if (judgeUp || Date.now() - t0 > 10000) break;
			}
		} catch {
			/* not listening yet */
		}
		await sleep(100);
	}
	const kids = tree(p.pid).filter((x) => x !== p.pid && readStat(x)?.ppid === p.pid);
	return {
		kind: 'tandem',
		transportOnly: bin === transportBin,
		label,
		proc: p,
		pid: p.pid,
		judgePid: kids[0] || null,
		judgeUp,
		port,
		base,
		url: `ws://127.0.0.1:${port}/ws`,
		admin,
		logFile,
	};
}

async function startYws(label) {
	const port = await freePort();
	const logFile = path.join(logDir, `yws-${++serverSeq}-${label}.log`);
	const out = fs.openSync(logFile, 'w');
	const p = spawn(process.execPath, [ywsServer], {
		env: { ...process.env, HOST: '127.0.0.1', PORT: String(port) },
		stdio: ['ignore', out, out],
	});
	children.add(p);
	p.on('exit', () => children.delete(p));
	const t0 = Date.now();
	for (;;) {
		if (p.exitCode !== null) throw new Error(`y-websocket server exited; see ${logFile}`);
		try {
			if ((await httpGet(`http://127.0.0.1:${port}/`)).status === 200) break;
		} catch {
			/* not yet */
		}
		if (Date.now() - t0 > 20000) throw new Error('y-websocket server did not start');
		await sleep(100);
	}
	return {
		kind: 'yws',
		label,
		proc: p,
		pid: p.pid,
		port,
		url: `ws://127.0.0.1:${port}`,
		logFile,
	};
}

async function stopServer(s) {
	if (s.proc.exitCode !== null) return s.proc.exitCode;
	if (s.proc.group) {
		// The wrapper and tandem under it; the group is killed once it is done.
		process.kill(-s.proc.pid, 'SIGTERM');
		const t0 = Date.now();
		while (s.proc.exitCode === null && s.proc.signalCode === null && Date.now() - t0 < 10000)
			await sleep(50);
		await sleep(2000);
		try {
			process.kill(-s.proc.pid, 'SIGKILL');
		} catch {
			/* all gone */
		}
		return s.proc.exitCode ?? s.proc.signalCode;
	}
	s.proc.kill('SIGTERM');
	const t0 = Date.now();
	while (s.proc.exitCode === null && s.proc.signalCode === null && Date.now() - t0 < 10000)
		await sleep(50);
	if (s.proc.exitCode === null && s.proc.signalCode === null) {
		s.proc.kill('SIGKILL');
		await sleep(200);
		return 'killed after 10 s';
	}
	return s.proc.exitCode ?? s.proc.signalCode;
}

// Rooms: tandem's through POST /api/rooms, y-websocket's are just names.
async function createRooms(server, n) {
	if (server.kind === 'yws') {
		const tag = randomBytes(4).toString('hex');
		return Array.from({ length: n }, (_, i) => ({ id: `bench-${tag}-${i}`, tokens: {} }));
	}
	const rooms = [];
	let i = 0;
	const one = async () => {
		while (i < n) {
			i++;
			const r = await fetch(`${server.base}/api/rooms`, {
				method: 'POST',
				headers: { authorization: `Bearer ${server.admin}`, 'content-type': 'application/json' },
				body: '{}',
				signal: AbortSignal.timeout(10000),
			});
			if (r.status !== 201) throw new Error(`POST /api/rooms: ${r.status} ${await r.text()}`);
			const j = await r.json();
			rooms.push({ id: j.id, tokens: j.tokens });
		}
	};
	await Promise.all(Array.from({ length: 16 }, one));
	return rooms;
}

// ---- workers -----------------------------------------------------------------------

// The generator must not take the CPU from the server it measures.  Left to
// itself, V8 marks and scavenges on helper threads: with two workers whose
// heaps grow in step, four GC threads at the benchmark's priority filled
// both cores for 5-8 ms at a time, and the server under test, woken by a
// keystroke, waited behind them (perf sched: tandem's worst wake-up delay
// 7.7 ms, every latency above 2 ms in clusters at the same moments in both
// workers).  On the main thread a collection only delays this worker's own
// reads, which the latency includes either way; a 32 MB young generation
// collects a third as often and promotes less.  Tandem's p99 in 20 s runs:
// 2.3-3.5 ms before, 2.0 ms after.  Both systems get the same workers.
// TANDEM_BENCH_NODE_ARGS (e.g. "--trace-gc") adds to these.
const WORKER_NODE_ARGS = [
	'--single-threaded-gc',
	'--max-semi-space-size=32',
	...(process.env.TANDEM_BENCH_NODE_ARGS || '').split(' ').filter(Boolean),
];

class Worker {
	constructor(i) {
		this.i = i;
		this.proc = fork(path.join(here, 'worker.mjs'), [], {
			serialization: 'advanced',
			execArgv: WORKER_NODE_ARGS,
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		});
		children.add(this.proc);
		this.waiters = [];
		this.proc.on('message', (m) => {
			const w = this.waiters.shift();
			if (!w) return;
			if (m.ev === 'error') w.reject(new Error(`worker ${i}: ${m.message}`));
			else w.resolve(m);
		});
		this.proc.on('exit', (code) => {
			children.delete(this.proc);
			for (const w of this.waiters.splice(0)) w.reject(new Error(`worker ${i} exited ${code}`));
		});
	}
	call(msg, timeoutMs = 120000) {
		return new Promise((resolve, reject) => {
			const t = setTimeout(() => reject(new Error(`worker ${this.i}: ${msg.cmd} timed out`)), timeoutMs);
			this.waiters.push({
				resolve: (m) => {
					clearTimeout(t);
					resolve(m);
				},
				reject: (e) => {
					clearTimeout(t);
					reject(e);
				},
			});
			this.proc.send(msg);
		});
	}
	get pid() {
		return this.proc.pid;
	}
}

function split(items, n) {
	const parts = Array.from({ length: n }, () => []);
	items.forEach((x, i) => parts[i % n].push(x));
	return parts;
}

// ---- statistics ----------------------------------------------------------------------

function merge(arrays) {
	const n = arrays.reduce((s, a) => s + a.length, 0);
	const out = new Float64Array(n);
	let o = 0;
	for (const a of arrays) {
		out.set(a, o);
		o += a.length;
	}
	return out.sort();
}

function pct(sorted, p) {
	if (!sorted.length) return NaN;
	const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[i];
}

function sumObj(list) {
	const out = {};
	for (const o of list) for (const [k, v] of Object.entries(o)) out[k] = (out[k] || 0) + v;
	return out;
}

// ---- one load phase --------------------------------------------------------------------

async function loadPhase(system, mode) {
	const W = opt.workers;
	const name = system.transportOnly ? 'tandem-transport' : system.kind;
	log(`${name}/${mode}: creating ${opt.rooms} rooms`);
	const rooms = await createRooms(system, opt.rooms);
	const workers = Array.from({ length: W }, (_, i) => new Worker(i));
	const parts = split(rooms, W);
	// Flood mode: every floodEvery-th room of each worker's share.
	// Each flooded room and the quiet room after it also hold an observer (worker.mjs).
	if (mode === 'flood')
		for (const part of parts)
			part.forEach((r, j) => {
				r.flood = j % opt.floodEvery === 0;
				r.observe = j % opt.floodEvery <= 1;
			});
	const prefix = mode === 'runs' ? 'print("hi")\n#' : null;
	log(`${name}/${mode}: connecting ${opt.rooms * 2} clients with ${W} worker(s)`);
	const tc = Date.now();
	await Promise.all(
		workers.map((w, i) =>
			w.call({ cmd: 'setup', kind: system.kind, url: system.url, rooms: parts[i], wasm, prefix }),
		),
	);
	const connectS = (Date.now() - tc) / 1000;
	const groups = groupsFor(system);
	groups.generator = () => workers.map((w) => w.pid);
	workers.forEach((w, i) => {
		groups[`generator${i}`] = () => [w.pid];
	});
	await Promise.all(
		workers.map((w) =>
			w.call({
				cmd: 'start',
				prefix,
				runEveryMs: mode === 'runs' ? opt.runEvery * 1000 : 0,
				flood: mode === 'flood' ? { perTick: opt.floodPerMs, queue: opt.floodQueue } : null,
			}),
		),
	);
	log(`${name}/${mode}: typing; ${opt.warmup} s warm-up`);
	await sleep(opt.warmup * 1000);
	await Promise.all(workers.map((w) => w.call({ cmd: 'window', open: true })));
	const cpu0 = sampleCpu(groups);
	const t0 = process.hrtime.bigint();
	const peak = {};
	const loadavg0 = os.loadavg()[0];
	log(`${name}/${mode}: measuring ${opt.measure} s`);
	const end = Date.now() + opt.measure * 1000;
	const gauges = { backlogMax: 0, redisDown: 0, pgDown: 0, samples: 0 };
	while (Date.now() < end) {
		const m = sampleMem(groups);
		for (const [k, v] of Object.entries(m)) peak[k] = Math.max(peak[k] || 0, v);
		if (system.kind === 'tandem') await sampleGauges(system, gauges);
		await sleep(Math.min(2000, Math.max(0, end - Date.now())));
	}
	await Promise.all(workers.map((w) => w.call({ cmd: 'window', open: false })));
	const cpu1 = sampleCpu(groups);
	const secs = Number(process.hrtime.bigint() - t0) / 1e9;
	const loadavg1 = os.loadavg()[0];
	const hwm = readStatus(system.pid).hwm;
	const m = sampleMem(groups);
	for (const [k, v] of Object.entries(m)) peak[k] = Math.max(peak[k] || 0, v);
	log(`${name}/${mode}: draining, checking convergence`);
	const results = (
		await Promise.all(
			workers.map((w) =>
				w.call({
					cmd: 'finish',
					kind: system.kind,
					url: system.url,
					drainMs: (mode === 'flood' ? opt.floodDrain : opt.drain) * 1000,
					noAcks: !!system.transportOnly,
					noDoc: !!system.transportOnly,
				}),
			),
		)
	).map((r) => r.result);
	let metrics = null;
	if (system.kind === 'tandem') {
		try {
			metrics = (await httpGet(`${system.base}/metrics`)).body;
		} catch {
			/* not essential */
		}
	}
	await Promise.all(workers.map((w) => w.call({ cmd: 'close' })));
	for (const w of workers) w.proc.send({ cmd: 'exit' });
	const cpu = {};
	for (const k of Object.keys(cpu1)) cpu[k] = cpu1[k] - cpu0[k];
	const lat = merge(results.map((r) => r.lat));
	const ackLat = merge(results.map((r) => r.ackLat));
	const runLat = merge(results.map((r) => r.runLat));
	const sum = (k) => results.reduce((s, r) => s + r[k], 0);
	const out = {
		system: system.kind,
		mode,
		rooms: sum('rooms'),
		clients: sum('rooms') * 2,
		workers: W,
		connectS,
		windowS: secs,
		sent: sum('sent'),
		delivered: sum('delivered'),
		lat: summary(lat),
		ackLat: summary(ackLat),
		acked: sum('acked'),
		unackedAtEnd: sum('unacked'),
		converged: sum('converged'),
		diverged: results.flatMap((r) => r.diverged),
		lateMatched: sum('lateMatched'),
		lateFailed: sum('lateFailed'),
		drainMs: Math.max(...results.map((r) => r.drainMs)),
		loopDelay: results.map((r) => r.loopDelay),
		errors: sumObj(results.map((r) => r.errors)),
		closes: sumObj(results.map((r) => r.closes)),
		runs: {
			sent: sum('runsSent'),
			skipped: sum('runsSkipped'),
			lat: summary(runLat),
			verdicts: sumObj(results.map((r) => r.verdicts)),
			errors: sumObj(results.map((r) => r.runErrors)),
			ieMessages: sumObj(results.map((r) => r.ieMessages)),
		},
		cpu,
		peakMem: peak,
		serverHwm: hwm,
		loadavg: [loadavg0, loadavg1],
		metrics: metrics ? pickMetrics(metrics) : null,
		fanout: metrics ? fanoutShares(metrics) : null,
		gauges,
	};
	if (mode === 'flood') {
		out.floodRooms = rooms.filter((r) => r.flood).length;
		out.latBy = {};
		out.ackBy = {};
		out.obsLat = {};
		for (const k of ['quiet', 'peer', 'flooder']) {
			out.latBy[k] = summary(merge(results.map((r) => r.latBy[k])));
			out.ackBy[k] = summary(merge(results.map((r) => r.ackBy[k])));
		}
		for (const k of ['quiet', 'peer']) out.obsLat[k] = summary(merge(results.map((r) => r.obsLat[k])));
		const f = results.map((r) => r.flood);
		out.flood = {
			sent: sumObj(f.map((x) => x.sent)),
			bytes: f.reduce((s, x) => s + x.bytes, 0),
			refused: f.reduce((s, x) => s + x.refused, 0),
			errors: sumObj(f.map((x) => x.errors)),
			relayed: sumObj(f.map((x) => x.relayed)),
			closes: sumObj(f.map((x) => x.closes)),
		};
	}
	return out;
}

function summary(sorted) {
	return {
		n: sorted.length,
		p50: pct(sorted, 50),
		p90: pct(sorted, 90),
		p99: pct(sorted, 99),
		max: sorted.length ? sorted[sorted.length - 1] : NaN,
	};
}

// Every unlabelled gauge of tandem's /metrics: name -> value.
async function metricGauges(system) {
	const out = {};
	try {
		for (const l of (await httpGet(`${system.base}/metrics`)).body.split('\n')) {
			const m = l.match(/^(tandem_[a-z_]+) (\S+)$/);
			if (m) out[m[1]] = Number(m[2]);
		}
	} catch {
		/* left empty */
	}
	return out;
}

// Tandem's timeline backlog and the health of Redis and PostgreSQL, as its
// /metrics says (sampled every 2 s of the window).
async function sampleGauges(system, g) {
	try {
		const text = (await httpGet(`${system.base}/metrics`)).body;
		const val = (name) => Number((text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm')) || [])[1]);
		g.samples++;
		g.backlogMax = Math.max(g.backlogMax, val('tandem_timeline_backlog') || 0);
		if (val('tandem_redis_up') === 0) g.redisDown++;
		if (val('tandem_postgres_up') === 0) g.pgDown++;
	} catch {
		/* a slow answer is itself a finding, but not one this sampler reports */
	}
}

// Tandem's own part of the latency, from its fan-out histogram (update read
// -> forwarded frame written, the whole run): the share within 0.25, 1 and 5 ms.
function fanoutShares(text) {
	const b = {};
	for (const l of text.split('\n')) {
		const m = /^tandem_fanout_seconds_bucket\{le="([^"]+)"\} (\d+)/.exec(l);
		if (m) b[m[1]] = Number(m[2]);
	}
	const all = b['+Inf'];
	if (!all) return null;
	return { n: all, le025: b['0.00025'] / all, le1: b['0.001'] / all, le5: b['0.005'] / all };
}

// A few lines of tandem's /metrics worth keeping beside the result.
function pickMetrics(text) {
	return text
		.split('\n')
		.filter((l) => l && !l.startsWith('#') && !/_bucket\{/.test(l))
		.slice(0, 80);
}

// ---- idle rooms ----------------------------------------------------------------------

async function idlePhase(kind) {
	// Tandem frees an empty room --left-after-ms + 5 s after its last client
	// left (default 5 min + 5 s); 2 s here, to see that memory come back.
	const system =
		kind === 'tandem' ? await startTandem('idle', ['--left-after-ms', '2000']) : await startYws('idle');
	const w = new Worker(0);
	const batch = 100;
	const settle = async () => {
		await sleep(1500);
		return readStatus(system.pid).rss;
	};
	try {
		// A first batch pays for one-time set-up (pools, caches, code paths
		// run for the first time); the growth is measured after it.
		await w.call({ cmd: 'idle', kind, url: system.url, wasm, rooms: await createRooms(system, batch) });
		const base = await settle();
		const steps = [];
		for (let done = 0; done < opt.idleRooms; done += batch) {
			const rooms = await createRooms(system, batch);
			await w.call({ cmd: 'idle', kind, url: system.url, wasm, rooms });
			steps.push(await settle());
		}
		const n = steps.length * batch;
		const grown = steps[steps.length - 1] - base;
		await w.call({ cmd: 'close' });
		const afterLeave = await settle();
		let roomsAfterLeave = null;
		let createOnlyPerRoom = null;
		let freedPerRoom = null;
		const cycles = [];
		let roomsAfterFree = null;
		if (kind === 'tandem') {
			const g = await metricGauges(system);
			roomsAfterLeave = g.tandem_rooms;
			const t0 = Date.now();
			while (Date.now() - t0 < 20000 && (await metricGauges(system)).tandem_rooms > 0) await sleep(500);
			roomsAfterFree = (await metricGauges(system)).tandem_rooms;
			freedPerRoom = ((await settle()) - base) / n;
			// The same number of rooms again, twice: created, joined, left and
			// freed.  Flat RSS means the memory is reused (kept by malloc, not
			// leaked); growth each cycle would be a leak.
			for (let cycle = 0; cycle < opt.idleCycles; cycle++) {
				await w.call({ cmd: 'idle', kind, url: system.url, wasm, rooms: await createRooms(system, n + batch) });
				await w.call({ cmd: 'close' });
				const t1 = Date.now();
				while (Date.now() - t1 < 20000 && (await metricGauges(system)).tandem_rooms > 0) await sleep(500);
				cycles.push({ rss: await settle(), rooms: (await metricGauges(system)).tandem_rooms });
			}
			// Rooms created through the REST API and never joined.
			const before = await settle();
			await createRooms(system, n);
			createOnlyPerRoom = ((await settle()) - before) / n;
		}
		return {
			system: kind,
			rooms: n,
			baseRss: base,
			perHundred: steps.map((s, i) => s - (i ? steps[i - 1] : base)),
			perRoom: grown / n,
			afterLeavePerRoom: (afterLeave - base) / n,
			roomsAfterLeave,
			roomsAfterFree,
			freedPerRoom,
			afterFreeRss: base + (freedPerRoom ?? 0) * n,
			cycles,
			createOnlyPerRoom,
		};
	} finally {
		w.proc.send({ cmd: 'exit' });
		await stopServer(system);
	}
}

// ---- report ----------------------------------------------------------------------------

const ms = (x) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)) : '–');
const mb = (b) => (b / 1e6).toFixed(1);
const kb = (b) => (b / 1e3).toFixed(1);
const secs = (s) => (s === undefined ? '–' : s.toFixed(1));
const num = (n) => n.toLocaleString('en-US');

// The forwarding floor: bench/server/floor.c under the same shape of load
// (its own typists, in C), for what one recv and one send per keystroke cost.
function floorPhase() {
	return new Promise((resolve, reject) => {
		const args = ['--rooms', String(opt.rooms), '--rate', '5', '--warmup', String(opt.warmup),
			'--measure', String(opt.measure)];
		const p = spawn(floorBin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
		let out = '';
		p.stdout.on('data', (d) => (out += d));
		p.on('error', reject);
		p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`floor exited ${code}`))));
	});
}

// The same typing from bench/server/typists.c (tandem-typists: one epoll loop,
// the native CRDT), on a fresh server: "ctyping" as the typing phase,
// "cflood" as the flood phase (every floodEvery-th room's candidate floods
// from a process of its own; each flooded room and the room after it hold
// an observer).  What a keystroke costs without node's event loop in its
// latency.
async function cPhase(mode) {
	const flood = mode === 'cflood';
	const s = await startTandem(mode, flood ? ['--ops-per-s', String(opt.floodOpsPerS)] : []);
	try {
		const rooms = await createRooms(s, opt.rooms);
		const lines = rooms.map((r, j) => {
			const t = r.tokens;
			const observe = flood && j % opt.floodEvery <= 1;
			const fl = flood && j % opt.floodEvery === 0 ? 1 : 0;
			return `${r.id} ${t.interviewer} ${t.candidate} ${observe ? t.observer : '-'} ${fl}\n`;
		});
		const load0 = os.loadavg()[0];
		log(`${mode}: ${rooms.length} rooms, tandem-typists`);
		const out = await new Promise((resolve, reject) => {
			const args = ['--port', String(s.port), '--rate', '5', '--warmup', String(opt.warmup),
				'--measure', String(opt.measure), '--drain', String(opt.drain),
				'--flood-per-ms', String(opt.floodPerMs), '--flood-queue', String(opt.floodQueue),
				'--server-pid', String(s.pid)];
			const p = spawn(typistsBin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
			let text = '';
			p.stdout.on('data', (d) => (text += d));
			p.on('error', reject);
			p.on('exit', (code, sig) =>
				code === 0 ? resolve(JSON.parse(text)) : reject(new Error(`tandem-typists exited ${code ?? sig}`)),
			);
			p.stdin.on('error', () => {}); // it exited: its exit says why
			p.stdin.end(lines.join(''));
		});
		out.peakRss = readStatus(s.pid)?.hwm ?? null;
		out.load = [load0, os.loadavg()[0]];
		out.opsPerS = flood ? opt.floodOpsPerS : 10000;
		return out;
	} finally {
		await stopServer(s);
	}
}

function cpuModel() {
	try {
		const m = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m);
		return m ? m[1].trim() : '?';
	} catch {
		return '?';
	}
}

function verdictMark(ok, how) {
	return ok ? 'met' : `**missed** (${how})`;
}

function report(res) {
	const T = res.tandem;
	const Yw = res.yws;
	const R = res.runs;
	const I = res.idle || {};
	const L = [];
	const date = new Date().toISOString().slice(0, 10);
	L.push('## Server load');
	L.push('');
	L.push(
		`Measured ${date} on ${os.cpus().length} cores (${cpuModel()}), node ${process.version}, ` +
			`yjs ${pkgVersion('yjs')}, y-websocket ${pkgVersion('y-websocket')} (client), ` +
			`@y/websocket-server ${pkgVersion('@y/websocket-server')}; tandem: meson buildtype=release ` +
			`(${path.basename(opt.build)}), run as root (judge supervisor forked), info logging to a file, ` +
			'Redis (appendonly) and PostgreSQL from `scripts/services`, in a database created afresh for the run (`tandem_loadbench`, Redis db 3). The machine is shared with other ' +
			`work (load averages below); the benchmark's own processes ran at ${res.nice}, Redis and ` +
			'PostgreSQL at their usual priority. Reproduce with `bench/server/run` (about 11 minutes).',
	);
	L.push('');
	L.push(
		`Load: ${num(opt.rooms)} rooms, ${num(opt.rooms * 2)} clients (interviewer + candidate), each typing 5 ` +
			`characters a second at random places; ${opt.warmup} s warm-up, ${opt.measure} s measured; one ` +
			`generator (${opt.workers} node process${opt.workers > 1 ? 'es' : ''}, each holding both peers of its rooms, so ` +
			'a keystroke and its arrival are read from one clock; run as `node ' +
			WORKER_NODE_ARGS.join(' ') +
			'`: garbage collection on each worker\'s main thread, not on helper threads that take the cores the server needs). ' +
			'Tandem clients are the wasm CRDT ' +
			'(crdt/wasm/crdt.mjs) speaking tandem.v1; y-websocket clients are yjs + WebsocketProvider ' +
			'(disableBc, ws). A character counts as delivered when the peer has applied the operation ' +
			'with its id (agent or clientID, sequence number). Each system gets a fresh server process; the ' +
			'phases run one after the other, never at once.',
	);
	L.push('');
	if (T || Yw) {
		L.push(`### Typing: ${num(opt.rooms)} rooms, ${num(opt.rooms * 2)} clients`);
		L.push('');
		L.push('| | Tandem | y-websocket |');
		L.push('|---|---:|---:|');
		const row = (name, f) => L.push(`| ${name} | ${T ? f(T) : '–'} | ${Yw ? f(Yw) : '–'} |`);
		row('latency p50 (ms)', (r) => ms(r.lat.p50));
		row('latency p90 (ms)', (r) => ms(r.lat.p90));
		row('latency p99 (ms)', (r) => ms(r.lat.p99));
		row('latency max (ms)', (r) => ms(r.lat.max));
		row('characters delivered / sent', (r) => `${num(r.delivered)} / ${num(r.sent)}`);
		row('send rate achieved (chars/s per client)', (r) => (r.sent / r.clients / r.windowS).toFixed(2));
		row('rooms converged (both peers equal)', (r) => `${r.converged} / ${r.rooms}`);
		row('late joiner equal to the peers', (r) => `${r.lateMatched} / ${r.rooms}`);
		row('server CPU over the window (s)', (r) => `${secs(r.cpu.server)} (${((100 * r.cpu.server) / r.windowS).toFixed(0)}% of a core)`);
		row('server peak RSS (VmHWM)', (r) => `${mb(r.serverHwm)} MB`);
		row('judge supervisor + sandboxes: CPU / peak RSS', (r) =>
			r.system === 'tandem' ? `${secs(r.cpu.judge)} s / ${mb(r.peakMem.judge || 0)} MB` : 'n/a',
		);
		row('Redis: CPU / peak RSS', (r) =>
			r.system === 'tandem' ? `${secs(r.cpu.redis)} s / ${mb(r.peakMem.redis || 0)} MB` : 'n/a',
		);
		row('PostgreSQL (all processes): CPU / peak PSS', (r) =>
			r.system === 'tandem' ? `${secs(r.cpu.postgres)} s / ${mb(r.peakMem.postgres || 0)} MB` : 'n/a',
		);
		row('inside the server: update read → forwarded frame written, within 0.25 / 1 / 5 ms', (r) =>
			r.system === 'tandem' && r.fanout
				? ['le025', 'le1', 'le5'].map((k) => `${(100 * r.fanout[k]).toFixed(2)}%`).join(' / ')
				: 'n/a',
		);
		row('send → durable ack p50 / p99 (ms)', (r) =>
			r.system === 'tandem' ? `${ms(r.ackLat.p50)} / ${ms(r.ackLat.p99)}` : 'n/a',
		);
		row('generator CPU over the window (s)', (r) => `${secs(r.cpu.generator)} (${((100 * r.cpu.generator) / r.windowS).toFixed(0)}% of a core)`);
		row('busiest generator process (% of a core)', (r) => `${busiest(r).toFixed(0)}%`);
		row('generator event-loop delay p99 / max (ms, worst process)', (r) => loopLag(r));
		row('timeline backlog max / samples with Redis down (tandem /metrics)', (r) =>
			r.system === 'tandem' ? `${num(r.gauges.backlogMax)} / ${r.gauges.redisDown} of ${r.gauges.samples}` : 'n/a',
		);
		row('errors / unexpected closes', (r) => `${fmtCounts(r.errors)} / ${fmtCounts(r.closes)}`);
		row('load average (1 min) start → end', (r) => `${r.loadavg[0].toFixed(2)} → ${r.loadavg[1].toFixed(2)}`);
		L.push('');
	}
	if (I.tandem || I.yws) {
		L.push(`### Idle rooms (fresh server; batches of 100 rooms, each joined by one client that stays silent)`);
		L.push('');
		L.push('| | Tandem | y-websocket |');
		L.push('|---|---:|---:|');
		const row = (name, f) => L.push(`| ${name} | ${I.tandem ? f(I.tandem) : '–'} | ${I.yws ? f(I.yws) : '–'} |`);
		row('RSS growth per room, client connected', (r) => `${kb(r.perRoom)} KB`);
		row('RSS growth per 100 rooms, each batch', (r) => r.perHundred.map((x) => kb(x)).join(', ') + ' KB');
		row('RSS growth per room after the clients left', (r) => `${kb(r.afterLeavePerRoom)} KB`);
		row('rooms still in memory after the clients left (tandem /metrics)', (r) =>
			r.roomsAfterLeave === null || r.roomsAfterLeave === undefined ? 'n/a' : `${r.roomsAfterLeave} of ${r.rooms + 100}`,
		);
		row('... once the empty rooms were freed (--left-after-ms 2000): rooms left / RSS growth per room', (r) =>
			r.freedPerRoom === null || r.freedPerRoom === undefined ? 'n/a' : `${r.roomsAfterFree} / ${kb(r.freedPerRoom)} KB`,
		);
		row(`RSS after ${opt.idleCycles} more cycles of as many rooms created, joined, left and freed`, (r) =>
			r.cycles && r.cycles.length
				? `${r.cycles.map((c) => `${mb(c.rss)} MB`).join(', ')} (was ${mb(r.afterFreeRss)} MB)`
				: 'n/a',
		);
		row('RSS growth per room created (REST) and never joined', (r) =>
			r.createOnlyPerRoom === null || r.createOnlyPerRoom === undefined ? 'n/a' : `${kb(r.createOnlyPerRoom)} KB`,
		);
		L.push('');
	}
	if (R) {
		L.push(`### Runs: the same typing plus one Run per room every ${opt.runEvery} s (Tandem only)`);
		L.push('');
		L.push('| | Tandem |');
		L.push('|---|---:|');
		L.push(`| runs requested in the window | ${num(R.runs.sent)} (${(R.runs.sent / R.windowS).toFixed(1)}/s) |`);
		L.push(`| run request → run.result p50 / p90 / p99 / max (ms) | ${ms(R.runs.lat.p50)} / ${ms(R.runs.lat.p90)} / ${ms(R.runs.lat.p99)} / ${ms(R.runs.lat.max)} |`);
		L.push(`| results received | ${num(R.runs.lat.n)} |`);
		L.push(`| verdicts | ${fmtCounts(R.runs.verdicts)} |`);
		if (Object.keys(R.runs.ieMessages).length)
			L.push(`| IE messages | ${fmtCounts(R.runs.ieMessages)} |`);
		L.push(`| run errors / skipped (previous run of the room unanswered) | ${fmtCounts(R.runs.errors)} / ${R.runs.skipped} |`);
		L.push(`| typing latency p50 / p99 / max (ms) | ${ms(R.lat.p50)} / ${ms(R.lat.p99)} / ${ms(R.lat.max)} |`);
		L.push(`| characters delivered / sent | ${num(R.delivered)} / ${num(R.sent)} |`);
		L.push(`| rooms converged / late joiner equal | ${R.converged} / ${R.lateMatched} of ${R.rooms} |`);
		L.push(`| server CPU (s) / peak RSS | ${secs(R.cpu.server)} / ${mb(R.serverHwm)} MB |`);
		L.push(`| judge supervisor + sandboxes CPU (s) / peak RSS | ${secs(R.cpu.judge)} / ${mb(R.peakMem.judge || 0)} MB |`);
		L.push(`| Redis CPU (s) / PostgreSQL CPU (s) | ${secs(R.cpu.redis)} / ${secs(R.cpu.postgres)} |`);
		L.push(`| generator CPU (s) / busiest process | ${secs(R.cpu.generator)} / ${busiest(R).toFixed(0)}% of a core |`);
		L.push(`| generator event-loop delay p99 / max (ms, worst process) | ${loopLag(R)} |`);
		L.push(`| errors / unexpected closes | ${fmtCounts(R.errors)} / ${fmtCounts(R.closes)} |`);
		L.push('');
	}
	const X = res.transport;
	if (X) {
		L.push("### Tandem's transport alone (same run)");
		L.push('');
		L.push(
			'`tandem-transport` (server/meson.build): the tandem server built with `TANDEM_TRANSPORT_ONLY` - ' +
				'libwebsockets on the libuv loop, joins with tokens, each update\'s header read and its author ' +
				'checked, then the update forwarded to the peer, and nothing else: no merge, no timeline, no ' +
				'acks, no document - under the same generator and load as the two systems above.  It is what ' +
				'the transport the design fixes costs before a room does any work.',
		);
		L.push('');
		L.push('| | transport alone |');
		L.push('|---|---:|');
		L.push(`| server CPU over the window (s) | ${secs(X.cpu.server)} (${((100 * X.cpu.server) / X.windowS).toFixed(0)}% of a core) |`);
		if (Yw) L.push(`| ... as a share of y-websocket's | ${(X.cpu.server / Yw.cpu.server).toFixed(3)} |`);
		if (T) L.push(`| ... as a share of Tandem's | ${(X.cpu.server / T.cpu.server).toFixed(3)} |`);
		L.push(`| characters delivered / sent | ${num(X.delivered)} / ${num(X.sent)} |`);
		L.push(`| rooms converged (both peers equal) | ${X.converged} / ${X.rooms} |`);
		L.push(`| latency p50 / p99 / max (ms) | ${ms(X.lat.p50)} / ${ms(X.lat.p99)} / ${ms(X.lat.max)} |`);
		L.push(`| server peak RSS (VmHWM) | ${mb(X.serverHwm)} MB |`);
		L.push(`| generator CPU over the window (s) | ${secs(X.cpu.generator)} |`);
		L.push(`| errors / unexpected closes | ${fmtCounts(X.errors)} / ${fmtCounts(X.closes)} |`);
		L.push('');
	}
	if (res.floor) {
		const F = res.floor;
		L.push('### Forwarding floor: one recv and one send per keystroke (same run)');
		L.push('');
		L.push(
			'`bench/server/floor.c`: the smallest server that forwards each keystroke at once - epoll, ' +
				'`recv` from the typist, `send` to the peer, in C, nothing else (no WebSocket, no document, ' +
				`no timeline, no acks) - under the same shape of load from its own typists in C: ${num(F.rooms)} rooms, ` +
				`${num(F.clients)} connections, ${F.rate} messages of ${F.size} bytes a second each, ${F.windowS} s measured. ` +
				'On loopback a send also pays for the receiving side\'s TCP processing, so this is the CPU any ' +
				'forwarding server spends in the kernel under this load.',
		);
		L.push('');
		L.push('| | floor |');
		L.push('|---|---:|');
		L.push(`| server CPU over the window (s) | ${secs(F.serverCpuS)} (${((100 * F.serverCpuS) / F.windowS).toFixed(0)}% of a core) |`);
		if (Yw) L.push(`| ... as a share of y-websocket's | ${(F.serverCpuS / Yw.cpu.server).toFixed(3)} |`);
		if (T) L.push(`| ... as a share of Tandem's | ${(F.serverCpuS / T.cpu.server).toFixed(3)} |`);
		L.push(`| messages delivered / sent | ${num(F.received)} / ${num(F.sent)} |`);
		L.push(`| latency p50 / p99 (ms) | ${ms(F.p50Ms)} / ${ms(F.p99Ms)} |`);
		L.push(`| its typists' CPU (s) | ${secs(F.clientCpuS)} |`);
		L.push('');
	}
	if (T && Yw) {
		L.push('### Targets (issue 5; same generator, same run)');
		L.push('');
		L.push('| target | limit | today | verdict |');
		L.push('|---|---:|---:|---|');
		const ratio = (a, b) => (b > 0 ? a / b : Infinity);
		const tgt = (name, limit, today, ok, how) => L.push(`| ${name} | ${limit} | ${today} | ${verdictMark(ok, how)} |`);
		const p99 = ratio(T.lat.p99, Yw.lat.p99);
		tgt('p99 latency, Tandem / y-websocket', '≤ 0.10', `${p99.toFixed(3)} (${ms(T.lat.p99)} / ${ms(Yw.lat.p99)} ms)`, p99 <= 0.1, `${(p99 / 0.1).toFixed(1)}× the limit`);
		const cpuR = ratio(T.cpu.server, Yw.cpu.server);
		tgt('server CPU, Tandem / y-websocket', '≤ 0.20', `${cpuR.toFixed(3)} (${secs(T.cpu.server)} / ${secs(Yw.cpu.server)} s)`, cpuR <= 0.2, `${(cpuR / 0.2).toFixed(1)}× the limit`);
		const rssR = ratio(T.serverHwm, Yw.serverHwm);
		tgt('server peak RSS, Tandem / y-websocket', '≤ 0.20', `${rssR.toFixed(3)} (${mb(T.serverHwm)} / ${mb(Yw.serverHwm)} MB)`, rssR <= 0.2, `${(rssR / 0.2).toFixed(1)}× the limit`);
		if (I.tandem) {
			const per = I.tandem.perRoom / 1000;
			tgt('memory per idle room (Tandem)', '≤ 8 KB', `${per.toFixed(1)} KB`, per <= 8, `${(per - 8).toFixed(1)} KB over`);
		}
		tgt('every character delivered, every room converged (both)', 'all', `${T.delivered === T.sent && Yw.delivered === Yw.sent && T.converged === T.rooms && Yw.converged === Yw.rooms ? 'all' : 'not all'}`, T.delivered === T.sent && Yw.delivered === Yw.sent && T.converged === T.rooms && Yw.converged === Yw.rooms, 'see the table');
		L.push('');
		if (X && Yw.cpu.server > 0) {
			const budget = 0.2 * Yw.cpu.server;
			const left = budget - X.cpu.server;
			const room = Math.max(0, T.cpu.server - X.cpu.server);
			const perKey = (s) => ((1e6 * s) / Math.max(1, T.sent)).toFixed(1);
			L.push(
				`The CPU limit is ${secs(budget)} s over this window (0.20 of y-websocket's ${secs(Yw.cpu.server)} s). ` +
					`Tandem's transport alone (section above) used ${secs(X.cpu.server)} s ` +
					`(${(X.cpu.server / Yw.cpu.server).toFixed(3)} of y-websocket's), ` +
					(left > 0
						? `leaving ${secs(left)} s (${perKey(left)} µs a keystroke) for merging, recording and acknowledging every update; `
						: 'more than the limit before a room merges, records or acknowledges anything; ') +
					`Tandem spent ${secs(room)} s (${perKey(room)} µs a keystroke) on that work.`,
			);
			L.push('');
		}
		L.push(
			'Server CPU and RSS compare the network process alone (Tandem) with the y-websocket node ' +
				'process; what Tandem spends besides, in its judge supervisor, Redis and PostgreSQL, is in ' +
				'its own rows above (Redis and PostgreSQL are shared with whatever else runs on the machine).',
		);
		L.push('');
	}
	L.push('How each figure is taken:');
	L.push('');
	L.push(
		'- latency: keystroke (before the local edit) → the peer has applied that operation; only ' +
			'characters typed inside the window count, delivered vs sent likewise; the drain after the ' +
			`window waits up to ${opt.drain} s for the rest.`,
	);
	L.push(
		'- server CPU: utime+stime of the server process from /proc over the window; peak RSS: its ' +
			'VmHWM at the end of the window (fresh process per phase). Judge: the supervisor and every ' +
			'process under it (sandboxes included, reaped ones through cutime/cstime), memory as PSS; ' +
			'PostgreSQL: the postmaster and all its processes, memory as PSS (they share the buffer pool); ' +
			'Redis: its one process. Peaks of the groups are sampled every 2 s.',
	);
	L.push(
		'- idle room: created (Tandem: POST /api/rooms) and joined by one client that stays connected ' +
			'and silent; RSS growth of the server over batches of 100 after a first batch of 100 that ' +
			'pays for one-time set-up, divided by the rooms. "After the clients left" and "freed" are ' +
			'the same rooms once every client closed, and (Tandem) once the server freed them.',
	);
	L.push(
		'- durable ack: keystroke → the first ack covering it. Acks are cumulative and wait up to ' +
			'--ack-delay-ms (200 ms) to share a write with other frames to the same client ' +
			'(docs/protocol.md), so this is mostly that wait, by design.',
		'- inside the server: tandem\'s fan-out histogram (/metrics, whole run): from reading an ' +
			'update off its socket to writing it to the peer; the rest of a keystroke\'s latency is ' +
			'the two sockets, the kernel and the generator.',
		'- runs: `{"t":"run"}` from the interviewer and candidate in turn, one per room every ' +
			`${opt.runEvery} s at a random phase; the room's text is \`print("hi")\` plus a comment that ` +
			'the typing goes into; latency is request → run.result at the requester.',
	);
	L.push('');
	return L.join('\n');
}

// "## Typing under a flood": the flood phase beside the typing phase of the
// same run (issue 14, defect 3).
function floodReport(res) {
	const F = res.flood;
	const T = res.tandem;
	const L = [];
	const date = new Date().toISOString().slice(0, 10);
	const sentAll = Object.values(F.flood.sent).reduce((a, b) => a + b, 0);
	const perFlooder = (x) => (x / Math.max(1, F.floodRooms) / F.windowS);
	L.push('## Typing under a flood');
	L.push('');
	L.push(
		`Measured ${date} by \`bench/server/run --only tandem,flood\` (the load benchmark's flood phase, ` +
			`bench/server/load.mjs) on ${os.cpus().length} cores (${cpuModel()}), node ${process.version}, ` +
			`tandem built with meson buildtype=release. **The machine was shared** with other work (load ` +
			`averages below); the benchmark's own processes ran at ${res.nice}, Redis and PostgreSQL ` +
			'(which record the timeline) at their usual priority, below them.',
	);
	L.push('');
	L.push(
		`The rooms and typists of the typing phase (${num(opt.rooms)} rooms, ${num(opt.rooms * 2)} clients ` +
			`typing 5 characters a second each; ${opt.warmup} s warm-up, ${opt.measure} s measured) on a fresh ` +
			`server at the documented per-connection budget (\`--ops-per-s ${opt.floodOpsPerS}\`: ` +
			`${opt.floodOpsPerS} frames and 16 MiB a second, docs/protocol.md "Limits"; the typing phase runs ` +
			'at 10,000 so that nothing there is ever refused). In every ' +
			`${opt.floodEvery}th room (${F.floodRooms} rooms) the candidate's connection, besides typing, sends ` +
			'an awareness frame of 4,096 bytes (the largest relayed), a paste event and a note of 100 ' +
			'characters, in turn, as fast as its socket takes them (while less than ' +
			`${opt.floodQueue / 1024} KiB wait in it, at most ${opt.floodPerMs} a millisecond: the generator ` +
			'must still read and type for every other room). A candidate\'s note is refused with ' +
			'`forbidden` once read; awareness and events within the budget reach the interviewer. ' +
			'"The peer" is the interviewer of a flooded room: its keystrokes go to the flooding ' +
			'candidate; "the flooder" is the candidate\'s own typing, which shares the budget and its ' +
			'own socket with its flood: its updates wait behind the flood frames already queued in that ' +
			'socket (the kernel holds megabytes of them), which the server reads at the budget\'s pace ' +
			'(it does not read a connection over its budget until `retry_ms` passed), and are refused ' +
			`and resent with them; the drain after the window waits up to ${opt.floodDrain} s for them.`,
	);
	L.push('');
	L.push('| keystroke → peer applied (ms) | p50 | p99 | max | delivered |');
	L.push('|---|---:|---:|---:|---:|');
	const line = (name, s) => L.push(`| ${name} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} | ${num(s.n)} |`);
	if (T) line('typing phase, no flood (same run, its own fresh server)', T.lat);
	line(`flood phase, quiet rooms (${num(F.rooms - F.floodRooms)})`, F.latBy.quiet);
	line(`flood phase, flooded rooms: the peer's keystrokes (${F.floodRooms})`, F.latBy.peer);
	line(`flood phase, flooded rooms: the flooder's own keystrokes (${F.floodRooms})`, F.latBy.flooder);
	line(`flood phase, flooded rooms: the peer's keystrokes at an observer (${F.floodRooms})`, F.obsLat.peer);
	line(`flood phase, quiet rooms: the interviewer's keystrokes at an observer (${F.floodRooms})`, F.obsLat.quiet);
	L.push('| reference: DESIGN target for edit fan-out on loopback | | ≤ 2 | | |');
	L.push('');
	L.push(
		'The observer rows separate the server from the flooding client: the observer of a flooded room ' +
			'reads what the server relays to it (the flood\'s awareness and events included) and types and ' +
			'floods nothing, so its socket and its share of the generator are not busy with a flood; the ' +
			'same number of quiet rooms (the room after each flooded one) hold an observer too, to compare.',
	);
	L.push('');
	L.push('| keystroke → durable ack at its sender (ms) | p50 | p99 | max | acked |');
	L.push('|---|---:|---:|---:|---:|');
	if (T) line('typing phase, no flood', T.ackLat);
	line('flood phase, quiet rooms', F.ackBy.quiet);
	line("flood phase, flooded rooms: the peer's keystrokes", F.ackBy.peer);
	line("flood phase, flooded rooms: the flooder's own keystrokes", F.ackBy.flooder);
	L.push('');
	L.push(
		'An ack says the update is in the timeline (Redis): it includes the timeline\'s write and the ' +
			'ack\'s own batching (`--ack-delay-ms`), which the peer\'s latency does not, but no client ' +
			'applies anything on its way, so a flood that slows the server shows here for every room, ' +
			'and one that slows only the flooder\'s own client does not.',
	);
	L.push('');
	L.push('| | flood phase |');
	L.push('|---|---:|');
	L.push(
		`| flood frames sent in the window (written to the socket) | ${num(sentAll)} (${fmtCounts(F.flood.sent)}); ` +
			`${perFlooder(sentAll).toFixed(0)} frames/s and ${(perFlooder(F.flood.bytes) / 1e6).toFixed(2)} MB/s per flooder |`,
	);
	L.push(
		`| refused unread with rate_limited (flooders, window; then not read for retry_ms) | ${num(F.flood.refused)} (${perFlooder(F.flood.refused).toFixed(0)}/s per flooder) |`,
	);
	L.push(`| other answers to the flooders (a note: forbidden; an event over the events' own budget: rate_limited with its id) | ${fmtCounts(F.flood.errors)} |`);
	L.push(
		`| flood frames the peers received | ${fmtCounts(F.flood.relayed)} (${perFlooder(Object.values(F.flood.relayed).reduce((a, b) => a + b, 0)).toFixed(0)}/s per peer; the budget passes ≤ ${opt.floodOpsPerS}/s per connection, typing included) |`,
	);
	L.push(`| unexpected closes: quiet rooms / peers / flooders | ${F.flood.closes.quiet || 0} / ${F.flood.closes.peer || 0} / ${F.flood.closes.flooder || 0} |`);
	L.push(`| other errors to typists | ${fmtCounts(F.errors)} |`);
	L.push(`| characters delivered / sent | ${num(F.delivered)} / ${num(F.sent)} |`);
	L.push(`| rooms converged / late joiner equal | ${F.converged} / ${F.lateMatched} of ${F.rooms} |`);
	const cmp = (name, f) => L.push(`| ${name} | ${f(F)}${T ? ` (typing phase: ${f(T)})` : ''} |`);
	cmp('server CPU over the window', (r) => `${secs(r.cpu.server)} s, ${((100 * r.cpu.server) / r.windowS).toFixed(0)}% of a core`);
	cmp('inside the server: update read → forwarded frame written, within 0.25 / 1 / 5 ms (whole run)', (r) =>
		r.fanout ? ['le025', 'le1', 'le5'].map((k) => `${(100 * r.fanout[k]).toFixed(1)}%`).join(' / ') : 'n/a',
	);
	cmp('server peak RSS (VmHWM)', (r) => `${mb(r.serverHwm)} MB`);
	cmp('Redis / PostgreSQL CPU (s)', (r) => `${secs(r.cpu.redis)} / ${secs(r.cpu.postgres)}`);
	cmp('timeline backlog max', (r) => num(r.gauges.backlogMax));
	cmp('generator CPU (s) / event-loop delay p99 / max (ms, worst process)', (r) => `${secs(r.cpu.generator)} / ${loopLag(r)}`);
	cmp('load average (1 min) start → end', (r) => `${r.loadavg[0].toFixed(2)} → ${r.loadavg[1].toFixed(2)}`);
	L.push('');
	const p99 = F.latBy.peer.p99;
	const over = (F.errors.overloaded || 0) + (F.flood.errors.overloaded || 0);
	L.push(
		`Against the DESIGN target (p99 ≤ 2 ms): the peer's p99 in flooded rooms was ${ms(p99)} ms, ` +
			`${p99 <= 2 ? 'within it' : '**over it**'}; the quiet rooms' ${ms(F.latBy.quiet.p99)} ms` +
			(T ? `, the typing phase's ${ms(T.lat.p99)} ms on the same machine in the same run.` : '.') +
			` The timeline's backlog reached ${num(F.gauges.backlogMax)} events (its bound is 100,000; ` +
			`typing phase: ${T ? num(T.gauges.backlogMax) : '–'}): the flooders' events, each recorded in the ` +
			'timeline and within the per-connection budget, fill the one backlog every room shares' +
			(over
				? `; ${num(F.errors.overloaded || 0)} typists' updates were refused with \`overloaded\` and ` +
					`resent after \`retry_ms\` (the flooders got ${num(F.flood.errors.overloaded || 0)}), and the ` +
					'latency of every room includes that wait.'
				: '; no update was refused with `overloaded` in this run.'),
	);
	L.push('');
	L.push(
		'Latency is taken as in "Server load" (keystroke before the local edit → the peer applied it, ' +
			'one clock per worker, characters typed in the window). Quiet and flooded rooms share the ' +
			'same generator processes, so the gap between them is what the flood costs a room it is in; ' +
			'the gap between the quiet rooms and the typing phase is what it costs everyone else (server ' +
			'and generator CPU on a shared machine included).',
	);
	L.push('');
	return L.join('\n');
}

function loopLag(r) {
	const d = (r.loopDelay || []).filter(Boolean);
	if (!d.length) return '–';
	return `${ms(Math.max(...d.map((x) => x.p99)))} / ${ms(Math.max(...d.map((x) => x.max)))}`;
}

// The busiest worker's share of a core over the window.
function busiest(r) {
	let m = 0;
	for (const [k, v] of Object.entries(r.cpu)) if (/^generator\d+$/.test(k)) m = Math.max(m, v);
	return (100 * m) / r.windowS;
}

function fmtCounts(o) {
	const e = Object.entries(o || {});
	return e.length ? e.map(([k, v]) => `${k} ${num(v)}`).join(', ') : 'none';
}

function pkgVersion(name) {
	try {
		return JSON.parse(fs.readFileSync(path.join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
	} catch {
		return '?';
	}
}

// Replaces the section of BENCHMARKS.md that text starts with ("## Title").
function writeSection(text) {
	const file = path.join(root, 'BENCHMARKS.md');
	let md = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
	const title = text.slice(0, text.indexOf('\n'));
	const start = md.search(new RegExp(`^${title}\\s*$`, 'm'));
	const load = md.search(/^## Server load\s*$/m);
	const afterLoad = load < 0 ? -1 : md.slice(load + 1).search(/^## /m);
	if (start < 0 && afterLoad >= 0) {
		// A new section goes right after "## Server load".
		const at = load + 1 + afterLoad;
		md = md.slice(0, at) + text.trimEnd() + '\n\n' + md.slice(at);
	} else if (start < 0) {
		md = md.replace(/\s*$/, '\n\n') + text.trimEnd() + '\n';
	} else {
		const rest = md.slice(start + 1);
		const next = rest.search(/^## /m);
		const end = next < 0 ? md.length : start + 1 + next;
		md = md.slice(0, start) + text.trimEnd() + '\n' + (next < 0 ? '' : '\n' + md.slice(end));
	}
	fs.writeFileSync(file, md);
}

// Returns the nice value (and autogroup nice) the benchmark runs at.
function prioritise() {
	let how = '';
	try {
		os.setPriority(0, opt.nice);
	} catch {
		log(`cannot set nice ${opt.nice} (not root?)`);
	}
	how = `nice ${os.getPriority(0)}`;
	let group = '';
	try {
		const stat = fs.readFileSync('/proc/self/stat', 'utf8');
		const sid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
		if (sid === process.pid && fs.existsSync('/proc/self/autogroup')) {
			fs.writeFileSync('/proc/self/autogroup', String(opt.nice));
			const m = fs.readFileSync('/proc/self/autogroup', 'utf8').match(/nice (-?\d+)/);
			if (m) group = ` in their own scheduler autogroup at nice ${m[1]}`;
		}
	} catch (e) {
		log(`cannot set the autogroup nice: ${e.message}`);
	}
	return how + group;
}

// The sections a run writes: "Server load", and "Typing under a flood" when
// the flood phase ran; a run of --only with flood among its phases writes
// the flood section alone (its typing phase is there only to compare).
// "## Typing from C": the typing and flood phases typed by
// bench/server/typists.c, without node's event loop in the latency.
function cReport(res) {
	const T = res.ctyping;
	const F = res.cflood;
	const L = [];
	const date = new Date().toISOString().slice(0, 10);
	const any = F || T;
	L.push('## Typing from C');
	L.push('');
	L.push(
		`Measured ${date} by \`bench/server/run --only ctyping,cflood\` on ${os.cpus().length} cores ` +
			`(${cpuModel()}), tandem built with meson buildtype=release, at ${res.nice}. The typists are ` +
			'`bench/server/typists.c` (`tandem-typists`): one epoll loop in C with the native CRDT, the ' +
			`same load as the typing phase (${num(any.rooms)} rooms, each typist ${any.rate} characters a ` +
			`second at random places, ${opt.warmup} s warm-up, ${any.windowS} s measured, a fresh server ` +
			'each), so that a keystroke\'s latency holds no node event loop: the load benchmark\'s node ' +
			'workers add their own delays (their event-loop delay p99 is about 2 ms, more when they also ' +
			'flood). Flood: in every ' +
			`${opt.floodEvery}th room the candidate's connection is a flooder in a child process of its own ` +
			`(a real flooder is another machine), at the documented budget (\`--ops-per-s ${opt.floodOpsPerS}\`), ` +
			'sending in turn an awareness frame of 4,096 bytes, a paste event and a note of 100 characters, ' +
			`at most ${opt.floodPerMs} a millisecond while less than ${opt.floodQueue / 1024} KiB wait to be ` +
			'written; the flooded room\'s interviewer types and its observer applies, so "the peer" is ' +
			'measured at the observer; the room after each flooded one holds an observer too.',
	);
	L.push('');
	const row = (label, l) =>
		L.push(
			`| ${label} | ${ms(l.p50)} | ${ms(l.p90)} | ${ms(l.p99)} | ${ms(l.p999)} | ${ms(l.max)} | ${num(l.n)} |`,
		);
	L.push('| keystroke → applied (ms) | p50 | p90 | p99 | p99.9 | max | keystrokes |');
	L.push('|---|---:|---:|---:|---:|---:|---:|');
	if (T) row('typing, no flood: typist to typist', T.lat.quiet);
	if (F) {
		row(`flood, quiet rooms: typist to typist (${num(F.rooms - Math.ceil(F.rooms / opt.floodEvery))})`, F.lat.quiet);
		row("flood, flooded rooms: the peer's keystrokes at the observer", F.lat.peerObserver);
		row("flood, quiet rooms: the interviewer's keystrokes at an observer", F.lat.quietObserver);
	}
	L.push('| reference: DESIGN target for edit fan-out on loopback | | | ≤ 2 | | | |');
	L.push('');
	const both = (f) => `${T ? f(T) : '–'} | ${F ? f(F) : '–'}`;
	L.push('| | typing | flood |');
	L.push('|---|---:|---:|');
	L.push(`| server CPU over the window (s) | ${both((x) => x.serverCpuS.toFixed(1))} |`);
	L.push(`| server peak RSS (VmHWM) | ${both((x) => `${mb(x.peakRss)} MB`)} |`);
	L.push(`| typists' CPU over the window (s); the flooders' process, whole run (s) | ${both((x) => `${x.clientCpuS.toFixed(1)}; ${x.flooderCpuS.toFixed(1)}`)} |`);
	L.push(`| keystrokes delivered / sent in the window | ${both((x) => `${num(x.delivered)} / ${num(x.sent)}`)} |`);
	L.push(`| rooms converged | ${both((x) => `${num(x.converged)} / ${num(x.rooms)}`)} |`);
	L.push(`| unexpected closes / errors to typists | ${both((x) => `${x.closes} / ${Object.entries(x.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`)} |`);
	if (F)
		L.push(
			`| flood frames queued in the window; answers to the flooders | – | ${num(F.flood.queued)}; ` +
				`${Object.entries(F.flood.answers).map(([k, v]) => `${k} ${num(v)}`).join(', ') || 'none'} |`,
		);
	L.push(`| load average (1 min) start → end | ${both((x) => `${x.load[0].toFixed(2)} → ${x.load[1].toFixed(2)}`)} |`);
	L.push('');
	return L.join('\n');
}

function reports(res) {
	const out = [];
	// A run of some phases only rewrites their own sections.
	if (!(opt.only && (res.flood || res.ctyping || res.cflood))) out.push(report(res));
	if (res.flood) out.push(floodReport(res));
	if (res.ctyping || res.cflood) out.push(cReport(res));
	return out;
}

// ---- main ------------------------------------------------------------------------------

async function main() {
	if (opt.reportFrom) {
		// Re-print (and with --write re-write) the tables of a saved --json.
		const saved = JSON.parse(fs.readFileSync(opt.reportFrom, 'utf8'));
		for (const text of reports(saved)) {
			console.log(text);
			if (opt.write) writeSection(text);
		}
		return;
	}
	const res = {};
	const started = Date.now();
	setTimeout(() => {
		log(`deadline of ${opt.deadline} s reached: stopping`);
		stopAll();
		process.exit(3);
	}, opt.deadline * 1000).unref();
	res.nice = prioritise();
	log(`logs in ${logDir}`);
	if (want('tandem')) {
		const s = await startTandem('typing');
		if (!s.judgeUp) log('tandem: judge is down (not root?)');
		res.tandem = await loadPhase(s, 'typing');
		res.tandem.exit = await stopServer(s);
		res.tandem.log = s.logFile;
	}
	if (want('yws')) {
		const s = await startYws('typing');
		res.yws = await loadPhase(s, 'typing');
		res.yws.exit = await stopServer(s);
	}
	if (want('transport')) {
		const s = await startTandem('transport', [], transportBin);
		res.transport = await loadPhase(s, 'typing');
		res.transport.exit = await stopServer(s);
	}
	if (want('floor')) {
		log('forwarding floor (bench/server/floor.c)');
		res.floor = await floorPhase();
	}
	if (want('runs')) {
		const s = await startTandem('runs');
		res.runs = await loadPhase(s, 'runs');
		res.runs.exit = await stopServer(s);
		res.runs.log = s.logFile;
		res.runs.judgeUp = s.judgeUp;
	}
	if (want('flood')) {
		const s = await startTandem('flood', ['--ops-per-s', String(opt.floodOpsPerS)]);
		res.flood = await loadPhase(s, 'flood');
		res.flood.exit = await stopServer(s);
		res.flood.log = s.logFile;
	}
	for (const mode of ['ctyping', 'cflood'])
		if (want(mode)) res[mode] = await cPhase(mode);
	if (want('idle')) {
		res.idle = {};
		log('idle rooms: tandem');
		res.idle.tandem = await idlePhase('tandem');
		log('idle rooms: y-websocket');
		res.idle.yws = await idlePhase('yws');
	}
	res.elapsedS = (Date.now() - started) / 1000;
	if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(res, null, 1));
	const texts = reports(res);
	for (const text of texts) console.log(text);
	console.error(JSON.stringify(res, (k, v) => (k === 'metrics' ? undefined : v)));
	if (opt.write) for (const text of texts) writeSection(text);
	log(`done in ${res.elapsedS.toFixed(0)} s; logs in ${logDir}`);
}

main().then(
	() => {
		stopAll();
		process.exit(0);
	},
	(e) => {
		console.error(e?.stack || e);
		stopAll();
		process.exit(1);
	},
);
