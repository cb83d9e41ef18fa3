// test-rooms.mjs - GET /api/rooms, the interviewer dashboard's list (issue
// 17): the admin key only, pages newest first through `next`, each room
// with its problem, state, created time and who is present (live for a
// room in memory, from Redis after a restart).  The database is shared
// with other test files running at the same time, so the checks look for
// this file's rooms among whatever else is there.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Tandem, requirements } from './harness.mjs';

await requirements();

let srv;
before(async () => {
	srv = await Tandem.start();
});
after(async () => {
	await srv?.stop();
});

const list = (query = '', { token = srv.adminKey } = {}) => srv.api('GET', `/api/rooms${query}`, { token });

// Walks pages of `limit` from the newest until every id in `want` was seen
// (or the list ends), checking each page's shape; returns {id: room}.
async function walk(want, limit, query = '') {
	const seen = {};
	let cursor = null;
	let lastCreated = null;
	for (let pages = 0; pages < 500; pages++) {
		const r = await list(`?limit=${limit}${query}${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`);
		assert.equal(r.status, 200, r.text);
		const { rooms, next } = r.json;
		assert.ok(Array.isArray(rooms) && rooms.length <= limit, `a page of at most ${limit}: ${r.text.slice(0, 200)}`);
		assert.ok(next === null || (typeof next === 'string' && rooms.length === limit), `next only after a full page: ${next}`);
		for (const room of rooms) {
			assert.ok(!(room.id in seen), `room ${room.id} on two pages`);
			if (lastCreated !== null)
				assert.ok(room.created <= lastCreated, `newest first: ${room.created} after ${lastCreated}`);
			lastCreated = room.created;
			seen[room.id] = room;
		}
		if (want.every((id) => id in seen) || next === null) return seen;
		cursor = next;
	}
	return seen;
}

test('the admin key only; bad paging is 400', async () => {
	assert.equal((await srv.api('GET', '/api/rooms')).status, 401, 'no Authorization');
	for (const token of ['wrong', srv.adminKey.slice(1)])
		assert.equal((await list('', { token })).status, 401, `token ${token}`);
	const room = await srv.createRoom();
	assert.equal((await list('', { token: room.tokens.interviewer })).status, 401, 'a room token is not the admin key');
	for (const q of ['?limit=0', '?limit=101', '?limit=x', '?limit=-1', '?state=done', '?after=abc', '?after=12',
		'?after=.abc', '?after=-5.abc', '?after=5.a%20b'])
		assert.equal((await list(q)).status, 400, q);
	assert.equal((await srv.api('DELETE', '/api/rooms', { token: srv.adminKey })).status, 405);
});

test('pages of rooms, newest first, each with problem, state, created time and presence', async () => {
	const t0 = Date.now();
	const made = [];
	for (let i = 0; i < 5; i++) made.push(await srv.createRoom({ problem: `list-${i}` }));
	const t1 = Date.now();
	const closed = made[1];
	assert.equal((await srv.api('POST', `/api/rooms/${closed.id}/close`, { token: closed.tokens.interviewer })).status, 200);
	const live = made[3];
	const c = await srv.join(live, 'interviewer');

	for (const limit of [2, 3, 100]) {
		const seen = await walk(made.map((r) => r.id), limit);
		for (const [i, r] of made.entries()) {
			const got = seen[r.id];
			assert.ok(got, `room ${i} listed (limit ${limit})`);
			assert.equal(got.problem, `list-${i}`);
			assert.equal(got.state, r === closed ? 'closed' : 'open', `room ${i} state`);
			assert.ok(got.created >= t0 - 1000 && got.created <= t1 + 1000, `room ${i} created ${got.created} in [${t0}, ${t1}]`);
			assert.ok(r === closed ? got.closed >= got.created : got.closed === null, `room ${i} closed ${got.closed}`);
			assert.ok(Array.isArray(got.presence), `room ${i} presence ${JSON.stringify(got.presence)}`);
		}
		// The newer of two rooms comes first.
		const order = Object.keys(seen);
		assert.ok(order.indexOf(made[4].id) < order.indexOf(made[0].id), 'newest first');
		const members = Object.fromEntries(seen[live.id].presence.map((m) => [m.seat, m]));
		assert.equal(members.interviewer.state, 'PRESENT', JSON.stringify(seen[live.id].presence));
		assert.equal(members.interviewer.name, 'Interviewer');
		assert.notEqual(members.candidate?.state, 'PRESENT');
	}

	// Filters.
	const onlyClosed = await walk([closed.id], 100, '&state=closed');
	assert.ok(closed.id in onlyClosed && Object.values(onlyClosed).every((r) => r.state === 'closed'));
	const onlyOpen = await walk([live.id], 100, '&state=open');
	assert.ok(live.id in onlyOpen && !(closed.id in onlyOpen) && Object.values(onlyOpen).every((r) => r.state === 'open'));

	// After a restart no room is in memory: presence comes from Redis.
	await c.close();
	await srv.restart();
	const again = await walk([live.id], 100);
	const after = Object.fromEntries(again[live.id].presence.map((m) => [m.seat, m]));
	assert.ok(['DISCONNECTED', 'LEFT'].includes(after.interviewer?.state), `from Redis after a restart: ${JSON.stringify(again[live.id].presence)}`);
	assert.equal(after.interviewer.name, 'Interviewer');
	assert.equal(again[live.id].problem, 'list-3');
});
