// binding.ts - the shared document <-> CodeMirror.
//
// Local changes become CRDT operations in UTF-16 (CodeMirror's own unit, as
// is the CRDT's wasm API), and the update they make is handed to onLocal to
// send.  A remote update becomes one CodeMirror transaction built from the
// CRDT's change list, annotated `remote` (so it is not sent back) and kept
// out of the undo history (so undo undoes only this editor's own edits; the
// history maps its stored edits through remote ones).  A large one (a
// reconnect's catch-up) has its changes far from the drawn lines, the
// cursor and the local edits the history holds merged into one per stretch
// (coalesce.ts), since CodeMirror's cost grows with the number of changes.
//
// The invariant: the editor's text equals doc.text() between transactions.
// Local transactions are copied into the CRDT synchronously while
// CodeMirror dispatches them, and a remote update is turned into a
// transaction against exactly the text it was computed from.
import {
	Annotation,
	EditorState,
	type Extension,
	StateField,
	Transaction,
	type TransactionSpec,
} from '@codemirror/state';
import { EditorView, ViewPlugin, type ViewUpdate } from '@codemirror/view';
import { coalesce, fromOldText, MERGE_OVER, type Span } from './coalesce';
import type { Doc, Update } from './crdt';

/** Marks a transaction that came from the CRDT (a peer's edit). */
export const remote = Annotation.define<boolean>();

/**
 * Lines as the CRDT has them: a line ends at "\n" only.  CodeMirror's
 * default also breaks at "\r\n" and "\r", counting "\r\n" as one
 * character, so a "\r" from a peer (or in a problem's starter) put every
 * later position one off and the editor's text stopped being the CRDT's.
 * Pasted or dropped text has its "\r\n" and "\r" made "\n", so typing
 * never brings a "\r" in.
 */
export const crdtLines: Extension = [
	EditorState.lineSeparator.of('\n'),
	EditorView.clipboardInputFilter.of((text) => text.replace(/\r\n?/g, '\n')),
];

/** The core of the binding, free of the DOM so tests can drive it with EditorState. */
export class Binding {
	constructor(
		readonly doc: Doc,
		private readonly onLocal: (update: Update) => void,
	) {}

	/**
	 * Copies a transaction's changes into the CRDT unless it is remote.
	 * Changes are applied from the end backwards, so each position is still
	 * one of the start document, which is what iterChanges reports.
	 */
	local(tr: Transaction): void {
		if (!tr.docChanged || tr.annotation(remote)) return;
		const edits: Array<[number, number, string]> = [];
		tr.changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
			edits.push([fromA, toA, inserted.toString()]);
		});
		const before = this.doc.version();
		for (let i = edits.length - 1; i >= 0; i--) {
			const [from, to, text] = edits[i]!;
			if (to > from) this.doc.delete(from, to - from);
			if (text) this.doc.insert(from, text);
		}
		this.onLocal(this.doc.encodeSince(before));
	}

	/**
	 * Merges a remote update and returns the transaction that shows it, or
	 * null when nothing visible changed.  With `keep` (giving keepSpans:
	 * what the view draws, the selection, the recent local edits; asked
	 * only when the update has many changes), many changes
	 * elsewhere are given as one replacement per stretch between those
	 * spans (coalesce.ts): a reconnect's catch-up of 1,000 scattered edits
	 * is then a few dozen changes for CodeMirror instead of 1,000.  A
	 * merged change's text comes from `oldText` (the editor's text before
	 * the update) where given, else from the CRDT's whole new text.
	 */
	remote(
		update: Uint8Array,
		keep?: () => readonly Span[],
		oldText?: (from: number, to: number) => string,
	): TransactionSpec | null {
		const { changes } = this.doc.applyUpdate(update);
		if (changes.length === 0) return null;
		let spec: Array<{ from: number; to: number; insert: string }>;
		if (keep && changes.length > MERGE_OVER) {
			let delta = 0;
			const pieces = changes.map((c) => {
				const fromB = c.from + delta;
				delta += c.insert.length - (c.to - c.from);
				return { from: c.from, to: c.to, insert: c.insert, fromB, toB: fromB + c.insert.length };
			});
			let text: string | null = null;
			const newText = oldText
				? fromOldText(pieces, oldText)
				: (a: number, b: number) => (text ??= this.doc.text()).slice(a, b);
			spec = coalesce(pieces, keep(), newText).map((c) => ({
				from: c.from,
				to: c.to,
				insert: c.insert,
			}));
		} else spec = changes.map((c) => ({ from: c.from, to: c.to, insert: c.insert }));
		return {
			changes: spec,
			annotations: [remote.of(true), Transaction.addToHistory.of(false)],
		};
	}
}

