// test-seats.mjs - seats and roles: a second tab of a seat replaces the
// first, notes stay among interviewer and observers, observers cannot
// edit, awareness and events are relayed.
//
// "Never delivered" is checked with a barrier, not a wait: after the
// message under test the sender sends an awareness update, which the
// server relays in order on the same connection; once the receiver has the
// awareness, anything sent before it would already be in its inbox.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Tandem, converge, lateJoiner, requirements } from './harness.mjs';

await requirements();

let srv;
before(async () => {
	srv = await Tandem.start();
});
// SIGINT (Ctrl-C) must be as clean as SIGTERM, which the other files use.
after(async () => {
	await srv?.stop('SIGINT');
});

let barrierN = 0;
// from sends an awareness update; resolves when every receiver has it.
async function barrier(from, ...receivers) {
	const mark = `barrier-${++barrierN}`;
	from.send({ t: 'awareness', name: mark, cursor: 0 });
	const has = (m) => JSON.stringify(m).includes(mark);
	await Promise.all(receivers.map((r) => r.msg('awareness', has)));
}

test('a second tab of a seat replaces the first (4008), with its own agent id', async () => {
	const room = await srv.createRoom();
	const a = await srv.join(room, 'interviewer');
	const tab1 = await srv.join(room, 'candidate');
	tab1.edit((d) => d.insert(0, 'from tab one\n'));
	await converge([a, tab1]);

	const tab2 = await srv.connect();
	await tab2.join(room.id, room.tokens.candidate, {});
	assert.equal(tab2.seat, 'candidate');
	assert.notEqual(tab2.agent, tab1.agent, 'two tabs of one seat never share an agent id');
	const closed = await tab1.closedWith('the first tab to be closed');
	assert.equal(closed.code, 4008, `the replaced tab is closed with 4008 (got ${closed.code} ${closed.reason})`);

	// The new tab works: its edits reach the interviewer.
	tab2.edit((d) => d.insert(d.length, 'from tab two\n'));
	await converge([a, tab2]);
	assert.equal(a.text(), 'from tab one\nfrom tab two\n');

	// Replacing does not touch the other seat.
	assert.equal(a.closeInfo, null, 'the interviewer stays connected');
	for (const x of [a, tab2]) await x.close();
});

test("a candidate's note is refused and reaches nobody; staff notes never reach the candidate", async () => {
	const room = await srv.createRoom();
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	const obs = await srv.join(room, 'observer');

	const id = cand.send({ t: 'note', text: 'candidate writing a note' });
	const err = await cand.error('forbidden');
	assert.equal(err.id, id, `the error echoes the note's id: ${JSON.stringify(err)}`);
	await barrier(cand, iv, obs);
	assert.deepEqual(iv.peek('note'), [], "the candidate's note did not reach the interviewer");
	assert.deepEqual(obs.peek('note'), [], "the candidate's note did not reach the observer");

	const noteId = iv.send({ t: 'note', text: 'strong on invariants' });
	const got = await obs.msg('note');
	assert.ok(JSON.stringify(got).includes('strong on invariants'), `the observer gets the note: ${JSON.stringify(got)}`);
	// docs/protocol.md: from is {seat, agent, name}; at is the server's time; the sender gets it back with its id.
	assert.deepEqual(got.from, { seat: 'interviewer', agent: iv.agent, name: iv.welcome.name }, JSON.stringify(got));
	assert.ok(Number.isInteger(got.at), JSON.stringify(got));
	const echo = await iv.msg('note', (m) => m.text === 'strong on invariants');
	assert.equal(echo.id, noteId, `the sender's copy echoes its id: ${JSON.stringify(echo)}`);
	obs.send({ t: 'note', text: 'agreed, from the observer' });
	const got2 = await iv.msg('note', (m) => JSON.stringify(m).includes('agreed, from the observer'));
	assert.ok(got2);
	await barrier(iv, cand);
	await barrier(obs, cand);
	assert.deepEqual(cand.peek('note'), [], 'a candidate never receives a note');
	assert.deepEqual(
		cand.errors.filter((e) => e.code !== 'forbidden'),
		[],
		'no other error reached the candidate',
	);
	for (const x of [iv, cand, obs]) await x.close();
});

