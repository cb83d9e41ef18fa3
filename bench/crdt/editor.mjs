// editor.mjs - the CRDT as an editor binding uses it, in wasm under node, beside Yjs.
//
// Issue 15's targets, on a 100,000-character document with an 'é' a line
// (a paste, then 2,000 edits by a second agent scattered through it), for
// ours through crdt/wasm/crdt.mjs and for Yjs 13.6 (Y.Text) in the same
// process, alternating:
//   - a local keystroke and the update to send for it;
//   - a remote one-keystroke update to the change list an editor applies
//     (ours: applyUpdate(...).changes; Yjs: the Y.Text event's delta);
//   - a 1,000-operation update (a reconnect) to its change list;
//   - resolving a cursor anchor (Yjs: an absolute position from a relative one);
//   - reading the whole text.
// Ours is also measured on the ASCII twin of the document (every 'é' an
// 'e'), for the non-ASCII targets.
//
// Times are wall-clock, or with --cpu the process's CPU time (user + system,
// all threads: what a shared machine's other work does not inflate).
//
// Usage: node editor.mjs [--build DIR] [--repeat N] [--cpu] [--markdown]
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as Y from 'yjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
	const i = args.indexOf(name);
	return i >= 0 ? args[i + 1] : def;
};
const build = resolve(opt('--build', join(here, '../../build-release')));
const repeat = Number(opt('--repeat', 5));
const markdown = args.includes('--markdown');
const { TandemCrdt } = await import(pathToFileURL(join(here, '../../crdt/wasm/crdt.mjs')).href);
const crdt = await TandemCrdt.load(readFileSync(join(build, 'crdt/wasm/tandem-crdt.wasm')));

const PASTE = 100000;
const EDITS = 2000;
const KEYS = 2000;
const RECONNECT = 1000;
const ANCHORS = 2000;

let seed = 12345;
const rnd = () => {
	seed = (seed * 1103515245 + 12345) >>> 0;
	return seed / 4294967296;
};
const below = (n) => Math.floor(rnd() * n);

function pasteText(accent) {
	let s = '';
	for (let i = 0; i < PASTE; i++) {
		if (i % 50 === 49) s += '\n';
		else if (i % 50 === 20) s += accent ? 'é' : 'e';
		else s += String.fromCharCode(97 + (i % 26));
	}
	return s;
}

// The same scripted edits for every library: [pos, del, ins] in UTF-16 units.
function script(n, len, accent, s0) {
	seed = s0;
	const out = [];
	for (let i = 0; i < n; i++) {
		if (i % 3 === 2 && len > 0) {
			out.push([below(len), 1, '']);
			len--;
		} else {
			out.push([below(len + 1), 0, accent && i % 2 ? 'é' : 'x']);
			len++;
		}
	}
	return out;
}

const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
const cpu = args.includes('--cpu');
const now = cpu
	? () => {
			const u = process.cpuUsage();
			return (u.user + u.system) / 1000;
		}
	: () => performance.now();

// ---- ours ---------------------------------------------------------------------

function oursBase(accent) {
	const doc = new crdt.Doc(1);
	doc.insert(0, pasteText(accent));
	doc.agent = 2;
	for (const [pos, del, ins] of script(EDITS, doc.length, accent, 7)) {
		if (del) doc.delete(pos, del);
		else doc.insert(pos, ins);
	}
	return doc.save();
}

