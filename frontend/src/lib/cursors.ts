// cursors.ts - the other seats' cursors and selections in the editor.
//
// A peer's cursor travels as two CRDT anchors (awareness message), which name
// characters rather than offsets, so it stays on the right character
// whatever was typed concurrently before it.  The decorations are rebuilt
// from the anchors whenever the text changes or a peer moves.
import { type EditorState, type Extension, RangeSetBuilder, StateEffect, StateField } from '@codemirror/state';
import { Decoration, type DecorationSet, EditorView, WidgetType } from '@codemirror/view';
import { remote } from './binding';
import type { Doc } from './crdt';
import type { AnchorJson } from './protocol';

export interface PeerCursor {
	/** The peer's CRDT agent (the key: one cursor per connection). */
	agent: number;
	name: string;
	/** The peer's seat, which picks its colour. */
	seat: string;
	anchor: AnchorJson;
	head: AnchorJson;
}

/** Sets (cursor) or removes (agent only) a peer's cursor. */
export const setPeer = StateEffect.define<PeerCursor | { agent: number; gone: true }>();

class CaretWidget extends WidgetType {
	constructor(
		readonly name: string,
		readonly seat: string,
	) {
		super();
	}
	override eq(o: CaretWidget): boolean {
		return o.name === this.name && o.seat === this.seat;
	}
	toDOM(): HTMLElement {
		const caret = document.createElement('span');
		// Colours come from classes: the Content-Security-Policy allows no
		// inline style attributes.
		caret.className = `cm-peer-caret cm-peer-${this.seat}`;
		caret.setAttribute('aria-hidden', 'true');
		const label = document.createElement('span');
		label.className = 'cm-peer-name';
		label.textContent = this.name;
		caret.appendChild(label);
		return caret;
	}
	override ignoreEvent(): boolean {
		return true;
	}
}

/** Where a peer's cursor is in the current text: [anchor, head], or null. */
export function peerRange(doc: Doc, p: PeerCursor): [number, number] | null {
	const a = doc.anchorPos(p.anchor as Parameters<Doc['anchorPos']>[0]);
	const h = doc.anchorPos(p.head as Parameters<Doc['anchorPos']>[0]);
	if (a === null || h === null) return null;
	return [a, h];
}

function build(doc: Doc, peers: Map<number, PeerCursor>, state: EditorState): DecorationSet {
	const items: Array<{ from: number; to: number; deco: Decoration }> = [];
	const max = state.doc.length;
	for (const p of peers.values()) {
		const r = peerRange(doc, p);
		if (!r) continue;
		const anchor = Math.min(r[0], max);
		const head = Math.min(r[1], max);
		const from = Math.min(anchor, head);
		const to = Math.max(anchor, head);
		if (to > from)
			items.push({
				from,
				to,
				deco: Decoration.mark({
					class: `cm-peer-selection cm-peer-${p.seat}`,
				}),
			});
		items.push({
			from: head,
			to: head,
			deco: Decoration.widget({ widget: new CaretWidget(p.name, p.seat), side: 1 }),
		});
	}
	items.sort((x, y) => x.from - y.from || x.to - y.to);
	const b = new RangeSetBuilder<Decoration>();
	for (const it of items) b.add(it.from, it.to, it.deco);
	return b.finish();
}

/** The extension showing peers' cursors of doc (kept in step by crdtSync). */
export function peerCursors(doc: Doc): Extension {
	const field = StateField.define<{ peers: Map<number, PeerCursor>; deco: DecorationSet }>({
		create: () => ({ peers: new Map(), deco: Decoration.none }),
		update(value, tr) {
			let peers = value.peers;
			// A remote transaction is made after the CRDT merged it, so the
			// anchors can be read at once; a local one reaches the CRDT only
			// after this field updates, so its decorations are mapped.
			let dirty = tr.docChanged && tr.annotation(remote) === true;
			for (const e of tr.effects) {
				if (!e.is(setPeer)) continue;
				peers = new Map(peers);
				if ('gone' in e.value) peers.delete(e.value.agent);
				else peers.set(e.value.agent, e.value);
				dirty = true;
			}
			if (!dirty) return tr.docChanged ? { peers, deco: value.deco.map(tr.changes) } : value;
			return { peers, deco: build(doc, peers, tr.state) };
		},
		provide: (f) => EditorView.decorations.from(f, (v) => v.deco),
	});
	return [field, cursorTheme];
}

const cursorTheme = EditorView.baseTheme({
	'.cm-peer-caret': {
		position: 'relative',
		borderLeft: '2px solid',
		marginLeft: '-1px',
		marginRight: '-1px',
	},
	'.cm-peer-name': {
		position: 'absolute',
		top: '-1.3em',
		left: '-2px',
		fontSize: '11px',
		lineHeight: '1.2',
		padding: '0 3px',
		borderRadius: '3px 3px 3px 0',
		color: '#fff',
		whiteSpace: 'nowrap',
		pointerEvents: 'none',
		fontFamily: 'system-ui, sans-serif',
	},
});
