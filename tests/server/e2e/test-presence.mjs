// test-presence.mjs - presence as the room sees it: PRESENT on join,
// DISCONNECTED when a socket goes, LEFT after --left-after-ms (300 here),
// PRESENT again on return, COMPLETED when the room is closed while
// present; and, after tandem restarts, GET /api/rooms/:id shows what was
// stored in Redis.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Tandem, presenceMembers, requirements } from './harness.mjs';

await requirements();

const LEFT_AFTER_MS = 300;
let srv;
before(async () => {
	srv = await Tandem.start({ leftAfterMs: LEFT_AFTER_MS });
});
after(async () => {
	await srv?.stop();
});

// seat -> state from GET /api/rooms/:id.
async function restPresence(room, token) {
	const r = await srv.api('GET', `/api/rooms/${room.id}`, { token });
	assert.equal(r.status, 200, `GET /api/rooms/${room.id}: ${r.status} ${r.text}`);
	const out = {};
	for (const m of presenceMembers(r.json.presence)) out[m.seat] = m.state;
	return { states: out, json: r.json };
}

test('join, disconnect, left, return: everyone sees each transition', async () => {
	const room = await srv.createRoom();
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	for (const c of [iv, cand]) {
		await c.presenceIs('interviewer', 'PRESENT');
		await c.presenceIs('candidate', 'PRESENT');
	}
	const last = iv.peek('presence').pop();
	for (const m of presenceMembers(last))
		assert.equal(typeof m.name, 'string', `presence members carry a display name: ${JSON.stringify(last)}`);

	const t0 = Date.now();
	cand.drop();
	await iv.presenceIs('candidate', 'DISCONNECTED');
	assert.equal(iv.presence.interviewer, 'PRESENT');
	await iv.presenceIs('candidate', 'LEFT');
	const elapsed = Date.now() - t0;
	assert.ok(elapsed >= LEFT_AFTER_MS - 50, `LEFT came after ${elapsed} ms, not before --left-after-ms ${LEFT_AFTER_MS}`);
	assert.equal((await restPresence(room, room.tokens.interviewer)).states.candidate, 'LEFT', 'REST agrees: LEFT');

	const back = await srv.join(room, 'candidate');
	await iv.presenceIs('candidate', 'PRESENT');
	await back.presenceIs('interviewer', 'PRESENT');
	assert.equal((await restPresence(room, room.tokens.interviewer)).states.candidate, 'PRESENT', 'REST agrees: PRESENT');

	// A clean close is a disconnect too.
	await back.close();
	await iv.presenceIs('candidate', 'DISCONNECTED');
	await iv.close();
});

test('a room closed while its members are present marks them COMPLETED', async () => {
	const room = await srv.createRoom();
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	await iv.presenceIs('candidate', 'PRESENT');
	await cand.presenceIs('interviewer', 'PRESENT');

	const r = await srv.api('POST', `/api/rooms/${room.id}/close`, { token: room.tokens.interviewer });
	assert.equal(r.status, 200, r.text);
	for (const c of [iv, cand]) {
		await c.until(
			() => c.presence.interviewer === 'COMPLETED' && c.presence.candidate === 'COMPLETED',
			`${c.seat}: presence interviewer=COMPLETED and candidate=COMPLETED before the socket closes (now ${JSON.stringify(c.presence)})`,
			{ allowClose: false },
		);
		const { code, reason } = await c.closedWith(`${c.seat}'s socket to be closed with the room`);
		assert.equal(code, 4002, `${c.seat}: closed with ${code} ${reason} (server/proto.h PROTO_CLOSE_ROOM_CLOSED)`);
	}
});

test('after a restart, GET /api/rooms/:id shows the presence read back from Redis', async () => {
	const room = await srv.createRoom();
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	await iv.presenceIs('candidate', 'PRESENT');
	cand.drop();
	await iv.presenceIs('candidate', 'LEFT');
	// The interviewer stays connected through the shutdown.
	const before = await restPresence(room, room.tokens.interviewer);
	assert.deepEqual(before.states, { interviewer: 'PRESENT', candidate: 'LEFT' }, JSON.stringify(before.json));

	await srv.restart();
	const closed = await iv.closedWith('the shutdown to close the socket');

	const { states, json } = await restPresence(room, room.tokens.interviewer);
	assert.equal(states.candidate, 'LEFT', `the candidate's LEFT survives the restart: ${JSON.stringify(json)}`);
	assert.equal(json.closed, false);

	// And the room works again after the restart.
	const again = await srv.join(room, 'interviewer');
	await again.presenceIs('interviewer', 'PRESENT');
	assert.equal(again.presence.candidate, 'LEFT', `the new connection sees the stored LEFT: ${JSON.stringify(again.presence)}`);
	await again.close();
	// Checked last, so that the read-back above is tested either way.
	assert.ok(
		['DISCONNECTED', 'LEFT'].includes(states.interviewer),
		`after the restart the interviewer, whose socket the shutdown closed, is DISCONNECTED or LEFT, not ${states.interviewer}: ${JSON.stringify(json)}`,
	);
	assert.equal(closed.code, 1001, `a shutdown closes sockets with 1001 (got ${closed.code} ${closed.reason})`);
});
