// worker.mjs - one load-generator process of the server benchmark.
//
// load.mjs forks one or more of these and gives each a share of the rooms.
// A worker holds both clients of each of its rooms, so the time a character
// is typed and the time it shows up at the peer are read from the same clock
// (performance.now()) and no cross-process clock enters the latency.
//
// The same loop drives both systems:
//   tandem: the wasm build of our CRDT (crdt/wasm/crdt.mjs) over tandem.v1;
//   yws:    yjs + y-websocket's WebsocketProvider (disableBc) against
//           @y/websocket-server.
// Every keystroke inserts one character at a random place.  A character is
// matched at the peer by its operation id, not by counting bytes: the
// sender's agent (Tandem) or clientID (Yjs) and its sequence number, read
// from the peer's version vector (Tandem) or state vector (Yjs) after each
// remote update.  Both number their operations 0, 1, 2, ... per character.
//
// Flood mode (load.mjs's flood phase): in the rooms marked `flood`, the
// candidate's connection also sends awareness (of the largest allowed size),
// events and notes, in turn, as fast as its socket takes them; each
// latency is then also kept apart by where it was measured (quiet room,
// flooded room: the peer's keystrokes, the flooder's own).  Rooms marked
// `observe` (each flooded room and as many quiet ones) also hold an
// observer connection that reads the interviewer's keystrokes without
// typing or flooding, and every keystroke's durable ack is kept apart the
// same way: the server's share of the peer's latency, without the
// flooding client's own congestion.
//
// Commands arrive as IPC messages from load.mjs; see onCommand() below.

import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { TandemCrdt } from '../../crdt/wasm/crdt.mjs';

const TYPE_MS = 200; // 5 characters a second
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

// Each WebsocketProvider adds a process 'exit' listener under node.
process.setMaxListeners(0);

let crdt = null; // TandemCrdt, loaded on the first tandem setup
let rooms = [];
let idleClients = [];
let typing = false;
let timers = new Set();
let win = { start: Infinity, end: Infinity }; // measured window (send times)

// Samples in one preallocated, doubling Float64Array: a JS array of
// 300,000 numbers reallocates its backing store in the old space as it
// grows, and the collections that follow would stall this process.
class Samples {
	constructor() {
		this.a = new Float64Array(1 << 18);
		this.n = 0;
	}
	push(v) {
		if (this.n === this.a.length) {
			const b = new Float64Array(this.a.length * 2);
			b.set(this.a);
			this.a = b;
		}
		this.a[this.n++] = v;
	}
	values() {
		return this.a.slice(0, this.n);
	}
}

// Statistics of the current phase.
function freshStats() {
	return {
		sent: 0, // characters typed inside the window
		delivered: 0, // ... and seen by the peer
		lat: new Samples(), // sender -> peer, ms, characters typed inside the window
		ackLat: new Samples(), // Tandem: sender -> durable ack, ms
		acked: 0,
		sentAll: 0, // every character typed in the phase
		errors: {}, // error code -> count
		closes: {}, // close code -> count (unexpected closes)
		runLat: new Samples(),
		verdicts: {},
		runErrors: {},
		ieMessages: {}, // IE verdict message -> count
		runsSent: 0,
		runsSkipped: 0, // the room's previous run had not answered yet
		// Flood mode only: latency by where it was measured (see SendLog.where).
		latBy: null,
		ackBy: null, // ... sender -> durable ack, by whose keystrokes
		obsLat: null, // ... the interviewer's keystrokes -> an observer applied them (quiet | peer)
		flood: {
			sent: {}, // frame kind -> frames the flooders sent in the window
			bytes: 0, // ... their bytes
			refused: 0, // rate_limited answers without an id (frames refused unread) to the flooders in the window
			errors: {}, // other error codes answered to the flooders (window)
			relayed: {}, // frame kind -> flood frames the peers received (window)
			closes: {}, // who -> unexpected closes (quiet, peer, flooder)
		},
	};
}
let st = freshStats();
// The worker's own event-loop delay over the window: how late it ran its
// timers and socket callbacks, which every latency it measures includes.
let loopDelay = null;

function bump(obj, key) {
	obj[key] = (obj[key] || 0) + 1;
}

function inWindow(t) {
	return t >= win.start && t < win.end;
}

function randomLetter() {
	return LETTERS[(Math.random() * LETTERS.length) | 0];
}

