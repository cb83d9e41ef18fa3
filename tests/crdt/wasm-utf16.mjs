// wasm-utf16.mjs - UTF-16 positions, change lists, anchors and authorship
// through the wasm build, as an editor binding uses them.
//
// 1. The C and wasm builds give identical results: test-utf16 --emit records
//    a random multi-replica run (local edits in UTF-16 positions, updates
//    delivered in random order, anchors taken); this replays it through
//    crdt.mjs and requires byte-identical updates and the same change lists,
//    texts, authorship runs and anchor positions at every step.
// 2. A property test of crdt.mjs itself: 3-5 replicas type text of every
//    kind (ASCII, accented Latin, CJK, emoji, combining marks) and exchange
//    per-edit and catch-up updates in random order; after every applyUpdate,
//    its change list applied to a plain string of the previous text (as
//    CodeMirror applies a ChangeSpec array) gives exactly doc.text(), an
//    array of who typed each unit kept the same way matches doc.authors(),
//    and anchors (sent through JSON) resolve to their characters or, once
//    those are deleted, to a position where their neighbours meet.  Lone
//    surrogates and positions inside a pair throw.
//
// Usage: node wasm-utf16.mjs TANDEM_CRDT_WASM CRDT_MJS TEST_UTF16_EXE
// TANDEM_SEED picks the seed (printed, so a failure can be replayed).
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [wasmPath, mjsPath, exePath] = process.argv.slice(2);
const seed = Number(process.env.TANDEM_SEED || Math.floor(Math.random() * 1e9));
console.log(`wasm-utf16: seed ${seed} (set TANDEM_SEED to reproduce)`);

function fail(msg) {
	console.error(`wasm-utf16: FAIL: ${msg} (TANDEM_SEED=${seed})`);
	process.exit(1);
}

function check(cond, msg) {
	if (!cond) fail(typeof msg === 'function' ? msg() : msg);
}

function eq(got, want, what) {
	const g = JSON.stringify(got);
	const w = JSON.stringify(want);
	check(g === w, () => `${what}: got ${g.slice(0, 400)}, want ${w.slice(0, 400)}`);
}

if (!wasmPath || !mjsPath || !exePath) fail('usage: wasm-utf16.mjs WASM MJS TEST_UTF16_EXE');
const { TandemCrdt, CrdtError } = await import(pathToFileURL(mjsPath).href);
const crdt = await TandemCrdt.load(readFileSync(wasmPath));

const enc = new TextEncoder();
const dec = new TextDecoder();
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));

// ---- 1. the C build's record, replayed ------------------------------------------

