// crdt.ts - the one place the browser app loads the wasm CRDT.
//
// Everything else imports the types of crdt/wasm/crdt.d.ts and gets a
// loaded instance from loadCrdt().  The module's bytes come from the meson
// build through the `virtual:tandem-crdt-wasm` asset (vite.config.ts); tests
// under node pass their own bytes to setCrdtSource().
//
// Until crdt.mjs speaks UTF-16 with change lists and anchors (crdt.d.ts is
// its final API, declared ahead), an older crdt.mjs (code points, onChange
// only) is wrapped by upgrade() below so the app runs on either.
import { TandemCrdt } from 'tandem-crdt';
import type {
	Anchor,
	ApplyResult,
	AuthorRun,
	Change,
	ChangeEvent,
	Doc,
	Update,
	Version,
} from 'tandem-crdt';

export type { Anchor, Change, Doc, TandemCrdt, Update, Version };

let source: Uint8Array | URL | string | null = null;
let loading: Promise<TandemCrdt> | null = null;

/** Where loadCrdt() takes the module from (tests: the bytes of the file). */
export function setCrdtSource(s: Uint8Array | URL | string): void {
	source = s;
	loading = null;
}

/** The wasm CRDT, loaded once per page. */
export function loadCrdt(): Promise<TandemCrdt> {
	if (!loading)
		loading = (async () => {
			let src = source;
			if (!src) src = (await import('virtual:tandem-crdt-wasm')).default;
			return upgrade(await TandemCrdt.load(src));
		})();
	return loading;
}

// ---- the older crdt.mjs -------------------------------------------------------

interface OldDoc {
	agent: number;
	free(): void;
	insert(pos: number, s: string): void;
	delete(pos: number, n: number): void;
	text(): string;
	nextOf(agent: number): number;
	version(): Uint8Array;
	encodeSince(since?: Uint8Array | null): Uint8Array;
	encodeBetween(since: Uint8Array | null, until: Uint8Array | null): Uint8Array;
	encodeDoc(): Uint8Array;
	applyUpdate(b: Uint8Array): void;
	textAt(v: Uint8Array): string;
	pending(): number;
	opCount(): number;
	onChange(cb: (c: { pos: number; del: number; text: string }) => void): () => void;
}

// UTF-16 offset of code point offset cp in s.
function cpTo16(s: string, cp: number): number {
	let i = 0;
	for (let n = 0; n < cp && i < s.length; n++) {
		const c = s.charCodeAt(i);
		i += c >= 0xd800 && c < 0xdc00 ? 2 : 1;
	}
	return i;
}

// Code point offset of UTF-16 offset u in s.
function u16ToCp(s: string, u: number): number {
	let n = 0;
	for (let i = 0; i < u && i < s.length; n++) {
		const c = s.charCodeAt(i);
		i += c >= 0xd800 && c < 0xdc00 ? 2 : 1;
	}
	return n;
}

// A Doc of the final API over an older one: a mirror of the text converts
// positions (O(n) a call; the real module does it in O(log n)); anchors are
// plain offsets, which is what a cursor was before anchors existed.
class CompatDoc {
	private mirror = '';
	private listeners: Array<(c: ChangeEvent) => void> = [];
	private collecting: ChangeEvent[] | null = null;

	constructor(private readonly d: OldDoc) {
		d.onChange((c) => {
			const pos = cpTo16(this.mirror, c.pos);
			const end = cpTo16(this.mirror, c.pos + c.del);
			this.mirror = this.mirror.slice(0, pos) + c.text + this.mirror.slice(end);
			const ev = { pos, del: end - pos, text: c.text };
			this.collecting?.push(ev);
			for (const l of this.listeners) l(ev);
		});
	}
	get agent(): number {
		return this.d.agent;
	}
	set agent(a: number) {
		this.d.agent = a;
	}
	free(): void {
		this.d.free();
	}
	text(): string {
		return this.mirror;
	}
	get length(): number {
		return this.mirror.length;
	}
	get codePoints(): number {
		return u16ToCp(this.mirror, this.mirror.length);
	}
	get byteLength(): number {
		return new TextEncoder().encode(this.mirror).length;
	}
	insert(pos: number, text: string): void {
		this.d.insert(u16ToCp(this.mirror, pos), text);
		this.mirror = this.mirror.slice(0, pos) + text + this.mirror.slice(pos);
	}
	delete(pos: number, len: number): void {
		const a = u16ToCp(this.mirror, pos);
		this.d.delete(a, u16ToCp(this.mirror, pos + len) - a);
		this.mirror = this.mirror.slice(0, pos) + this.mirror.slice(pos + len);
	}
	version(): Version {
		return this.d.version();
	}
	next(agent: number): number {
		return this.d.nextOf(agent);
	}
	nextOf(agent: number): number {
		return this.d.nextOf(agent);
	}
	pending(): number {
		return this.d.pending();
	}
	opCount(): number {
		return this.d.opCount();
	}
	encodeSince(since?: Version | null): Update {
		return this.d.encodeSince(since ?? null);
	}
	encodeBetween(since: Version | null, until: Version | null): Update {
		return this.d.encodeBetween(since, until);
	}
	applyUpdate(bytes: Uint8Array): ApplyResult {
		const evs: ChangeEvent[] = [];
		this.collecting = evs;
		try {
			this.d.applyUpdate(bytes);
		} finally {
			this.collecting = null;
		}
		return { changes: sequentialToParallel(evs), pending: this.d.pending() };
	}
	encodeDoc(): Update {
		return this.d.encodeDoc();
	}
	save(): Update {
		return this.d.encodeDoc();
	}
	textAt(version: Version): string {
		return this.d.textAt(version);
	}
	anchorAt(pos: number, assoc: -1 | 1 = 1): Anchor {
		return { agent: -1, seq: pos, assoc };
	}
	anchorPos(anchor: Anchor): number | null {
		return Math.min(anchor.seq ?? (anchor.assoc < 0 ? 0 : this.length), this.length);
	}
	authors(from = 0, to = this.length): AuthorRun[] {
		return to > from ? [{ agent: 0, len: to - from }] : [];
	}
	utf16ToCp(u: number): number {
		return u16ToCp(this.mirror, u);
	}
	cpToUtf16(cp: number): number {
		return cpTo16(this.mirror, cp);
	}
	onChange(cb: (c: ChangeEvent) => void): () => void {
		this.listeners.push(cb);
		return () => {
			this.listeners = this.listeners.filter((l) => l !== cb);
		};
	}
}

