// connection.ts - one room's WebSocket: join, reconnect with backoff, and
// the line between "connected" and not.
//
// The page is told "connected" only after the server's welcome and the
// catch-up frame behind it, never on the socket's open.  Closes the server
// means (bad or expired token, closed room, seat taken by another tab) end
// the connection for good and are reported as fatal; anything else
// (network, server restart) reconnects with exponential backoff and
// jitter, at once when the browser says it is back online.  Nothing is
// queued here: CRDT state is re-derived on every join (the join carries
// our version, the server sends what we lack, and we send what it lacks),
// so a lost frame is never lost work.
//
// A socket can die without closing (the network went, the laptop slept):
// the browser's `offline` event drops it at once, and a frame sent that
// gets no frame back within ANSWER_MS (an update is acked, a request is
// answered, at once on a live server) counts as a dead socket.  The server's
// heartbeat pings are WebSocket-level and invisible to a page, so this
// client-side timeout is the page's only way to notice a half-open socket.
import { CLOSE, SUBPROTOCOL, type ServerMessage, type VersionJson, type Welcome } from './protocol';

export type ConnState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export type FatalKind = 'expired' | 'invalid' | 'closed' | 'replaced' | 'not_found' | 'too_large';

export interface Fatal {
	kind: FatalKind;
	reason: string;
}

export interface ConnectionEvents {
	/** The version to join with (what the local replica has). */
	version(): VersionJson;
	/**
	 * The join is complete: the welcome and the catch-up frame that follows
	 * it (docs/protocol.md), given together once the catch-up is in, so the
	 * page can show the caught-up text before anything else the join asks of it.
	 */
	welcome(w: Welcome, catchUp: Uint8Array): void;
	/** A binary frame after the catch-up: a live update. */
	update(bytes: Uint8Array): void;
	message(m: ServerMessage): void;
	state(s: ConnState, retryInMs: number, attempts: number): void;
	fatal(f: Fatal): void;
}

export function wsUrl(): string {
	const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
	return `${proto}//${location.host}/ws`;
}

/** Backoff before attempt n (1-based): 0.25 s doubling to 8 s, +-25 % jitter. */
/** Requests the server answers at once (run.started, complexity.started, problem, error). */
const ANSWERED = new Set(['run', 'submit', 'complexity', 'problem']);

/** A sent frame with no frame back for this long means the socket is dead. */
export const ANSWER_MS = 8000;

export function backoffMs(n: number, rand: () => number = Math.random): number {
	const base = Math.min(8000, 250 * 2 ** Math.max(0, n - 1));
	return Math.round(base * (0.75 + rand() * 0.5));
}

export function classifyClose(code: number, reason: string): Fatal | null {
	switch (code) {
		case CLOSE.POLICY:
			if (/closed/i.test(reason)) return { kind: 'closed', reason };
			if (/expired/i.test(reason)) return { kind: 'expired', reason };
			if (/no such room/i.test(reason)) return { kind: 'not_found', reason };
			return { kind: 'invalid', reason };
		case CLOSE.ROOM_CLOSED:
			return { kind: 'closed', reason };
		case CLOSE.REPLACED:
			return { kind: 'replaced', reason };
		case CLOSE.TOO_BIG:
			return { kind: 'too_large', reason };
		default:
			return null;
	}
}

export class Connection {
	private ws: WebSocket | null = null;
	private joined = false;
	/** The welcome of this socket, held until its catch-up frame arrives. */
	private welcomed: Welcome | null = null;
	private stopped = false;
	private attempts = 0;
	private timer: ReturnType<typeof setTimeout> | null = null;
	private nextId = 1;
	private readonly onOnline = (): void => this.retryNow();
	private readonly onOffline = (): void => this.abandon();
	/** When a frame went out with nothing received since (0: none waiting). */
	private waitingSince = 0;
	private watchdog: ReturnType<typeof setInterval> | null = null;

	constructor(
		private readonly url: string,
		private readonly room: string,
		private readonly token: string,
		private readonly ev: ConnectionEvents,
	) {}

	get connected(): boolean {
		return this.joined && this.ws?.readyState === WebSocket.OPEN;
	}

	start(): void {
		this.stopped = false;
		window.addEventListener('online', this.onOnline);
		window.addEventListener('offline', this.onOffline);
		this.watchdog ??= setInterval(() => this.check(), 1000);
		this.open();
	}