{
	const dir = mkdtempSync(join(tmpdir(), 'wasm-utf16-'));
	const file = join(dir, 'run.jsonl');
	try {
		execFileSync(exePath, ['--emit', file], { env: { ...process.env, TANDEM_SEED: String(seed) }, stdio: 'pipe' });
		const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
		const docs = Array.from({ length: lines[0].replicas }, () => new crdt.Doc(0));
		const anchors = [];
		let steps = 0;
		for (const [n, st] of lines.slice(1).entries()) {
			const doc = docs[st.r];
			const what = `record line ${n + 2}`;
			if (st.anchor !== undefined) {
				const a = doc.anchorAt(st.anchor, st.assoc);
				const [agent, seq, edge] = st.got;
				eq(a, edge ? { agent: null, seq: null, assoc: st.assoc } : { agent, seq, assoc: st.assoc }, `${what}: anchorAt`);
				anchors[st.slot] = a;
				continue;
			}
			if (st.ins !== undefined || st.del !== undefined) {
				const before = doc.version();
				doc.agent = st.agent;
				if (st.ins !== undefined) doc.insert(st.ins, dec.decode(unhex(st.s)));
				else doc.delete(st.del, st.n);
				eq(hex(doc.encodeSince(before)), st.update, `${what}: the update of a local edit`);
			} else {
				const { changes } = doc.applyUpdate(unhex(st.apply));
				eq(
					changes.map((c) => [c.from, c.to, hex(enc.encode(c.insert)), c.agent ?? 0]),
					st.changes,
					`${what}: change list`,
				);
			}
			eq(hex(enc.encode(doc.text())), st.text, `${what}: text`);
			eq(doc.authors().map((a) => [a.agent, a.len]), st.authors, `${what}: authors`);
			eq(anchors.map((a) => doc.anchorPos(a)), st.anchors, `${what}: anchor positions`);
			steps++;
		}
		for (const d of docs) d.free();
		console.log(`C record: ${steps} steps, identical in wasm: OK`);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

// ---- 2. the property test -----------------------------------------------------------

function mulberry32(s) {
	return () => {
		s = (s + 0x6d2b79f5) | 0;
		let t = Math.imul(s ^ (s >>> 15), 1 | s);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const rnd = mulberry32(seed);
const below = (n) => Math.floor(rnd() * n);

function randChar() {
	const k = below(100);
	if (k < 40) return String.fromCharCode(97 + below(26));
	if (k < 48) return rnd() < 0.5 ? '\n' : ' ';
	if (k < 60) return 'éèñüçÉœß'[below(8)];
	if (k < 72) return String.fromCodePoint(0x4e00 + below(0x5000));
	if (k < 84) return String.fromCodePoint(rnd() < 0.5 ? 0x1f600 + below(0x50) : 0x1f900 + below(0x100));
	if (k < 96) return String.fromCodePoint(0x300 + below(0x70));
	return String.fromCodePoint([0xffff, 0xfffd, 0xe000, 0x10000, 0x10ffff][below(5)]);
}

const isLow = (s, i) => i > 0 && i < s.length && s.charCodeAt(i) >= 0xdc00 && s.charCodeAt(i) < 0xe000;

function throws(fn, code, what) {
	try {
		fn();
	} catch (e) {
		check(e instanceof CrdtError && e.code === code, `${what}: threw ${e} instead of code ${code}`);
		return;
	}
	fail(`${what}: did not throw`);
}

// Applies a change list to the old text as CodeMirror does.
function applyChanges(text, who, changes) {
	let out = '';
	const outWho = [];
	let at = 0;
	for (const c of changes) {
		check(c.from >= at && c.to >= c.from && c.to <= text.length, () => `change ${JSON.stringify(c)} out of order (at ${at}, length ${text.length})`);
		check(!c.insert || Number.isInteger(c.agent), () => `change ${JSON.stringify(c)} has no agent`);
		out += text.slice(at, c.from) + c.insert;
		for (let i = at; i < c.from; i++) outWho.push(who[i]);
		for (let i = 0; i < c.insert.length; i++) outWho.push(c.agent);
		at = c.to;
	}
	out += text.slice(at);
	for (let i = at; i < text.length; i++) outWho.push(who[i]);
	return [out, outWho];
}

function runWorld(nrep, rounds) {
	const reps = Array.from({ length: nrep }, (_, i) => ({ doc: new crdt.Doc(i * 10 + 3), text: '', who: [], got: new Set() }));
	const msgs = [];
	const anchors = []; // {json, char} : char is [agent, seq] named, as taken
	let changesSeen = 0;

	function verify(r) {
		check(r.doc.text() === r.text, () => `mirror ${JSON.stringify(r.text.slice(0, 80))} vs doc ${JSON.stringify(r.doc.text().slice(0, 80))}`);
		check(r.doc.length === r.text.length, 'length in UTF-16 units');
		const runs = r.doc.authors();
		let p = 0;
		for (const { agent, len } of runs) {
			for (let i = 0; i < len; i++) check(r.who[p + i] === agent, () => `unit ${p + i} typed by ${r.who[p + i]}, authors say ${agent}`);
			p += len;
		}
		check(p === r.text.length, 'authors add up to the length');
		for (const a of anchors) {
			const anchor = JSON.parse(a);
			const pos = r.doc.anchorPos(anchor);
			if (pos === null) {
				check(r.doc.next(anchor.agent) <= anchor.seq, 'an anchor of a known character resolves');
				continue;
			}
			check(pos >= 0 && pos <= r.text.length && !isLow(r.text, pos), () => `anchor at ${pos} of ${r.text.length}`);
			if (anchor.agent === null) {
				check(pos === (anchor.assoc < 0 ? 0 : r.text.length), 'an edge anchor');
				continue;
			}
			// Its character still there: the anchor taken here again is the same.
			// Deleted: the position is the same for both sides.
			const back = r.doc.anchorAt(pos, anchor.assoc);
			const other = { ...anchor, assoc: -anchor.assoc };
			if (JSON.stringify(back) !== a) check(r.doc.anchorPos(other) === pos, () => `deleted anchor ${a}: sides resolve to ${pos} and ${r.doc.anchorPos(other)}`);
		}
	}

	function apply(r, bytes) {
		const { changes } = r.doc.applyUpdate(bytes);
		[r.text, r.who] = applyChanges(r.text, r.who, changes);
		changesSeen += changes.length;
		verify(r);
	}

	for (let step = 0; step < rounds; step++) {
		const i = below(nrep);
		const r = reps[i];
		const k = below(100);
		if (k < 45) {
			const before = r.doc.version();
			const len = r.text.length;
			if (len === 0 || rnd() < 0.65) {
				let s = '';
				const n = rnd() < 0.05 ? 20 + below(30) : 1 + below(6);
				for (let j = 0; j < n; j++) s += randChar();
				let pos = below(len + 1);
				if (isLow(r.text, pos)) {
					throws(() => r.doc.insert(pos, s), -4, 'insert inside a pair');
					pos--;
				}
				if (rnd() < 0.05) throws(() => r.doc.insert(pos, s + '\ud800'), -3, 'a lone surrogate');
				r.doc.insert(pos, s);
				r.text = r.text.slice(0, pos) + s + r.text.slice(pos);
				r.who.splice(pos, 0, ...Array(s.length).fill(r.doc.agent));
			} else {
				let pos = below(len);
				let n = 1 + below(Math.min(10, len - pos));
				if (isLow(r.text, pos)) {
					pos--;
					n++;
				}
				if (isLow(r.text, pos + n)) {
					throws(() => r.doc.delete(pos, n), -4, 'delete ending inside a pair');
					n++;
				}
				r.doc.delete(pos, n);
				r.text = r.text.slice(0, pos) + r.text.slice(pos + n);
				r.who.splice(pos, n);
			}
			msgs.push(r.doc.encodeSince(before));
			r.got.add(msgs.length - 1);
			verify(r);
		} else if (k < 85 && msgs.length) {
			const m = below(msgs.length);
			apply(r, msgs[m]);
			r.got.add(m);
		} else if (k < 92) {
			let pos = below(r.text.length + 1);
			if (isLow(r.text, pos)) pos--;
			const a = r.doc.anchorAt(pos, rnd() < 0.5 ? 1 : -1);
			check(r.doc.anchorPos(a) === pos, 'an anchor resolves where it was taken');
			anchors.push(JSON.stringify(a));
		} else {
			const j = below(nrep);
			if (j !== i) apply(reps[j], r.doc.encodeSince(reps[j].doc.version()));
		}
	}
	for (const r of reps) for (let m = 0; m < msgs.length; m++) if (!r.got.has(m)) apply(r, msgs[m]);
	for (const r of reps) {
		check(r.text === reps[0].text && r.doc.pending() === 0, 'replicas converge');
		eq(r.doc.authors(), reps[0].doc.authors(), 'replicas agree on authorship');
	}
	console.log(`  ${nrep} replicas, ${msgs.length} updates, ${changesSeen} changes, ${anchors.length} anchors, final ${reps[0].text.length} units: OK`);
	for (const r of reps) r.doc.free();
}

for (let w = 0; w < 6; w++) runWorld(3 + (w % 3), 400);

// ---- 3. small API checks ---------------------------------------------------------------

{
	const a = new crdt.Doc(1);
	a.insert(0, 'hello world');
	const v = a.version();
	const b = crdt.loadDoc(a.save(), 2);
	const e = b.anchorAt(11, 1);
	eq(e, { agent: null, seq: null, assoc: 1 }, 'the end anchor');
	b.insert(6, 'big ');
	const { changes } = a.applyUpdate(b.encodeSince(v));
	eq(changes, [{ from: 6, to: 6, insert: 'big ', agent: 2 }], 'a one-keystroke change list');
	check(a.anchorPos(e) === 15, 'the end anchor follows the end');
	eq(a.authors(4, 12), [{ agent: 1, len: 2 }, { agent: 2, len: 4 }, { agent: 1, len: 2 }], 'authors of a range');
	eq(a.authors(0, 20, v), [{ agent: 1, len: 11 }], 'authors at a version');
	check(a.textAt(v) === 'hello world', 'textAt');
	check(crdt.versionIncludes(a.version(), v) && !crdt.versionIncludes(v, a.version()), 'versionIncludes');
	check(a.next(2) === 4 && a.next(9) === 0, 'next(agent)');
	check(a.anchorPos({ agent: 77, seq: 0, assoc: 1 }) === null, 'an unknown character');
	throws(() => a.anchorPos({ agent: -1, seq: 0, assoc: 1 }), -2, 'not an anchor');
	throws(() => a.anchorPos({ agent: 1, seq: 0, assoc: 0 }), -2, 'an anchor without a side');
	throws(() => a.applyUpdate(new Uint8Array([1, 85, 9])), -6, 'a truncated update');
	check(a.text() === 'hello big world', 'a bad update changes nothing');
	const seen = [];
	const off = b.onChange((c) => seen.push(c));
	a.delete(0, 1);
	a.delete(3, 3);
	b.applyUpdate(a.encodeSince(b.version()));
	eq(seen, [{ pos: 0, del: 1, text: '' }, { pos: 3, del: 3, text: '' }], 'onChange, one change at a time');
	off();
	a.free();
	b.free();
	console.log('API checks: OK');
}
console.log('wasm-utf16: ok');
