// timeline.ts - a room's timeline, fetched from the REST API and replayed
// with the wasm CRDT: every edit's ops are applied once, in order, and the
// version after each edit is kept, so the text of any moment is one
// doc.textAt(version) (and who typed each character, doc.authors at that
// version), with no replay from the start on each scrub.  Each edit's change
// list (what applyUpdate reported) is kept too, as a CodeMirror ChangeSet
// and its inverse, so moving the shown text from one moment to another is
// the exact changes between them, never a replacement of the whole text.
import { ChangeSet, Text } from '@codemirror/state';
import type { Doc, TandemCrdt, Version } from '../lib/crdt';
import type { RunResult, RunTest, Seat } from '../lib/protocol';

export interface TimelineEvent {
	seq: number;
	at: number;
	kind: string;
	actor: Seat | 'server' | null;
	payload: Record<string, unknown>;
	ops?: string;
}

export interface RunRecord {
	run: number;
	at: number;
	by: string;
	mode: string;
	result: (Omit<RunResult, 't'> & { at: number }) | null;
	tests: Array<Omit<RunTest, 't'>>;
}

/**
 * One edit of the timeline: its index into events, its time, the version
 * after it, and the change from the text before it to the text after it
 * (`change`) and back (`undo`).
 */
export interface Edit {
	i: number;
	at: number;
	version: Version;
	change: ChangeSet;
	undo: ChangeSet;
}

/**
 * The most edits changeBetween() composes by default: beyond it (a jump
 * across most of a long session) it answers null and the caller compares
 * the two texts.
 */
export const MAX_COMPOSE = 16384;

/**
 * Edits per block: each block's edits are composed into one change (and
 * one undo) as the timeline is read, and changeBetween() takes the whole
 * blocks a jump spans as one change each, so a jump across n edits
 * composes about n / BLOCK + 2 BLOCK sets.
 */
const BLOCK = 64;

/**
 * The replay's texts break lines at "\n" only (the view too, through
 * EditorState.lineSeparator), so a "\r" typed or pasted in the session is a
 * character as it is in the CRDT, and positions agree with the CRDT's.
 */
export const LINE_SEPARATOR = '\n';

/** Change sets that follow one another composed into one, pairwise (n log n, not n squared). */
function composeAll(sets: ChangeSet[]): ChangeSet {
	while (sets.length > 1) {
		const next: ChangeSet[] = [];
		for (let j = 0; j + 1 < sets.length; j += 2) next.push(sets[j]!.compose(sets[j + 1]!));
		if (sets.length % 2) next.push(sets[sets.length - 1]!);
		sets = next;
	}
	return sets[0]!;
}

export class Replay {
	readonly doc: Doc;
	private readonly blocks = new Map<number, { change: ChangeSet; undo: ChangeSet }>();
	readonly edits: Edit[] = [];
	/**
	 * False when an edit's change list did not turn the text before it into
	 * the text after it (a CRDT defect): then changeBetween() answers null,
	 * seeks compare texts, and no more blocks are made.
	 */
	exact = true;
	/** Agent -> seat (from join and edit events). */
	readonly seats = new Map<number, string>();
	readonly runs: RunRecord[] = [];

	constructor(
		crdt: TandemCrdt,
		readonly events: TimelineEvent[],
		private readonly maxCompose = MAX_COMPOSE,
	) {
		this.doc = new crdt.Doc(0);
		const byRun = new Map<number, RunRecord>();
		// The text as CodeMirror holds it, advanced by each edit's change list:
		// what the undo of the next edit is computed against.
		let cur = Text.empty;
		events.forEach((e, i) => {
			const p = e.payload ?? {};
			if (e.kind === 'join' && typeof p.agent === 'number' && e.actor) this.seats.set(p.agent, e.actor);
			if (e.kind === 'edit' && e.ops) {
				const { changes } = this.doc.applyUpdate(base64(e.ops));
				let change = ChangeSet.empty(cur.length);
				let undo = change;
				try {
					change = ChangeSet.of(changes, cur.length, LINE_SEPARATOR);
					undo = change.invert(cur);
					cur = change.apply(cur);
				} catch {
					this.exact = false;
				}
				if (cur.length !== this.doc.length) this.exact = false;
				this.edits.push({ i, at: e.at, version: this.doc.version(), change, undo });
				// Each block as it fills, so no seek waits for one to be made.
				if (this.exact && this.edits.length % BLOCK === 0) this.block(this.edits.length / BLOCK - 1);
				const v = p.v as Array<[number, number]> | undefined;
				if (e.actor && v) for (const [agent] of v) if (!this.seats.has(agent)) this.seats.set(agent, e.actor);
			}
			if (e.kind === 'run' && typeof p.run === 'number') {
				const r: RunRecord = {
					run: p.run,
					at: e.at,
					by: String(e.actor),
					mode: String(p.mode ?? 'script'),
					result: null,
					tests: [],
				};
				byRun.set(p.run, r);
				this.runs.push(r);
			}
			if (e.kind === 'run.test' && typeof p.run === 'number')
				byRun.get(p.run)?.tests.push(p as unknown as RunTest);
			if (e.kind === 'run.result' && typeof p.run === 'number') {
				const r = byRun.get(p.run);
				if (r) r.result = { ...(p as unknown as RunResult), at: e.at };
			}
		});
	}

	get start(): number {
		return this.events[0]?.at ?? 0;
	}
	get end(): number {
		return this.events[this.events.length - 1]?.at ?? 0;
	}

