// The editor binding through the real wasm CRDT: two (or three) editors
// typing concurrently, updates delivered in random order and batches,
// end with equal text; cursors stay on their characters; undo undoes only
// the editor's own edits.  Editors are CodeMirror EditorStates driven
// exactly as the view plugin drives them (Binding.local for each
// transaction, Binding.remote for each update).
import { history, undo } from '@codemirror/commands';
import { ChangeSet, EditorSelection, EditorState, Transaction, type TransactionSpec } from '@codemirror/state';
import { beforeAll, describe, expect, it } from 'vitest';
import { Binding, crdtLines, keepSpans, localEdits } from '../src/lib/binding';
import { coalesce, fromOldText, MERGE_OVER } from '../src/lib/coalesce';
import type { Doc, TandemCrdt } from '../src/lib/crdt';
import { crdt, rng, SEED } from './helpers';

let C: TandemCrdt;
beforeAll(async () => {
	C = await crdt();
	console.log(`binding tests: TANDEM_SEED=${SEED}`);
});

/** One editor: an EditorState, its Binding, and the updates it sent. */
class Editor {
	state: EditorState;
	readonly binding: Binding;
	readonly out: Uint8Array[] = [];
	readonly doc: Doc;
	constructor(agent: number, text = '', snapshot?: Uint8Array) {
		this.doc = snapshot ? C.loadDoc(snapshot, agent) : new C.Doc(agent);
		if (!snapshot && text) this.doc.insert(0, text);
		this.binding = new Binding(this.doc, (u) => this.out.push(u));
		this.state = EditorState.create({ doc: this.doc.text(), extensions: [history(), crdtLines, localEdits] });
	}
	dispatch(spec: TransactionSpec | Transaction): void {
		const tr = 'startState' in spec ? spec : this.state.update(spec);
		this.state = tr.state;
		this.binding.local(tr);
	}
	receive(u: Uint8Array): void {
		const spec = this.binding.remote(u);
		if (spec) this.dispatch(spec);
	}
	get text(): string {
		return this.state.doc.toString();
	}
}

const PIECES = [
	'a',
	'xyz',
	' ',
	'\n',
	'\r\n',
	'\r',
	'😀',
	'👩‍💻',
	'世界',
	'中',
	'e\u0301',
	'\u0301',
	'ñ',
	'🇫🇷',
	'def f():\n    pass\n',
];

/** A random position of text not inside a surrogate pair. */
function pos(r: ReturnType<typeof rng>, text: string): number {
	let p = r.int(text.length + 1);
	const c = text.charCodeAt(p);
	if (p > 0 && p < text.length && c >= 0xdc00 && c < 0xe000) p--;
	return p;
}

function randomEdit(r: ReturnType<typeof rng>, e: Editor): void {
	const t = e.text;
	if (t.length > 0 && r.next() < 0.35) {
		let from = pos(r, t);
		if (from === t.length)
			from =
				t.length -
				(t.length > 1 && t.charCodeAt(t.length - 1) >= 0xdc00 && t.charCodeAt(t.length - 1) < 0xe000 ? 2 : 1);
		let to = Math.min(t.length, from + 1 + r.int(6));
		const c = t.charCodeAt(to);
		if (to < t.length && c >= 0xdc00 && c < 0xe000) to++;
		e.dispatch({ changes: { from, to } });
		return;
	}
	const at = pos(r, t);
	const ins = r.pick(PIECES);
	// Sometimes a replacement, and sometimes two changes in one transaction.
	if (r.next() < 0.15 && t.length > 2) {
		const b = pos(r, t);
		e.dispatch({
			changes: [
				{ from: Math.min(at, b), insert: ins },
				{ from: Math.max(at, b), insert: r.pick(PIECES) },
			],
		});
	} else {
		e.dispatch({ changes: { from: at, insert: ins }, selection: EditorSelection.cursor(at + ins.length) });
	}
}