	stop(): void {
		this.stopped = true;
		this.unlisten();
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		const ws = this.ws;
		this.ws = null;
		this.joined = false;
		if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'bye');
	}

	/** Closes the socket as a network failure would (it reconnects with backoff). */
	drop(): void {
		this.ws?.close(4000, 'dropped');
	}

	/** Reconnects now instead of waiting for the backoff. */
	retryNow(): void {
		if (this.stopped || this.ws) return;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		this.open();
	}

	/** Sends a control message; false when not connected (nothing queued). */
	send(msg: Record<string, unknown> & { t: string }): number | null {
		if (!this.connected) return null;
		const id = this.nextId++;
		this.ws!.send(JSON.stringify({ id, ...msg }));
		this.sent(ANSWERED.has(msg.t));
		return id;
	}

	/** Sends a CRDT update; false when not connected (resent after the next join). */
	sendUpdate(bytes: Uint8Array): boolean {
		if (!this.connected) return false;
		this.ws!.send(bytes);
		this.sent(true);
		return true;
	}

	private open(): void {
		this.waitingSince = 0;
		this.ev.state(
			navigator.onLine === false ? 'offline' : this.attempts === 0 ? 'connecting' : 'reconnecting',
			0,
			this.attempts,
		);
		let ws: WebSocket;
		try {
			ws = new WebSocket(this.url, SUBPROTOCOL);
		} catch {
			this.schedule();
			return;
		}
		ws.binaryType = 'arraybuffer';
		this.ws = ws;
		this.welcomed = null;
		ws.onopen = () => {
			ws.send(
				JSON.stringify({
					t: 'join',
					id: this.nextId++,
					room: this.room,
					token: this.token,
					version: this.ev.version(),
				}),
			);
			this.sent(true);
		};
		ws.onmessage = (e: MessageEvent) => {
			if (this.ws !== ws) return;
			this.waitingSince = 0;
			if (typeof e.data !== 'string') {
				const bytes = new Uint8Array(e.data as ArrayBuffer);
				const w = this.welcomed;
				if (!w) return void this.ev.update(bytes);
				this.welcomed = null;
				this.joined = true;
				this.attempts = 0;
				this.ev.welcome(w, bytes);
				this.ev.state('connected', 0, 0);
				return;
			}
			let msg: ServerMessage;
			try {
				msg = JSON.parse(e.data) as ServerMessage;
			} catch {
				return;
			}
			if (msg.t === 'welcome') {
				// Joined once the catch-up frame right behind it is in.
				this.welcomed = msg;
				return;
			}
			this.ev.message(msg);
		};
		ws.onclose = (e: CloseEvent) => {
			if (this.ws !== ws) return;
			this.ws = null;
			this.joined = false;
			if (this.stopped) return;
			const fatal = classifyClose(e.code, e.reason);
			if (fatal) {
				this.stopped = true;
				this.unlisten();
				this.ev.fatal(fatal);
				return;
			}
			this.schedule();
		};
	}

	private unlisten(): void {
		window.removeEventListener('online', this.onOnline);
		window.removeEventListener('offline', this.onOffline);
		if (this.watchdog) clearInterval(this.watchdog);
		this.watchdog = null;
	}

	/** A frame that the server answers went out. */
	private sent(answered: boolean): void {
		if (answered && this.waitingSince === 0) this.waitingSince = Date.now();
	}

	private check(): void {
		if (this.ws && this.waitingSince && Date.now() - this.waitingSince > ANSWER_MS) this.abandon();
	}

	/**
	 * Gives up the current socket without waiting for it to close (the
	 * browser went offline, or the socket stopped answering) and reconnects
	 * with backoff; what was sent and not acknowledged goes again after the
	 * next welcome.
	 */
	private abandon(): void {
		if (this.stopped) return;
		const ws = this.ws;
		this.waitingSince = 0;
		if (ws) {
			this.ws = null;
			this.joined = false;
			ws.onclose = null;
			ws.onmessage = null;
			try {
				ws.close(4000, 'abandoned');
			} catch {
				/* already closing */
			}
		}
		if (this.timer)
			return void this.ev.state(navigator.onLine === false ? 'offline' : 'reconnecting', 0, this.attempts);
		this.schedule();
	}

	private schedule(): void {
		this.attempts++;
		const wait = backoffMs(this.attempts);
		this.ev.state(navigator.onLine === false ? 'offline' : 'reconnecting', wait, this.attempts);
		this.timer = setTimeout(() => {
			this.timer = null;
			this.open();
		}, wait);
	}
}
