// The save indicator: its kinds, its words, and that a keystroke's round
// trip (not on the server, then acknowledged) does not change what it shows.
import { describe, expect, it } from 'vitest';
import { type SaveKind, saveKind, saveText, SETTLE_MS, settle } from '../src/room/saving';

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

/** The kinds shown for live kinds arriving at the given times, as SaveStatus settles them. */
function shownOver(changes: Array<[number, SaveKind]>, end: number): Array<[number, SaveKind]> {
	let shown = changes[0]![1];
	let live = shown;
	let since = changes[0]![0];
	const out: Array<[number, SaveKind]> = [[since, shown]];
	const times = [...new Set([...changes.map((c) => c[0]), ...changes.map((c) => c[0] + SETTLE_MS), end])].sort(
		(a, b) => a - b,
	);
	for (const t of times) {
		for (const [at, k] of changes) if (at === t && k !== live) [live, since] = [k, t];
		const next = settle(shown, live, since, t);
		if (next !== shown) out.push([t, (shown = next)]);
	}
	return out;
}

describe('settle', () => {
	it('leaves "saved" at once', () => {
		expect(settle('saved', 'saving', 100, 100)).toBe('saving');
		expect(settle('saved', 'kept', 100, 100)).toBe('kept');
	});
	it('shows a return to "saved" only once it has held', () => {
		expect(settle('saving', 'saved', 100, 100 + SETTLE_MS - 1)).toBe('saving');
		expect(settle('saving', 'saved', 100, 100 + SETTLE_MS)).toBe('saved');
	});
	it('typing at 10 keys a second, each acknowledged in 3 ms, shows "Saving…" once and "saved" once', () => {
		const changes: Array<[number, SaveKind]> = [[0, 'saved']];
		for (let i = 1; i <= 20; i++) changes.push([i * 100, 'saving'], [i * 100 + 3, 'saved']);
		expect(shownOver(changes, 5000)).toEqual([
			[0, 'saved'],
			[100, 'saving'],
			[2003 + SETTLE_MS, 'saved'],
		]);
	});
	it('a replica write ending before the acknowledgement is not shown as "kept" while typing', () => {
		const changes: Array<[number, SaveKind]> = [[0, 'saved']];
		for (let i = 1; i <= 5; i++) changes.push([i * 100, 'saving'], [i * 100 + 20, 'kept'], [i * 100 + 60, 'saved']);
		expect(shownOver(changes, 3000).map((c) => c[1])).toEqual(['saved', 'saving', 'saved']);
	});
	it('offline, the edits kept on this device are shown once that holds', () => {
		const shown = shownOver(
			[
				[0, 'saved'],
				[100, 'saving'],
				[120, 'kept'],
			],
			3000,
		);
		expect(shown).toEqual([
			[0, 'saved'],
			[100, 'saving'],
			[120 + SETTLE_MS, 'kept'],
		]);
	});
});
