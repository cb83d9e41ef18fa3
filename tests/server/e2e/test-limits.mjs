// test-limits.mjs - hostile and broken input gets its documented answer and
// nothing else: an oversized frame closes with 1009, malformed JSON gets
// error bad_request, a malformed or forged CRDT update gets error
// bad_update with nothing applied, a second join gets already_joined, a
// room whose timeline is full gets room_full, a silent socket is closed
// after the join timeout, and a client flooding frames of any kind is held
// to one budget (frames and bytes a second) without harming its peers.  While all of that goes
// on in one room, two clients in another room keep typing, and their edits
// must keep converging.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import {
	PG,
	SANITIZED,
	SEED,
	jwtDecode,
	jwtSign,
	Tandem,
	converge,
	lateJoiner,
	loadCrdt,
	requirements,
	rng,
	untilAny,
	versionIncludes,
	versionJson,
} from './harness.mjs';

await requirements();

const JOIN_TIMEOUT_MS = 2000;
// Small enough to reach with one update, large enough for every other test here.
const MAX_DOC = 200000;
const BIG = Number(process.env.TANDEM_E2E_BIG || 8 * 1024 * 1024);

let srv, calm, typist;
before(async () => {
	srv = await Tandem.start({
		args: ['--join-timeout-ms', String(JOIN_TIMEOUT_MS), '--max-doc', String(MAX_DOC)],
	});
	// The bystanders: a room whose clients type throughout this file.
	const room = await srv.createRoom();
	const a = await srv.join(room, 'interviewer');
	const b = await srv.join(room, 'candidate');
	calm = { room, a, b, stop: false, rounds: 0 };
	const r = rng(SEED);
	typist = (async () => {
		while (!calm.stop) {
			a.edit((d) => d.insert(r.int(d.length + 1), 'a'));
			b.edit((d) => d.insert(r.int(d.length + 1), 'b'));
			if (r() < 0.2) b.edit((d) => d.length && d.delete(r.int(d.length), 1));
			// Paced by the server's acks: as fast as it answers.
			await Promise.all([a.acked(), b.acked()]);
			calm.rounds++;
		}
	})();
});

after(async () => {
	if (calm) calm.stop = true;
	await typist;
	await srv?.stop();
});

// A room with an interviewer and a candidate who share some text.
async function busyRoom() {
	const room = await srv.createRoom();
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	iv.edit((d) => d.insert(0, 'print("hi")\n'));
	await converge([iv, cand]);
	return { room, iv, cand };
}

let barrierN = 0;
async function barrier(from, ...receivers) {
	const mark = `barrier-${++barrierN}`;
	from.send({ t: 'awareness', name: mark });
	await Promise.all(receivers.map((r) => r.msg('awareness', (m) => JSON.stringify(m).includes(mark))));
}

// The connection is still usable: an edit is acknowledged and reaches the peer.
async function stillWorks(c, peer, text) {
	c.edit((d) => d.insert(d.length, text));
	await converge([c, peer]);
	assert.ok(peer.text().includes(text));
	assert.equal(c.closeInfo, null, 'the connection stayed open');
}

test('an oversized frame closes the connection with 1009', async () => {
	const { room, iv, cand } = await busyRoom();
	const maxFrame = iv.welcome.limits?.max_frame ?? 1048576;
	// Just over the limit: the whole frame fits in the kernel's buffers, so
	// the close frame reaches the client before the connection goes.
	const obs = await srv.join(room, 'observer');
	obs.sendRaw(JSON.stringify({ t: 'awareness', name: 'x'.repeat(maxFrame + 4096) }), false);
	const closed = await obs.closedWith('close after an oversized text frame');
	assert.equal(closed.code, 1009, `oversized text frame: closed with ${closed.code} ${closed.reason}`);

	const big = await srv.join(room, 'observer');
	big.sendRaw(new Uint8Array(maxFrame + 4096).fill(7), true);
	const closed2 = await big.closedWith('close after an oversized binary frame');
	assert.equal(closed2.code, 1009, `oversized binary frame: closed with ${closed2.code} ${closed2.reason}`);

	// Far over the limit (8 MiB): the server closes while the client is still
	// uploading, and the reset may overtake the close frame (1006); the
	// connection must be closed either way, and nothing else disturbed.
	const huge = await srv.join(room, 'observer');
	huge.sendRaw(JSON.stringify({ t: 'awareness', name: 'x'.repeat(BIG) }), false);
	const closed3 = await huge.closedWith('close after an 8 MiB frame');
	assert.ok([1009, 1006].includes(closed3.code), `8 MiB frame: closed with ${closed3.code} ${closed3.reason}`);
	if (closed3.code !== 1009) console.log(`# 8 MiB frame: closed with ${closed3.code}, the 1009 was lost to the reset`);

	await stillWorks(iv, cand, 'after oversize\n');
	for (const x of [iv, cand]) await x.close();
});

