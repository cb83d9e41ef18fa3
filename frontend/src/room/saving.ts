// saving.ts - what the room's save indicator shows, and when.
//
// Every keystroke takes the session's save state through "not on the server
// yet" and back (the server acknowledges within milliseconds, the replica's
// write ends a frame later), which drawn as it happens is a change of the
// indicator's text two or three times a keystroke: each a layout and a
// paint of the page's top bar, and a frame of its own after the
// keystroke's (about 2 ms of the main thread a keystroke on a 100,000
// character document, bench/frontend/keyprofile.mjs).  So the indicator
// leaves "All changes saved" at once, but shows any other change only once
// the new state has held for SETTLE_MS: typing shows "Saving…" until the
// edits are in, instead of blinking.  The live state still goes to the
// indicator's data attributes at once (the tests wait on them), written by
// SaveDisplay's caller straight to the element: a Preact render for each
// of those changes cost more than the keystroke's own binding.
import type { SaveState } from './session';

export type SaveKind = 'saved' | 'saving' | 'kept' | 'refused';

/** How long a save state holds before the indicator shows it (leaving "saved" is shown at once). */
export const SETTLE_MS = 400;

export function saveKind(s: SaveState): SaveKind {
	if (s.unacked === 0) return 'saved';
	if (s.storageFailed) return 'refused';
	return s.keptLocally ? 'kept' : 'saving';
}

/** The indicator's sentence for kind, with unacked edits (the last count while kind was live). */
export function saveText(kind: SaveKind, unacked: number): string {
	switch (kind) {
		case 'saved':
			return 'All changes saved';
		case 'refused':
			return `${unacked} unsaved edits (this browser refused local storage)`;
		case 'kept':
			return `${unacked} edits kept on this device, not yet on the server`;
		case 'saving':
			return 'Saving…';
	}
}

/**
 * The kind shown, given the kind shown so far, the live kind and since when
 * (ms) it has been live: the live one when it is the same, when the shown
 * one is "saved", or once it has held SETTLE_MS; else still the shown one.
 */
export function settle(shown: SaveKind, live: SaveKind, liveSince: number, now: number): SaveKind {
	if (live === shown || shown === 'saved' || now - liveSince >= SETTLE_MS) return live;
	return shown;
}

/**
 * Follows the save state for the indicator: see() takes each new state and
 * calls show(kind, unacked) when the words are to change; it returns how
 * many ms later to call see() again with the then current state (a change
 * waiting to settle), or null.
 */
export class SaveDisplay {
	private live: SaveKind;
	private since: number;
	shown: { kind: SaveKind; unacked: number };

	constructor(
		first: SaveState,
		private readonly show: (kind: SaveKind, unacked: number) => void,
		private readonly now: () => number = () => performance.now(),
	) {
		this.live = saveKind(first);
		this.since = this.now();
		this.shown = { kind: this.live, unacked: first.unacked };
	}

	see(s: SaveState): number | null {
		const live = saveKind(s);
		const now = this.now();
		if (live !== this.live) [this.live, this.since] = [live, now];
		const kind = settle(this.shown.kind, live, this.since, now);
		if (kind !== live) return Math.max(1, SETTLE_MS - (now - this.since) + 1);
		if (kind !== this.shown.kind || (kind !== 'saved' && s.unacked !== this.shown.unacked)) {
			this.shown = { kind, unacked: s.unacked };
			this.show(kind, s.unacked);
		}
		return null;
	}
}
