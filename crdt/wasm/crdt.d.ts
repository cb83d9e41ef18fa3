// crdt.d.ts - the types of crdt/wasm/crdt.mjs, Tandem's text CRDT in WebAssembly.
//
// crdt.mjs is plain JavaScript used as is (no build step); this file declares
// every export for the TypeScript frontend.  Keep the two in step: an export
// added to crdt.mjs is declared here in the same commit.
//
// Units.  Every position and length on this API counts UTF-16 code units,
// as JavaScript strings and CodeMirror do (`'😀'.length === 2`): insert,
// delete, length, change lists, anchors, authorship, onChange.  A position
// inside a surrogate pair is refused (CrdtError, code -4), and so is text
// holding a lone surrogate (CrdtError, code -3): what is stored is always
// valid Unicode.  (The C API beneath counts code points or UTF-16 units, as
// its caller chooses; the server uses code points.)
//
// Bytes.  Versions, updates and snapshots are opaque Uint8Arrays in the C
// module's wire formats, so they travel over the WebSocket as they are.
//
// Memory.  A Doc lives in wasm memory until doc.free().  A
// FinalizationRegistry frees a forgotten Doc eventually, but call free().
//
// Errors.  A failed call throws CrdtError and leaves the document as it was
// (except where applyUpdate says otherwise).
//
//   import { TandemCrdt } from './crdt.mjs';
//   const crdt = await TandemCrdt.load(new URL('tandem-crdt.wasm', import.meta.url));
//   const doc = new crdt.Doc(agentFromWelcome);
//   doc.insert(0, 'héllo 😀');
//   socket.send(doc.encodeSince(lastAckedVersion));
//   const { changes } = doc.applyUpdate(remoteBytes);
//   view.dispatch({ changes, annotations: remote.of(true) });

/** An encoded version vector ('V' format): what a replica has seen. */
export type Version = Uint8Array;

/** An encoded update ('U' format) or snapshot ('S' format). */
export type Update = Uint8Array;

/** A version vector as plain data: `[agent, next]` pairs, sorted by agent. */
export type VersionEntries = Array<[agent: number, next: number]>;

/**
 * A failed call into the C module.  `code` is the negative crdt error code:
 * -1 out of memory, -2 invalid argument, -3 invalid text (lone surrogate /
 * invalid UTF-8), -4 position or length out of range (or inside a surrogate
 * pair), -5 malformed encoding, -6 truncated encoding, -7 unsupported format
 * version, -8 limit exceeded, -9 agent sequence number overflow.
 */
export class CrdtError extends Error {
	readonly name: 'CrdtError';
	readonly code: number;
	/**
	 * Set by applyUpdate when it fails after part of the update went in
	 * (-1, -8): the change list of that part, to apply before reloading.
	 */
	changes?: Change[];
	constructor(code: number, what: string, message: string);
}

/**
 * One change of a remote update, in CodeMirror's ChangeSpec form: replace
 * UTF-16 range [from, to) of the text *before the update* with `insert`.
 * The array applyUpdate returns is sorted by `from` and non-overlapping, so
 * it can be passed as is to `view.dispatch({changes})` (CodeMirror reads
 * every position of such an array against the start document).  Two
 * changes may share a position only when both are pure insertions at it;
 * they apply in array order.
 */
export interface Change {
	/** Start of the replaced range, UTF-16 units in the text before the update. */
	from: number;
	/** End of the replaced range (`from` for a pure insertion). */
	to: number;
	/** The inserted text ('' for a pure deletion). */
	insert: string;
	/**
	 * The agent who typed `insert`, present when `insert` is non-empty.  A
	 * change never carries text from two agents: adjacent pieces by different
	 * agents come as separate changes at the same position.
	 */
	agent?: number;
}

/** What applying an update did. */
export interface ApplyResult {
	/**
	 * Every visible change the update made (operations that waited for it in
	 * the pending buffer included), relative to the text before the call.
	 * Empty when nothing visible changed (a duplicate, or operations that
	 * wait for dependencies).
	 */
	changes: Change[];
	/** Operations still waiting for missing dependencies after the call. */
	pending: number;
}

