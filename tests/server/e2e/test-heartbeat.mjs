// test-heartbeat.mjs - a dead peer is noticed within 3 x --heartbeat-ms
// (docs/protocol.md: pings after --heartbeat-ms of silence, dropped after
// 2.5 times that without an answer), a silent live peer is pinged and
// stays, and a peer that keeps talking is never pinged.  The server runs
// with --heartbeat-ms 2000 (the default is 10 s), which also shows the
// flag is obeyed.
//
// The dead peer is simulated by a client that stops reading its socket:
// the TCP connection stays up, but no pong ever answers the server's
// pings, which is what a frozen laptop or a half-open NAT mapping looks
// like.  This file takes about 5 s by nature; it has one test.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Tandem, requirements } from './harness.mjs';

await requirements();

// The protocol's bound, and a margin for a loaded machine.
const HEARTBEAT_MS = 2000;
const DEAD_PEER_MS = 3 * HEARTBEAT_MS;
const MARGIN_MS = 4000;

let srv;
before(async () => {
	srv = await Tandem.start({ args: ['--heartbeat-ms', String(HEARTBEAT_MS)] });
});
after(async () => {
	await srv?.stop();
});

test('a peer that stops answering pings is dropped and shown DISCONNECTED within 3 x --heartbeat-ms', async () => {
	const room = await srv.createRoom();
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	const obs = await srv.join(room, 'observer');
	await iv.presenceIs('candidate', 'PRESENT');
	const pings = { iv: 0, obs: 0 };
	iv.ws.on('ping', () => pings.iv++);
	obs.ws.on('ping', () => pings.obs++);
	// The observer says something every heartbeat / 4: never a heartbeat of silence.
	const chatter = setInterval(() => obs.send({ t: 'awareness', cursor: pings.obs }), HEARTBEAT_MS / 4);

	const t0 = Date.now();
	cand.ws._socket.pause();
	try {
		await iv.presenceIs('candidate', 'DISCONNECTED', DEAD_PEER_MS + MARGIN_MS);
	} finally {
		clearInterval(chatter);
	}
	const took = Date.now() - t0;
	console.log(`# dead peer noticed after ${took} ms; pings: silent peer ${pings.iv}, talking peer ${pings.obs}`);
	assert.ok(took <= DEAD_PEER_MS + MARGIN_MS, `noticed after ${took} ms`);
	// The silent live peer answered its pings and is still there.
	assert.ok(pings.iv >= 1, 'the silent interviewer was pinged');
	assert.equal(iv.closeInfo, null, 'the interviewer stays connected');
	assert.equal(iv.presence.interviewer, 'PRESENT');
	assert.equal(pings.obs, 0, 'a peer that keeps talking is not pinged');
	assert.equal(obs.closeInfo, null, 'the observer stays connected');
	cand.ws.terminate();
	await obs.close();
	await iv.close();
});
