// binding.ts - the shared document <-> CodeMirror.
//
// Local changes become CRDT operations in UTF-16 (CodeMirror's own unit, as
// is the CRDT's wasm API), and the update they make is handed to onLocal to
// send.  A remote update becomes one CodeMirror transaction built from the
// CRDT's change list, annotated `remote` (so it is not sent back) and kept
// out of the undo history (so undo undoes only this editor's own edits; the
// history maps its stored edits through remote ones).
//
// The invariant: the editor's text equals doc.text() between transactions.
// Local transactions are copied into the CRDT synchronously while
// CodeMirror dispatches them, and a remote update is turned into a
// transaction against exactly the text it was computed from.
import { Annotation, EditorState, type Extension, Transaction, type TransactionSpec } from '@codemirror/state';
import { EditorView, ViewPlugin, type ViewUpdate } from '@codemirror/view';
import type { Doc, Update } from './crdt';

/** Marks a transaction that came from the CRDT (a peer's edit). */
export const remote = Annotation.define<boolean>();

/** The core of the binding, free of the DOM so tests can drive it with EditorState. */
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
	 * null when nothing visible changed.
	 */
	remote(update: Uint8Array): TransactionSpec | null {
		const { changes } = this.doc.applyUpdate(update);
		if (changes.length === 0) return null;
		return {
			changes: changes.map((c) => ({ from: c.from, to: c.to, insert: c.insert })),
			annotations: [remote.of(true), Transaction.addToHistory.of(false)],
		};
	}
}

/**
 * The extension that keeps an EditorView and binding.doc in step.  Should
 * the CRDT refuse a local change (a position inside a surrogate pair, which
 * CodeMirror's own commands never make), the editor is set back to the
 * CRDT's text rather than left disagreeing with it.
 */
export function crdtSync(binding: Binding): Extension {
	return ViewPlugin.define((view) => ({
		update(u: ViewUpdate) {
			try {
				for (const tr of u.transactions) binding.local(tr);
			} catch (e) {
				console.warn('tandem: the CRDT refused an edit; reloading the text from it', e);
				setTimeout(() => resync(view, binding.doc));
			}
		},
	}));
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
	const spec = binding.remote(update);
	if (!spec) return false;
	view.dispatch(spec);
	return true;
}