/**
 * A stable position: it names a character, so it survives concurrent edits
 * around it.  Plain JSON (send it in awareness messages as it is).
 *
 * `agent`/`seq` name the character (the operation that inserted it);
 * `assoc` says which side of it the position is: -1 just after the
 * character (the anchor was taken with assoc -1, naming the character
 * before the position), 1 just before it (assoc 1, the character after).
 * `agent` and `seq` are null for the edges of the document: assoc -1 the
 * start, assoc 1 the end (anchors taken at 0 with assoc -1, or at the end
 * with assoc 1).
 */
export type Anchor =
	| { agent: number; seq: number; assoc: -1 | 1 }
	| { agent: null; seq: null; assoc: -1 | 1 };

/** A run of visible text typed by one agent; `len` in UTF-16 units. */
export interface AuthorRun {
	agent: number;
	len: number;
}

/**
 * A remote change as the onChange listeners see it, one at a time, each
 * relative to the text the previous one left: at UTF-16 offset `pos`, `del`
 * units were removed and then `text` inserted.
 */
export interface ChangeEvent {
	pos: number;
	del: number;
	text: string;
	/** The agent who typed `text`, when it is non-empty. */
	agent?: number;
}

/** A document.  Made by `new crdt.Doc(agent)` or `crdt.loadDoc(snapshot, agent)`. */
export interface Doc {
	/**
	 * The agent local edits are made as: the id the server handed this
	 * editing session in its welcome.  May be changed (e.g. after a
	 * reconnect hands out a fresh id).
	 */
	agent: number;

	/** Frees the document's wasm memory; the Doc must not be used afterwards. */
	free(): void;

	// ---- reading -----------------------------------------------------------

	/** The visible text. O(n). */
	text(): string;
	/** Visible length in UTF-16 units (what `text().length` is), O(1). */
	readonly length: number;
	/** Visible length in Unicode code points, O(1). */
	readonly codePoints: number;
	/** Visible length in UTF-8 bytes, O(1). */
	readonly byteLength: number;

	// ---- local edits (as this.agent) ----------------------------------------

	/**
	 * Inserts `text` at UTF-16 offset `pos` (0 <= pos <= length, not inside a
	 * surrogate pair).  Throws CrdtError -3 when `text` holds a lone
	 * surrogate, -4 when `pos` is out of range; nothing changes then.
	 */
	insert(pos: number, text: string): void;
	/**
	 * Deletes `len` UTF-16 units at `pos`.  Neither end may fall inside a
	 * surrogate pair (CrdtError -4), nor past the end.
	 */
	delete(pos: number, len: number): void;

	// ---- versions and sync --------------------------------------------------

	/** The document's version vector, encoded. */
	version(): Version;
	/**
	 * How many operations of `agent` this document holds: its entry of the
	 * version vector, read without allocating (cheap enough for every update).
	 */
	next(agent: number): number;
	/** The same as next(agent) (the older name). */
	nextOf(agent: number): number;
	/** Operations received whose dependencies have not arrived yet. */
	pending(): number;
	/** Operations applied in all (the document's local clock). */
	opCount(): number;

	/**
	 * An update holding every operation this document has and `since` lacks
	 * (`since` null or omitted: everything).  After a local edit,
	 * `encodeSince(versionBeforeTheEdit)` is the update to send.
	 */
	encodeSince(since?: Version | null): Update;
	/** An update with the operations `until` has and `since` lacks (null: from the start / all). */
	encodeBetween(since: Version | null, until: Version | null): Update;

	/**
	 * Merges an update or snapshot and returns the change list that turns
	 * the text before the call into the text after it (see Change).  Known
	 * operations are ignored; those whose dependencies are missing wait
	 * (ApplyResult.pending) and are applied, and reported, when they arrive.
	 * Throws CrdtError on malformed input (-5, -6, -7), with the document
	 * unchanged.  On -1 (out of memory) or -8 (too much pending) the document
	 * holds a consistent part of the update (the error's `changes` say what
	 * changed) and applying the same bytes again completes it.
	 */
	applyUpdate(bytes: Uint8Array): ApplyResult;