function later(ms, fn) {
	const h = setTimeout(() => {
		timers.delete(h);
		fn();
	}, ms);
	timers.add(h);
	return h;
}

function clearTimers() {
	for (const h of timers) clearTimeout(h);
	timers.clear();
}

// Send times of one author's characters, indexed by sequence number.
class SendLog {
	constructor() {
		this.t = new Float64Array(1024);
		this.n = 0;
		this.where = 'quiet'; // flood mode: quiet | peer | flooder (whose keystrokes these are)
	}
	set(seq, time) {
		while (seq >= this.t.length) {
			const b = new Float64Array(this.t.length * 2);
			b.set(this.t);
			this.t = b;
		}
		this.t[seq] = time;
		if (seq + 1 > this.n) this.n = seq + 1;
	}
}

// The peer saw the sender's operations [from, to): record their latencies.
function delivered(log, from, to, now) {
	for (let s = from; s < to && s < log.n; s++) {
		const t0 = log.t[s];
		if (t0 > 0 && inWindow(t0)) {
			st.delivered++;
			st.lat.push(now - t0);
			if (st.latBy) st.latBy[log.where].push(now - t0);
		}
	}
}

// An observer saw the interviewer's operations [from, to): their latencies,
// apart from the typists' (a room's delivered count stays its peers').
function observed(log, from, to, now, where) {
	for (let s = from; s < to && s < log.n; s++) {
		const t0 = log.t[s];
		if (t0 > 0 && inWindow(t0) && st.obsLat) st.obsLat[where].push(now - t0);
	}
}

// ---- Tandem ------------------------------------------------------------------

// A tandem.v1 client: joins, keeps a wasm CRDT replica, types, and reports
// what arrives from the peer.
class TandemClient {
	constructor(room, role, token, url) {
		this.room = room;
		this.role = role;
		this.token = token;
		this.url = url;
		this.doc = null;
		this.agent = 0;
		this.next = 0; // own operations made
		this.acked = 0;
		this.since = null; // encoded version the next update starts from (taken before each local edit)
		this.log = new SendLog();
		this.seen = new Map(); // peer agent -> operations of it applied here
		this.peer = null;
		this.closed = false;
		this.resend = false;
		this.runPending = 0;
		this.runT0 = 0;
		this.flooder = false; // flood mode: this connection floods
		this.observer = role === 'observer'; // reads, never types (its latencies are st.obsLat's)
		this.where = room.flood ? (role === 'candidate' ? 'flooder' : 'peer') : 'quiet';
		this.log.where = this.where;
	}

	connect() {
		return new Promise((resolve, reject) => {
			const ws = new WebSocket(this.url, 'tandem.v1', { perMessageDeflate: false });
			this.ws = ws;
			ws.binaryType = 'nodebuffer';
			this.ready = resolve;
			ws.on('open', () => {
				ws.send(
					JSON.stringify({
						t: 'join',
						id: 1,
						room: this.room.id,
						token: this.token,
						version: {},
					}),
				);
			});
			ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
			ws.on('error', (e) => {
				if (this.ready) reject(e);
				bump(st.errors, `socket:${e.code || e.message}`);
			});
			ws.on('close', (code) => {
				this.closed = true;
				if (!this.closing) {
					bump(st.closes, code);
					bump(st.flood.closes, this.where);
				}
				if (this.ready) reject(new Error(`closed ${code} before sync`));
			});
		});
	}

