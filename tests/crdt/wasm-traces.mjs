// wasm-traces.mjs - the editing traces through the WebAssembly build.
//
// The browser runs crdt/ compiled to wasm32 behind crdt/wasm/crdt.mjs; this
// test drives exactly that pair under node: the module may import nothing,
// every sequential trace (both folders) replays to its
// endContent, snapshots and text_at work, and both concurrent traces merge to
// theirs through per-agent replicas synced with encodeBetween/applyUpdate,
// in the file's order and in a shuffled order that respects the parents,
// while one replica's onChange events mirror its text exactly.
//
// Usage: node wasm-traces.mjs TANDEM_CRDT_WASM CRDT_MJS TRACES_DIR [--require]
// Exit 77 (skip) when the traces folder is absent, unless --require.
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, basename } from 'node:path';
import { pathToFileURL } from 'node:url';

const [wasmPath, mjsPath, tracesDir, requireFlag] = process.argv.slice(2);
const requireTraces = requireFlag === '--require';

function fail(msg) {
	console.error(`wasm-traces: FAIL: ${msg}`);
	process.exit(1);
}

function check(cond, msg) {
	if (!cond) fail(msg);
}

function eqText(got, want, what) {
	if (got === want) return;
	let i = 0;
	while (i < got.length && i < want.length && got[i] === want[i]) i++;
	fail(
		`${what}: text differs at UTF-16 offset ${i} (got ${got.length}, want ${want.length}): ` +
			`got ${JSON.stringify(got.slice(Math.max(0, i - 20), i + 40))}, ` +
			`want ${JSON.stringify(want.slice(Math.max(0, i - 20), i + 40))}`,
	);
}

if (!wasmPath || !mjsPath || !tracesDir) fail('usage: wasm-traces.mjs WASM MJS TRACES_DIR [--require]');
if (!existsSync(join(tracesDir, 'sequential_traces'))) {
	const why = `no traces folder at ${join(tracesDir, 'sequential_traces')} (meson option 'traces')`;
	if (requireTraces) fail(`${why}; require_traces is set`);
	console.error(`wasm-traces: ${why}; skipping`);
	process.exit(77);
}

// ---- the module's imports -------------------------------------------------

const wasmBytes = readFileSync(wasmPath);
const mod = new WebAssembly.Module(wasmBytes);
const imports = WebAssembly.Module.imports(mod);
for (const imp of imports)
	check(false, `unexpected import ${imp.module}.${imp.name} (${imp.kind}): the wasm build imports nothing`);
console.log(`${basename(wasmPath)}: ${wasmBytes.length} bytes, imports: ${imports.map((i) => `${i.module}.${i.name}`).join(', ') || 'none'}`);

const { TandemCrdt, CrdtError } = await import(pathToFileURL(mjsPath).href);
const crdt = await TandemCrdt.load(mod);

// ---- small API checks -------------------------------------------------------

{
	check(crdt.utf16ToCp('a\u{1F600}b', 3) === 2, 'utf16ToCp across a surrogate pair');
	check(crdt.cpToUtf16('a\u{1F600}b', 2) === 3, 'cpToUtf16 across a surrogate pair');
	const doc = new crdt.Doc(7);
	doc.insert(0, 'h\u00e9llo \u{1F600}!');
	check(doc.length === 9 && doc.codePoints === 8, `length in UTF-16 units: ${doc.length}, code points: ${doc.codePoints}`);
	check(doc.utf16ToCp(9) === 8 && doc.cpToUtf16(8) === 9, 'doc utf16 helpers');
	let threw = false;
	try {
		doc.insert(100, 'x');
	} catch (e) {
		threw = e instanceof CrdtError && e.code < 0;
	}
	check(threw, 'an insert past the end throws a CrdtError');
	const v = doc.version();
	check(JSON.stringify(crdt.versionEntries(v)) === JSON.stringify([[7, 8]]), `version entries: ${JSON.stringify(crdt.versionEntries(v))}`);
	doc.delete(0, 1);
	eqText(doc.textAt(v), 'h\u00e9llo \u{1F600}!', 'textAt');
	const other = new crdt.Doc(8);
	const seen = [];
	const off = other.onChange((c) => seen.push(c));
	other.applyUpdate(doc.encodeSince(null));
	eqText(other.text(), '\u00e9llo \u{1F600}!', 'applyUpdate');
	check(seen.length > 0, 'onChange reports remote changes');
	check(
		other.nextOf(7) === 9 && other.nextOf(8) === 0 && doc.nextOf(7) === 9,
		`nextOf: ${other.nextOf(7)}, ${other.nextOf(8)}, ${doc.nextOf(7)} (want 9, 0, 9: eight characters and a delete)`,
	);
	off();
	other.free();
	doc.free();
	console.log('API checks: OK');
}

