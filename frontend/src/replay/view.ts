// view.ts - the replay's read-only editor: which moment it shows, how it
// moves to another (seekTo), and its decorations.
//
// A seek must cost what changed between the two moments, not the length of
// the text: CodeMirror draws only the viewport, but a change it is given
// is a change it maps heights, scroll position and decorations through, so
// the seek dispatches the exact changes between the moments (the edits'
// change lists from the timeline, composed) and never replaces the whole
// document.  For the same reason the decorations are computed for the
// viewport only, on every change of it: syntax colours from a parse of the
// visible lines (CodeMirror's own language support parses the whole text in
// the background, in slices of up to 100 ms in Chromium, which would hold
// up playback's frames after each large paste) and authorship from the CRDT
// at the moment's version.
import { pythonLanguage } from '@codemirror/lang-python';
import { defaultHighlightStyle } from '@codemirror/language';
import {
	type ChangeSpec,
	EditorState,
	type Extension,
	RangeSetBuilder,
	StateEffect,
	StateField,
	type Text,
	type TransactionSpec,
} from '@codemirror/state';
import { Decoration, type DecorationSet, EditorView, ViewPlugin, type ViewUpdate } from '@codemirror/view';
import { highlightTree } from '@lezer/highlight';
import { coalesce } from '../lib/coalesce';
import { LINE_SEPARATOR, type Replay } from './timeline';

/** Sets the edit whose text the view shows (-1: before the first). */
const showEdit = StateEffect.define<number>();

/** The edit whose text the view shows; the document is always that text. */
export const shownEdit = StateField.define<number>({
	create: () => -1,
	update: (v, tr) => {
		for (const e of tr.effects) if (e.is(showEdit)) return e.value;
		return v;
	},
});

/**
 * The transaction that moves the view from the moment it shows to the text
 * after edit k: the composed changes between the two, or, when the
 * timeline cannot give them (a jump across more than MAX_COMPOSE edits),
 * the one range where the two texts differ.  `keep` is the range the view
 * draws (its viewport): changes in it are given exactly, so the lines the
 * reader looks at stay where they are; many changes above it (or below it)
 * are given as one replacement spanning them, since each change costs
 * CodeMirror a walk of its document, height map and decorations, and
 * nothing of those lines is drawn.
 */
export function seekTo(
	replay: Replay,
	state: EditorState,
	k: number,
	keep: { from: number; to: number } = { from: 0, to: state.doc.length },
): TransactionSpec {
	const from = state.field(shownEdit);
	if (from === k) return {};
	const effects = showEdit.of(k);
	const change = replay.changeBetween(from, k);
	if (!change || change.length !== state.doc.length)
		return { changes: diff(state.doc.toString(), replay.textOf(k)), effects };
	const pieces: Array<{ from: number; to: number; fromB: number; toB: number; insert: Text }> = [];
	change.iterChanges((from, to, fromB, toB, insert) => pieces.push({ from, to, fromB, toB, insert }));
	let text: string | null = null;
	const changes = coalesce(pieces, [keep], (a, b) => (text ??= replay.textOf(k)).slice(a, b));
	return { changes: changes.length === pieces.length ? change : changes, effects };
}

/** One change turning a into b: the span between their common prefix and suffix. */
export function diff(a: string, b: string): ChangeSpec {
	const max = Math.min(a.length, b.length);
	let pre = 0;
	while (pre < max && a.charCodeAt(pre) === b.charCodeAt(pre)) pre++;
	let suf = 0;
	while (suf < max - pre && a.charCodeAt(a.length - 1 - suf) === b.charCodeAt(b.length - 1 - suf)) suf++;
	return { from: pre, to: a.length - suf, insert: b.slice(pre, b.length - suf) };
}

/**
 * How far back from the viewport the syntax parse may start: it starts at
 * the nearest line above that begins at column 0 with a name or a
 * decorator (a top-level statement in Python), within this many characters.
 */
const LOOKBACK = 8000;

/** Where to start parsing so that the line at pos is parsed in context. */
export function parseStart(doc: Text, pos: number): number {
	let line = doc.lineAt(pos);
	while (line.number > 1 && !/^[A-Za-z_@]/.test(line.text) && pos - line.from < LOOKBACK)
		line = doc.line(line.number - 1);
	return line.from;
}

const marks = new Map<string, Decoration>();
function mark(cls: string): Decoration {
	let m = marks.get(cls);
	if (!m) marks.set(cls, (m = Decoration.mark({ class: cls })));
	return m;
}

/**
 * Syntax colours of [from, to) of a text, from a parse of those lines only
 * (and of the few above them that give the context, see parseStart).  The
 * last parse is kept: a seek or a scroll that leaves those lines as they
 * were, wherever they now are in the text, is not parsed again.
 */
export class SyntaxCache {
	private text = '';
	/** Colours of the last parse: [from, to, class], relative to its start. */
	private spans: Array<[number, number, string]> = [];

	decorations(doc: Text, from: number, to: number): DecorationSet {
		const start = parseStart(doc, from);
		const end = doc.lineAt(to).to;
		const text = doc.sliceString(start, end);
		if (text !== this.text) {
			this.text = text;
			const spans: Array<[number, number, string]> = [];
			highlightTree(pythonLanguage.parser.parse(text), defaultHighlightStyle, (f, t, cls) => {
				spans.push([f, t, cls]);
			});
			this.spans = spans;
		}
		const b = new RangeSetBuilder<Decoration>();
		for (const [f, t, cls] of this.spans)
			if (start + t > from) b.add(Math.max(start + f, from), start + t, mark(cls));
		return b.finish();
	}
}

/** Who typed [from, to) of the shown text, as `author author-<seat>` marks. */
export function authorDecorations(replay: Replay, k: number, from: number, to: number): DecorationSet {
	const b = new RangeSetBuilder<Decoration>();
	let pos = from;
	for (const r of replay.authorsOf(k, from, to)) {
		if (r.len > 0) b.add(pos, pos + r.len, mark(`author author-${replay.seats.get(r.agent) ?? 'server'}`));
		pos += r.len;
	}
	return b.finish();
}

/**
 * The replay editor's extensions: lines broken at "\n" only (as the
 * timeline's change sets are), the shown moment, the viewport's decorations.
 */
export function replayView(replay: Replay): Extension {
	const plugin = ViewPlugin.fromClass(
		class {
			private readonly cache = new SyntaxCache();
			syntax: DecorationSet;
			authors: DecorationSet;
			constructor(view: EditorView) {
				[this.syntax, this.authors] = this.compute(view);
			}
			update(u: ViewUpdate): void {
				if (u.docChanged || u.viewportChanged || u.startState.field(shownEdit) !== u.state.field(shownEdit))
					[this.syntax, this.authors] = this.compute(u.view);
			}
			compute(view: EditorView): [DecorationSet, DecorationSet] {
				const { from, to } = view.viewport;
				return [
					this.cache.decorations(view.state.doc, from, to),
					authorDecorations(replay, view.state.field(shownEdit), from, to),
				];
			}
		},
		{
			provide: (p) => [
				EditorView.decorations.of((v) => v.plugin(p)?.syntax ?? Decoration.none),
				EditorView.decorations.of((v) => v.plugin(p)?.authors ?? Decoration.none),
			],
		},
	);
	return [EditorState.lineSeparator.of(LINE_SEPARATOR), shownEdit, plugin];
}
