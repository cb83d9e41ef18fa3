// The peer of the benchmark: CodeMirror 6 (the same versions and the same
// editing extensions as Tandem's room page) bound to a Y.Text with
// y-codemirror.next, synced by y-websocket.  ?ws=ws://host:port&room=NAME
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { python } from '@codemirror/lang-python';
import {
	bracketMatching,
	defaultHighlightStyle,
	indentOnInput,
	syntaxHighlighting,
	syntaxTreeAvailable,
} from '@codemirror/language';
import { EditorState } from '@codemirror/state';
import { drawSelection, EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { yCollab } from 'y-codemirror.next';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

const q = new URLSearchParams(location.search);
const ydoc = new Y.Doc();
const provider = new WebsocketProvider(q.get('ws'), q.get('room'), ydoc);
const ytext = ydoc.getText('code');
provider.awareness.setLocalStateField('user', { name: q.get('name') || 'peer', color: '#c2410c' });
const view = new EditorView({
	parent: document.getElementById('editor'),
	state: EditorState.create({
		doc: ytext.toString(),
		extensions: [
			lineNumbers(),
			highlightActiveLine(),
			history(),
			drawSelection(),
			indentOnInput(),
			bracketMatching(),
			syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
			python(),
			keymap.of([...defaultKeymap, ...historyKeymap]),
			yCollab(ytext, provider.awareness),
			// A fixed height, scrolling inside, as Tandem's editor pane does.
			EditorView.theme({ '&': { height: '600px' }, '.cm-scroller': { overflow: 'auto' } }),
		],
	}),
});
let synced = false;
provider.on('sync', (s) => (synced = synced || s));
window.ybench = { view, provider, ydoc, synced: () => synced, parsed: () => syntaxTreeAvailable(view.state) };