// ---- linear memory grows geometrically ---------------------------------------
//
// V8 collects garbage at every growth of a wasm memory; crdt.mjs makes room
// for half the memory's size again whenever it grew, so many small documents
// growing a little at a time grow it a logarithmic number of times.

{
	const inst = await TandemCrdt.load(mod);
	const docs = Array.from({ length: 100 }, (_, i) => new inst.Doc(i + 1));
	const first = inst.memory.buffer.byteLength;
	let size = first;
	let grows = 0;
	for (let k = 0; k < 2000; k++)
		for (const d of docs) {
			d.insert((k * 7919) % (d.length + 1), 'x');
			if (inst.memory.buffer.byteLength !== size) {
				grows++;
				size = inst.memory.buffer.byteLength;
			}
		}
	// A growth is seen twice (the allocator's few pages, then the room made
	// at the next call), and 1.5x per growth bounds how many there are.
	const bound = 2 * Math.ceil(Math.log(size / first) / Math.log(1.5)) + 4;
	check(docs.every((d) => d.length === 2000), 'every document holds its 2,000 characters');
	check(
		grows <= bound,
		`memory grew ${grows} times, ${first} -> ${size} bytes; growth by half allows ${bound}`,
	);
	for (const d of docs) d.free();
	console.log(`memory growth: ${grows} times, ${first} -> ${size} bytes (bound ${bound}): OK`);
}

// ---- traces -----------------------------------------------------------------

function loadTrace(path) {
	let raw = readFileSync(path);
	if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
	return JSON.parse(raw.toString('utf8'));
}

function listTraces(dir) {
	return readdirSync(dir)
		.filter((f) => f.endsWith('.json') || f.endsWith('.json.gz'))
		.sort()
		.map((f) => join(dir, f))
		.filter((p) => statSync(p).isFile());
}

function runSequential(path) {
	const trace = loadTrace(path);
	const doc = new crdt.Doc(1);
	const patches = trace.txns.flatMap((t) => t.patches);
	const mid = patches.length >> 1;
	let midVersion = null;
	let midText = null;
	const t0 = performance.now();
	for (let i = 0; i < patches.length; i++) {
		if (i === mid) {
			midVersion = doc.version();
			midText = doc.text();
		}
		const [pos, del, ins] = patches[i];
		edit(doc, pos, del, ins);
	}
	const ms = performance.now() - t0;
	eqText(doc.text(), trace.endContent, path);
	const snap = doc.encodeDoc();
	const loaded = new crdt.Doc(2);
	loaded.applyUpdate(snap);
	eqText(loaded.text(), trace.endContent, `${path} (snapshot)`);
	if (midVersion) eqText(loaded.textAt(midVersion), midText, `${path} (textAt the middle)`);
	console.log(`${path}: ${patches.length} patches in ${ms.toFixed(1)} ms, snapshot ${snap.length} bytes: OK`);
	loaded.free();
	doc.free();
}

// A topological order of the txns: the lowest ready index first, or a random
// ready one when rng is given.
function topoOrder(txns, rng) {
	const missing = txns.map((t) => t.parents.length);
	const children = txns.map(() => []);
	txns.forEach((t, i) => t.parents.forEach((p) => children[p].push(i)));
	const ready = [];
	missing.forEach((m, i) => m === 0 && ready.push(i));
	const order = [];
	while (ready.length) {
		let k = 0;
		if (rng) k = Math.floor(rng() * ready.length);
		else for (let j = 1; j < ready.length; j++) if (ready[j] < ready[k]) k = j;
		const t = ready[k];
		ready[k] = ready[ready.length - 1];
		ready.pop();
		order.push(t);
		for (const c of children[t]) if (--missing[c] === 0) ready.push(c);
	}
	check(order.length === txns.length, 'txn parents form a cycle');
	return order;
}

