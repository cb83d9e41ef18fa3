// wasm-snapshot.mjs - native and wasm builds read each other's snapshots
// byte for byte.
//
// A room's document is saved by the server (native) and loaded by browsers
// (wasm), and a browser's snapshot may be loaded natively: both builds must
// agree on format 2 exactly.  For every trace, the native side
// (test-snapshot --write) writes its snapshot; the wasm build loads it and
// must encode the very same bytes; then the wasm build edits the document
// (non-ASCII text, a delete) and encodes it, and the native side
// (test-snapshot --reencode) must load that and write it back unchanged.
//
// Usage: node wasm-snapshot.mjs WASM CRDT_MJS TEST_SNAPSHOT TRACES_DIR TMP_DIR [--require]
// Exit 77 (skip) when the traces folder is absent, unless --require.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [wasmPath, mjsPath, nativeTool, tracesDir, tmpDir, requireFlag] = process.argv.slice(2);

function fail(msg) {
	console.error(`wasm-snapshot: FAIL: ${msg}`);
	process.exit(1);
}

function sameBytes(a, b, what) {
	if (a.length !== b.length) fail(`${what}: ${a.length} bytes vs ${b.length}`);
	for (let i = 0; i < a.length; i++)
		if (a[i] !== b[i]) fail(`${what}: first difference at byte ${i} of ${a.length}`);
}

if (!wasmPath || !mjsPath || !nativeTool || !tracesDir || !tmpDir)
	fail('usage: wasm-snapshot.mjs WASM CRDT_MJS TEST_SNAPSHOT TRACES_DIR TMP_DIR [--require]');
if (!existsSync(join(tracesDir, 'sequential_traces'))) {
	if (requireFlag === '--require') fail(`no traces folder at ${tracesDir}; require_traces is set`);
	console.error(`wasm-snapshot: no traces at ${tracesDir}; skipping`);
	process.exit(77);
}

const { TandemCrdt } = await import(pathToFileURL(mjsPath).href);
const crdt = await TandemCrdt.load(readFileSync(wasmPath));
const work = join(tmpDir, 'wasm-snapshot');
mkdirSync(work, { recursive: true });

let n = 0;
for (const dir of ['sequential_traces', 'concurrent_traces']) {
	for (const name of readdirSync(join(tracesDir, dir)).sort()) {
		if (!name.endsWith('.json.gz') && !name.endsWith('.json')) continue;
		const nativeSnap = join(work, `${name}.native`);
		execFileSync(nativeTool, ['--write', join(tracesDir, dir, name), nativeSnap]);
		const a = new Uint8Array(readFileSync(nativeSnap));

		// wasm reads native's bytes and writes them back identically.
		const doc = new crdt.Doc(990001);
		doc.applyUpdate(a);
		sameBytes(doc.encodeDoc(), a, `${name}: wasm's snapshot of native's`);

		// native reads wasm's bytes (after wasm's own edits) and writes them back.
		doc.insert(0, '\u00e9\u20ac\u{1F600} wasm ');
		doc.delete(0, 1);
		const text = doc.text();
		const b = doc.encodeDoc();
		const wasmSnap = join(work, `${name}.wasm`);
		const back = join(work, `${name}.back`);
		writeFileSync(wasmSnap, b);
		execFileSync(nativeTool, ['--reencode', wasmSnap, back]);
		sameBytes(new Uint8Array(readFileSync(back)), b, `${name}: native's snapshot of wasm's`);
		const again = new crdt.Doc(990002);
		again.applyUpdate(b);
		if (again.text() !== text) fail(`${name}: wasm's snapshot loads to another text`);
		again.free();
		doc.free();
		console.log(`wasm-snapshot: ${dir}/${name}: ${a.length} bytes, identical both ways`);
		n++;
	}
}
if (n === 0) fail('no traces');
console.log(`wasm-snapshot: ok (${n} traces)`);