	// ---- snapshots and history ----------------------------------------------

	/** A snapshot ('S') of the whole document with its history: what is stored. */
	encodeDoc(): Update;
	/** The same as encodeDoc() (snapshot save). */
	save(): Update;
	/** The text as it was at an encoded version (replay, `text?at=`). */
	textAt(version: Version): string;

	// ---- cursors --------------------------------------------------------------

	/**
	 * A stable anchor for UTF-16 offset `pos` (0 <= pos <= length).  assoc 1
	 * (the default) names the character after pos, -1 the one before, as in
	 * CodeMirror's and Yjs' assoc; at the start with -1 or at the end with 1
	 * it names the edge.  O(log n).
	 */
	anchorAt(pos: number, assoc?: -1 | 1): Anchor;
	/**
	 * The anchor's UTF-16 offset in the current text: beside its character on
	 * the anchor's side; where the character was when it has been deleted
	 * (between its nearest visible neighbours); null when the character is
	 * not known to this document yet (its insert has not arrived).  O(log n).
	 * Throws CrdtError -2 for a value that is not an Anchor.
	 */
	anchorPos(anchor: Anchor): number | null;

	// ---- authorship ------------------------------------------------------------

	/**
	 * Who typed the visible text: runs of [from, to) (UTF-16 units, default
	 * the whole text) in order, adjacent runs of one agent merged, lengths
	 * adding up to to - from.  With `version`, of the text as it was at that
	 * version (from/to then count in that text).  O(runs + log n).
	 */
	authors(from?: number, to?: number, version?: Version | null): AuthorRun[];

	// ---- conversions ---------------------------------------------------------------

	/** UTF-16 offset in the current text -> code point offset (inside a pair rounds down). O(log n). */
	utf16ToCp(u16: number): number;
	/** Code point offset in the current text -> UTF-16 offset. O(log n). */
	cpToUtf16(cp: number): number;

	// ---- observing ---------------------------------------------------------------

	/**
	 * Calls `cb` for every visible change a remote update makes, one change
	 * at a time (each relative to the text the previous one left), during
	 * applyUpdate.  Returns a function that unsubscribes.  A listener must
	 * not edit the document.  (A binding wants applyUpdate's change list
	 * instead: one transaction per update.)
	 */
	onChange(cb: (change: ChangeEvent) => void): () => void;
}

/** The constructor behind `crdt.Doc`. */
export interface DocConstructor {
	/** A new, empty document whose local edits are made as `agent` (default 1). */
	new (agent?: number): Doc;
}

/** A loaded instance of the wasm module; documents are made with its `.Doc`. */
export class TandemCrdt {
	/**
	 * Loads the module from bytes, a compiled WebAssembly.Module, or a URL
	 * (string or URL; file: URLs work under node).
	 */
	static load(
		source: ArrayBuffer | ArrayBufferView | WebAssembly.Module | URL | string,
	): Promise<TandemCrdt>;

	/** The document class of this instance. */
	readonly Doc: DocConstructor;

	/**
	 * A document loaded from a snapshot (or any update) `bytes`, whose local
	 * edits are made as `agent`.  Throws CrdtError on malformed input.
	 */
	loadDoc(bytes: Uint8Array, agent?: number): Doc;

	/** True when version `a` has seen every operation version `b` has. */
	versionIncludes(a: Version, b: Version): boolean;
	/** An encoded version from `[agent, next]` pairs. */
	versionFromEntries(entries: VersionEntries): Version;
	/** The `[agent, next]` pairs of an encoded version, sorted by agent. */
	versionEntries(version: Version): VersionEntries;

	/** UTF-16 offset in `str` -> code point offset (inside a pair rounds down). */
	utf16ToCp(str: string, u16: number): number;
	/** Code point offset in `str` -> UTF-16 offset. */
	cpToUtf16(str: string, cp: number): number;

	/** Frees the instance's scratch memory (documents are freed with doc.free()). */
	dispose(): void;
}

export default TandemCrdt;