describe('binding', () => {
	it('two editors typing concurrently end with equal text (emoji, CJK, combining marks)', () => {
		for (let round = 0; round < 20; round++) {
			const r = rng(SEED + round);
			const a = new Editor(1, 'start 😀 世界\n');
			const b = new Editor(2, '', a.doc.encodeDoc());
			const c = new Editor(3, '', a.doc.encodeDoc());
			const eds = [a, b, c];
			// Per-pair queues: an update is delivered to each other editor,
			// in order per sender (as the server forwards), interleaved at random.
			const queues = new Map<string, Uint8Array[]>();
			const q = (from: number, to: number): Uint8Array[] => {
				const k = `${from}>${to}`;
				if (!queues.has(k)) queues.set(k, []);
				return queues.get(k)!;
			};
			for (let step = 0; step < 120; step++) {
				const i = r.int(3);
				const e = eds[i]!;
				if (r.next() < 0.6) {
					randomEdit(r, e);
					for (const u of e.out.splice(0)) for (let j = 0; j < 3; j++) if (j !== i) q(i, j).push(u);
				} else {
					const j = r.int(3);
					if (j === i) continue;
					const batch = q(j, i).splice(0, 1 + r.int(3));
					for (const u of batch) e.receive(u);
				}
				for (const x of eds) expect(x.text).toBe(x.doc.text());
			}
			for (let i = 0; i < 3; i++)
				for (let j = 0; j < 3; j++) if (i !== j) for (const u of q(j, i).splice(0)) eds[i]!.receive(u);
			expect(b.text, `round ${round}`).toBe(a.text);
			expect(c.text, `round ${round}`).toBe(a.text);
			expect(a.text).toBe(a.doc.text());
			for (const e of eds) e.doc.free();
		}
	});

	it('one remote update is one transaction, out of the undo history; the local cursor stays on its character', () => {
		const a = new Editor(1, 'x = 1\ny = 2\n');
		const b = new Editor(2, '', a.doc.encodeDoc());
		// a's cursor right after "y".
		const at = a.text.indexOf('y') + 1;
		a.dispatch({ selection: EditorSelection.cursor(at) });
		// b types before it: an emoji, CJK and a combining mark, and deletes "x".
		b.dispatch({
			changes: [
				{ from: 0, to: 1, insert: 'é😀世' },
				{ from: 6, insert: 'e\u0301' },
			],
		});
		expect(b.out.length).toBe(1);
		let transactions = 0;
		const spec = a.binding.remote(b.out[0]!)!;
		a.dispatch(spec);
		transactions++;
		expect(transactions).toBe(1);
		expect(a.text).toBe(b.text);
		const head = a.state.selection.main.head;
		expect(a.text.slice(head - 1, head)).toBe('y');
		// Nothing to undo: the only change was remote.
		let undone = false;
		undo({ state: a.state, dispatch: () => (undone = true) });
		expect(undone).toBe(false);
		a.doc.free();
		b.doc.free();
	});

	it('undo touches only local edits, and the undo itself reaches the peer', () => {
		const a = new Editor(1, 'def f():\n    return 0\n');
		const b = new Editor(2, '', a.doc.encodeDoc());
		a.dispatch({ changes: { from: 0, insert: '# 世界 😀\n' } });
		b.dispatch({ changes: { from: b.text.length, insert: 'print(f())\n' } });
		for (const u of a.out.splice(0)) b.receive(u);
		for (const u of b.out.splice(0)) a.receive(u);
		expect(a.text).toBe(b.text);
		expect(a.text).toContain('print(f())');
		// a undoes: its comment goes, b's line stays.
		undo({ state: a.state, dispatch: (tr) => a.dispatch(tr) });
		expect(a.text).toBe('def f():\n    return 0\nprint(f())\n');
		for (const u of a.out.splice(0)) b.receive(u);
		expect(b.text).toBe(a.text);
		// b undoes: its line goes; a's undone comment does not come back.
		undo({ state: b.state, dispatch: (tr) => b.dispatch(tr) });
		expect(b.text).toBe('def f():\n    return 0\n');
		for (const u of b.out.splice(0)) a.receive(u);
		expect(a.text).toBe(b.text);
		a.doc.free();
		b.doc.free();
	});

	it('a cursor anchor taken in one editor lands on the same character in the other, across concurrent edits', () => {
		const r = rng(SEED ^ 0x5bd1);
		for (let round = 0; round < 30; round++) {
			const a = new Editor(1, 'ab😀cd世界ef e\u0301 gh\n');
			const b = new Editor(2, '', a.doc.encodeDoc());
			for (let i = 0; i < 8; i++) randomEdit(r, a);
			for (let i = 0; i < 8; i++) randomEdit(r, b);
			const text = a.text;
			const p = pos(r, text);
			const anchor = JSON.parse(JSON.stringify(a.doc.anchorAt(p, -1)));
			// Concurrent edits on both sides, then sync.
			for (let i = 0; i < 5; i++) randomEdit(r, b);
			for (const u of b.out.splice(0)) a.receive(u);
			for (const u of a.out.splice(0)) b.receive(u);
			expect(b.text).toBe(a.text);
			const pa = a.doc.anchorPos(anchor);
			const pb = b.doc.anchorPos(anchor);
			expect(pb).toBe(pa);
			a.doc.free();
			b.doc.free();
		}
	});
});

