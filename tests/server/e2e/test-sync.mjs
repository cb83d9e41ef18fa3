// test-sync.mjs - CRDT sync through the server: concurrent edits converge,
// a stale join gets exactly what it lacks, offline edits survive a
// reconnect.  Every check compares real documents (the wasm build of
// crdt/) held by real WebSocket clients; the server's own copy is read
// back through a client that joins late with an empty version.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';

import {
	SEED,
	Tandem,
	converge,
	lateJoiner,
	loadCrdt,
	missingRanges,
	requirements,
	rng,
	updateOps,
	updateRanges,
	versionJson,
	versionNorm,
} from './harness.mjs';

await requirements();
console.log(`# TANDEM_SEED=${SEED}`);

let srv;
before(async () => {
	srv = await Tandem.start();
});
after(async () => {
	await srv?.stop();
});

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz      \nÉé漢字😀'.split(/(?:)/u);

// A position in UTF-16 units (what crdt.mjs counts) moved off the middle of
// a surrogate pair: the CRDT refuses to split one, as it should.
function boundary(text, pos) {
	const c = text.charCodeAt(pos - 1);
	return pos > 0 && c >= 0xd800 && c < 0xdc00 ? pos - 1 : pos;
}

// One random edit by doc's agent, at a position within [lo, hi) of the
// current length (fractions), so two clients can be kept apart or together.
function randomEdit(doc, r, lo = 0, hi = 1) {
	const text = doc.text();
	const len = text.length;
	const from = Math.floor(len * lo);
	const to = Math.max(from, Math.ceil(len * hi));
	const pos = boundary(text, Math.min(from + r.int(to - from + 1), len));
	if (len > 0 && r() < 0.3) {
		const at = boundary(text, Math.min(pos, len - 1));
		let end = boundary(text, Math.min(at + 1 + r.int(3), len));
		if (end <= at) end = Math.min(len, at + (text.codePointAt(at) > 0xffff ? 2 : 1));
		doc.delete(at, end - at);
	} else {
		let s = '';
		for (let n = 1 + r.int(4); n > 0; n--) s += r.pick(ALPHABET);
		doc.insert(pos, s);
	}
}

async function pair(room) {
	const a = await srv.join(room, 'interviewer');
	const b = await srv.join(room, 'candidate');
	assert.notEqual(a.agent, b.agent, 'two connections get distinct agent ids');
	return [a, b];
}

test('concurrent typing at the same place converges without interleaving', async () => {
	const room = await srv.createRoom();
	const [a, b] = await pair(room);
	a.edit((d) => d.insert(0, '0123456789'));
	await converge([a, b]);

	// Keystroke by keystroke, alternating, without letting either client
	// receive the other's: every pair of keystrokes is concurrent.
	for (let i = 0; i < 4; i++) {
		a.edit((d) => d.insert(5 + i, 'A'));
		b.edit((d) => d.insert(5 + i, 'b'));
	}
	await converge([a, b]);
	assert.ok(
		['01234AAAAbbbb56789', '01234bbbbAAAA56789'].includes(a.text()),
		`runs typed at one place stay whole: ${JSON.stringify(a.text())}`,
	);

	// Overlapping concurrent deletes, and an insert inside a deleted range.
	a.edit((d) => d.delete(1, 4));
	b.edit((d) => d.delete(2, 4));
	b.edit((d) => d.insert(3, 'Z'));
	await converge([a, b]);
	assert.ok(a.text().startsWith('0'), `text after overlapping deletes: ${JSON.stringify(a.text())}`);
	assert.ok(a.text().includes('Z'), `an insert concurrent with a delete around it survives: ${JSON.stringify(a.text())}`);
	assert.ok(!a.text().includes('1') && !a.text().includes('2'), `deleted characters are gone: ${JSON.stringify(a.text())}`);

	const c = await lateJoiner(srv, room, versionNorm(await a.version()));
	assert.equal(c.text(), a.text(), "the server's copy equals the clients'");
	for (const x of [a, b, c]) await x.close();
});

