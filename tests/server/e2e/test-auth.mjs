// test-auth.mjs - who may create, read, close and join a room.  Bad
// tokens of every kind (garbage, another secret, an altered payload, an
// expired one, alg "none", another room's) are refused on the WebSocket
// (close 1008, no welcome) and on REST (401); closing a room revokes its
// tokens (their epoch is older than the room's then; a token of an older
// epoch is refused the same way).  Forged tokens are made here with the test's own secret, as an
// attacker who knew the format (but not the secret) would.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Tandem, jwtDecode, jwtSign, requirements } from './harness.mjs';

await requirements();

let srv;
before(async () => {
	srv = await Tandem.start();
});
after(async () => {
	await srv?.stop();
});

// Opens a socket, sends a join with token, and expects close 1008 with no
// welcome.
async function refusedJoin(roomId, token, what) {
	const c = await srv.connect();
	let welcomed = null;
	try {
		await c.join(roomId, token, {});
		welcomed = c.welcome;
	} catch {
		/* refused: checked below */
	}
	assert.equal(welcomed, null, `${what}: join must not be welcomed (got ${JSON.stringify(welcomed)})`);
	const { code, reason } = await c.closedWith(`${what}: the refused socket to close`);
	assert.equal(code, 1008, `${what}: closed with 1008 (got ${code} "${reason}")`);
}

async function refusedGet(roomId, token, what) {
	const r = await srv.api('GET', `/api/rooms/${roomId}`, { token });
	assert.equal(r.status, 401, `${what}: GET /api/rooms/:id answered ${r.status} ${r.text}`);
}

test('POST /api/rooms needs the admin key', async () => {
	for (const [token, what] of [
		[undefined, 'no Authorization'],
		['wrong-' + srv.adminKey, 'a wrong key'],
		[srv.adminKey.slice(0, -1), 'a prefix of the key'],
	]) {
		const r = await srv.api('POST', '/api/rooms', { token, body: {} });
		assert.equal(r.status, 401, `${what}: answered ${r.status} ${r.text}`);
	}
	const room = await srv.createRoom({ problem: 'e2e-sample' });
	const r = await srv.api('GET', `/api/rooms/${room.id}`, { token: room.tokens.candidate });
	assert.equal(r.status, 200, r.text);
	assert.equal(String(r.json.id), String(room.id));
	assert.equal(r.json.problem, 'e2e-sample', `the problem is stored with the room: ${r.text}`);
	assert.equal(r.json.closed, false, r.text);
	assert.ok('presence' in r.json, `GET shows presence: ${r.text}`);
	for (const seat of ['interviewer', 'candidate', 'observer']) {
		const { payload } = jwtDecode(room.tokens[seat]);
		assert.ok(JSON.stringify(payload).includes(seat), `the ${seat} token names its role: ${JSON.stringify(payload)}`);
		assert.doesNotThrow(() => new URL(room.links[seat]), `links.${seat} is a URL: ${room.links[seat]}`);
	}
});

test('POST /api/rooms: bad bodies are refused; names reach tokens, welcome and presence', async () => {
	const bad = await srv.api('POST', '/api/rooms', { token: srv.adminKey, body: '{"problem": ' });
	assert.equal(bad.status, 400, `malformed JSON body: ${bad.status} ${bad.text}`);
	const huge = await srv.api('POST', '/api/rooms', {
		token: srv.adminKey,
		body: JSON.stringify({ problem: 'p', pad: 'x'.repeat(70 * 1024) }),
	});
	assert.equal(huge.status, 413, `a 70 KiB body: ${huge.status} ${huge.text}`);
	const room = await srv.createRoom({ names: { candidate: 'Ada Lovelace' } });
	assert.equal(jwtDecode(room.tokens.candidate).payload.name, 'Ada Lovelace');
	const iv = await srv.join(room, 'interviewer');
	const c = await srv.join(room, 'candidate');
	assert.equal(c.welcome.name, 'Ada Lovelace', `welcome.name: ${JSON.stringify(c.welcome)}`);
	const m = await iv.msg('presence', (p) => JSON.stringify(p).includes('Ada Lovelace'));
	assert.ok(m, 'presence carries the display name');
	for (const x of [iv, c]) await x.close();
	// A room that does not exist: 404 with a token that names it.
	const { payload, header } = jwtDecode(room.tokens.interviewer);
	const ghost = jwtSign({ ...payload, room: 'no-such-room-e2e' }, srv.secret, header);
	const r = await srv.api('GET', '/api/rooms/no-such-room-e2e', { token: ghost });
	assert.equal(r.status, 404, `GET a room that does not exist: ${r.status} ${r.text}`);
});