function ours(accent) {
	const snap = oursBase(accent);
	const r = {};
	// A local keystroke and its update.
	{
		const doc = crdt.loadDoc(snap, 3);
		const keys = script(KEYS, doc.length, accent, 11);
		let v = doc.version();
		const t0 = now();
		for (const [pos, del, ins] of keys) {
			if (del) doc.delete(pos, del);
			else doc.insert(pos, ins);
			const u = doc.encodeSince(v);
			v = doc.version();
			if (!u.length) throw new Error('empty update');
		}
		r.local = ((now() - t0) * 1000) / KEYS;
		doc.free();
	}
	// Remote keystrokes, one update each, to their change lists.
	{
		const peer = crdt.loadDoc(snap, 4);
		const doc = crdt.loadDoc(snap, 5);
		const updates = [];
		for (const [pos, del, ins] of script(KEYS, peer.length, accent, 13)) {
			const v = peer.version();
			if (del) peer.delete(pos, del);
			else peer.insert(pos, ins);
			updates.push(peer.encodeSince(v));
		}
		let n = 0;
		const t0 = now();
		for (const u of updates) n += doc.applyUpdate(u).changes.length;
		r.remote = ((now() - t0) * 1000) / KEYS;
		if (n !== KEYS || doc.text() !== peer.text()) throw new Error('remote keystrokes: wrong result');
		// Anchors: taken before, resolved after the edits above.
		const anchors = [];
		const fresh = crdt.loadDoc(snap, 6);
		for (let i = 0; i < ANCHORS; i++) anchors.push(fresh.anchorAt(below(fresh.length + 1), i % 2 ? 1 : -1));
		const t1 = now();
		let sum = 0;
		for (const a of anchors) sum += doc.anchorPos(a);
		r.anchor = ((now() - t1) * 1000) / ANCHORS;
		if (!(sum > 0)) throw new Error('anchors');
		const t2 = [];
		for (let i = 0; i < repeat; i++) {
			const t = now();
			doc.text();
			t2.push(now() - t);
		}
		r.text = median(t2);
		fresh.free();
		peer.free();
		doc.free();
	}
	// A reconnect: 1,000 operations in one update.
	{
		const peer = crdt.loadDoc(snap, 7);
		const v = peer.version();
		for (const [pos, del, ins] of script(RECONNECT, peer.length, accent, 17)) {
			if (del) peer.delete(pos, del);
			else peer.insert(pos, ins);
		}
		const update = peer.encodeSince(v);
		const times = [];
		for (let i = 0; i < repeat; i++) {
			const doc = crdt.loadDoc(snap, 8);
			const t0 = now();
			const { changes } = doc.applyUpdate(update);
			times.push(now() - t0);
			if (!changes.length || doc.text() !== peer.text()) throw new Error('reconnect: wrong result');
			doc.free();
		}
		r.reconnect = median(times);
		peer.free();
	}
	return r;
}

// ---- Yjs ---------------------------------------------------------------------------

function yjsBase(accent) {
	const doc = new Y.Doc();
	doc.clientID = 1;
	const t = doc.getText('t');
	t.insert(0, pasteText(accent));
	const d2 = new Y.Doc();
	d2.clientID = 2;
	Y.applyUpdate(d2, Y.encodeStateAsUpdate(doc));
	const t2 = d2.getText('t');
	for (const [pos, del, ins] of script(EDITS, t2.length, accent, 7)) {
		if (del) t2.delete(pos, del);
		else t2.insert(pos, ins);
	}
	return Y.encodeStateAsUpdate(d2);
}

function yload(state, id) {
	const d = new Y.Doc();
	d.clientID = id;
	Y.applyUpdate(d, state);
	return d;
}

