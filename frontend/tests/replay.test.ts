// The replay's seek through the real wasm CRDT: a session of two typists
// (concurrent edits, emoji and CJK, deletions, a 100,000-character paste and
// scattered edits after it) is turned into timeline events as the server
// stores them; then an EditorState holding the replay's view state is moved
// forward and backward to random moments, across the paste both ways, and
// after every seek its document must equal the text of that moment as
// `GET .../text?at=` computes it (every edit at or before the moment applied
// to a fresh document), and a seek between near moments must change only
// what changed between them, never the whole text.
import { EditorState } from '@codemirror/state';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Doc, TandemCrdt } from '../src/lib/crdt';
import { base64, Replay, type TimelineEvent } from '../src/replay/timeline';
import { replayView, seekTo } from '../src/replay/view';
import { crdt, rng, SEED } from './helpers';

let C: TandemCrdt;
beforeAll(async () => {
	C = await crdt();
	console.log(`replay tests: TANDEM_SEED=${SEED}`);
});

function b64(u: Uint8Array): string {
	let s = '';
	for (const c of u) s += String.fromCharCode(c);
	return btoa(s);
}

const PIECES = ['a', 'b', ' ', '\n', 'x = 1\n', '😀', '世界', 'é', 'def f():\n    return 2\n', 'y\r\n', '\r'];
const PASTE = 'value = compute(items[i], 42)  # filler\n'.repeat(2500);

/**
 * A session: two docs (agents 1 and 2, seats candidate and interviewer)
 * edit, each edit's update becomes an edit event 10 ms after the last, and
 * the docs exchange their updates only now and then, so many edits are
 * concurrent.  The 100,000-character paste comes at event `pasteAt`.
 */
function session(seed: number, n: number, pasteAt: number): TimelineEvent[] {
	const r = rng(seed);
	const docs: Doc[] = [new C.Doc(1), new C.Doc(2)];
	const seats = ['candidate', 'interviewer'] as const;
	const events: TimelineEvent[] = [
		{ seq: 1, at: 1000, kind: 'join', actor: 'candidate', payload: { agent: 1 } },
		{ seq: 2, at: 1000, kind: 'join', actor: 'interviewer', payload: { agent: 2 } },
	];
	const sent: Uint8Array[][] = [[], []];
	let at = 1000;
	for (let i = 0; i < n; i++) {
		const w = r.int(2);
		const d = docs[w]!;
		// Now and then the other side's edits arrive.
		if (r.int(5) === 0) for (const u of sent[1 - w]!.splice(0)) d.applyUpdate(u);
		const before = d.version();
		if (i === pasteAt) d.insert(d.length, PASTE);
		else if (d.length > 0 && r.int(3) === 0) {
			const text = d.text();
			let pos = r.int(text.length);
			let len = 1 + r.int(Math.min(5, text.length - pos));
			// Never split a surrogate pair.
			if (pos > 0 && /[\udc00-\udfff]/.test(text[pos]!)) pos--;
			if (/[\ud800-\udbff]/.test(text[pos + len - 1]!)) len++;
			d.delete(pos, Math.min(len, text.length - pos));
		} else {
			const text = d.text();
			let pos = r.int(text.length + 1);
			if (pos > 0 && pos < text.length && /[\udc00-\udfff]/.test(text[pos]!)) pos--;
			d.insert(pos, r.pick(PIECES));
		}
		const u = d.encodeSince(before);
		sent[w]!.push(u);
		at += 10;
		events.push({ seq: events.length + 1, at, kind: 'edit', actor: seats[w]!, payload: {}, ops: b64(u) });
	}
	for (const d of docs) d.free();
	return events;
}

/** What `text?at=t` answers: every edit at or before t applied to a fresh document. */
function textAt(events: TimelineEvent[], t: number): string {
	const d = new C.Doc(0);
	for (const e of events) if (e.kind === 'edit' && e.ops && e.at <= t) d.applyUpdate(base64(e.ops));
	const text = d.text();
	d.free();
	return text;
}

/**
 * The view's state, moved to time t as the replay page moves it, drawing
 * `keep` (a range of the text; the whole text when not given).
 */
