// editor.ts - the room's CodeMirror view: Python, the CRDT binding, peers'
// cursors, the run/submit keys, and the paste/focus reports.
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { python } from '@codemirror/lang-python';
import {
	bracketMatching,
	defaultHighlightStyle,
	indentOnInput,
	syntaxHighlighting,
	syntaxTreeAvailable,
} from '@codemirror/language';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import {
	drawSelection,
	EditorView,
	highlightActiveLine,
	highlightActiveLineGutter,
	keymap,
	lineNumbers,
} from '@codemirror/view';
import { applyRemote, Binding, crdtLines, crdtSync } from '../lib/binding';
import { peerCursors, setPeer } from '../lib/cursors';
import type { AwarenessIn } from '../lib/protocol';
import { SEAT_COLOURS, type Session } from './session';

export interface RoomEditor {
	view: EditorView;
	setEditable(on: boolean): void;
	destroy(): void;
}

export function createEditor(parent: HTMLElement, session: Session, keys: { run(): void; submit(): void }): RoomEditor {
	const binding = new Binding(session.doc, (u) => session.local(u));
	const editable = new Compartment();
	const seat = session.state.value.seat;
	let lastSent = '';
	let cursorTimer: ReturnType<typeof setTimeout> | null = null;

	const sendCursor = (): void => {
		cursorTimer = null;
		// Observers watch; their cursor is not shown to the people coding.
		if (seat === 'observer') return;
		const sel = view.state.selection.main;
		const cursor = {
			anchor: session.doc.anchorAt(sel.anchor, sel.anchor === sel.head ? -1 : 1),
			head: session.doc.anchorAt(sel.head, -1),
		};
		const msg = {
			t: 'awareness',
			cursor,
			name: session.state.value.name,
			colour: SEAT_COLOURS[session.state.value.seat],
		};
		const key = JSON.stringify(msg);
		if (key === lastSent) return;
		if (session.send(msg)) lastSent = key;
	};

	const view = new EditorView({
		parent,
		state: EditorState.create({
			doc: session.doc.text(),
			extensions: [
				lineNumbers(),
				highlightActiveLineGutter(),
				highlightActiveLine(),
				history(),
				drawSelection(),
				indentOnInput(),
				bracketMatching(),
				syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
				python(),
				Prec.highest(
					keymap.of([
						{ key: 'Mod-Enter', run: () => (keys.run(), true) },
						{ key: 'Mod-Shift-Enter', run: () => (keys.submit(), true) },
					]),
				),
				keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
				editable.of(EditorView.editable.of(session.editable)),
				EditorState.readOnly.of(seat === 'observer'),
				crdtLines,
				crdtSync(binding),
				peerCursors(session.doc),
				EditorView.updateListener.of((u) => {
					if ((u.selectionSet || u.docChanged) && !cursorTimer) cursorTimer = setTimeout(sendCursor, 30);
				}),
				EditorView.domEventHandlers({
					paste(e) {
						const size = e.clipboardData?.getData('text/plain').length ?? 0;
						if (size > 0 && seat !== 'observer') session.send({ t: 'event', kind: 'paste', size });
						return false;
					},
				}),
				EditorView.contentAttributes.of({ 'aria-label': 'Code editor' }),
			],
		}),
	});

	// A handle for the end-to-end tests and the benchmark (they read the
	// editor's text and positions without parsing the DOM; `parsed`: the
	// syntax tree covers the whole document).
	(window as unknown as { tandem?: unknown }).tandem = {
		view,
		session,
		binding,
		parsed: () => syntaxTreeAvailable(view.state),
	};

	session.onRemote = (bytes) => applyRemote(view, binding, bytes);
	session.onJoined = () => {
		lastSent = '';
		sendCursor();
	};
	session.onMessage = (m) => {
		if (m.t !== 'awareness') return;
		const a = m as AwarenessIn;
		if (!a.cursor) {
			view.dispatch({ effects: setPeer.of({ agent: a.from.agent, gone: true }) });
			return;
		}
		view.dispatch({
			effects: setPeer.of({
				agent: a.from.agent,
				name: a.from.name || a.from.seat,
				seat: a.from.seat,
				anchor: a.cursor.anchor,
				head: a.cursor.head,
			}),
		});
	};

	return {
		view,
		setEditable(on) {
			view.dispatch({ effects: editable.reconfigure(EditorView.editable.of(on)) });
		},
		destroy() {
			if (cursorTimer) clearTimeout(cursorTimer);
			view.destroy();
		},
	};
}