function yjs(accent) {
	const state = yjsBase(accent);
	const r = {};
	{
		const doc = yload(state, 3);
		const t = doc.getText('t');
		let last = null;
		doc.on('update', (u) => (last = u));
		const keys = script(KEYS, t.length, accent, 11);
		const t0 = now();
		for (const [pos, del, ins] of keys) {
			if (del) t.delete(pos, del);
			else t.insert(pos, ins);
			if (!last.length) throw new Error('empty update');
		}
		r.local = ((now() - t0) * 1000) / KEYS;
		doc.destroy();
	}
	{
		const peer = yload(state, 4);
		const pt = peer.getText('t');
		const updates = [];
		peer.on('update', (u) => updates.push(u));
		for (const [pos, del, ins] of script(KEYS, pt.length, accent, 13)) {
			if (del) pt.delete(pos, del);
			else pt.insert(pos, ins);
		}
		const doc = yload(state, 5);
		const t = doc.getText('t');
		let n = 0;
		t.observe((e) => (n += e.delta.length));
		const t0 = now();
		for (const u of updates) Y.applyUpdate(doc, u);
		r.remote = ((now() - t0) * 1000) / KEYS;
		if (n < KEYS || t.toString() !== pt.toString()) throw new Error('yjs remote: wrong result');
		const fresh = yload(state, 6);
		const ft = fresh.getText('t');
		const rel = [];
		for (let i = 0; i < ANCHORS; i++) rel.push(Y.createRelativePositionFromTypeIndex(ft, below(ft.length + 1), i % 2 ? 0 : -1));
		const t1 = now();
		let sum = 0;
		for (const p of rel) sum += Y.createAbsolutePositionFromRelativePosition(p, doc).index;
		r.anchor = ((now() - t1) * 1000) / ANCHORS;
		if (!(sum > 0)) throw new Error('yjs anchors');
		const t2 = [];
		for (let i = 0; i < repeat; i++) {
			const tt = now();
			t.toString();
			t2.push(now() - tt);
		}
		r.text = median(t2);
		fresh.destroy();
		peer.destroy();
		doc.destroy();
	}
	{
		const peer = yload(state, 7);
		const sv = Y.encodeStateVector(peer);
		const pt = peer.getText('t');
		for (const [pos, del, ins] of script(RECONNECT, pt.length, accent, 17)) {
			if (del) pt.delete(pos, del);
			else pt.insert(pos, ins);
		}
		const update = Y.encodeStateAsUpdate(peer, sv);
		const times = [];
		for (let i = 0; i < repeat; i++) {
			const doc = yload(state, 8);
			const t = doc.getText('t');
			let delta = null;
			t.observe((e) => (delta = e.delta));
			const t0 = now();
			Y.applyUpdate(doc, update);
			times.push(now() - t0);
			if (!delta || t.toString() !== pt.toString()) throw new Error('yjs reconnect: wrong result');
			doc.destroy();
		}
		r.reconnect = median(times);
		peer.destroy();
	}
	return r;
}

// ---- the run -----------------------------------------------------------------------

const runs = { ours: [], oursAscii: [], yjs: [] };
for (let i = 0; i < repeat; i++) {
	runs.ours.push(ours(true));
	runs.oursAscii.push(ours(false));
	runs.yjs.push(yjs(true));
}
const med = (list, k) => median(list.map((r) => r[k]));
const rows = [
	['local keystroke + its update', 'local', 'µs', 20],
	['remote keystroke -> change list', 'remote', 'µs', 20],
	['1,000-op update -> change list', 'reconnect', 'ms', 2],
	['anchor -> position', 'anchor', 'µs', 5],
	['text()', 'text', 'ms', 3],
];
const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const lines = [
	'| what (100,000 characters, an é a line; wasm under node) | target | ours | ours, ASCII twin | non-ASCII / ASCII | Yjs 13.6 | Yjs / ours |',
	'|---|---|---|---|---|---|---|',
];
for (const [what, k, unit, target] of rows) {
	const o = med(runs.ours, k);
	const a = med(runs.oursAscii, k);
	const y = med(runs.yjs, k);
	lines.push(
		`| ${what} | ≤ ${target} ${unit} | ${fmt(o)} ${unit} ${o <= target ? '(met)' : '(missed)'} | ${fmt(a)} ${unit} | ${(o / a).toFixed(2)} | ${fmt(y)} ${unit} | ${(y / o).toFixed(1)}× |`,
	);
}
console.log(
	`editor.mjs: node ${process.version}, ${repeat} runs (medians), ${cpu ? 'CPU time' : 'wall-clock'}, ${new Date().toISOString().slice(0, 16)}Z`,
);
console.log(lines.join('\n'));
if (!markdown) console.log(JSON.stringify(runs));