	onMessage(data, isBinary) {
		const now = performance.now();
		if (isBinary) {
			if (!this.doc) return;
			if (!this.synced) {
				this.doc.applyUpdate(data);
				this.synced = true;
				this.noteSeen(now);
				const r = this.ready;
				this.ready = null;
				r(this);
				return;
			}
			this.doc.applyUpdate(data);
			this.noteSeen(now);
			return;
		}
		const m = JSON.parse(data.toString());
		switch (m.t) {
			case 'welcome':
				this.agent = m.agent;
				this.doc = new crdt.Doc(m.agent);
				if (!this.observer) this.room.logs.set(m.agent, this.log);
				break;
			case 'ack': {
				const n = m.version[String(this.agent)] ?? 0;
				if (n > this.acked) {
					for (let s = this.acked; s < n && s < this.log.n; s++) {
						const t0 = this.log.t[s];
						if (t0 > 0 && inWindow(t0)) {
							st.acked++;
							st.ackLat.push(now - t0);
							if (st.ackBy) st.ackBy[this.where].push(now - t0);
						}
					}
					this.acked = n;
				}
				break;
			}
			case 'error':
				if (this.runPending && m.id === this.runPending) {
					if (inWindow(this.runT0)) bump(st.runErrors, m.code);
					this.runPending = 0;
					this.room.runBusy = false;
				} else if (this.flooder) {
					// Answers to the flood; a rate_limited may also have been
					// one of its own keystrokes (no id says which): resend.
					if (inWindow(now)) {
						// With an id: a flood event the events' own budget refused
						// once read; without: a frame refused unread (the budget).
						if (m.code === 'rate_limited' && m.id === undefined) st.flood.refused++;
						else bump(st.flood.errors, m.code === 'rate_limited' ? 'rate_limited event' : m.code);
					}
					if ((m.code === 'rate_limited' || m.code === 'overloaded') && !this.resend) {
						this.resend = true;
						later(m.retry_ms || 100, () => this.flush());
					}
				} else {
					// An update was refused: send everything unacknowledged again.
					bump(st.errors, m.code);
					if (!this.resend) {
						this.resend = true;
						later(m.retry_ms || 100, () => this.flush());
					}
				}
				break;
			case 'run.result':
				if (this.runPending) {
					if (inWindow(this.runT0)) {
						st.runLat.push(now - this.runT0);
						bump(st.verdicts, m.verdict);
						if (m.verdict === 'IE') bump(st.ieMessages, String(m.message));
					}
					this.runPending = 0;
					this.room.runBusy = false;
				}
				break;
			case 'awareness':
			case 'event':
			case 'note':
				if (inWindow(now) && !this.observer) bump(st.flood.relayed, m.t);
				break;
			default:
				break;
		}
	}

	// The peer's operations applied here: latencies of the new ones.  Read
	// with doc.nextOf(), which allocates nothing (a version vector built in
	// JavaScript per update was 40% of this process's garbage), as a Yjs
	// client reads Y.getState().
	noteSeen(now) {
		const a = this.peer?.agent;
		if (!a) return;
		const n = this.doc.nextOf(a);
		const had = this.seen.get(a) ?? 0;
		if (n > had) {
			const log = this.room.logs.get(a);
			if (log && this.observer) observed(log, had, n, now, this.where);
			else if (log) delivered(log, had, n, now);
			this.seen.set(a, n);
		}
	}

	type(now, lo) {
		if (this.closed) return;
		const len = this.doc.length;
		const pos = lo + Math.floor(Math.random() * (len - lo + 1));
		// Every operation so far has been sent (each keystroke goes at
		// once), so the update of this one starts from the whole version.
		if (!this.resend) this.since = this.doc.version();
		this.doc.insert(pos, randomLetter());
		this.log.set(this.next, now);
		this.next++;
		st.sentAll++;
		if (inWindow(now)) st.sent++;
		if (!this.resend) this.flush();
	}

	// Sends the operations after `since` (after the last ack when resending).
	flush() {
		// A resend timer may fire after finish closed the client (doc freed).
		if (this.closed || !this.doc) return;
		if (this.resend) {
			const entries = crdt
				.versionEntries(this.doc.version())
				.map(([a, n]) => [a, a === this.agent ? this.acked : n]);
			this.since = crdt.versionFromEntries(entries);
			this.resend = false;
		}
		this.ws.send(this.doc.encodeSince(this.since));
	}

	insertText(pos, text, now) {
		this.since = this.doc.version();
		this.doc.insert(pos, text);
		for (let i = 0; i < [...text].length; i++) this.log.set(this.next++, now);
		this.flush();
	}

	run(id, now) {
		this.runPending = id;
		this.runT0 = now;
		this.ws.send(JSON.stringify({ t: 'run', id }));
	}

	text() {
		return this.doc.text();
	}

	caughtUp() {
		// Every operation the peer made has been applied here.
		const p = this.peer;
		return !p || (this.seen.get(p.agent) ?? 0) >= p.next;
	}

	close() {
		this.closing = true;
		try {
			this.ws.close(1000);
		} catch {
			/* already gone */
		}
		if (this.doc) this.doc.free();
		this.doc = null;
	}
}