test('malformed JSON gets error bad_request and the connection stays', async () => {
	const { iv, cand } = await busyRoom();
	for (const raw of ['{not json', '[1,2', '"just a string"', '{"t": 5}', '{}']) {
		cand.sendRaw(raw, false);
		const e = await cand.msg('error');
		assert.ok(['bad_request', 'unknown_type'].includes(e.code), `${raw}: error ${JSON.stringify(e)}`);
		if (raw.startsWith('{not') || raw.startsWith('[1')) assert.equal(e.code, 'bad_request', raw);
	}
	const id = cand.send({ t: 'no.such.type' });
	const e = await cand.error('unknown_type');
	assert.equal(e.id, id, 'the error echoes the id');
	await stillWorks(cand, iv, 'after bad JSON\n');
	for (const x of [iv, cand]) await x.close();
});

test('a malformed binary frame gets error bad_update, nothing applied', async () => {
	const { room, iv, cand } = await busyRoom();
	const valid = (() => {
		const before = cand.doc.version();
		cand.doc.insert(0, 'SHOULD NOT ARRIVE ');
		const u = cand.doc.encodeSince(before);
		// Take it back locally: this op must never exist anywhere.
		cand.doc.delete(0, 'SHOULD NOT ARRIVE '.length);
		return u;
	})();
	const r = rng(SEED + 7);
	const garbage = [
		['random bytes', Uint8Array.from({ length: 64 }, () => r.int(256))],
		['empty', new Uint8Array(0)],
		['format version 9', Uint8Array.from([9, 0x55, 0, 0])],
		['truncated update', valid.slice(0, valid.length - 3)],
		['update with trailing garbage', Uint8Array.from([...valid, 1, 2, 3])],
	];
	const frames = iv.updates.length;
	for (const [what, bytes] of garbage) {
		cand.sendRaw(bytes, true);
		const e = await cand.msg('error').catch((err) => {
			throw new Error(`${what}: ${err.message}`);
		});
		assert.equal(e.code, 'bad_update', `${what}: ${JSON.stringify(e)}`);
	}
	await barrier(cand, iv);
	assert.equal(iv.updates.length, frames, 'no malformed update was fanned out');
	assert.ok(!iv.text().includes('SHOULD NOT'), iv.text());
	// The local take-back made ops the server never saw; drop them by
	// syncing a fresh client instead of the now-diverged candidate.
	const late = await lateJoiner(srv, room, await iv.version());
	assert.equal(late.text(), iv.text());
	assert.ok(!late.text().includes('SHOULD NOT'));
	assert.equal(cand.closeInfo, null, 'malformed binary does not cost the connection');
	for (const x of [iv, cand, late]) await x.close();
});

