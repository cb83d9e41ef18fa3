// The save indicator: its kinds, its words, and that a keystroke's round
// trip (not on the server, then acknowledged) does not change what it shows.
import { describe, expect, it } from 'vitest';
import { SaveDisplay, type SaveKind, saveKind, saveText, SETTLE_MS, settle } from '../src/room/saving';
import type { SaveState } from '../src/room/session';

describe('saveKind', () => {
	it('nothing unacknowledged is saved, whatever the replica', () => {
		expect(saveKind({ unacked: 0, keptLocally: false, storageFailed: false })).toBe('saved');
		expect(saveKind({ unacked: 0, keptLocally: true, storageFailed: true })).toBe('saved');
	});
	it('unacknowledged edits are saving, kept, or refused storage', () => {
		expect(saveKind({ unacked: 2, keptLocally: false, storageFailed: false })).toBe('saving');
		expect(saveKind({ unacked: 2, keptLocally: true, storageFailed: false })).toBe('kept');
		expect(saveKind({ unacked: 2, keptLocally: true, storageFailed: true })).toBe('refused');
	});
});

describe('saveText', () => {
	it('says each kind', () => {
		expect(saveText('saved', 0)).toBe('All changes saved');
		expect(saveText('saving', 3)).toBe('Saving…');
		expect(saveText('kept', 3)).toBe('3 edits kept on this device, not yet on the server');
		expect(saveText('refused', 3)).toBe('3 unsaved edits (this browser refused local storage)');
	});
});

describe('settle', () => {
	it('leaves "saved" at once', () => {
		expect(settle('saved', 'saving', 100, 100)).toBe('saving');
		expect(settle('saved', 'kept', 100, 100)).toBe('kept');
	});
	it('shows a return to "saved" only once it has held', () => {
		expect(settle('saving', 'saved', 100, 100 + SETTLE_MS - 1)).toBe('saving');
		expect(settle('saving', 'saved', 100, 100 + SETTLE_MS)).toBe('saved');
	});
});

/** A state of each kind, with n unacknowledged edits. */
function state(kind: SaveKind, n = 1): SaveState {
	if (kind === 'saved') return { unacked: 0, keptLocally: true, storageFailed: false };
	return { unacked: n, keptLocally: kind !== 'saving', storageFailed: kind === 'refused' };
}

/** Runs a SaveDisplay over states arriving at the given times, calling see() again when it asks; what show() got. */
function display(changes: Array<[number, SaveState]>): Array<[number, SaveKind, number]> {
	let now = 0;
	const shown: Array<[number, SaveKind, number]> = [];
	const d = new SaveDisplay(
		changes[0]![1],
		(kind, n) => shown.push([now, kind, n]),
		() => now,
	);
	let current = changes[0]![1];
	let again: number | null = null;
	const events = changes.slice(1);
	while (events.length || again !== null) {
		if (again !== null && (!events.length || again <= events[0]![0])) {
			now = again;
			again = null;
		} else [now, current] = events.shift()!;
		const wait = d.see(current);
		if (wait !== null) again = now + wait;
	}
	return shown;
}

describe('SaveDisplay', () => {
	it('typing with quick acknowledgements shows "Saving…" once, then "saved" once it holds', () => {
		const changes: Array<[number, SaveState]> = [[0, state('saved')]];
		for (let i = 1; i <= 20; i++)
			changes.push([i * 100, state('saving')], [i * 100 + 3, state('saved')], [i * 100 + 20, state('saved')]);
		expect(display(changes)).toEqual([
			[100, 'saving', 1],
			[2003 + SETTLE_MS + 1, 'saved', 0],
		]);
	});
	it('a replica write ending before the acknowledgement is not shown as "kept" while typing', () => {
		const changes: Array<[number, SaveState]> = [[0, state('saved')]];
		for (let i = 1; i <= 5; i++)
			changes.push([i * 100, state('saving')], [i * 100 + 20, state('kept')], [i * 100 + 60, state('saved')]);
		expect(display(changes).map((c) => c[1])).toEqual(['saving', 'saved']);
	});
	it('offline typing shows the count of edits kept, each new count at once', () => {
		expect(
			display([
				[0, state('saved')],
				[100, state('saving', 1)],
				[110, state('kept', 1)],
				[1000, state('saving', 2)],
				[1010, state('kept', 2)],
			]),
		).toEqual([
			[100, 'saving', 1],
			[110 + SETTLE_MS + 1, 'kept', 1],
			[1010, 'kept', 2],
		]);
	});
});
