// store.ts - the local replica in IndexedDB, so a reload or a closed tab
// loses nothing that was typed.
//
// One record per room and seat: the document's snapshot (with its
// history, so the operations the server has not acknowledged yet are in
// it), the agents this seat typed as, and the version the server has
// acknowledged.  Writes are coalesced: at most one is in flight, and the
// newest state is written after it.

const DB = 'tandem';
const STORE = 'replicas';

export interface Replica {
	key: string;
	snapshot: Uint8Array;
	agents: number[];
	acked: Record<string, number>;
	savedAt: number;
}

let dbPromise: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
	if (!dbPromise)
		dbPromise = new Promise((resolve, reject) => {
			const req = indexedDB.open(DB, 1);
			req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
			req.onsuccess = () => resolve(req.result);
			req.onerror = () => reject(req.error ?? new Error('IndexedDB unavailable'));
		});
	return dbPromise;
}

export async function loadReplica(key: string): Promise<Replica | null> {
	try {
		const db = await open();
		return await new Promise((resolve, reject) => {
			const req = db.transaction(STORE, 'readonly').objectStore(STORE).get(key);
			req.onsuccess = () => resolve((req.result as Replica | undefined) ?? null);
			req.onerror = () => reject(req.error);
		});
	} catch {
		// Private windows may refuse IndexedDB: the app still works, without
		// keeping offline edits across reloads.
		return null;
	}
}

async function put(r: Replica): Promise<void> {
	const db = await open();
	await new Promise<void>((resolve, reject) => {
		const tx = db.transaction(STORE, 'readwrite');
		tx.objectStore(STORE).put(r);
		tx.oncomplete = () => resolve();
		tx.onerror = () => reject(tx.error);
		tx.onabort = () => reject(tx.error);
	});
}

/** Writes replicas of one key, newest wins, one write at a time. */
export class ReplicaWriter {
	private inFlight: Promise<void> | null = null;
	private next: (() => Replica) | null = null;
	private waiters: Array<() => void> = [];
	/** Set when the browser refused a write (the page says so). */
	failed = false;

	/** Schedules a write of make()'s result (called when the write starts). */
	save(make: () => Replica): Promise<void> {
		this.next = make;
		const done = new Promise<void>((r) => this.waiters.push(r));
		// Started from a task of its own: the snapshot is taken after the
		// keystroke that asked for it has been handled and drawn, and a burst
		// of changes makes one write.
		if (!this.inFlight) this.inFlight = new Promise<void>((r) => setTimeout(r, 0)).then(() => this.pump());
		return done;
	}

	private pump(): void {
		const make = this.next;
		if (!make) {
			this.inFlight = null;
			const w = this.waiters;
			this.waiters = [];
			for (const r of w) r();
			return;
		}
		this.next = null;
		this.inFlight = put(make())
			.then(() => {
				this.failed = false;
			})
			.catch(() => {
				this.failed = true;
			})
			.then(() => this.pump());
	}
}
