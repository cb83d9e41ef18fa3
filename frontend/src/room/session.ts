// session.ts - one seat's session in a room: the local replica (wasm CRDT,
// kept in IndexedDB), the connection, and the room's live state that the
// page shows.
//
// Nothing the page shows is ahead of what is true: `connected` only after
// the welcome, `unacked` counts the operations of this seat the server has
// not acknowledged as durable, and the run output comes only from the
// server.  Edits made while disconnected stay in the replica (IndexedDB
// after every change) and reach the server after the next welcome, whose
// version says what the server lacks.
import type { Doc, TandemCrdt } from '../lib/crdt';
import { loadCrdt } from '../lib/crdt';
import { Connection, type ConnState, type Fatal, wsUrl } from '../lib/connection';
import { errorText, NOT_CONNECTED } from './texts';
import { Observable } from '../lib/observable';
import {
	type ComplexityResult,
	type EventIn,
	type Member,
	type NoteIn,
	type Problem,
	type RunMode,
	type RunOutput,
	type RunResult,
	type RunTest,
	type Seat,
	type ServerMessage,
	type SubmissionSummary,
	type VersionJson,
	versionMax,
} from '../lib/protocol';
import { afterNextFrame, loadReplica, type ReplicaMeta, ReplicaWriter } from '../lib/store';
import type { Claims } from '../lib/token';
import { fetchStaffEvents, mergeLive, staffHistory } from './history';

export interface RunView {
	run: number;
	mode: RunMode;
	by: string;
	total: number | null;
	output: Array<Omit<RunOutput, 't' | 'run'>>;
	tests: RunTest[];
	result: RunResult | null;
}

export interface RoomState {
	loading: boolean;
	conn: ConnState;
	retryInMs: number;
	/** When the next connection attempt starts (Date.now() clock), 0 when none is waiting. */
	retryAt: number;
	attempts: number;
	everConnected: boolean;
	fatal: Fatal | null;
	seat: Seat;
	name: string;
	agent: number;
	members: Member[];
	observers: number;
	problem: Problem | null;
	run: RunView | null;
	complexity: { running: boolean; result: ComplexityResult | null };
	/** The room's submissions so far, newest first (a candidate's own only); null until read. */
	submissions: SubmissionSummary[] | null;
	notes: NoteIn[];
	activity: EventIn[];
	lastError: string | null;
	/** The interviewer's last problem switch the server refused (shown by the field). */
	switchError: string | null;
}

/**
 * What the save indicator shows.  It changes with every keystroke, so it is
 * an Observable of its own: following it re-renders the indicator, not the
 * room.
 */
export interface SaveState {
	/** Operations of this seat the server has not acknowledged yet. */
	unacked: number;
	/** Whether the replica with those operations is in IndexedDB. */
	keptLocally: boolean;
	storageFailed: boolean;
}

export const SEAT_COLOURS: Record<Seat, string> = {
	interviewer: '#2f6fdb',
	candidate: '#c2410c',
	observer: '#7c3aed',
};

export class Session {
	readonly state: Observable<RoomState>;
	readonly saving = new Observable<SaveState>({ unacked: 0, keptLocally: true, storageFailed: false });
	crdt!: TandemCrdt;
	doc!: Doc;
	private conn: Connection | null = null;
	private agents: number[] = [];
	private acked: VersionJson = {};
	private writer: ReplicaWriter | null = null;
	private readonly key: string;
	/** Called with every remote update (the editor applies it). */
	onRemote: (bytes: Uint8Array) => void = () => {};
	/** Called with every awareness message. */
	onMessage: (m: ServerMessage) => void = () => {};
	/** Called after each welcome (the editor re-announces its cursor). */
	onJoined: () => void = () => {};

