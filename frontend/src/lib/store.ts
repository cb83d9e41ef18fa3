// store.ts - the local replica in IndexedDB, so a reload or a closed tab
// loses nothing that was typed.
//
// A keystroke must not cost a copy of the document: the replica is a
// snapshot (the document with its history) written now and then, plus a log
// of the updates the document took since (this seat's own, and the peers'
// that its own may depend on), one small record each.  Loading applies the
// log to the snapshot.  When the log has grown past a bound (COMPACT_AT
// records or bytes), the next write folds it: a fresh snapshot, and the log
// records it holds deleted, in one transaction.  Each log record also
// carries the seat's agents and the version the server acknowledged, so an
// acknowledgement is a small record too.
//
// Writes are batched: at most one transaction is in flight, and whatever
// arrived meanwhile goes in the next one.  A write the browser refused loses
// nothing: its updates are still in the document, and the next write is a
// snapshot of it.

const DB = 'tandem';
/** Snapshots, one per room and seat (keyPath key; version 1 had only this store). */
const SNAPSHOTS = 'replicas';
/** The updates since the snapshot (keyPath [key, seq]). */
const LOG = 'log';

/** Fold the log into a snapshot once it holds this many records... */
export const COMPACT_AT = 256;
/** ...or this many bytes of updates. */
export const COMPACT_BYTES = 1 << 20;

/** What is kept beside the document: the agents this seat typed as, and what the server acknowledged. */
export interface ReplicaMeta {
	agents: number[];
	acked: Record<string, number>;
}

/** A replica as loaded: the snapshot (null when none was written yet) and the updates since, in order. */
export interface Replica extends ReplicaMeta {
	snapshot: Uint8Array | null;
	updates: Uint8Array[];
}

export interface SnapshotRecord extends ReplicaMeta {
	key: string;
	snapshot: Uint8Array;
	savedAt: number;
	/** The last log record the snapshot holds (absent in version 1's records: 0). */
	seq?: number;
}

export interface LogRecord extends ReplicaMeta {
	key: string;
	seq: number;
	/** null for a record that only carries the meta (an acknowledgement). */
	update: Uint8Array | null;
}

/** One transaction's worth of writing: what ReplicaWriter hands its backend. */
export interface ReplicaBatch {
	key: string;
	/** Log records to add, seq ascending. */
	log: LogRecord[];
	/** A snapshot replacing the log up to and including seq. */
	snapshot: SnapshotRecord | null;
}

/** Where batches go: IndexedDB in the page, memory in the unit tests. */
export interface ReplicaBackend {
	write(b: ReplicaBatch): Promise<void>;
}

let dbPromise: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
	if (!dbPromise)
		dbPromise = new Promise((resolve, reject) => {
			const req = indexedDB.open(DB, 2);
			req.onupgradeneeded = () => {
				const db = req.result;
				if (!db.objectStoreNames.contains(SNAPSHOTS)) db.createObjectStore(SNAPSHOTS, { keyPath: 'key' });
				if (!db.objectStoreNames.contains(LOG)) db.createObjectStore(LOG, { keyPath: ['key', 'seq'] });
			};
			req.onsuccess = () => {
				// A later version opened in another tab must not wait on this one.
				req.result.onversionchange = () => req.result.close();
				resolve(req.result);
			};
			// An older page still holds version 1 open: without the store this
			// time (the page says its edits are not kept locally).
			req.onblocked = () => reject(new Error('IndexedDB upgrade blocked by another tab'));
			req.onerror = () => reject(req.error ?? new Error('IndexedDB unavailable'));
		});
	return dbPromise;
}

const done = (tx: IDBTransaction): Promise<void> =>
	new Promise<void>((resolve, reject) => {
		tx.oncomplete = () => resolve();
		tx.onerror = () => reject(tx.error);
		tx.onabort = () => reject(tx.error);
	});

const logRange = (key: string, from: number, to: number): IDBKeyRange => IDBKeyRange.bound([key, from], [key, to]);

/** Folds a snapshot record and the log records after it into a Replica (null when there is neither). */
export function assemble(snap: SnapshotRecord | null, log: LogRecord[]): Replica | null {
	const after = log.filter((r) => r.seq > (snap?.seq ?? 0)).sort((a, b) => a.seq - b.seq);
	if (!snap && after.length === 0) return null;
	const last = after[after.length - 1] ?? snap!;
	return {
		snapshot: snap?.snapshot ?? null,
		updates: after.flatMap((r) => (r.update ? [r.update] : [])),
		agents: last.agents,
		acked: last.acked,
	};
}

/** Where a writer carries on a loaded replica's log: its last seq, and how many records follow the snapshot. */
export interface LogPosition {
	seq: number;
	count: number;
}

/** The replica of key, with where its log ends, or null. */
export async function loadReplica(key: string): Promise<(Replica & LogPosition) | null> {
	try {
		const db = await open();
		const tx = db.transaction([SNAPSHOTS, LOG], 'readonly');
		const snapReq = tx.objectStore(SNAPSHOTS).get(key);
		const logReq = tx.objectStore(LOG).getAll(logRange(key, 0, Number.MAX_SAFE_INTEGER));
		await done(tx);
		const snap = (snapReq.result as SnapshotRecord | undefined) ?? null;
		const log = logReq.result as LogRecord[];
		const r = assemble(snap, log);
		if (!r) return null;
		const seq = Math.max(snap?.seq ?? 0, ...log.map((l) => l.seq));
		return { ...r, seq, count: log.filter((l) => l.seq > (snap?.seq ?? 0)).length };
	} catch {
		// Private windows may refuse IndexedDB: the app still works, without
		// keeping offline edits across reloads.
		return null;
	}
}