test('a forged update (ops of another agent) gets error bad_update, nothing applied', async () => {
	const crdt = await loadCrdt();
	const { room, iv, cand } = await busyRoom();
	const frames = iv.updates.length;
	for (const [what, agent] of [
		["the interviewer's agent", iv.agent],
		['an agent the server never handed out', 2000000000],
	]) {
		// A copy of the document that types as someone else.
		const fork = new crdt.Doc(agent);
		fork.applyUpdate(cand.doc.encodeSince(null));
		const before = fork.version();
		fork.insert(0, `FORGED as ${what}\n`);
		cand.sendRaw(fork.encodeSince(before), true);
		const e = await cand.msg('error').catch((err) => {
			throw new Error(`${what}: ${err.message}`);
		});
		assert.equal(e.code, 'bad_update', `forged as ${what}: ${JSON.stringify(e)}`);
		fork.free();
	}
	await barrier(cand, iv);
	assert.equal(iv.updates.length, frames, 'no forged update was fanned out');
	assert.ok(!iv.text().includes('FORGED'), iv.text());
	const late = await lateJoiner(srv, room, await iv.version());
	assert.ok(!late.text().includes('FORGED'), `the server's copy: ${JSON.stringify(late.text())}`);
	await stillWorks(cand, iv, 'honest again\n');
	for (const x of [iv, cand, late]) await x.close();
});

test('an update that would make the document too large gets doc_too_large, nothing applied', async () => {
	const { room, iv, cand } = await busyRoom();
	const frames = iv.updates.length;
	const big = 'x'.repeat(MAX_DOC - 1000);
	cand.edit((d) => d.insert(d.length, big));
	await cand.acked();
	cand.edit((d) => d.insert(0, 'y'.repeat(2000)));
	const e = await cand.error('doc_too_large');
	assert.equal(e.t, 'error');
	await barrier(cand, iv);
	assert.equal(iv.updates.length, frames + 1, 'only the update within the limit was fanned out');
	assert.ok(!iv.text().includes('yyyy'), 'the refused insert is nowhere');
	const late = await lateJoiner(srv, room, await iv.version());
	assert.equal(late.text(), iv.text());
	assert.ok(late.text().length < MAX_DOC, `the server's copy stays within --max-doc: ${late.text().length}`);
	for (const x of [iv, cand, late]) await x.close();
});

test('a room whose timeline has numbered 2^32 - 1 events refuses edits with room_full, nothing applied', async () => {
	// A room the server has never seen, whose history PostgreSQL holds: the
	// server loads it at the first join.  Its tokens: another room's, renamed.
	const other = await srv.createRoom();
	const id = `full-${SEED}-${Date.now()}`;
	const tokens = {};
	for (const seat of ['interviewer', 'candidate', 'observer']) {
		const { payload, header } = jwtDecode(other.tokens[seat]);
		tokens[seat] = jwtSign({ ...payload, room: id }, srv.secret, header);
	}
	const room = { id, tokens };
	const sql =
		`INSERT INTO rooms (id) VALUES ('${id}'); ` +
		`INSERT INTO timeline_events (room, seq, at, kind, payload) VALUES ('${id}', 4294967295, now(), 'note', '{}')`;
	const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', PG, '-c', sql], { encoding: 'utf8' });
	assert.equal(r.status, 0, `psql: ${r.stderr}`);
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	const frames = iv.updates.length;
	cand.edit((d) => d.insert(0, 'FULL'));
	const e = await cand.error('room_full');
	assert.equal(e.retry_ms, undefined, `no retry_ms: resending cannot help (${JSON.stringify(e)})`);
	await barrier(cand, iv);
	assert.equal(iv.updates.length, frames, 'the refused edit was not fanned out');
	const late = await lateJoiner(srv, room, await iv.version());
	assert.ok(!late.text().includes('FULL'), `the server's copy: ${JSON.stringify(late.text())}`);
	for (const x of [iv, cand, late]) await x.close();
});

test('more updates per second than --ops-per-s get rate_limited with retry_ms; resent, nothing is lost', async () => {
	const { room, iv, cand } = await busyRoom();
	const limit = cand.welcome.limits?.ops_per_s ?? 200;
	// A burst of single-keystroke updates, well over a second's allowance.
	for (let i = 0; i < limit * 2; i++) cand.edit((d) => d.insert(d.length, String.fromCharCode(97 + (i % 26))));
	const e = await cand.error('rate_limited');
	assert.ok(Number(e.retry_ms) > 0, `rate_limited carries a positive retry_ms: ${JSON.stringify(e)}`);
	// The client resends what was not acknowledged after retry_ms (harness): all of it arrives.
	const target = await converge([iv, cand], 30000);
	const late = await lateJoiner(srv, room, target);
	assert.equal(late.text().length, 'print("hi")\n'.length + limit * 2, 'every keystroke of the burst is in the server copy');
	for (const x of [iv, cand, late]) await x.close();
});