	constructor(
		readonly room: string,
		readonly token: string,
		readonly claims: Claims,
	) {
		this.key = `${room}:${claims.role}`;
		this.state = new Observable<RoomState>({
			loading: true,
			conn: 'connecting',
			retryInMs: 0,
			retryAt: 0,
			attempts: 0,
			everConnected: false,
			fatal: null,
			seat: claims.role,
			name: claims.name,
			agent: 0,
			members: [],
			observers: 0,
			problem: null,
			run: null,
			complexity: { running: false, result: null },
			submissions: null,
			notes: [],
			activity: [],
			lastError: null,
			switchError: null,
		});
	}

	get editable(): boolean {
		const s = this.state.value;
		return s.seat !== 'observer' && this.doc.agent > 0 && !s.fatal;
	}

	/** Loads the wasm CRDT and the replica kept in IndexedDB, then connects. */
	async start(): Promise<void> {
		this.crdt = await loadCrdt();
		const r = await loadReplica(this.key);
		if (r) {
			this.agents = r.agents;
			this.acked = r.acked;
			const agent = r.agents[r.agents.length - 1] ?? 0;
			this.doc = r.snapshot ? this.crdt.loadDoc(r.snapshot, agent) : new this.crdt.Doc(agent);
			for (const u of r.updates) {
				try {
					this.doc.applyUpdate(u);
				} catch (e) {
					// A record the CRDT refuses is skipped; what the server has
					// comes back with the next join.
					console.warn('tandem: a stored update was refused; skipped', e);
				}
			}
		} else {
			this.doc = new this.crdt.Doc(0);
		}
		const doc = this.doc;
		this.writer = new ReplicaWriter(this.key, () => doc.encodeDoc(), r ?? undefined);
		this.state.update({ loading: false, agent: this.doc.agent });
		this.saving.update({ unacked: this.countUnacked() });
		this.conn = new Connection(wsUrl(), this.room, this.token, {
			version: () => this.versionJson(),
			welcome: (w, catchUp) => {
				this.doc.agent = w.agent;
				if (!this.agents.includes(w.agent)) this.agents.push(w.agent);
				// What the reconnecting user waits for first: the text caught
				// up.  The room's state (a re-render), the cursor and the
				// reads below come after it.
				this.remote(catchUp);
				this.state.update({
					everConnected: true,
					fatal: null,
					seat: w.seat,
					name: w.name,
					agent: w.agent,
					members: w.presence,
				});
				// Whatever the server lacks (edits made offline, or sent but
				// never acknowledged) goes now.
				const server = this.crdt.versionFromEntries(Object.entries(w.version).map(([a, n]) => [Number(a), n]));
				if (!this.crdt.versionIncludes(server, this.doc.version()))
					this.conn!.sendUpdate(this.doc.encodeSince(server));
				// What the server already has of ours is acknowledged (an ack
				// lost with a dead socket is not lost work).
				this.acked = versionMax(this.acked, w.version);
				this.saving.update({ unacked: this.countUnacked() });
				this.keep(this.writer!.meta(this.meta()));
				// Not before the frame showing the text: the cursor goes to
				// the peers and the panes' reads start once it is drawn.
				const conn = this.conn;
				void afterNextFrame().then(() => {
					if (this.conn !== conn || !conn?.connected) return;
					this.onJoined();
					void this.loadSubmissions();
					if (w.seat !== 'candidate') void this.loadHistory();
				});
			},
			update: (bytes) => this.remote(bytes),
			message: (m) => this.handle(m),
			state: (conn, retryInMs, attempts) =>
				this.state.update({ conn, retryInMs, retryAt: retryInMs ? Date.now() + retryInMs : 0, attempts }),
			fatal: (fatal) => this.state.update({ fatal }),
		});
		this.conn.start();
	}

	stop(): void {
		this.conn?.stop();
	}

	/** Drops the socket as a network failure would (tests, and "reconnect" in the UI). */
	dropSocket(): void {
		this.conn?.drop();
	}

	retryNow(): void {
		this.conn?.retryNow();
	}

	/** Takes the seat back after another tab took it (4008). */
	reclaim(): void {
		this.state.update({ fatal: null });
		this.conn?.start();
	}