function mulberry32(seed) {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

// Code point offset -> UTF-16 offset in a JS string.
function cpToU16(str, cp) {
	if (!/[\uD800-\uDFFF]/.test(str)) return cp;
	let u = 0;
	for (let i = 0; i < cp && u < str.length; i++) u += str.codePointAt(u) > 0xffff ? 2 : 1;
	return u;
}

// A trace's patch (code points) on a document (UTF-16 units).
function edit(doc, pos, del, ins) {
	const at = doc.cpToUtf16(pos);
	if (del > 0) doc.delete(at, doc.cpToUtf16(pos + del) - at);
	if (ins.length > 0) doc.insert(at, ins);
}

function splice(str, cpPos, cpDel, ins) {
	const a = cpToU16(str, cpPos);
	const b = a + cpToU16(str.slice(a), cpDel);
	return str.slice(0, a) + ins + str.slice(b);
}

// The replica/oracle replay (see crdt/tools/trace-replay.c).
function runConcurrent(trace, order, how) {
	const n = trace.numAgents;
	const ends = new Array(trace.txns.length);
	const held = Array.from({ length: n }, () => new Array(n).fill(0));
	const replicas = new Array(n).fill(null);
	const oracle = new crdt.Doc(0);
	const verOf = (arr) => crdt.versionFromEntries(arr.map((next, a) => [a + 1, next]).filter(([, x]) => x > 0));
	let mirror = '';
	let unobserve = null;
	const t0 = performance.now();
	for (const ti of order) {
		const txn = trace.txns[ti];
		const a = txn.agent;
		const pv = new Array(n).fill(0);
		for (const p of txn.parents) {
			check(ends[p], `${how}: txn ${ti} before its parent ${p}`);
			for (let b = 0; b < n; b++) pv[b] = Math.max(pv[b], ends[p][b]);
		}
		if (!replicas[a]) {
			replicas[a] = new crdt.Doc(a + 1);
			if (a === 0)
				unobserve = replicas[a].onChange(
					({ pos, del, text }) => (mirror = mirror.slice(0, pos) + text + mirror.slice(pos + del)),
				);
		}
		const rep = replicas[a];
		for (let b = 0; b < n; b++)
			check(held[a][b] <= pv[b], `${how}: txn ${ti}: agent ${a}'s txns are not a chain`);
		if (held[a].some((x, b) => x !== pv[b])) rep.applyUpdate(oracle.encodeBetween(verOf(held[a]), verOf(pv)));
		for (const [pos, del, ins] of txn.patches) {
			edit(rep, pos, del, ins);
			if (a === 0) mirror = splice(mirror, pos, del, ins);
		}
		const got = new Map(crdt.versionEntries(rep.version()));
		const end = pv.slice();
		end[a] = got.get(a + 1) ?? 0;
		ends[ti] = end;
		held[a] = end;
		if (end[a] !== pv[a]) oracle.applyUpdate(rep.encodeSince(verOf(pv)));
	}
	const ms = performance.now() - t0;
	eqText(oracle.text(), trace.endContent, how);
	check(oracle.pending() === 0, `${how}: ops left pending`);
	if (replicas[0]) eqText(mirror, replicas[0].text(), `${how}: onChange mirror of agent 0`);
	unobserve?.();
	for (const r of replicas) r?.free();
	console.log(`${how}: ${trace.txns.length} txns merged in ${ms.toFixed(1)} ms: OK`);
	oracle.free();
}

let count = 0;
for (const sub of ['sequential_traces', 'sequential_traces/ascii_only']) {
	for (const path of listTraces(join(tracesDir, sub))) {
		runSequential(path);
		count++;
	}
}
const seed = Number(process.env.TANDEM_SEED ?? Date.now() % 1e9) >>> 0;
console.log(`shuffle seed ${seed} (set TANDEM_SEED to reproduce)`);
let nconc = 0;
for (const path of listTraces(join(tracesDir, 'concurrent_traces'))) {
	const trace = loadTrace(path);
	runConcurrent(trace, topoOrder(trace.txns, null), `${path} (file order)`);
	runConcurrent(trace, topoOrder(trace.txns, mulberry32(seed + nconc)), `${path} (shuffled)`);
	nconc++;
}
check(count > 0 && nconc >= 2, 'expected sequential and two concurrent traces');
console.log(`wasm-traces: ${count} sequential and ${nconc} concurrent traces OK`);