// docs/protocol.md "Limits": the server does not read a connection for
// retry_ms after refusing one of its frames, at least this long; notes and
// events have a budget of their own; so have the errors a connection earns.
const RX_PAUSE_MS = 50;
const RECORDED_PER_S = 10;
const RECORDED_BURST = 20;
const REFUSED_PER_S = 10;
const REFUSED_BURST = 20;

async function readPauses() {
	const metrics = await srv.api('GET', '/metrics');
	return Number(/^tandem_read_pauses_total\s+(\S+)/m.exec(metrics.text)?.[1]);
}

// Resident memory of tandem's network process (the one spawned), in kB.
function rssKb() {
	return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8'))[1]);
}

const rateLimited = (c) => c.errors.filter((e) => e.code === 'rate_limited').length;

test('a client flooding awareness, events and notes is held to one budget; its peer is not closed and keeps typing', async () => {
	const { room, iv, cand } = await busyRoom();
	const obs = await srv.join(room, 'observer');
	const limit = iv.welcome.limits.ops_per_s;
	const N = limit * 10;
	const E = limit;
	const rss0 = rssKb();
	// Awareness is small by contract: a large frame is refused, not relayed.
	cand.send({ t: 'awareness', name: 'x'.repeat(64 * 1024) });
	const big = await cand.error('bad_request');
	assert.match(big.message, /awareness/, JSON.stringify(big));
	assert.equal(iv.peek('awareness').length, 0, 'the large awareness reached no one');
	obs.send({ t: 'note', text: 'x'.repeat(16385) });
	assert.match((await obs.error('bad_request')).message, /note/);

	// Events: each one either reaches the staff or is refused with rate_limited.
	// Past its budget of refusals the flooder is read only as fast as it
	// earns them (docs/protocol.md "Limits"): E of them, not N.
	let t0 = Date.now();
	const refused0 = rateLimited(cand);
	const pauses0 = await readPauses();
	for (let i = 0; i < E; i++) cand.send({ t: 'event', kind: 'paste', size: i });
	await untilAny([iv, cand], () => iv.peek('event').length + rateLimited(cand) - refused0 >= E, `${E} events answered`, {
		timeout: 60000,
	});
	let elapsed = (Date.now() - t0) / 1000;
	let passed = iv.peek('event').length;
	const recorded = RECORDED_BURST + RECORDED_PER_S * elapsed + 1;
	assert.ok(passed <= recorded, `${passed} of ${E} flooded events passed in ${elapsed} s; their budget allows ${recorded.toFixed(0)}`);
	assert.ok(passed < E, 'some flooded events were refused');
	// One refusal past the budget a pause, each pause at least RX_PAUSE_MS.
	const answered = rateLimited(cand) - refused0;
	const refusable = REFUSED_BURST + REFUSED_PER_S * elapsed + 1 + (elapsed * 1000) / RX_PAUSE_MS;
	assert.ok(answered <= refusable, `${answered} events refused in ${elapsed} s: its refusals allow ${refusable.toFixed(0)}`);
	assert.ok((await readPauses()) > pauses0, 'the flooder was paused');

	// Notes of the largest allowed size, from an observer.
	t0 = Date.now();
	for (let i = 0; i < E; i++) obs.send({ t: 'note', text: String(i % 10).repeat(16000) });
	await obs.until(() => obs.peek('note').length + rateLimited(obs) >= E, `${E} notes answered`, { timeout: 60000 });
	passed = obs.peek('note').length;
	elapsed = (Date.now() - t0) / 1000;
	const notes = RECORDED_BURST + RECORDED_PER_S * elapsed + 1;
	assert.ok(passed <= notes, `${passed} of ${E} flooded notes passed in ${elapsed} s; their budget allows ${notes.toFixed(0)}`);

	// A candidate's notes are forbidden: each refusal spends from its budget of them.
	t0 = Date.now();
	const forbidden = (c) => c.errors.filter((e) => e.code === 'forbidden').length;
	const forbidden0 = forbidden(cand);
	for (let i = 0; i < E; i++) cand.send({ t: 'note', text: `note ${i}` });
	await cand.until(() => forbidden(cand) - forbidden0 >= E, `${E} notes refused`, { timeout: 60000 });
	elapsed = (Date.now() - t0) / 1000;
	const refusedNow = REFUSED_BURST + REFUSED_PER_S * elapsed + 1 + (elapsed * 1000) / RX_PAUSE_MS;
	assert.ok(E <= refusedNow, `${E} notes refused in ${elapsed} s: faster than its refusals allow (${refusedNow.toFixed(0)})`);
	const fromCand = iv.peek('note').filter((n) => n.from.seat === 'candidate');
	assert.equal(fromCand.length, 0, 'no candidate note reached the interviewer');

	// Awareness at the largest allowed size while the peer types.
	for (let i = 0; i < N; i++) cand.send({ t: 'awareness', cursor: i, name: 'y'.repeat(3900) });
	iv.edit((d) => d.insert(0, 'typed during the flood\n'));
	await converge([iv, cand], 30000);
	for (const c of [iv, cand, obs]) assert.equal(c.closeInfo, null, `${c.seat} stayed connected`);
	const grown = (rssKb() - rss0) / 1024;
	console.log(`# tandem RSS grew by ${grown.toFixed(1)} MB during the floods${SANITIZED ? ' (sanitizer build: not bounded)' : ''}`);
	if (!SANITIZED) assert.ok(grown < 64, `tandem's RSS grew by ${grown.toFixed(1)} MB under the floods (bound 64 MB)`);
	for (const x of [iv, cand, obs]) await x.close();
});


