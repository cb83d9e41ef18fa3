// test-heartbeat.mjs - a dead peer is noticed within 30 s (docs/protocol.md:
// pings after 10 s of silence, dropped after 25 s without an answer), a
// silent live peer is pinged and stays, and a peer that keeps talking is
// never pinged.
//
// The dead peer is simulated by a client that stops reading its socket:
// the TCP connection stays up, but no pong ever answers the server's
// pings, which is what a frozen laptop or a half-open NAT mapping looks
// like.  This file takes about 25 s by nature; it has one test.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Tandem, requirements } from './harness.mjs';

await requirements();

// The protocol's bound, and a margin for a loaded machine.
const DEAD_PEER_MS = 30000;
const MARGIN_MS = 10000;

let srv;
before(async () => {
	srv = await Tandem.start();
});
after(async () => {
	await srv?.stop();
});

test('a peer that stops answering pings is dropped and shown DISCONNECTED within 30 s', async () => {
	const room = await srv.createRoom();
	const iv = await srv.join(room, 'interviewer');
	const cand = await srv.join(room, 'candidate');
	const obs = await srv.join(room, 'observer');
	await iv.presenceIs('candidate', 'PRESENT');
	const pings = { iv: 0, obs: 0 };
	iv.ws.on('ping', () => pings.iv++);
	obs.ws.on('ping', () => pings.obs++);
	// The observer says something every 2 s: never 10 s of silence.
	const chatter = setInterval(() => obs.send({ t: 'awareness', cursor: pings.obs }), 2000);

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