describe('line breaks as the CRDT has them', () => {
	it('a peer\'s "\\r\\n" and "\\r" keep the editor equal to the CRDT, position for position', () => {
		const a = new Editor(1, 'x = 1\n');
		const b = new Editor(2, '', a.doc.encodeDoc());
		a.dispatch({ changes: { from: 0, insert: 'a\r\nb\rc' } });
		for (const u of a.out.splice(0)) b.receive(u);
		expect(b.text).toBe('a\r\nb\rcx = 1\n');
		expect(b.text).toBe(b.doc.text());
		// An edit after the "\r\n" lands where the peer sees it.
		b.dispatch({ changes: { from: b.text.indexOf('x'), insert: 'y' } });
		for (const u of b.out.splice(0)) a.receive(u);
		expect(a.text).toBe('a\r\nb\rcyx = 1\n');
		expect(a.doc.text()).toBe(a.text);
		a.doc.free();
		b.doc.free();
	});
});

describe('a large remote update, coalesced outside the view', () => {
	// A reconnect's catch-up: a peer's 1,000 scattered edits reach an editor
	// that has its own edits (in its undo history) all over the text and
	// its cursor far below the drawn lines.  Given to CodeMirror with the
	// changes outside the kept spans merged, it must end exactly as the
	// change-by-change transaction does: the text, the cursor, and every
	// undo after it.
	it('keeps the text, the cursor and undo as the exact transaction does', () => {
		const r = rng(SEED ^ 0x5eed);
		const lines: string[] = [];
		for (let i = 0; i < 600; i++) lines.push(`def f${i}(x):\n    return x * ${i}  # 世界 😀\n`);
		const a = new Editor(1, lines.join(''));
		const v0 = a.doc.version();
		const snap = a.doc.encodeDoc();
		const b = new Editor(2, '', snap);
		const exact = new Editor(2, '', snap);
		// b again, to read the merged changes' text from its old text.
		const viaOld = new Editor(2, '', snap);
		// The same ten local edits in each, each its own undo event, spread
		// over the whole text.
		for (let i = 0; i < 10; i++) {
			const at = Math.floor(((i + 0.5) / 10) * b.text.length);
			const line = b.state.doc.lineAt(at);
			const spec: TransactionSpec =
				i % 3 === 2
					? { changes: { from: line.from, to: line.from + 4 } }
					: { changes: { from: line.to, insert: ` # b${i}` } };
			for (const e of [b, exact, viaOld])
				e.dispatch({
					...spec,
					annotations: [Transaction.time.of(1000 * i), Transaction.userEvent.of('input')],
				});
		}
		const cursor = EditorSelection.single(Math.floor(b.text.length * 0.7) + 3);
		for (const e of [b, exact, viaOld]) e.dispatch({ selection: cursor });
		// The peer: 1,000 one-character edits at random places.
		for (let i = 0; i < 1000; i++) {
			const t = a.text;
			const at = pos(r, t);
			if (i % 4 === 3 && at < t.length && !/[\ud800-\udfff]/.test(t[at]!))
				a.dispatch({ changes: { from: at, to: at + 1 } });
			else a.dispatch({ changes: { from: at, insert: 'x' } });
		}
		const update = a.doc.encodeSince(v0);
		const spec = b.binding.remote(update, () => keepSpans(b.state, { from: 0, to: 3000 }))!;
		const specExact = exact.binding.remote(update)!;
		// The merged changes' text read from the editor's old text instead
		// of the CRDT's new one: the same changes.
		const specOld = viaOld.binding.remote(
			update,
			() => keepSpans(viaOld.state, { from: 0, to: 3000 }),
			(x, y) => viaOld.state.doc.sliceString(x, y),
		)!;
		expect(specOld.changes).toEqual(spec.changes);
		const n = (s: TransactionSpec): number => (Array.isArray(s.changes) ? s.changes.length : 1);
		expect(n(specExact)).toBeGreaterThan(900);
		expect(n(spec)).toBeLessThan(n(specExact) / 4);
		b.dispatch(spec);
		exact.dispatch(specExact);
		expect(b.text).toBe(exact.text);
		expect(b.text).toBe(b.doc.text());
		expect(b.state.selection.eq(exact.state.selection)).toBe(true);
		// Every undo, one at a time, does the same in both.
		for (let i = 0; i < 10; i++) {
			expect(undo({ state: b.state, dispatch: (tr) => b.dispatch(tr) })).toBe(true);
			undo({ state: exact.state, dispatch: (tr) => exact.dispatch(tr) });
			expect(b.text).toBe(exact.text);
			expect(b.state.selection.eq(exact.state.selection)).toBe(true);
		}
		expect(undo({ state: b.state, dispatch: () => {} })).toBe(false);
		for (const e of [a, b, exact, viaOld]) e.doc.free();
	});

	it('coalesce: the same text, and positions in kept spans map as through each change', () => {
		const r = rng(SEED ^ 0xc0a1);
		for (let round = 0; round < 50; round++) {
			const len = 2000;
			const old = Array.from({ length: len }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
			const specs: Array<{ from: number; to: number; insert: string }> = [];
			for (let p = r.int(20); p < len; p += 1 + r.int(40)) {
				const to = Math.min(len, p + r.int(3));
				specs.push({ from: p, to, insert: r.next() < 0.5 ? 'XY'.slice(0, r.int(3)) : '' });
				p = to;
			}
			const exact = ChangeSet.of(specs, len);
			const pieces: Array<{ from: number; to: number; fromB: number; toB: number; insert: string }> = [];
			exact.iterChanges((from, to, fromB, toB, ins) =>
				pieces.push({ from, to, fromB, toB, insert: ins.toString() }),
			);
			const keep = Array.from({ length: r.int(4) }, () => {
				const from = r.int(len);
				return { from, to: Math.min(len, from + r.int(100)) };
			});
			const after = exact.apply(EditorState.create({ doc: old }).doc).toString();
			const merged = ChangeSet.of(
				coalesce(pieces, keep, (x, y) => after.slice(x, y)),
				len,
			);
			expect(merged.apply(EditorState.create({ doc: old }).doc).toString()).toBe(after);
			// The merged text read from the old text instead: the same changes.
			expect(
				coalesce(
					pieces,
					keep,
					fromOldText(pieces, (x, y) => old.slice(x, y)),
				),
			).toEqual(coalesce(pieces, keep, (x, y) => after.slice(x, y)));
			for (const k of keep)
				for (let p = k.from; p <= k.to; p++) {
					expect(merged.mapPos(p, -1)).toBe(exact.mapPos(p, -1));
					expect(merged.mapPos(p, 1)).toBe(exact.mapPos(p, 1));
				}
			let count = 0;
			merged.iterChanges(() => count++);
			if (keep.length === 0 && pieces.length > MERGE_OVER) expect(count).toBe(1);
		}
	});
});