function seek(replay: Replay, state: EditorState, t: number, keep?: { from: number; to: number }): EditorState {
	return state.update(seekTo(replay, state, replay.editAt(t), keep)).state;
}

describe('replay seek', () => {
	it('lands on the text of the moment, forward and backward, across the paste', () => {
		const events = session(SEED, 400, 150);
		const replay = new Replay(C, events);
		expect(replay.exact).toBe(true);
		const r = rng(SEED + 1);
		const pasteT = events[2 + 150]!.at;
		let state = EditorState.create({ extensions: [replayView(replay)] });
		const moments = [
			pasteT,
			pasteT - 1,
			pasteT + 2000,
			0,
			replay.end,
			pasteT - 500,
			replay.end,
			...Array.from({ length: 40 }, () => replay.start + r.int(replay.end - replay.start + 20) - 10),
		];
		for (const t of moments) {
			state = seek(replay, state, t);
			const want = textAt(events, t);
			expect(state.doc.length, `length at ${t}`).toBe(want.length);
			expect(state.doc.toString() === want, `text at ${t}`).toBe(true);
			expect(state.doc.toString() === replay.at(t).text, `replay.at(${t})`).toBe(true);
		}
	});

	it('moves between near moments by what changed between them, not the whole text', () => {
		const events = session(SEED + 2, 300, 20);
		const replay = new Replay(C, events);
		let state = EditorState.create({ extensions: [replayView(replay)] });
		state = seek(replay, state, events[2 + 100]!.at);
		expect(state.doc.length).toBeGreaterThan(100000);
		// Each edit inserts at most 22 characters (the longest piece) or
		// deletes at most 7, wherever in the text it was made: a seek across m
		// edits touches at most 22 m, where one change between the first and
		// the last difference would span most of the 100,000 characters.
		let k = 100;
		for (const to of [110, 100, 290, 200]) {
			const t = events[2 + to]!.at;
			const tr = state.update(seekTo(replay, state, replay.editAt(t)));
			let touched = 0;
			tr.changes.iterChanges((fa, ta, _fb, _tb, ins) => (touched += ta - fa + ins.length));
			expect(touched, `seek from edit ${k} to ${to}`).toBeLessThanOrEqual(22 * Math.abs(to - k));
			k = to;
			state = tr.state;
			expect(state.doc.toString() === textAt(events, t)).toBe(true);
		}
	});

	it('gives the changes outside the drawn range as one on each side, and lands right', () => {
		const events = session(SEED + 4, 400, 30);
		const replay = new Replay(C, events);
		let state = EditorState.create({ extensions: [replayView(replay)] });
		state = seek(replay, state, events[2 + 40]!.at);
		const r = rng(SEED + 5);
		for (let i = 0; i < 30; i++) {
			const t = events[2 + 31 + r.int(369)]!.at;
			const mid = r.int(state.doc.length);
			const keep = { from: Math.max(0, mid - 2000), to: Math.min(state.doc.length, mid + 2000) };
			const tr = state.update(seekTo(replay, state, replay.editAt(t), keep));
			// Edits land anywhere in the 100,000 characters: about 4 % of them in
			// the drawn range; the rest come as at most 8 changes a side or one.
			let n = 0;
			let inside = 0;
			tr.changes.iterChanges((fa, ta) => {
				n++;
				if (ta >= keep.from && fa <= keep.to) inside++;
			});
			expect(n - inside, `changes outside [${keep.from}, ${keep.to})`).toBeLessThanOrEqual(16);
			state = tr.state;
			expect(state.doc.toString() === textAt(events, t), `text at ${t}`).toBe(true);
		}
	});

	it('compares the texts when a jump spans more edits than it composes, and lands right', () => {
		const events = session(SEED + 3, 200, 50);
		const replay = new Replay(C, events, 16);
		expect(replay.changeBetween(-1, 100)).toBe(null);
		let state = EditorState.create({ extensions: [replayView(replay)] });
		for (const k of [100, 3, 190, 185, 60, -1, 199]) {
			const t = k < 0 ? 0 : events[2 + k]!.at;
			state = seek(replay, state, t);
			expect(state.doc.toString() === textAt(events, t), `edit ${k}`).toBe(true);
		}
	});
});