test('concurrent typing at different places converges, both texts kept', async () => {
	const room = await srv.createRoom();
	const [a, b] = await pair(room);
	a.edit((d) => d.insert(0, 'def solve():\n    return 0\n'));
	await converge([a, b]);
	const head = '# interviewer was here\n';
	const tail = 'print(solve())\n';
	for (let i = 0; i < head.length; i++) {
		a.edit((d) => d.insert(i, head[i]));
		b.edit((d) => d.insert(d.length, tail[i % tail.length]));
		if (i % 5 === 0) await tick();
	}
	await converge([a, b]);
	assert.ok(a.text().startsWith(head + 'def solve():'), `head typed at the start: ${JSON.stringify(a.text())}`);
	const expectedTail = Array.from({ length: head.length }, (_, i) => tail[i % tail.length]).join('');
	assert.ok(a.text().endsWith('return 0\n' + expectedTail), `tail typed at the end: ${JSON.stringify(a.text())}`);
	const c = await lateJoiner(srv, room, versionNorm(await a.version()));
	assert.equal(c.text(), a.text(), "the server's copy equals the clients'");
	for (const x of [a, b, c]) await x.close();
});

test('many random concurrent edits converge, and equal the server copy', async () => {
	const r = rng(SEED);
	const room = await srv.createRoom();
	const [a, b] = await pair(room);
	a.edit((d) => d.insert(0, 'the quick brown fox jumps over the lazy dog\n'));
	await converge([a, b]);
	let edits = 0;
	for (let round = 0; round < 200; round++) {
		for (const [c, lo, hi] of [
			[a, 0, round % 3 === 0 ? 1 : 0.6],
			[b, round % 3 === 0 ? 0 : 0.4, 1],
		]) {
			c.edit((d) => {
				for (let n = 1 + r.int(5); n > 0; n--, edits++) randomEdit(d, r, lo, hi);
			});
		}
		// Sometimes let each side receive the other's edits before going on,
		// so some edits are concurrent and some causally after.
		if (r() < 0.3) await tick();
		if (r() < 0.1) await Promise.all([a.acked(), b.acked()]);
	}
	const target = await converge([a, b], 30000);
	const c = await lateJoiner(srv, room, target);
	assert.equal(c.text(), a.text(), `server copy after ${edits} random edits (seed ${SEED})`);
	for (const x of [a, b, c]) await x.close();
});

test('acks are cumulative: a burst of edits is acknowledged by one merged ack', async () => {
	const room = await srv.createRoom();
	const [a, b] = await pair(room);
	// Ten keystrokes in one go: the server makes them durable together and
	// tells the sender once (they share its next write, or --ack-delay-ms
	// passes); an ack per update would be ten frames.
	for (let i = 0; i < 10; i++) a.edit((d) => d.insert(d.length, String(i)));
	await a.acked();
	await converge([a, b]);
	assert.equal(b.doc.text(), '0123456789');
	assert.ok(a.acks >= 1 && a.acks <= 3, `10 updates acknowledged by ${a.acks} ack(s), expected 1 to 3`);
	// An ack is never lost while the peer is silent: a lone edit is acked too.
	const before = a.acks;
	a.edit((d) => d.insert(0, '>'));
	await a.acked();
	assert.equal(a.acks, before + 1, 'a lone edit gets its own ack');
});

test('a join with a stale version gets exactly the ops it lacks', async () => {
	const room = await srv.createRoom();
	const [a, b] = await pair(room);
	a.edit((d) => d.insert(0, 'first line\n'));
	b.edit((d) => d.insert(0, '# header\n'));
	await converge([a, b]);

	// The third client syncs, then goes away with its copy.
	const c = await srv.join(room, 'observer');
	const stale = await c.version();
	const staleDoc = c.doc;
	const staleText = c.text();
	c.live = false;
	await c.close();

	// Meanwhile the room moves on.
	const r = rng(SEED + 1);
	for (let i = 0; i < 20; i++) {
		a.edit((d) => randomEdit(d, r));
		b.edit((d) => randomEdit(d, r));
	}
	const target = await converge([a, b]);

	const c2 = await srv.connect();
	const { catchup } = await c2.join(room.id, room.tokens.observer, stale, { doc: staleDoc });
	const info = updateOps(catchup);
	assert.equal(info.kind, 'U', 'a stale client is sent an update, not a whole snapshot');
	assert.deepEqual(
		updateRanges(info.ops),
		missingRanges(stale, target),
		`the catch-up holds exactly the missing ops (stale version ${JSON.stringify(stale)})`,
	);
	assert.notEqual(staleText, a.text());
	assert.deepEqual(versionNorm(await c2.version()), versionNorm(target), 'after the catch-up its version equals the others');
	assert.equal(c2.text(), a.text());
	assert.equal(c2.doc.pending(), 0);

	// An up-to-date join gets an update holding nothing.
	const d = await srv.connect();
	const upToDate = await d.join(room.id, room.tokens.observer, target);
	const none = updateOps(upToDate.catchup);
	if (none.kind === 'U') assert.equal(none.ops.length, 0, 'a client that lacks nothing is sent no ops');
	for (const x of [a, b, c2, d]) await x.close();
});