	/** A peer's update (or the join's catch-up) from the server. */
	private remote(bytes: Uint8Array): void {
		this.onRemote(bytes);
		this.codeChanged();
		// Kept too: this seat's later edits may depend on it.
		this.keep(this.writer!.append(bytes, this.meta()));
	}

	/** A local update made by the editor binding. */
	local(update: Uint8Array): void {
		this.conn?.sendUpdate(update);
		this.codeChanged();
		this.saving.update({ unacked: this.countUnacked() });
		this.keep(this.writer!.append(update, this.meta()));
	}

	send(msg: Record<string, unknown> & { t: string }): boolean {
		return this.conn?.send(msg) != null;
	}

	private switching: string | null = null;

	/** The interviewer switches the room's problem (null clears it). */
	switchProblem(id: string | null): boolean {
		this.switching = id;
		this.state.update({ switchError: null });
		const sent = this.send({ t: 'problem', problem: id });
		if (!sent) this.state.update({ switchError: 'Not connected: switch again once the connection is back.' });
		return sent;
	}

	/** The interviewer closes the room for good (POST /api/rooms/:id/close). */
	async closeRoom(): Promise<string | null> {
		try {
			const res = await fetch(`/api/rooms/${encodeURIComponent(this.room)}/close`, {
				method: 'POST',
				headers: { authorization: `Bearer ${this.token}` },
			});
			if (res.ok) return null;
			const j = (await res.json().catch(() => ({}))) as { error?: string };
			return `The room could not be closed (${j.error ?? `HTTP ${res.status}`}); try again.`;
		} catch {
			return 'The room could not be closed: the server cannot be reached.';
		}
	}

	run(mode: RunMode): boolean {
		const sent = mode === 'submit' ? this.send({ t: 'submit' }) : this.send({ t: 'run', mode });
		if (!sent) this.state.update({ lastError: NOT_CONNECTED });
		return sent;
	}

	versionJson(): VersionJson {
		const out: VersionJson = {};
		for (const [a, n] of this.crdt.versionEntries(this.doc.version())) out[String(a)] = n;
		return out;
	}

	private resendTimer: ReturnType<typeof setTimeout> | null = null;

	/** Sends again, after ms, every operation of this seat not acknowledged yet. */
	private scheduleResend(ms: number): void {
		if (this.resendTimer) return;
		this.resendTimer = setTimeout(() => {
			this.resendTimer = null;
			if (this.countUnacked() === 0) return;
			// The server's version as far as this seat knows it: everything of
			// other agents (they came from the server), ours up to the acks.
			const mine = new Set(this.agents);
			const base = this.crdt.versionFromEntries(
				this.crdt
					.versionEntries(this.doc.version())
					.map(([a, n]) => [a, mine.has(a) ? (this.acked[String(a)] ?? 0) : n]),
			);
			this.conn?.sendUpdate(this.doc.encodeSince(base));
		}, ms);
	}

	/** Reads the room's submissions (GET /api/rooms/:id/submissions); a failure keeps the last list. */
	async loadSubmissions(): Promise<void> {
		try {
			const res = await fetch(`/api/rooms/${encodeURIComponent(this.room)}/submissions?limit=20`, {
				headers: { authorization: `Bearer ${this.token}` },
			});
			if (!res.ok) return;
			const j = (await res.json()) as { submissions?: SubmissionSummary[] };
			if (Array.isArray(j.submissions)) this.state.update({ submissions: j.submissions });
		} catch {
			/* offline: the next join reads it again */
		}
	}

	/** Notes and activity that came live while the history was being read; null when none is. */
	private live: { notes: NoteIn[]; activity: EventIn[] } | null = null;
	private historyGen = 0;

	/**
	 * Reads the notes and activity so far from the room's timeline (staff
	 * seats, after each welcome): what was said before this page connected.
	 * A failure keeps what the panes show.
	 */
	async loadHistory(): Promise<void> {
		const gen = ++this.historyGen;
		this.live = { notes: [], activity: [] };
		try {
			const h = staffHistory(await fetchStaffEvents(this.room, this.token));
			if (gen !== this.historyGen || !this.live) return;
			this.state.update({
				notes: mergeLive(h.notes, this.live.notes),
				activity: mergeLive(h.activity, this.live.activity),
			});
		} catch {
			/* offline, or the timeline unavailable: the next join reads it again */
		} finally {
			if (gen === this.historyGen) this.live = null;
		}
	}

