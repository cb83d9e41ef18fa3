// bench/crdt/load.mjs - snapshot load and encode, ours in wasm beside diamond-types, in CPU time.
//
// run.mjs measures every library on every axis with the wall clock, one
// library after another; on a shared machine the load comes and goes between
// them.  This measures only issue 19's load and encode, ours (wasm, through
// crdt.mjs) and diamond-types' (Doc.fromBytes, toBytes) alternating run by
// run in one process, and reports medians of the process's CPU time
// (process.cpuUsage: user + system), which other work moves less.
//
// Usage: node bench/crdt/load.mjs [--build DIR] [--traces DIR] [--repeat N] [--only NAME]
//        (after bench/crdt/run has built build-release; prints one JSON line per trace)
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import dt from 'diamond-types-node';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const build = resolve(root, opt('--build', 'build-release'));
const traces = resolve(root, opt('--traces', process.env.TANDEM_TRACES ?? '../shared/traces'), 'sequential_traces');
const repeat = Number(opt('--repeat', '31'));
const only = opt('--only', null);

const { TandemCrdt } = await import(pathToFileURL(join(root, 'crdt', 'wasm', 'crdt.mjs')).href);
const crdt = await TandemCrdt.load(readFileSync(join(build, 'crdt', 'wasm', 'tandem-crdt.wasm')));

const cpuMs = () => {
	const u = process.cpuUsage();
	return (u.user + u.system) / 1000;
};
const median = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
// The CPU time of one call of fn (process.cpuUsage has microsecond steps).
const timed = (fn) => {
	const t0 = cpuMs();
	fn();
	return cpuMs() - t0;
};

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
	const t = { load: [], dtLoad: [], encode: [], dtEncode: [] };
	for (let i = 0; i < repeat; i++) {
		let d;
		t.load.push(timed(() => (d = crdt.loadDoc(snap, 2))));
		if (i === 0 && d.text() !== trace.endContent) throw new Error(`${name}: our load gives another text`);
		d.free();
		t.dtLoad.push(timed(() => (d = dt.Doc.fromBytes(bytes))));
		d.free();
		t.encode.push(timed(() => ours.encodeDoc()));
		t.dtEncode.push(timed(() => theirs.toBytes()));
	}
	ours.free();
	theirs.free();
	const r = (xs) => Number(median(xs).toFixed(3));
	console.log(JSON.stringify({
		trace: name, bytes: snap.length, dt_bytes: bytes.length,
		load_ms: r(t.load), dt_load_ms: r(t.dtLoad), encode_ms: r(t.encode), dt_encode_ms: r(t.dtEncode),
		repeat, clock: 'cpu',
	}));
}