test('a second observer does not replace the first: both stay, presence counts them', async () => {
	const room = await srv.createRoom();
	const iv = await srv.join(room, 'interviewer');
	const o1 = await srv.join(room, 'observer');
	const o2 = await srv.join(room, 'observer');
	assert.notEqual(o1.agent, o2.agent);
	await iv.msg('presence', (m) => m.observers === 2);
	iv.edit((d) => d.insert(0, 'seen by both\n'));
	await Promise.all([o1.reach(await iv.version()), o2.reach(await iv.version())]);
	assert.equal(o1.closeInfo, null, 'the first observer stays connected');
	for (const x of [iv, o1, o2]) await x.close();
});

test("an observer's edit is refused and applied nowhere", async () => {
	const room = await srv.createRoom();
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	iv.edit((d) => d.insert(0, 'def f():\n    pass\n'));
	await converge([iv, cand]);
	const before = iv.text();
	const frames = cand.updates.length;

	const obs = await srv.join(room, 'observer');
	obs.edit((d) => d.insert(0, 'OBSERVER WAS HERE\n'));
	await obs.error('forbidden');
	await barrier(obs, iv, cand);
	assert.equal(cand.updates.length, frames, "no binary frame reached the candidate after the observer's edit");
	assert.equal(iv.text(), before);
	assert.equal(cand.text(), before);

	// An observer may not run either.
	const runId = obs.send({ t: 'run' });
	const err = await obs.error('forbidden');
	assert.equal(err.id, runId);

	// The server's copy never had it.
	const late = await lateJoiner(srv, room, await iv.version(), 'observer');
	assert.equal(late.text(), before, "the server's copy has no observer text");
	assert.equal(obs.closeInfo, null, 'a refused edit does not cost the observer its connection');
	for (const x of [iv, cand, obs, late]) await x.close();
});

test('awareness is relayed to the others; paste and focus events reach the interviewer', async () => {
	const room = await srv.createRoom();
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	const obs = await srv.join(room, 'observer');

	cand.send({ t: 'awareness', cursor: 3, selection: [1, 3], name: 'Cand', colour: '#0a0' });
	for (const r of [iv, obs]) {
		const m = await r.msg('awareness', (x) => x.cursor === 3 || JSON.stringify(x).includes('"cursor":3'));
		assert.ok(JSON.stringify(m).includes('#0a0'), `awareness carries the colour: ${JSON.stringify(m)}`);
	}

	cand.send({ t: 'event', kind: 'paste', size: 1234 });
	cand.send({ t: 'event', kind: 'blur' });
	cand.send({ t: 'event', kind: 'focus' });
	const paste = await iv.msg('event', (m) => m.kind === 'paste');
	assert.equal(paste.size, 1234, `paste event carries its size: ${JSON.stringify(paste)}`);
	await iv.msg('event', (m) => m.kind === 'blur');
	await iv.msg('event', (m) => m.kind === 'focus');
	await barrier(cand, iv);
	assert.deepEqual(
		cand.errors,
		[],
		`events and awareness from the candidate are accepted: ${JSON.stringify(cand.errors)}`,
	);
	// Awareness is relayed, not stored: a newcomer gets none of the old ones.
	const late = await srv.join(room, 'observer');
	await barrier(iv, late);
	assert.deepEqual(
		late.peek('awareness').filter((m) => JSON.stringify(m).includes('#0a0')),
		[],
		'a late joiner is not sent earlier awareness',
	);
	assert.deepEqual(late.peek('event'), [], 'nor earlier events');
	for (const x of [iv, cand, obs, late]) await x.close();
});
