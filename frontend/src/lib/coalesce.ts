// coalesce.ts - many scattered changes given to CodeMirror as few.
//
// Each change of a transaction costs CodeMirror a walk of its document, its
// height map, every decoration set and the undo history, so a transaction
// of 1,000 scattered changes (a reconnect's catch-up, a replay's long jump)
// costs far more than one replacing the same stretch.  What must stay exact
// are the places something points into: the lines drawn (the viewport), the
// cursor, the edits the undo history holds.  Changes touching those are
// given as they are; many changes in one stretch between them become one
// replacement, which moves nothing that the stretch does not contain.

/** A change of sorted, non-overlapping ones: [from, to) of the old text, [fromB, toB) of the new. */
export interface Piece {
	from: number;
	to: number;
	fromB: number;
	toB: number;
}

/** A range of the old text whose changes are kept exact. */
export interface Span {
	from: number;
	to: number;
}

/** More changes than this in one stretch between kept spans are given as one. */
export const MERGE_OVER = 8;

/** The spans sorted and joined where they overlap or touch. */
function normalise(keep: readonly Span[]): Span[] {
	const sorted = [...keep].sort((a, b) => a.from - b.from);
	const out: Span[] = [];
	for (const s of sorted) {
		const last = out[out.length - 1];
		if (last && s.from <= last.to) last.to = Math.max(last.to, s.to);
		else out.push({ from: s.from, to: s.to });
	}
	return out;
}

/**
 * The changes to dispatch for `pieces` (sorted by from, non-overlapping):
 * each one touching a span of `keep` as it is, each run of more than
 * MERGE_OVER others between two spans as one replacement of the run's
 * first start to its last end by `newText(fromB, toB)`, the new text's
 * slice there.  A position outside the merged runs maps through the result
 * exactly as through the pieces.
 */
export function coalesce<P extends Piece>(
	pieces: readonly P[],
	keep: readonly Span[],
	newText: (fromB: number, toB: number) => string,
): Array<P | { from: number; to: number; insert: string }> {
	if (pieces.length <= MERGE_OVER) return [...pieces];
	const spans = normalise(keep);
	const out: Array<P | { from: number; to: number; insert: string }> = [];
	let run: P[] = [];
	const flush = (): void => {
		if (run.length > MERGE_OVER) {
			const first = run[0]!;
			const last = run[run.length - 1]!;
			out.push({ from: first.from, to: last.to, insert: newText(first.fromB, last.toB) });
		} else out.push(...run);
		run = [];
	};
	let j = 0;
	for (const p of pieces) {
		let moved = false;
		while (j < spans.length && spans[j]!.to < p.from) (j++, (moved = true));
		if (moved) flush();
		if (j < spans.length && spans[j]!.from <= p.to) {
			flush();
			out.push(p);
		} else run.push(p);
	}
	flush();
	return out;
}

/**
 * A newText for coalesce() read from the old text instead of the new: a
 * merged run's new text is its pieces' inserts with the old text between
 * them (one slice of the old text for the run), so a caller holding the
 * old text (an editor's document) need not make the whole new one.
 */
export function fromOldText<P extends Piece & { insert: string }>(
	pieces: readonly P[],
	oldText: (from: number, to: number) => string,
): (fromB: number, toB: number) => string {
	return (fromB, toB) => {
		// The first piece starting at fromB (pieces are sorted, fromB
		// ascending); a deletion before it at the same place adds nothing.
		let i = 0;
		for (let hi = pieces.length - 1; i < hi;) {
			const mid = (i + hi) >> 1;
			if (pieces[mid]!.fromB < fromB) i = mid + 1;
			else hi = mid;
		}
		let j = i;
		while (pieces[j]!.toB < toB) j++;
		const base = pieces[i]!.from;
		const old = oldText(base, pieces[j]!.to);
		const out: string[] = [];
		for (let k = i; k <= j; k++) {
			if (k > i) out.push(old.slice(pieces[k - 1]!.to - base, pieces[k]!.from - base));
			out.push(pieces[k]!.insert);
		}
		return out.join('');
	};
}