	/** The last edit at or before time t (-1: none). */
	editAt(t: number): number {
		let lo = 0;
		let hi = this.edits.length - 1;
		let ans = -1;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			if (this.edits[mid]!.at <= t) {
				ans = mid;
				lo = mid + 1;
			} else hi = mid - 1;
		}
		return ans;
	}

	/** The text at time t, the edit that made it (-1: none yet) and its seq. */
	at(t: number): { text: string; k: number; seq: number | null } {
		const k = this.editAt(t);
		return { text: this.textOf(k), k, seq: k < 0 ? null : this.events[this.edits[k]!.i]!.seq };
	}

	/** The text after edit k ('' for k < 0, before the first edit). */
	textOf(k: number): string {
		return k < 0 ? '' : this.doc.textAt(this.edits[k]!.version);
	}

	/** Who typed [from, to) of the text after edit k (UTF-16 units of that text). */
	authorsOf(k: number, from: number, to: number): ReturnType<Doc['authors']> {
		return k < 0 || to <= from ? [] : this.doc.authors(from, to, this.edits[k]!.version);
	}

	/**
	 * The change that turns the text after edit a into the text after edit
	 * b (either may be -1, the empty text before the first edit): the edits'
	 * own changes composed going forward, their undos going back.  Null when
	 * more than maxCompose edits lie between, or when the change lists are
	 * not exact.
	 */
	changeBetween(a: number, b: number): ChangeSet | null {
		if (!this.exact || Math.abs(b - a) > this.maxCompose) return null;
		if (a === b) return ChangeSet.empty(a < 0 ? 0 : this.edits[a]!.change.newLength);
		const sets: ChangeSet[] = [];
		if (b > a) {
			// Edits a+1 .. b: single edits up to a block's start, whole blocks,
			// single edits after the last whole block.
			let k = a + 1;
			for (; k <= b && k % BLOCK !== 0; k++) sets.push(this.edits[k]!.change);
			for (; k + BLOCK - 1 <= b; k += BLOCK) sets.push(this.block(k / BLOCK).change);
			for (; k <= b; k++) sets.push(this.edits[k]!.change);
		} else {
			// Undos of edits a .. b+1, the same way down.
			let k = a;
			for (; k > b && (k + 1) % BLOCK !== 0; k--) sets.push(this.edits[k]!.undo);
			for (; k - BLOCK + 1 > b; k -= BLOCK) sets.push(this.block((k + 1) / BLOCK - 1).undo);
			for (; k > b; k--) sets.push(this.edits[k]!.undo);
		}
		return composeAll(sets);
	}

	/** Block j's change (edits j*BLOCK .. (j+1)*BLOCK-1 composed) and its undo, made once. */
	private block(j: number): { change: ChangeSet; undo: ChangeSet } {
		let c = this.blocks.get(j);
		if (!c) {
			const edits = this.edits.slice(j * BLOCK, (j + 1) * BLOCK);
			c = {
				change: composeAll(edits.map((e) => e.change)),
				undo: composeAll(edits.reverse().map((e) => e.undo)),
			};
			this.blocks.set(j, c);
		}
		return c;
	}

	/** The latest run that started at or before t, with what of it was known then. */
	runAt(t: number): RunRecord | null {
		let last: RunRecord | null = null;
		for (const r of this.runs) if (r.at <= t) last = r;
		if (!last) return null;
		return { ...last, result: last.result && last.result.at <= t ? last.result : null };
	}
}

export function base64(s: string): Uint8Array {
	const bin = atob(s);
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
	return out;
}

export class HttpError extends Error {
	constructor(
		readonly status: number,
		message: string,
	) {
		super(message);
	}
}

export async function getJson<T>(url: string, token: string): Promise<T> {
	const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
	const body = (await res.json().catch(() => ({}))) as T & { error?: string };
	if (!res.ok) throw new HttpError(res.status, body.error ?? `HTTP ${res.status}`);
	return body;
}

/** Every event of a room's timeline, a page of 1,000 at a time. */
export async function fetchTimeline(
	room: string,
	token: string,
	progress?: (n: number) => void,
): Promise<TimelineEvent[]> {
	const out: TimelineEvent[] = [];
	let after = 0;
	for (;;) {
		const page = await getJson<{ events: TimelineEvent[]; next: number | null }>(
			`/api/rooms/${encodeURIComponent(room)}/timeline?after=${after}&limit=1000`,
			token,
		);
		out.push(...page.events);
		progress?.(out.length);
		if (page.next === null || page.events.length === 0) return out;
		after = page.next;
	}
}

/**
 * Maps real time to the slider's time, with idle stretches (no event for
 * longer than IDLE_MS) shortened to IDLE_MS when skipping idle.
 */
export const IDLE_MS = 3000;
export class Clock {
	private readonly marks: Array<{ real: number; virt: number }> = [];
	readonly length: number;
	constructor(times: number[], skipIdle: boolean) {
		let virt = 0;
		let prev = times[0] ?? 0;
		for (const t of times) {
			const gap = t - prev;
			virt += skipIdle ? Math.min(gap, IDLE_MS) : gap;
			this.marks.push({ real: t, virt });
			prev = t;
		}
		this.length = virt;
	}
	toVirt(real: number): number {
		const m = this.marks;
		if (m.length === 0) return 0;
		let i = 0;
		while (i + 1 < m.length && m[i + 1]!.real <= real) i++;
		return Math.min(
			m[i]!.virt + Math.max(0, Math.min(real - m[i]!.real, (m[i + 1]?.virt ?? Infinity) - m[i]!.virt)),
			this.length,
		);
	}
	toReal(virt: number): number {
		const m = this.marks;
		if (m.length === 0) return 0;
		let lo = 0;
		let hi = m.length - 1;
		while (lo < hi) {
			const mid = (lo + hi + 1) >> 1;
			if (m[mid]!.virt <= virt) lo = mid;
			else hi = mid - 1;
		}
		return m[lo]!.real + (virt - m[lo]!.virt);
	}
}