test('a handshake without subprotocol tandem.v1, or on another path, is refused', async () => {
	for (const [protocol, path] of [
		[null, '/ws'],
		['tandem.v0', '/ws'],
		['tandem.v1', '/'],
		['tandem.v1', '/api/ws'],
	]) {
		let c = null;
		try {
			c = await srv.connect({ protocol, path });
		} catch (e) {
			assert.match(String(e.message), /handshake refused|Unexpected server response|subprotocol|socket hang up/i);
			continue;
		}
		// Accepted at the HTTP level: then it must be closed, never welcomed.
		c.send({ t: 'join', room: 'x', token: 'y', version: {} });
		await c.closedWith(`a socket with subprotocol ${protocol} on ${path} to be closed`);
		assert.equal(c.peek('welcome').length, 0, `a socket with subprotocol ${protocol} on ${path} is never welcomed`);
	}
});

test('invalid, forged, altered, expired and foreign tokens are refused (1008, 401)', async () => {
	const room = await srv.createRoom();
	const other = await srv.createRoom();
	const good = room.tokens.candidate;
	const { header, payload, signature } = jwtDecode(good);
	assert.ok(typeof payload.exp === 'number', `the token carries an expiry "exp": ${JSON.stringify(payload)}`);
	const [h64, p64] = good.split('.');
	const altered = { ...payload };
	const roleKey = Object.keys(payload).find((k) => payload[k] === 'candidate');
	assert.ok(roleKey, `the candidate token names its role: ${JSON.stringify(payload)}`);
	altered[roleKey] = 'interviewer';

	const cases = [
		['garbage', 'not-a-token'],
		['empty', ''],
		['signed with another secret', jwtSign(payload, srv.secret + '-other')],
		['payload altered (role), old signature', `${h64}.${Buffer.from(JSON.stringify(altered)).toString('base64url')}.${signature}`],
		['signature truncated', `${h64}.${p64}.${signature.slice(0, -2)}`],
		['expired', jwtSign({ ...payload, exp: Math.floor(Date.now() / 1000) - 60 }, srv.secret, header)],
		['alg none', `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p64}.`],
		["another room's token", other.tokens.candidate],
	];
	// Every case is tried; the failures are reported together.
	const problems = [];
	const check = async (fn) => {
		try {
			await fn();
		} catch (e) {
			problems.push(e.message.split('\n')[0]);
		}
	};
	for (const [what, token] of cases) {
		await check(() => refusedJoin(room.id, token, what));
		if (token) await check(() => refusedGet(room.id, token, what));
	}
	// A room that does not exist, with a correctly signed token naming it.
	const roomKey = Object.keys(payload).find((k) => String(payload[k]) === String(room.id));
	assert.ok(roomKey, `the token names its room: ${JSON.stringify(payload)}`);
	const ghost = jwtSign({ ...payload, [roomKey]: 'no-such-room-e2e' }, srv.secret, header);
	await check(() => refusedJoin('no-such-room-e2e', ghost, 'a correctly signed token of a room that does not exist'));
	assert.deepEqual(problems, [], `token cases that were not refused as documented:\n  ${problems.join('\n  ')}`);

	// And the genuine token still works after all that.
	const c = await srv.join(room, 'candidate');
	await c.close();
});

