// history.test.ts - the Notes and Activity panes' past (src/room/history.ts):
// timeline events become the live messages' shape, and live messages that
// arrived while the timeline was read are merged without doubles.
import { describe, expect, it } from 'vitest';
import type { EventIn, NoteIn } from '../src/lib/protocol';
import type { TimelineEvent } from '../src/replay/timeline';
import { mergeLive, staffHistory } from '../src/room/history';

const ev = (
	seq: number,
	kind: string,
	actor: TimelineEvent['actor'],
	payload: Record<string, unknown>,
): TimelineEvent => ({
	seq,
	at: 1000 * seq,
	kind,
	actor,
	payload,
});

const TIMELINE: TimelineEvent[] = [
	ev(1, 'join', 'interviewer', { agent: 3, name: 'Ivan', conn: 1 }),
	ev(2, 'join', 'candidate', { agent: 4, name: 'Ada', conn: 2 }),
	ev(3, 'edit', 'candidate', { v: [[4, 5]] }),
	ev(4, 'paste', 'candidate', { agent: 4, size: 512 }),
	ev(5, 'note', 'interviewer', { text: 'looks **pasted**', agent: 3, name: 'Ivan' }),
	ev(6, 'blur', 'candidate', { agent: 4 }),
	ev(7, 'focus', 'candidate', { agent: 4 }),
	ev(8, 'run', 'candidate', { run: 1, agent: 4 }),
];

describe('staffHistory', () => {
	it('turns notes and paste/focus/blur events into the live shapes, names from the joins', () => {
		const h = staffHistory(TIMELINE);
		expect(h.notes).toEqual([
			{ t: 'note', text: 'looks **pasted**', from: { seat: 'interviewer', name: 'Ivan', agent: 3 }, at: 5000 },
		]);
		expect(h.activity).toEqual([
			{ t: 'event', kind: 'paste', size: 512, from: { seat: 'candidate', name: 'Ada', agent: 4 }, at: 4000 },
			{ t: 'event', kind: 'blur', from: { seat: 'candidate', name: 'Ada', agent: 4 }, at: 6000 },
			{ t: 'event', kind: 'focus', from: { seat: 'candidate', name: 'Ada', agent: 4 }, at: 7000 },
		]);
	});

	it('keeps nothing of other kinds, and an empty timeline is empty', () => {
		expect(staffHistory([])).toEqual({ notes: [], activity: [] });
		expect(staffHistory(TIMELINE.filter((e) => e.kind === 'edit' || e.kind === 'run'))).toEqual({
			notes: [],
			activity: [],
		});
	});
});

describe('mergeLive', () => {
	const note = (text: string, at: number, agent = 3): NoteIn => ({
		t: 'note',
		text,
		from: { seat: 'interviewer', name: 'Ivan', agent },
		at,
	});
	const paste = (size: number, at: number): EventIn => ({
		t: 'event',
		kind: 'paste',
		size,
		from: { seat: 'candidate', name: 'Ada', agent: 4 },
		at,
	});

	it('a live message the history already holds shows once; one it lacks is added after it', () => {
		const history = [note('a', 1000), note('b', 2000)];
		expect(mergeLive(history, [note('b', 2001), note('c', 2500)])).toEqual([...history, note('c', 2500)]);
	});

	it('the same text twice is two notes: each history entry matches one live message', () => {
		const history = [note('ok', 1000)];
		expect(mergeLive(history, [note('ok', 1001), note('ok', 1500)])).toEqual([...history, note('ok', 1500)]);
	});

	it('another agent, another size, or far apart in time is another fact', () => {
		const history = [note('x', 1000), paste(10, 1000)] as Array<NoteIn | EventIn>;
		const live = [note('x', 1000, 9), paste(11, 1000), note('x', 9000)];
		expect(mergeLive(history, live)).toEqual([...history, ...live]);
	});
});