test('offline edits are merged after a reconnect, nothing typed is lost', async () => {
	const room = await srv.createRoom();
	const [a, b] = await pair(room);
	a.edit((d) => d.insert(0, 'shared start\n'));
	await converge([a, b]);
	const oldAgent = b.agent;
	const doc = b.doc;

	// The candidate's network goes away; it keeps typing.
	b.drop();
	const offline = 'typed while offline ✈\n';
	for (let i = 0; i < offline.length; i++) doc.insert(doc.length, offline[i]);
	doc.delete(0, 1);
	// The interviewer types too; the server has it, the candidate does not.
	a.edit((d) => d.insert(0, 'meanwhile online\n'));
	await a.acked();

	// Reconnect with the same seat, declaring everything it has (including
	// ops the server has never seen), then send what was never acked.
	const b2 = await srv.connect();
	await b2.join(room.id, room.tokens.candidate, await versionOf(doc), { doc });
	assert.notEqual(b2.agent, oldAgent, 'a reconnect gets a new agent id');
	b2.ownAgents.add(oldAgent);
	b2.ack = { ...b.ack };
	const sent = await b2.resendUnacked();
	assert.ok(sent, 'the reconnecting client had unacknowledged ops to send');
	assert.ok(
		updateOps(sent).ops.every((op) => op.agent === oldAgent),
		'the resent ops are those of the old agent',
	);
	// And types more as its new agent.
	b2.edit((d) => d.insert(d.length, 'back online\n'));
	const target = await converge([a, b2]);
	for (const s of ['meanwhile online\n', 'hared start\n', offline, 'back online\n'])
		assert.ok(a.text().includes(s), `${JSON.stringify(s)} survives: ${JSON.stringify(a.text())}`);
	const c = await lateJoiner(srv, room, target);
	assert.equal(c.text(), a.text(), "the server's copy has the offline edits");
	for (const x of [a, b2, c]) await x.close();
});

async function versionOf(doc) {
	return versionJson(await loadCrdt(), doc.version());
}

test('agent ids are never reused within a room, also after a restart of tandem', async () => {
	const room = await srv.createRoom();
	const [a, b] = await pair(room);
	a.edit((d) => d.insert(0, 'hello '));
	b.edit((d) => d.insert(d.length, 'there '));
	const before = await converge([a, b]);
	await srv.restart();
	const [a2, b2] = await pair(room);
	for (const c of [a2, b2])
		assert.ok(!(String(c.agent) in before), `agent ${c.agent} after the restart was already used: ${JSON.stringify(before)}`);
	assert.equal(a2.text(), 'hello there ', 'the document survived the restart');
	// Had an id been reused, these ops would clash with the old ones and vanish.
	a2.edit((d) => d.insert(d.length, 'world'));
	b2.edit((d) => d.insert(0, '> '));
	const target = await converge([a2, b2]);
	const late = await lateJoiner(srv, room, target);
	assert.equal(late.text(), '> hello there world');
	for (const x of [a2, b2, late]) await x.close();
});

test('offline edits are merged after a reconnect to a restarted tandem', async () => {
	const room = await srv.createRoom();
	const [a, b] = await pair(room);
	a.edit((d) => d.insert(0, 'before the restart\n'));
	await converge([a, b]);
	const oldAgent = b.agent;
	const doc = b.doc;
	b.drop();
	// Typed while the server was away; the server restarts meanwhile.
	doc.insert(doc.length, 'typed during the restart\n');
	await srv.restart();
	const a2 = await srv.join(room, 'interviewer');
	const b2 = await srv.connect();
	await b2.join(room.id, room.tokens.candidate, await versionOf(doc), { doc });
	b2.ownAgents.add(oldAgent);
	b2.ack = { ...b.ack };
	assert.ok(await b2.resendUnacked(), 'there were unacknowledged ops to resend');
	const target = await converge([a2, b2]);
	assert.deepEqual(
		b2.errors,
		[],
		`ops of the seat's agent from before the restart are accepted: ${JSON.stringify(b2.errors)}`,
	);
	const late = await lateJoiner(srv, room, target);
	assert.equal(late.text(), 'before the restart\ntyped during the restart\n');
	for (const x of [a2, b2, late]) await x.close();
});