test('a first frame that is not a join closes with 1008', async () => {
	const room = await srv.createRoom();
	for (const [what, send] of [
		['an awareness message', (c) => c.send({ t: 'awareness', cursor: 1 })],
		['a binary frame', (c) => c.sendRaw(new Uint8Array([1, 0x55, 0, 0]), true)],
		['malformed JSON', (c) => c.sendRaw('{"t": "join", ', false)],
	]) {
		const c = await srv.connect();
		send(c);
		const { code, reason } = await c.closedWith(`close after ${what} as the first frame`);
		assert.equal(code, 1008, `${what} first: closed with ${code} ${reason}`);
	}
	// The room is untouched: a proper join still works.
	const ok = await srv.join(room, 'candidate');
	await ok.close();
});

test('closing a room needs the interviewer and revokes every token', async () => {
	const room = await srv.createRoom();
	for (const seat of ['candidate', 'observer']) {
		const r = await srv.api('POST', `/api/rooms/${room.id}/close`, { token: room.tokens[seat] });
		assert.ok(r.status === 401 || r.status === 403, `a ${seat} closing the room answered ${r.status} ${r.text}`);
	}
	const open = await srv.api('GET', `/api/rooms/${room.id}`, { token: room.tokens.interviewer });
	assert.equal(open.status, 200);
	assert.equal(open.json.closed, false, `still open after refused closes: ${open.text}`);

	const r = await srv.api('POST', `/api/rooms/${room.id}/close`, { token: room.tokens.interviewer });
	assert.equal(r.status, 200, `the interviewer closes the room: ${r.status} ${r.text}`);
	for (const seat of ['interviewer', 'candidate', 'observer'])
		await refusedJoin(room.id, room.tokens[seat], `the ${seat} token of a closed room`);
	await refusedGet(room.id, room.tokens.candidate, 'the candidate token of a closed room');
	// Staff may keep read access to a closed room (to replay it); if so, the
	// answer must say it is closed.
	for (const seat of ['interviewer', 'observer']) {
		const g = await srv.api('GET', `/api/rooms/${room.id}`, { token: room.tokens[seat] });
		assert.ok(
			g.status === 401 || (g.status === 200 && g.json?.closed === true),
			`GET a closed room with the ${seat} token: ${g.status} ${g.text}`,
		);
	}
	// Closing is idempotent: a retry of a close whose answer was lost succeeds.
	const again = await srv.api('POST', `/api/rooms/${room.id}/close`, { token: room.tokens.interviewer });
	assert.equal(again.status, 200, `closing a closed room again answered ${again.status} ${again.text}`);
	assert.equal(again.json?.closed, true, again.text);
	// Its tokens carry the epoch before the close: still refused to edit.
	const cand = await srv.api('POST', `/api/rooms/${room.id}/close`, { token: room.tokens.candidate });
	assert.equal(cand.status, 401, `a candidate closing a closed room answered ${cand.status}`);
});

test('a token of an older epoch than its room is refused everywhere a revoked token is', async () => {
	const room = await srv.createRoom();
	const tokens = {};
	for (const seat of ['interviewer', 'candidate', 'observer']) {
		const { header, payload } = jwtDecode(room.tokens[seat]);
		assert.equal(payload.ep, 0, `a new room's tokens carry epoch 0: ${JSON.stringify(payload)}`);
		tokens[seat] = jwtSign({ ...payload, ep: -1 }, srv.secret, header);
	}
	for (const seat of ['interviewer', 'candidate', 'observer'])
		await refusedJoin(room.id, tokens[seat], `the ${seat} token of an older epoch`);
	await refusedGet(room.id, tokens.candidate, 'the candidate token of an older epoch');
	const close = await srv.api('POST', `/api/rooms/${room.id}/close`, { token: tokens.interviewer });
	assert.equal(close.status, 401, `an interviewer token of an older epoch closing the room: ${close.status} ${close.text}`);
	// Staff keep read access, as to a closed room; the room itself is untouched.
	const g = await srv.api('GET', `/api/rooms/${room.id}`, { token: tokens.observer });
	assert.equal(g.status, 200, g.text);
	assert.equal(g.json.closed, false, g.text);
	const ok = await srv.join(room, 'candidate');
	await ok.close();
});