// rate_limited answers without an id: frames refused by the per-connection
// budget, unread (the events' own budget answers with the event's id).
const budgetRefusals = (c) => c.errors.filter((e) => e.code === 'rate_limited' && e.id === undefined).length;

test('a flooder is not read while over budget: one rate_limited a pause, the rest read later, in order', async () => {
	const { iv, cand } = await busyRoom();
	const N = 2000;
	const ids = new Map();
	const t0 = Date.now();
	// As fast as the socket takes them: awareness, and every 20th frame an
	// event (at the frame budget's pace, about as many as the events' own
	// budget lets through: few refusals, which would pause it too).
	for (let i = 0; i < N; i++) {
		if (i % 20) cand.send({ t: 'awareness', cursor: i });
		else ids.set(cand.send({ t: 'event', kind: 'paste', size: i }), i);
	}
	// The peer types during the flood, the flooder after it: both must arrive.
	iv.edit((d) => d.insert(0, 'typed during the flood\n'));
	cand.edit((d) => d.insert(d.length, 'typed after the flood\n'));
	// Frames on one socket are read in order: once the edit behind the flood
	// is in, every frame before it was read or refused (the flooder sends
	// nothing else, so the last pause ended by itself).
	await converge([iv, cand], 120000);
	const elapsed = Date.now() - t0;
	assert.ok(iv.text().includes('typed during the flood') && iv.text().includes('typed after the flood'), iv.text());
	for (const c of [iv, cand]) assert.equal(c.closeInfo, null, `${c.seat} stayed connected`);

	const refused = budgetRefusals(cand);
	console.log(`# ${N} frames in ${elapsed} ms: ${refused} refused unread, ${iv.peek('event').length} events relayed`);
	// One refusal a pause, each pause at least RX_PAUSE_MS: not one a frame.
	assert.ok(refused >= 1, 'the flood went over the budget');
	assert.ok(
		refused <= 1 + elapsed / RX_PAUSE_MS,
		`${refused} frames refused unread in ${elapsed} ms: more than one a pause of ${RX_PAUSE_MS} ms`,
	);
	// Every event is relayed, refused by the events' budget with its id, or
	// one of the frames refused unread; those relayed arrive in order.
	const relayed = iv.peek('event').map((e) => e.size);
	assert.deepEqual(relayed, [...relayed].sort((a, b) => a - b), 'events relayed in the order sent');
	const refusedById = new Set(cand.errors.filter((e) => e.code === 'rate_limited' && ids.has(e.id)).map((e) => ids.get(e.id)));
	for (const size of relayed) assert.ok(!refusedById.has(size), `event ${size} relayed and refused`);
	const unaccounted = ids.size - relayed.length - refusedById.size;
	assert.ok(unaccounted >= 0 && unaccounted <= refused, `${unaccounted} events neither relayed nor refused with their id`);
	// Awareness is paced (the latest wins) and relayed in order too.
	const cursors = iv.peek('awareness').map((a) => a.cursor);
	assert.ok(cursors.length > 0, 'awareness reached the peer');
	assert.deepEqual(cursors, [...cursors].sort((a, b) => a - b), 'awareness relayed in the order sent');

	// Resumed: it edits and is answered at once, like anyone.
	await stillWorks(cand, iv, 'and typing on\n');
	for (const x of [iv, cand]) await x.close();
});

