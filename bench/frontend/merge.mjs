// merge.mjs - the merge part of the browser's 1,000-edit reconnect, alone: a
// 100,000-character document receives one update of 1,000 one-character
// edits at random places; applyUpdate with its change list, 10 times, median.
// Run: node bench/frontend/merge.mjs (release build's wasm).
import fs from 'node:fs';
import { TandemCrdt } from '../../crdt/wasm/crdt.mjs';
const c = await TandemCrdt.load(
	fs.readFileSync(new URL('../../build-release/crdt/wasm/tandem-crdt.wasm', import.meta.url)),
);
const a = new c.Doc(1);
a.insert(0, 'value = compute(items[i], 42)  # filler\n'.repeat(2500).slice(0, 100000));
const ts = [];
const cpu = [];
for (let r = 0; r < 10; r++) {
	const b = c.loadDoc(a.encodeDoc(), 2);
	const v = a.version();
	let seed = 7 + r;
	for (let i = 0; i < 1000; i++) {
		seed = (seed * 1103515245 + 12345) % 2147483648;
		a.insert(seed % (a.length + 1), 'x');
	}
	const u = a.encodeSince(v);
	const c0 = process.cpuUsage();
	const t0 = performance.now();
	b.applyUpdate(u);
	ts.push(performance.now() - t0);
	const used = process.cpuUsage(c0);
	cpu.push((used.user + used.system) / 1000);
	if (b.text() !== a.text()) throw new Error('differ');
	b.free();
}
ts.sort((x, y) => x - y);
cpu.sort((x, y) => x - y);
console.log(
	'apply 1000 edits + change list on 100k doc: median',
	ts[5].toFixed(2),
	'ms, max',
	ts[9].toFixed(2),
	'ms; CPU median',
	cpu[5].toFixed(2),
	'ms',
);
