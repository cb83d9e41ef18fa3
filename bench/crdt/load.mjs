// bench/crdt/load.mjs - snapshot load and encode, ours in wasm beside diamond-types, in CPU time.
//
// run.mjs measures every library on every axis with the wall clock, one
// library after another; on a shared machine the load comes and goes between
// them.  This measures only issue 19's load and encode, ours (wasm, through
// crdt.mjs) and diamond-types' (Doc.fromBytes, toBytes) alternating run by
// run in one process, and reports medians of the process's CPU time
// (process.cpuUsage: user + system), which other work moves less, and of the
// wall clock in the same runs (the *_wall_ms fields).  Every timed call
// follows a full GC (the previous run's garbage is collected outside the
// window) and `--warmup N` untimed rounds of all four (3 unless told: V8 runs
// a wasm function's first calls in its baseline compiler until the optimised
// code, compiled in the background, is ready; both libraries are wasm).
//
// --cold measures instead what a browser tab pays for its one load: each
// load in a new node process (the module compiled and instantiated, nothing
// run before it), ours and diamond-types' alternating, N processes each.
//
// Usage: node bench/crdt/load.mjs [--build DIR] [--traces DIR] [--repeat N]
//        [--warmup N] [--only NAME] [--cold]
//        (after bench/crdt/run has built build-release; prints one JSON line per trace)
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import dt from 'diamond-types-node';
import { collect, median } from './timing.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const args = process.argv.slice(2);

if (typeof globalThis.gc !== 'function') {
	// Each timed call follows a full GC: re-run with the collector exposed.
	const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
	process.exit(r.status ?? 1);
}
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const build = resolve(root, opt('--build', 'build-release'));
const traces = resolve(root, opt('--traces', process.env.TANDEM_TRACES ?? '../shared/traces'), 'sequential_traces');
const repeat = Number(opt('--repeat', '31'));
const warmup = Number(opt('--warmup', '3'));
const only = opt('--only', null);
const cold = args.includes('--cold');

const { TandemCrdt } = await import(pathToFileURL(join(root, 'crdt', 'wasm', 'crdt.mjs')).href);
const wasmPath = join(build, 'crdt', 'wasm', 'tandem-crdt.wasm');

// Child mode (--cold): one load of the snapshot in file, by ours or dt, in
// this fresh process; prints its wall and CPU time in ms.
if (args[0] === '--cold-child') {
	const [, who, file] = args;
	const snap = readFileSync(file);
	const lib = who === 'ours' ? await TandemCrdt.load(readFileSync(wasmPath)) : null;
	globalThis.gc();
	const c0 = process.cpuUsage();
	const t0 = performance.now();
	const d = who === 'ours' ? lib.loadDoc(snap, 2) : dt.Doc.fromBytes(snap);
	const wall = performance.now() - t0;
	const c = process.cpuUsage(c0);
	d.free();
	console.log(JSON.stringify({ wall, cpu: (c.user + c.system) / 1000 }));
	process.exit(0);
}

const crdt = await TandemCrdt.load(readFileSync(wasmPath));

const cpuMs = () => {
	const u = process.cpuUsage();
	return (u.user + u.system) / 1000;
};
// The CPU and wall time of one call of fn, after a full GC and its sweep
// (collect; process.cpuUsage has microsecond steps).
const timed = async (cpu, wall, fn) => {
	await collect();
	const c0 = cpuMs();
	const t0 = performance.now();
	fn();
	wall.push(performance.now() - t0);
	cpu.push(cpuMs() - c0);
};


// The first load in a fresh process, n processes for each side, alternating.
function coldLoads(snap, bytes, n) {
	const dir = mkdtempSync(join(tmpdir(), 'tandem-load-'));
	const files = { ours: join(dir, 'ours'), dt: join(dir, 'dt') };
	writeFileSync(files.ours, snap);
	writeFileSync(files.dt, bytes);
	const t = { ours: { cpu: [], wall: [] }, dt: { cpu: [], wall: [] } };
	try {
		for (let i = 0; i < n; i++)
			for (const who of ['ours', 'dt']) {
				const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url),
					'--cold-child', who, files[who], '--build', build], { encoding: 'utf8' });
				if (r.status !== 0) throw new Error(`cold ${who}: ${r.stderr}`);
				const { wall, cpu } = JSON.parse(r.stdout.trim());
				t[who].wall.push(wall);
				t[who].cpu.push(cpu);
			}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
	return t;
}

for (const file of readdirSync(traces).filter((f) => f.endsWith('.json.gz')).sort()) {
	const name = file.replace(/\.json\.gz$/, '');
	if (only && name !== only) continue;
	const trace = JSON.parse(gunzipSync(readFileSync(join(traces, file))).toString('utf8'));
	const patches = trace.txns.flatMap((t) => t.patches);
	const ours = new crdt.Doc(1);
	const theirs = new dt.Doc('a');
	for (const [pos, del, ins] of patches) {
		if (del > 0) {
			ours.delete(pos, del);
			theirs.del(pos, del);
		}
		if (ins.length > 0) {
			ours.insert(pos, ins);
			theirs.ins(pos, ins);
		}
	}
	const snap = ours.encodeDoc();
	const bytes = theirs.toBytes();
	const r = (xs) => Number(median(xs).toFixed(3));
	if (cold) {
		const t = coldLoads(snap, bytes, repeat);
		ours.free();
		theirs.free();
		console.log(JSON.stringify({
			trace: name, bytes: snap.length, dt_bytes: bytes.length,
			cold_load_ms: r(t.ours.cpu), dt_cold_load_ms: r(t.dt.cpu),
			cold_load_wall_ms: r(t.ours.wall), dt_cold_load_wall_ms: r(t.dt.wall),
			processes: repeat, clock: 'cpu',
		}));
		continue;
	}
	const t = {};
	for (const k of ['load', 'dtLoad', 'encode', 'dtEncode']) t[k] = { cpu: [], wall: [] };
	for (let i = 0; i < warmup + repeat; i++) {
		// The warm-up rounds are timed like the rest and dropped.
		if (i === warmup) for (const k in t) t[k] = { cpu: [], wall: [] };
		let d;
		await timed(t.load.cpu, t.load.wall, () => (d = crdt.loadDoc(snap, 2)));
		if (i === 0 && d.text() !== trace.endContent) throw new Error(`${name}: our load gives another text`);
		d.free();
		await timed(t.dtLoad.cpu, t.dtLoad.wall, () => (d = dt.Doc.fromBytes(bytes)));
		if (i === 0 && d.get() !== trace.endContent) throw new Error(`${name}: diamond-types' load gives another text`);
		d.free();
		await timed(t.encode.cpu, t.encode.wall, () => ours.encodeDoc());
		await timed(t.dtEncode.cpu, t.dtEncode.wall, () => theirs.toBytes());
	}
	ours.free();
	theirs.free();
	console.log(JSON.stringify({
		trace: name, bytes: snap.length, dt_bytes: bytes.length,
		load_ms: r(t.load.cpu), dt_load_ms: r(t.dtLoad.cpu), encode_ms: r(t.encode.cpu), dt_encode_ms: r(t.dtEncode.cpu),
		load_wall_ms: r(t.load.wall), dt_load_wall_ms: r(t.dtLoad.wall),
		encode_wall_ms: r(t.encode.wall), dt_encode_wall_ms: r(t.dtEncode.wall),
		repeat, warmup, clock: 'cpu',
	}));
}