// A late-joining read-only client: joins with the observer token and returns
// the text it was sent.
function tandemLateText(room, url) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, 'tandem.v1', { perMessageDeflate: false });
		let doc = null;
		const timer = setTimeout(() => {
			ws.terminate();
			reject(new Error('late joiner timed out'));
		}, 10000);
		ws.on('open', () =>
			ws.send(
				JSON.stringify({
					t: 'join',
					id: 1,
					room: room.id,
					token: room.tokens.observer,
					version: {},
				}),
			),
		);
		ws.on('message', (data, isBinary) => {
			if (!isBinary) {
				const m = JSON.parse(data.toString());
				if (m.t === 'welcome') doc = new crdt.Doc(m.agent);
				return;
			}
			if (!doc) return;
			doc.applyUpdate(data);
			const text = doc.text();
			doc.free();
			clearTimeout(timer);
			ws.close(1000);
			resolve(text);
		});
		ws.on('error', (e) => {
			clearTimeout(timer);
			reject(e);
		});
	});
}

// ---- y-websocket ---------------------------------------------------------------

class YClient {
	constructor(room, url) {
		this.room = room;
		this.url = url;
		this.doc = new Y.Doc();
		this.ytext = this.doc.getText('t');
		this.log = new SendLog();
		this.seen = 0;
		this.peer = null;
		this.next = 0;
		this.closed = false;
	}

	connect() {
		return new Promise((resolve, reject) => {
			this.provider = new WebsocketProvider(this.url, this.room.id, this.doc, {
				WebSocketPolyfill: WebSocket,
				disableBc: true,
			});
			this.room.logs.set(this.doc.clientID, this.log);
			const timer = setTimeout(() => reject(new Error('yws sync timed out')), 20000);
			const onSync = (synced) => {
				if (!synced) return;
				clearTimeout(timer);
				this.provider.off('sync', onSync);
				resolve(this);
			};
			this.provider.on('sync', onSync);
			this.provider.on('connection-close', (ev) => {
				if (!this.closing) bump(st.closes, ev?.code ?? 'close');
			});
			this.doc.on('update', (_u, origin) => {
				if (origin !== this.provider || !this.peer) return;
				const id = this.peer.doc.clientID;
				const n = Y.getState(this.doc.store, id);
				if (n > this.seen) {
					delivered(this.peer.log, this.seen, n, performance.now());
					this.seen = n;
				}
			});
		});
	}

	type(now, lo) {
		const len = this.ytext.length;
		const pos = lo + Math.floor(Math.random() * (len - lo + 1));
		this.log.set(this.next, now);
		this.next++;
		st.sentAll++;
		if (inWindow(now)) st.sent++;
		this.ytext.insert(pos, randomLetter()); // the provider sends it at once
	}

	text() {
		return this.ytext.toString();
	}

	caughtUp() {
		return !this.peer || this.seen >= this.peer.next;
	}

	close() {
		this.closing = true;
		this.provider.destroy();
		this.doc.destroy();
	}
}

function yLateText(room, url) {
	const c = new YClient({ id: room.id, logs: new Map() }, url);
	c.closing = true;
	return c.connect().then(() => {
		const t = c.text();
		c.close();
		return t;
	});
}

// ---- commands ----------------------------------------------------------------

async function loadCrdt(wasm) {
	if (!crdt) crdt = await TandemCrdt.load(new URL(`file://${wasm}`));
}

// Runs fn over items with at most `width` in flight.
async function pool(items, width, fn) {
	let i = 0;
	const workers = [];
	for (let w = 0; w < Math.min(width, items.length); w++)
		workers.push(
			(async () => {
				while (i < items.length) await fn(items[i++]);
			})(),
		);
	await Promise.all(workers);
}

async function setup(msg) {
	st = freshStats();
	win = { start: Infinity, end: Infinity };
	rooms = msg.rooms.map((r) => ({ ...r, logs: new Map(), clients: [], runBusy: false }));
	if (msg.kind === 'tandem') await loadCrdt(msg.wasm);
	await pool(rooms, 32, async (room) => {
		let a, b;
		if (msg.kind === 'tandem') {
			a = new TandemClient(room, 'interviewer', room.tokens.interviewer, msg.url);
			b = new TandemClient(room, 'candidate', room.tokens.candidate, msg.url);
		} else {
			a = new YClient(room, msg.url);
			b = new YClient(room, msg.url);
		}
		a.peer = b;
		b.peer = a;
		room.clients = [a, b];
		await a.connect();
		await b.connect();
		if (room.observe && msg.kind === 'tandem') {
			room.observer = new TandemClient(room, 'observer', room.tokens.observer, msg.url);
			room.observer.peer = a;
			await room.observer.connect();
		}
		if (msg.prefix) {
			// Runs mode: the interviewer writes a program; typing then goes
			// into its trailing comment, so every run has something to run.
			a.insertText(0, msg.prefix, performance.now());
			const t0 = Date.now();
			while (b.doc.length < msg.prefix.length && Date.now() - t0 < 10000)
				await new Promise((r) => setTimeout(r, 5));
		}
	});
}

