// The local replica's writer (lib/store.ts) over a backend in memory that
// keeps what IndexedDB would: a keystroke writes a log record, not the
// document; the log is folded into a snapshot once it is long; a refused
// write loses nothing; and what was written loads back to the same text.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Doc, TandemCrdt } from '../src/lib/crdt';
import {
	afterNextFrame,
	assemble,
	COMPACT_AT,
	FRAME_WAIT_MS,
	type LogRecord,
	type ReplicaBackend,
	type ReplicaBatch,
	ReplicaWriter,
	type SnapshotRecord,
	StorageUnavailable,
} from '../src/lib/store';
import { crdt } from './helpers';

let C: TandemCrdt;
beforeAll(async () => {
	C = await crdt();
});

/** What IndexedDB holds for one key, and the batches it was given. */
class MemoryBackend implements ReplicaBackend {
	snap: SnapshotRecord | null = null;
	log = new Map<number, LogRecord>();
	batches: ReplicaBatch[] = [];
	refuse = false;
	unavailable = false;
	async write(b: ReplicaBatch): Promise<void> {
		this.batches.push(b);
		if (this.unavailable) throw new StorageUnavailable('private window');
		if (this.refuse) throw new Error('QuotaExceededError');
		if (b.snapshot) {
			this.snap = structuredClone(b.snapshot);
			for (const seq of [...this.log.keys()]) if (seq <= (b.snapshot.seq ?? 0)) this.log.delete(seq);
		}
		for (const r of b.log) this.log.set(r.seq, structuredClone(r));
	}
	/** The document as the next page load would rebuild it. */
	load(agent: number): Doc {
		const r = assemble(this.snap, [...this.log.values()]);
		if (!r) return new C.Doc(agent);
		const d = r.snapshot ? C.loadDoc(r.snapshot, agent) : new C.Doc(agent);
		for (const u of r.updates) d.applyUpdate(u);
		return d;
	}
}

const meta = { agents: [3], acked: {} };

/** A document typing as agent 3, one character per update, like keystrokes. */
function typist(backend: MemoryBackend) {
	const doc = new C.Doc(3);
	let snapshots = 0;
	const writer = new ReplicaWriter(
		'room:candidate',
		() => {
			snapshots++;
			return doc.encodeDoc();
		},
		undefined,
		backend,
	);
	const type = (s: string): Promise<void> => {
		let last = Promise.resolve();
		for (const ch of s) {
			const v = doc.version();
			doc.insert(doc.length, ch);
			last = writer.append(doc.encodeSince(v), meta);
		}
		return last;
	};
	return { doc, writer, type, snapshots: () => snapshots };
}

describe('ReplicaWriter', () => {
	it('writes a keystroke as a log record, without a snapshot of the document', async () => {
		const m = new MemoryBackend();
		const t = typist(m);
		await t.type('x');
		await t.type('y');
		expect(t.snapshots()).toBe(0);
		expect(m.snap).toBe(null);
		expect([...m.log.keys()]).toEqual([1, 2]);
		for (const b of m.batches) for (const r of b.log) expect(r.update!.length).toBeLessThan(64);
		expect(m.load(9).text()).toBe('xy');
	});

	it('folds a long log into one snapshot, and loads back the same text', async () => {
		const m = new MemoryBackend();
		const t = typist(m);
		const text = 'def f(x):\n    return "😀 世界 é"\n'.repeat(20);
		// Each awaited keystroke is its own write: COMPACT_AT of them and more.
		for (const ch of text) await t.type(ch);
		const n = [...text].length;
		expect(n).toBeGreaterThan(2 * COMPACT_AT);
		// A snapshot per COMPACT_AT records, not one per keystroke.
		expect(t.snapshots()).toBe(Math.floor(n / COMPACT_AT));
		expect(m.snap).not.toBe(null);
		// Only what came after the snapshot is left in the log.
		expect(m.log.size).toBe(n - m.snap!.seq!);
		for (const seq of m.log.keys()) expect(seq).toBeGreaterThan(m.snap!.seq!);
		expect(m.load(9).text()).toBe(text);
	});

	it('makes one write of a burst of changes', async () => {
		const m = new MemoryBackend();
		const t = typist(m);
		await t.type('burst');
		expect(m.batches.length).toBe(1);
		expect(m.batches[0]!.log.length).toBe(5);
		expect(m.load(9).text()).toBe('burst');
	});

	it('loses nothing when the browser refuses a write: the next write is a snapshot', async () => {
		const m = new MemoryBackend();
		const t = typist(m);
		await t.type('ab');
		m.refuse = true;
		await t.type('cd');
		expect(t.writer.failed).toBe(true);
		expect(m.load(9).text()).toBe('ab');
		m.refuse = false;
		await t.type('e');
		expect(t.writer.failed).toBe(false);
		expect(t.snapshots()).toBe(1);
		expect(m.load(9).text()).toBe('abcde');
	});

	it('stops writing when storage cannot be opened, instead of a snapshot per keystroke', async () => {
		const m = new MemoryBackend();
		m.unavailable = true;
		const t = typist(m);
		await t.type('a');
		expect(t.writer.failed).toBe(true);
		for (const ch of 'bcdefgh') await t.type(ch);
		expect(m.batches.length).toBe(1);
		expect(t.snapshots()).toBe(0);
	});

	it('writes an acknowledgement alone as a record without an update', async () => {
		const m = new MemoryBackend();
		const t = typist(m);
		await t.type('a');
		await t.writer.meta({ agents: [3], acked: { '3': 1 } });
		const r = assemble(m.snap, [...m.log.values()]);
		expect(r!.acked).toEqual({ '3': 1 });
		expect(r!.updates.length).toBe(1);
		expect(m.log.get(2)!.update).toBe(null);
	});

	it('reads a version 1 replica (a snapshot without seq) with a log after it', () => {
		const d = new C.Doc(3);
		d.insert(0, 'old');
		const snap = { key: 'k', snapshot: d.encodeDoc(), agents: [3], acked: {}, savedAt: 0 };
		const v = d.version();
		d.insert(3, '!');
		const log = [{ key: 'k', seq: 1, update: d.encodeSince(v), agents: [3, 5], acked: { '3': 3 } }];
		const r = assemble(snap, log)!;
		expect(r.agents).toEqual([3, 5]);
		const back = C.loadDoc(r.snapshot!, 5);
		for (const u of r.updates) back.applyUpdate(u);
		expect(back.text()).toBe('old!');
		expect(assemble(null, [])).toBe(null);
	});
});

describe('afterNextFrame', () => {
	afterEach(() => {
		vi.unstubAllGlobals();
		vi.useRealTimers();
	});

	it('waits for the frame, then a task', async () => {
		vi.useFakeTimers();
		let frame: (() => void) | null = null;
		vi.stubGlobal('requestAnimationFrame', (cb: () => void) => {
			frame = cb;
			return 1;
		});
		let done = false;
		void afterNextFrame().then(() => (done = true));
		await vi.advanceTimersByTimeAsync(10);
		expect(done).toBe(false);
		frame!();
		await vi.advanceTimersByTimeAsync(0);
		expect(done).toBe(true);
	});

	it('does not wait for a frame that never comes (a hidden tab)', async () => {
		vi.useFakeTimers();
		vi.stubGlobal('requestAnimationFrame', () => 1);
		let done = false;
		void afterNextFrame().then(() => (done = true));
		await vi.advanceTimersByTimeAsync(FRAME_WAIT_MS - 1);
		expect(done).toBe(false);
		await vi.advanceTimersByTimeAsync(1);
		expect(done).toBe(true);
	});
});