/**
 * Sequential changes (each relative to the text the previous one left) ->
 * changes all relative to the text before the first, sorted and
 * non-overlapping (CodeMirror's ChangeSpec array form).
 */
export function sequentialToParallel(evs: ChangeEvent[]): Change[] {
	// Kept as a list of pieces of the new text: either a kept range of the
	// old text [a, b) or inserted text.  Each event edits this list.
	type Piece = { old: [number, number] } | { ins: string };
	let pieces: Piece[] = [];
	let oldLen = -1;
	const len = (p: Piece): number => ('ins' in p ? p.ins.length : p.old[1] - p.old[0]);
	for (const ev of evs) {
		if (oldLen < 0) {
			// The old text's length is unknown here; a kept range up to
			// "infinity" is cut by the later comparisons.
			oldLen = Number.MAX_SAFE_INTEGER;
			pieces = [{ old: [0, oldLen] }];
		}
		const out: Piece[] = [];
		let at = 0;
		const delEnd = ev.pos + ev.del;
		let inserted = false;
		for (const p of pieces) {
			const l = len(p);
			const s = at;
			const e = at + l;
			at = e;
			// Keep the part before pos and the part after pos + del.
			if (e <= ev.pos || s >= delEnd) {
				if (s >= delEnd && !inserted) {
					if (ev.text) out.push({ ins: ev.text });
					inserted = true;
				}
				out.push(p);
				continue;
			}
			const keepHead = Math.max(0, ev.pos - s);
			const keepTail = Math.max(0, e - delEnd);
			if (keepHead) out.push(slice(p, 0, keepHead));
			if (!inserted && s + keepHead >= ev.pos) {
				if (ev.text) out.push({ ins: ev.text });
				inserted = true;
			}
			if (keepTail) out.push(slice(p, l - keepTail, l));
		}
		if (!inserted && ev.text) out.push({ ins: ev.text });
		pieces = out;
	}
	// Walk the pieces: gaps in the old ranges are deletions, ins are inserts.
	const changes: Change[] = [];
	let oldAt = 0;
	let pendingIns = '';
	const flush = (to: number): void => {
		if (to > oldAt || pendingIns) changes.push({ from: oldAt, to, insert: pendingIns });
		pendingIns = '';
	};
	for (const p of pieces) {
		if ('ins' in p) {
			pendingIns += p.ins;
			continue;
		}
		if (p.old[0] !== oldAt || pendingIns) flush(p.old[0]);
		oldAt = p.old[1];
	}
	if (pendingIns) flush(oldAt);
	return changes;

	function slice(p: Piece, a: number, b: number): Piece {
		return 'ins' in p ? { ins: p.ins.slice(a, b) } : { old: [p.old[0] + a, p.old[0] + b] };
	}
}

function upgrade(crdt: TandemCrdt): TandemCrdt {
	const probe = new crdt.Doc(1);
	const modern = typeof (probe as Partial<Doc>).anchorAt === 'function';
	probe.free();
	if (modern) return crdt;
	const OldDocClass = crdt.Doc as unknown as new (agent?: number) => OldDoc;
	const Doc = function (this: unknown, agent?: number) {
		return new CompatDoc(new OldDocClass(agent));
	} as unknown as TandemCrdt['Doc'];
	const entries = (v: Version): Map<number, number> => new Map(crdt.versionEntries(v));
	return Object.assign(Object.create(crdt) as TandemCrdt, {
		Doc,
		loadDoc(bytes: Uint8Array, agent?: number): Doc {
			const d = new Doc(agent);
			d.applyUpdate(bytes);
			return d;
		},
		versionIncludes(a: Version, b: Version): boolean {
			const ea = entries(a);
			for (const [agent, n] of entries(b)) if ((ea.get(agent) ?? 0) < n) return false;
			return true;
		},
	});
}
