// history.ts - the Notes and Activity panes' past, read from the room's
// timeline when a staff seat joins, so a reload (or a late joiner) sees the
// notes and flags made before it: the live messages only carry what
// happens while the page is connected.
//
// The timeline's events are the same facts as the live `note` and `event`
// messages, in another shape (docs/protocol.md, "Timeline"); this turns
// them into that shape, and merges what arrived live while the timeline
// was being read, so nothing shows twice and nothing is lost.
import type { EventIn, NoteIn, Seat } from '../lib/protocol';
import type { TimelineEvent } from '../replay/timeline';

export interface StaffHistory {
	notes: NoteIn[];
	activity: EventIn[];
}

const ACTIVITY = new Set(['paste', 'focus', 'blur']);

/** The kinds the panes need: the joins name the agents of the activity events. */
const KINDS = 'note,paste,focus,blur,join';

/**
 * The room's note, activity and join events (GET .../timeline?kinds=), a
 * page of 1,000 covered events at a time: never the edits and their ops,
 * which are most of a long session's timeline.  Throws on any failure.
 */
export async function fetchStaffEvents(room: string, token: string): Promise<TimelineEvent[]> {
	const out: TimelineEvent[] = [];
	for (let after = 0; ;) {
		const res = await fetch(
			`/api/rooms/${encodeURIComponent(room)}/timeline?after=${after}&limit=1000&kinds=${KINDS}`,
			{ headers: { authorization: `Bearer ${token}` } },
		);
		if (!res.ok) throw new Error(`timeline: HTTP ${res.status}`);
		const page = (await res.json()) as { events: TimelineEvent[]; next: number | null };
		out.push(...page.events);
		// A filtered page may be empty while next goes on.
		if (page.next === null || page.next <= after) return out;
		after = page.next;
	}
}

/** The notes and activity of a timeline, as the live messages would have shown them. */
export function staffHistory(events: readonly TimelineEvent[]): StaffHistory {
	// Activity events carry only the agent: its name is the one it joined with.
	const names = new Map<number, string>();
	const out: StaffHistory = { notes: [], activity: [] };
	for (const e of events) {
		const agent = typeof e.payload.agent === 'number' ? e.payload.agent : undefined;
		const seat = (e.actor ?? 'server') as Seat;
		if (e.kind === 'join' && agent !== undefined && typeof e.payload.name === 'string')
			names.set(agent, e.payload.name);
		else if (e.kind === 'note' && typeof e.payload.text === 'string')
			out.notes.push({
				t: 'note',
				text: e.payload.text,
				from: {
					seat,
					name: typeof e.payload.name === 'string' ? e.payload.name : (names.get(agent ?? -1) ?? ''),
					agent,
				},
				at: e.at,
			});
		else if (ACTIVITY.has(e.kind))
			out.activity.push({
				t: 'event',
				kind: e.kind as EventIn['kind'],
				...(typeof e.payload.size === 'number' ? { size: e.payload.size } : {}),
				from: { seat, name: names.get(agent ?? -1) ?? '', agent },
				at: e.at,
			});
	}
	return out;
}

/**
 * A live message and a timeline event are the same fact when the same
 * agent said the same thing within this many milliseconds (the message's
 * `at` and the event's are both the server's clock, read a moment apart).
 */
const SAME_MS = 2000;

function agentOf(m: NoteIn | EventIn): number | undefined {
	return typeof m.from === 'string' ? undefined : m.from.agent;
}

function same(a: NoteIn | EventIn, b: NoteIn | EventIn): boolean {
	if (a.t !== b.t || agentOf(a) !== agentOf(b) || Math.abs(a.at - b.at) > SAME_MS) return false;
	if (a.t === 'note') return a.text === (b as NoteIn).text;
	return a.kind === (b as EventIn).kind && a.size === (b as EventIn).size;
}

/**
 * The history, then every live message that arrived since the history
 * was asked for and that it does not already hold (each history entry
 * matches at most one live message), in the order they came.
 */
export function mergeLive<T extends NoteIn | EventIn>(history: readonly T[], live: readonly T[]): T[] {
	const used = new Set<number>();
	const out = [...history];
	for (const m of live) {
		let found = -1;
		for (let i = history.length - 1; i >= 0 && found < 0; i--) if (!used.has(i) && same(history[i]!, m)) found = i;
		if (found >= 0) used.add(found);
		else out.push(m);
	}
	return out;
}