function start(msg) {
	typing = true;
	const lo = msg.prefix ? msg.prefix.length : 0;
	// Each client types on its own schedule (5 a second, random phase),
	// driven by one 1 ms interval for the whole process rather than a
	// timeout per keystroke: a Timeout object per keystroke lives 200 ms,
	// outlives two scavenges and fills the old space, and the mark-compacts
	// that follow stall this process for milliseconds, which every latency
	// measured here would include, whichever server is driven.  A keystroke
	// is stamped when it is typed, so the tick's granularity is not latency.
	const typists = [];
	timers.add(
		setInterval(() => {
			const now = performance.now();
			for (const k of typists)
				for (; typing && k.next <= now; k.next += TYPE_MS) k.c.type(now, lo);
		}, 1),
	);
	if (msg.flood) {
		st.latBy = { quiet: new Samples(), peer: new Samples(), flooder: new Samples() };
		st.ackBy = { quiet: new Samples(), peer: new Samples(), flooder: new Samples() };
		st.obsLat = { quiet: new Samples(), peer: new Samples() };
		startFlood(msg.flood);
	}
	for (const room of rooms) {
		for (const c of room.clients) typists.push({ c, next: performance.now() + Math.random() * TYPE_MS });
		if (msg.runEveryMs) {
			let n = 0;
			let next = performance.now() + Math.random() * msg.runEveryMs;
			const tick = () => {
				if (!typing) return;
				const now = performance.now();
				const c = room.clients[n % 2];
				n++;
				if (room.runBusy) {
					if (inWindow(now)) st.runsSkipped++;
				} else if (!c.closed) {
					room.runBusy = true;
					if (inWindow(now)) st.runsSent++;
					c.run(n, now);
				}
				next += msg.runEveryMs;
				later(Math.max(0, next - performance.now()), tick);
			};
			later(next - performance.now(), tick);
		}
	}
}

// The flood frames, in the order sent: awareness at the largest size a
// server relays (docs/protocol.md, "Limits": 4096 bytes), a paste event, a
// note of 100 characters (a candidate's note is refused with forbidden,
// after the frame was read and counted against the budget).  Notes of
// 16,000 characters made the flooders' sockets, not the budget, the limit:
// the server read each at ~80 frames a second and refused none.
const AWARENESS_MAX = 4096;
function floodFrames() {
	const empty = JSON.stringify({ t: 'awareness', cursor: 0, name: '' });
	return [
		{ t: 'awareness', s: JSON.stringify({ t: 'awareness', cursor: 0, name: 'y'.repeat(AWARENESS_MAX - empty.length) }) },
		{ t: 'event', s: JSON.stringify({ t: 'event', kind: 'paste', size: 120, id: 1 }) },
		{ t: 'note', s: JSON.stringify({ t: 'note', text: 'n'.repeat(100) }) },
	];
}

// Flood mode: each flooder sends frames, in turn, while its socket takes
// them (less than `queue` bytes waiting in it), at most perTick a
// millisecond so the generator still reads and types for every room.
function startFlood(flood) {
	const frames = floodFrames();
	const flooders = [];
	for (const room of rooms)
		if (room.flood) {
			const c = room.clients[1];
			c.flooder = true;
			flooders.push({ c, i: 0 });
		}
	if (!flooders.length) return;
	timers.add(
		setInterval(() => {
			const now = performance.now();
			for (const f of flooders) {
				const ws = f.c.ws;
				for (let n = 0; typing && !f.c.closed && n < flood.perTick && ws.bufferedAmount < flood.queue; n++) {
					const fr = frames[f.i++ % frames.length];
					ws.send(fr.s);
					if (inWindow(now)) {
						bump(st.flood.sent, fr.t);
						st.flood.bytes += fr.s.length;
					}
				}
			}
		}, 1),
	);
}