test('a flooder that closes while it is not read is let go; the room goes on', async () => {
	const { room, iv, cand } = await busyRoom();
	const obs = await srv.join(room, 'observer');
	const pauses0 = await readPauses();
	for (let i = 0; i < 2000; i++) obs.send({ t: 'note', text: `note ${i}` });
	// Notes past their budget, then refusals past theirs: the next one pauses it.
	await obs.until(() => rateLimited(obs) > REFUSED_BURST, 'the refusals past the budget');
	assert.ok((await readPauses()) > pauses0, 'the flooder is paused');
	// Paused now (its frames wait unread): it goes, and its pause must go with
	// it.  A reset, which the server hears at once (a FIN would wait unread
	// behind the pause like the frames).
	obs.ws._socket.resetAndDestroy();
	await obs.closed;
	await stillWorks(iv, cand, 'after the flooder left\n');
	const again = await srv.join(room, 'observer');
	assert.equal(again.text(), iv.text());
	for (const x of [iv, cand, again]) await x.close();
});

// Pastes of n fresh 100 KB blocks, each deleted again in the same update:
// real new operations (the server forwards only news), a small document.
async function flood(c, n) {
	for (let i = 0; i < n; i++) {
		c.edit((d) => {
			d.insert(d.length, String.fromCharCode(65 + (i % 26)).repeat(100000));
			d.delete(d.length - 100000, 100000);
		});
		if (i % 20 === 19) await c.acked(30000);
	}
}

// Waits until the paused-then-resumed client has reached target or was closed.
async function caughtUpOrClosed(slow, target) {
	const crdt = await loadCrdt();
	return slow.until(
		() => {
			if (slow.applyErrors.length) throw slow.applyErrors[0];
			if (versionIncludes(versionJson(crdt, slow.doc.version()), target)) return 'caught up';
			return slow.closeInfo ? 'closed' : null;
		},
		'the slow peer to catch up or be closed',
		{ timeout: 60000, allowClose: true },
	);
}

async function resyncs() {
	const metrics = await srv.api('GET', '/metrics');
	return /^tandem_resyncs_total\s+(\S+)/m.exec(metrics.text)?.[1];
}

test('a peer that stops reading does not stall the room, and catches up when it reads again', async () => {
	const { room, iv, cand } = await busyRoom();
	const slow = await srv.join(room, 'observer');
	slow.ws._socket.pause();
	await flood(iv, 30); // 3 MB: within the kernel's buffers and the send queue
	iv.edit((d) => d.insert(d.length, 'after the flood\n'));
	// The others are not held back by the one that does not read.
	const target = await converge([iv, cand], 30000);
	slow.ws._socket.resume();
	assert.equal(await caughtUpOrClosed(slow, target), 'caught up', `closed: ${JSON.stringify(slow.closeInfo)}`);
	assert.equal(slow.text(), iv.text());
	const late = await lateJoiner(srv, room, target);
	assert.equal(late.text(), iv.text());
	for (const x of [iv, cand, slow, late]) await x.close();
});