/** IndexedDB cannot be opened at all (a private window, an upgrade blocked): no write will succeed. */
export class StorageUnavailable extends Error {}

/** Writes batches to IndexedDB, each in one transaction. */
export const indexedDbBackend: ReplicaBackend = {
	async write(b) {
		let db: IDBDatabase;
		try {
			db = await open();
		} catch (e) {
			throw new StorageUnavailable(String(e));
		}
		const tx = db.transaction([SNAPSHOTS, LOG], 'readwrite');
		const log = tx.objectStore(LOG);
		if (b.snapshot) {
			tx.objectStore(SNAPSHOTS).put(b.snapshot);
			log.delete(logRange(b.key, 0, b.snapshot.seq ?? 0));
		}
		for (const r of b.log) log.put(r);
		await done(tx);
	},
};

/** A frame's wait at most: a hidden tab draws no frames, and its writes must not wait for one. */
export const FRAME_WAIT_MS = 100;

/**
 * Resolves in a task after the next frame is drawn (or after FRAME_WAIT_MS
 * without one; at once where there are no frames, as under node), so the
 * write a keystroke asks for does not delay the frame that shows it.
 */
export function afterNextFrame(): Promise<void> {
	return new Promise<void>((resolve) => {
		if (typeof requestAnimationFrame !== 'function') {
			setTimeout(resolve, 0);
			return;
		}
		const timer = setTimeout(resolve, FRAME_WAIT_MS);
		requestAnimationFrame(() =>
			setTimeout(() => {
				clearTimeout(timer);
				resolve();
			}, 0),
		);
	});
}

/**
 * Keeps one replica (key) written: append() each update the document takes,
 * meta() when only the acknowledged version changed.  snapshot() makes the
 * document's snapshot; it is called when a write starts, and only when the
 * log is due to be folded or a write failed.
 */
export class ReplicaWriter {
	private inFlight: Promise<void> | null = null;
	private pending: LogRecord[] = [];
	private meta_: ReplicaMeta | null = null;
	private waiters: Array<() => void> = [];
	private seq: number;
	/** Log records and their bytes written since the last snapshot. */
	private logCount: number;
	private logBytes = 0;
	/** The next write is a snapshot (the log is long, or a write failed). */
	private needSnapshot = false;
	/** Set when the browser refused the last write (the page says so). */
	failed = false;
	/** Set when storage cannot be opened: writing stops rather than snapshotting every change in vain. */
	private unavailable = false;

	constructor(
		private readonly key: string,
		private readonly snapshot: () => Uint8Array,
		from: LogPosition = { seq: 0, count: 0 },
		private readonly backend: ReplicaBackend = indexedDbBackend,
	) {
		this.seq = from.seq;
		this.logCount = from.count;
	}

	/** An update the document took (local or remote), and the meta after it. */
	append(update: Uint8Array, meta: ReplicaMeta): Promise<void> {
		this.pending.push({ key: this.key, seq: ++this.seq, update, ...meta });
		this.logBytes += update.length;
		this.meta_ = null;
		return this.schedule();
	}

	/** Only the meta changed (an acknowledgement, a new agent). */
	meta(meta: ReplicaMeta): Promise<void> {
		const last = this.pending[this.pending.length - 1];
		if (last) Object.assign(last, meta);
		else this.meta_ = meta;
		return this.schedule();
	}

	private schedule(): Promise<void> {
		if (this.unavailable) {
			this.pending = [];
			this.meta_ = null;
			return Promise.resolve();
		}
		const p = new Promise<void>((r) => this.waiters.push(r));
		// Started from a task of its own: a burst of changes makes one write,
		// after the keystroke that asked for it has been handled and drawn.
		if (!this.inFlight) this.inFlight = afterNextFrame().then(() => this.pump());
		return p;
	}

	private batch(): ReplicaBatch | null {
		if (this.meta_) {
			this.pending.push({ key: this.key, seq: ++this.seq, update: null, ...this.meta_ });
			this.meta_ = null;
		}
		if (this.pending.length === 0) return null;
		const log = this.pending;
		this.pending = [];
		this.logCount += log.length;
		if (!this.needSnapshot && this.logCount < COMPACT_AT && this.logBytes < COMPACT_BYTES)
			return { key: this.key, log, snapshot: null };
		// The snapshot is the document now, which holds every update queued:
		// it replaces them, and the log before them.
		const last = log[log.length - 1]!;
		return {
			key: this.key,
			log: [],
			snapshot: {
				key: this.key,
				snapshot: this.snapshot(),
				agents: last.agents,
				acked: last.acked,
				savedAt: Date.now(),
				seq: last.seq,
			},
		};
	}

	private pump(): Promise<void> {
		let b: ReplicaBatch | null;
		try {
			b = this.batch();
		} catch {
			b = null;
			this.failed = true;
			this.needSnapshot = true;
		}
		if (!b) {
			this.inFlight = null;
			const w = this.waiters;
			this.waiters = [];
			for (const r of w) r();
			return Promise.resolve();
		}
		const wrote = b;
		this.inFlight = this.backend
			.write(wrote)
			.then(() => {
				this.failed = false;
				if (wrote.snapshot) {
					this.needSnapshot = false;
					this.logCount = 0;
					this.logBytes = 0;
				}
			})
			.catch((e: unknown) => {
				// What the refused batch held is in the document: the next
				// write is a snapshot of it.
				this.failed = true;
				this.needSnapshot = true;
				if (e instanceof StorageUnavailable) {
					this.unavailable = true;
					this.pending = [];
					this.meta_ = null;
				}
			})
			.then(() => this.pump());
		return this.inFlight;
	}
}