/** How many spans localEdits remembers: more than the undo history's 100 events hold (typed runs are joined). */
const LOCAL_SPANS = 512;

/** Appends span [lo, hi] to spans, joining the last one when they touch. */
function add(spans: number[], lo: number, hi: number): void {
	const n = spans.length;
	if (n > 0 && lo <= spans[n - 1]! && hi >= spans[n - 2]!) {
		spans[n - 2] = Math.min(spans[n - 2]!, lo);
		spans[n - 1] = Math.max(spans[n - 1]!, hi);
	} else spans.push(lo, hi);
}

/**
 * Where this editor's recent local edits are in the current text, as
 * [from, to] pairs (flat), the oldest first: the undo history holds these
 * edits and maps them through every remote change, so a remote update must
 * not merge changes across them (a merged replacement would swallow an
 * edit, and its undo would go to the replacement's edge).  An edit touching
 * the last one joins it, so a typed run is one span.
 */
export const localEdits = StateField.define<readonly number[]>({
	create: () => [],
	update(spans, tr) {
		if (!tr.docChanged) return spans;
		const out: number[] = [];
		for (let i = 0; i < spans.length; i += 2)
			out.push(tr.changes.mapPos(spans[i]!, -1), tr.changes.mapPos(spans[i + 1]!, 1));
		if (tr.annotation(remote)) return out;
		// Where the cursor was before the edit (an undo puts it back there),
		// then the edit.
		const sel = tr.startState.selection.main;
		add(out, tr.changes.mapPos(sel.from, -1), tr.changes.mapPos(sel.to, 1));
		let lo = Infinity;
		let hi = -1;
		tr.changes.iterChangedRanges((_fa, _ta, fromB, toB) => {
			lo = Math.min(lo, fromB);
			hi = Math.max(hi, toB);
		});
		add(out, lo, hi);
		return out.length > 2 * LOCAL_SPANS ? out.slice(out.length - 2 * LOCAL_SPANS) : out;
	},
});

/**
 * The spans of state's text whose remote changes must reach CodeMirror
 * exactly: the drawn range, every selection range, the recent local edits
 * (when the state has localEdits).
 */
export function keepSpans(state: EditorState, drawn: Span): Span[] {
	const out: Span[] = [{ from: drawn.from, to: drawn.to }];
	for (const r of state.selection.ranges) out.push({ from: r.from, to: r.to });
	const edits = state.field(localEdits, false) ?? [];
	for (let i = 0; i < edits.length; i += 2) out.push({ from: edits[i]!, to: edits[i + 1]! });
	return out;
}

/**
 * The extension that keeps an EditorView and binding.doc in step.  Should
 * the CRDT refuse a local change (a position inside a surrogate pair, which
 * CodeMirror's own commands never make), the editor is set back to the
 * CRDT's text rather than left disagreeing with it.
 */
export function crdtSync(binding: Binding): Extension {
	return [
		localEdits,
		ViewPlugin.define((view) => ({
			update(u: ViewUpdate) {
				try {
					for (const tr of u.transactions) binding.local(tr);
				} catch (e) {
					console.warn('tandem: the CRDT refused an edit; reloading the text from it', e);
					setTimeout(() => resync(view, binding.doc));
				}
			},
		})),
	];
}

/** Replaces the editor's text with the CRDT's (a remote, non-undoable change). */
export function resync(view: EditorView, doc: Doc): void {
	view.dispatch({
		changes: { from: 0, to: view.state.doc.length, insert: doc.text() },
		annotations: [remote.of(true), Transaction.addToHistory.of(false)],
	});
}

/** Applies a remote update to a view; returns whether the text changed. */
export function applyRemote(view: EditorView, binding: Binding, update: Uint8Array): boolean {
	// The merged changes' text from the editor's document: the CRDT's whole
	// text (a wasm call the page makes too rarely for it to be optimised)
	// cost a reconnect 2-3 ms more.
	const spec = binding.remote(
		update,
		() => keepSpans(view.state, view.viewport),
		(a, b) => view.state.doc.sliceString(a, b),
	);
	if (!spec) return false;
	view.dispatch(spec);
	return true;
}