	/** The code changed: a complexity estimate no longer describes it. */
	private codeChanged(): void {
		const c = this.state.value.complexity;
		if (c.result && !c.running) this.state.update({ complexity: { running: false, result: null } });
	}

	private countUnacked(): number {
		let n = 0;
		for (const a of this.agents) n += Math.max(0, this.doc.next(a) - (this.acked[String(a)] ?? 0));
		return n;
	}

	private meta(): ReplicaMeta {
		return { agents: [...this.agents], acked: { ...this.acked } };
	}

	/** Shows "saving" until the write (one of the writer's promises) is done. */
	private keep(written: Promise<void>): void {
		this.saving.update({ keptLocally: false });
		void written.then(() => this.saving.update({ keptLocally: true, storageFailed: this.writer!.failed }));
	}

	private handle(m: ServerMessage): void {
		const s = this.state.value;
		switch (m.t) {
			case 'ack':
				this.acked = versionMax(this.acked, m.version);
				this.saving.update({ unacked: this.countUnacked() });
				this.keep(this.writer!.meta(this.meta()));
				return;
			case 'presence':
				this.state.update({ members: m.members, observers: m.observers });
				return;
			case 'problem':
				// Sent again on every join: the same problem re-renders nothing.
				if (JSON.stringify(m.problem) === JSON.stringify(s.problem)) this.state.update({ switchError: null });
				else this.state.update({ problem: m.problem, switchError: null });
				return;
			case 'run.started':
				this.state.update({
					// An estimate describes the code it measured: a new run ends it.
					complexity: { running: s.complexity.running, result: null },
					run: {
						run: m.run,
						mode: m.mode ?? 'script',
						by: m.by,
						total: m.total ?? null,
						output: [],
						tests: [],
						result: null,
					},
				});
				return;
			case 'run.output':
				if (s.run?.run === m.run)
					this.state.update({
						run: { ...s.run, output: [...s.run.output, { stream: m.stream, data: m.data }] },
					});
				return;
			case 'run.test':
				if (s.run?.run === m.run) this.state.update({ run: { ...s.run, tests: [...s.run.tests, m] } });
				return;
			case 'run.result':
				if (s.run?.run === m.run) {
					this.state.update({ run: { ...s.run, result: m } });
					if (s.run.mode === 'submit') void this.loadSubmissions();
				} else if (m.verdict === null)
					this.state.update({
						lastError: `The judge is busy; try again in ${Math.ceil((m.retry_ms ?? 1000) / 1000)} s.`,
					});
				return;
			case 'complexity.started':
				this.state.update({ complexity: { running: true, result: null } });
				return;
			case 'complexity.result':
				this.state.update({ complexity: { running: false, result: m } });
				return;
			case 'note':
				this.live?.notes.push(m);
				this.state.update({ notes: [...s.notes, m] });
				return;
			case 'event':
				this.live?.activity.push(m);
				this.state.update({ activity: [...s.activity, m] });
				return;
			case 'error':
				// An update the server refused for now was not merged: it is
				// sent again after retry_ms (the replica keeps it meanwhile).
				if (m.id === undefined && RESEND.has(m.code)) {
					this.scheduleResend(m.retry_ms ?? 1000);
					return;
				}
				if (m.code === 'unknown_problem' && this.switching !== null) {
					this.state.update({ switchError: `No problem with id '${this.switching}' in the bank.` });
					return;
				}
				this.state.update({ lastError: errorText(m.code, m.message, m.retry_ms) });
				return;
			case 'awareness':
				this.onMessage(m);
				return;
			default:
				return;
		}
	}
}

/** Refusals of an update that a later resend can cure (docs/protocol.md). */
const RESEND = new Set(['rate_limited', 'overloaded', 'internal']);