test('a peer that falls too far behind is resynced or closed with 4009; the room goes on', async () => {
	const { iv, cand, room } = await busyRoom();
	const slow = await srv.join(room, 'observer');
	slow.ws._socket.pause();
	await flood(iv, 200); // 20 MB: more than the kernel's buffers and the 4 MiB queue
	const target = await converge([iv, cand], 60000);
	slow.ws._socket.resume();
	const outcome = await caughtUpOrClosed(slow, target);
	console.log(`# slow peer: ${outcome}${slow.closeInfo ? ` (${slow.closeInfo.code})` : ''}; tandem_resyncs_total ${await resyncs()}`);
	if (outcome === 'caught up') assert.equal(slow.text(), iv.text());
	else assert.equal(slow.closeInfo.code, 4009, `a peer that cannot keep up is closed with 4009, got ${slow.closeInfo.code}`);
	// The room is unharmed: the editors still converge.
	iv.edit((d) => d.insert(0, 'go on\n'));
	cand.edit((d) => d.insert(d.length, 'going on\n'));
	await converge([iv, cand]);
	assert.equal(iv.closeInfo, null);
	assert.equal(cand.closeInfo, null);
	for (const x of [iv, cand]) await x.close();
	if (!slow.closeInfo) await slow.close();
});

test('a room whose history is larger than a send queue can still be joined from scratch', async () => {
	const { room, iv, cand } = await busyRoom();
	// 5 MB of history (pasted and deleted again), a small visible text.
	await flood(iv, 50);
	iv.edit((d) => d.insert(d.length, 'still here\n'));
	const target = await converge([iv, cand], 30000);
	// A browser reloaded without local state joins with {}: it must get the
	// document, not 4009.
	const late = await lateJoiner(srv, room, target);
	assert.equal(late.text(), iv.text());
	for (const x of [iv, cand, late]) await x.close();
});

test('a second join on a joined connection gets already_joined', async () => {
	const { room, iv, cand } = await busyRoom();
	const id = cand.send({ t: 'join', room: room.id, token: room.tokens.candidate, version: {} });
	const e = await cand.error('already_joined');
	assert.equal(e.id, id);
	await stillWorks(cand, iv, 'after a second join\n');
	for (const x of [iv, cand]) await x.close();
});

test('a socket that never joins is closed after the join timeout', async () => {
	const c = await srv.connect();
	const t0 = Date.now();
	const { code, reason } = await c.closedWith(`the join timeout (--join-timeout-ms ${JOIN_TIMEOUT_MS})`, JOIN_TIMEOUT_MS + 8000);
	assert.equal(code, 4001, `closed with ${code} ${reason}`);
	assert.ok(Date.now() - t0 >= JOIN_TIMEOUT_MS - 100, `closed after ${Date.now() - t0} ms, not before the timeout`);
});

test('the other room kept converging throughout', async () => {
	calm.stop = true;
	await typist;
	assert.ok(calm.rounds > 0, 'the bystanders typed');
	const target = await converge([calm.a, calm.b]);
	const late = await lateJoiner(srv, calm.room, target);
	assert.equal(late.text(), calm.a.text());
	for (const c of [calm.a, calm.b]) {
		assert.equal(c.closeInfo, null, `bystander ${c.seat} stayed connected`);
		// Being rate limited is the bystanders' own doing (they type as fast
		// as acks come back), not the other room's.
		assert.deepEqual(
			c.errors.filter((e) => e.code !== 'rate_limited'),
			[],
			`bystander ${c.seat} got no error`,
		);
	}
	for (const x of [calm.a, calm.b, late]) await x.close();
});