async function finish(msg) {
	typing = false;
	clearTimers();
	// Refused updates waiting for their retry timer: send them now.
	for (const room of rooms) for (const c of room.clients) if (c.resend) c.flush();
	const t0 = Date.now();
	const allCaught = () =>
		rooms.every((r) => r.clients.every((c) => c.closed || c.caughtUp()) && (!r.observer || r.observer.closed || r.observer.caughtUp()));
	while (!allCaught() && Date.now() - t0 < msg.drainMs) await new Promise((r) => setTimeout(r, 50));
	// Tandem: wait for the outstanding durable acks too (bounded by the same drain time).
	const allAcked = () =>
		rooms.every((r) => r.clients.every((c) => c.closed || c.acked === undefined || c.acked >= c.next));
	while (msg.kind === 'tandem' && !msg.noAcks && !allAcked() && Date.now() - t0 < msg.drainMs)
		await new Promise((r) => setTimeout(r, 50));
	// Runs still in flight get a little time to answer.
	while (rooms.some((r) => r.runBusy) && Date.now() - t0 < msg.drainMs)
		await new Promise((r) => setTimeout(r, 50));
	const drainMs = Date.now() - t0;
	let converged = 0;
	let lateMatched = 0;
	let lateFailed = 0;
	const diverged = [];
	let unacked = 0;
	for (const room of rooms) {
		const [a, b] = room.clients;
		if (a.closed || b.closed) {
			diverged.push(room.id);
			continue;
		}
		if (a.text() === b.text()) converged++;
		else diverged.push(room.id);
		if (msg.kind === 'tandem') unacked += a.next - a.acked + (b.next - b.acked);
	}
	// The transport reference keeps no document: no late joiner to ask.
	await pool(msg.noDoc ? [] : rooms, 16, async (room) => {
		try {
			const t =
				msg.kind === 'tandem'
					? await tandemLateText(room, msg.url)
					: await yLateText(room, msg.url);
			if (!room.clients[0].closed && t === room.clients[0].text()) lateMatched++;
			else lateFailed++;
		} catch {
			lateFailed++;
		}
	});
	const byWhere = (o) => o && Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.values()]));
	const out = {
		...st,
		latBy: byWhere(st.latBy),
		ackBy: byWhere(st.ackBy),
		obsLat: byWhere(st.obsLat),
		lat: st.lat.values(),
		ackLat: st.ackLat.values(),
		runLat: st.runLat.values(),
		rooms: rooms.length,
		converged,
		diverged: diverged.slice(0, 10),
		lateMatched,
		lateFailed,
		unacked,
		drainMs,
		loopDelay: loopDelay
			? { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 }
			: null,
	};
	return out;
}

function closeAll() {
	for (const room of rooms) for (const c of room.clients) c.close();
	for (const room of rooms) room.observer?.close();
	rooms = [];
	for (const c of idleClients) c.close();
	idleClients = [];
}

// Idle rooms: one client joins each room and then stays, silent.
async function idle(msg) {
	if (msg.kind === 'tandem') await loadCrdt(msg.wasm);
	await pool(msg.rooms, 32, async (r) => {
		const room = { ...r, logs: new Map(), clients: [] };
		const c =
			msg.kind === 'tandem'
				? new TandemClient(room, 'candidate', r.tokens.candidate, msg.url)
				: new YClient(room, msg.url);
		await c.connect();
		idleClients.push(c);
	});
}

// load.mjs gone (killed): nothing left to report to.
process.on('disconnect', () => process.exit(0));

process.on('message', async (msg) => {
	try {
		switch (msg.cmd) {
			case 'setup':
				await setup(msg);
				process.send({ ev: 'ok' });
				break;
			case 'start':
				start(msg);
				process.send({ ev: 'ok' });
				break;
			case 'window':
				if (msg.open) {
					win = { start: performance.now(), end: Infinity };
					loopDelay = monitorEventLoopDelay({ resolution: 1 });
					loopDelay.enable();
				} else {
					win.end = performance.now();
					loopDelay?.disable();
				}
				process.send({ ev: 'ok' });
				break;
			case 'finish':
				process.send({ ev: 'result', result: await finish(msg) });
				break;
			case 'idle':
				await idle(msg);
				process.send({ ev: 'ok' });
				break;
			case 'close':
				closeAll();
				process.send({ ev: 'ok' });
				break;
			case 'exit':
				closeAll();
				setTimeout(() => process.exit(0), 200);
				break;
			default:
				process.send({ ev: 'error', message: `unknown command ${msg.cmd}` });
		}
	} catch (e) {
		process.send({ ev: 'error', message: String(e?.stack || e) });
	}
});
