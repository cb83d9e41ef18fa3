// rest.mjs - the scrub end to end: GET /api/rooms/:id/text?at= on a room
// whose session has EVENTS edit events (default 50,000), after a restart of
// tandem (so the room, its index and its document are loaded back from
// PostgreSQL first).
//
// Uses the e2e harness (tests/server/e2e/harness.mjs): a real tandem on a
// free port against scripts/services' Redis and PostgreSQL, two real
// clients with the wasm CRDT typing the session (tandem started with a
// high --ops-per-s so the session is typed in seconds).  Prints one line of
// JSON: the first request after the restart (which loads the room), then
// p50/p99/max of PROBES requests at random moments, each answer checked
// against the clients' replay for a few of them.
//
// Usage: TANDEM_BUILD=<build> node rest.mjs [EVENTS] [PROBES]
import assert from 'node:assert/strict';

import { Tandem, converge, loadCrdt, requirements, rng } from '../../../tests/server/e2e/harness.mjs';

await requirements();

const EVENTS = Number(process.argv[2] || 50000);
const PROBES = Number(process.argv[3] || 200);
const r = rng(12345);

const srv = await Tandem.start({ args: ['--ops-per-s', '1000000', '--max-doc', String(64 << 20)] });
try {
	const room = await srv.createRoom();
	const a = await srv.join(room, 'interviewer');
	const b = await srv.join(room, 'candidate');
	const words = ['x', 'if ', 'for', '(i)', '\n    ', 'return', ' = ', 'ab'];
	const cursor = [0, 0];
	for (let i = 0; i < EVENTS; i++) {
		const k = r() < 0.62 ? 1 : 0;
		const c = k ? b : a;
		c.edit((d) => {
			const len = d.length;
			if (r() < 0.02 || cursor[k] > len) cursor[k] = r.int(len + 1);
			if (len > 8 && r() < 0.2 && cursor[k] > 3) {
				const n = 1 + r.int(3);
				d.delete(cursor[k] - n, n);
				cursor[k] -= n;
			} else {
				const w = words[r.int(words.length)];
				d.insert(cursor[k], w);
				cursor[k] += w.length;
			}
		});
		if (i % 200 === 199) await converge([a, b], 60000);
	}
	await converge([a, b], 60000);
	const text = a.text();
	await a.close();
	await b.close();
	await srv.restart();

	const token = room.tokens.interviewer;
	let t0 = performance.now();
	const first = await srv.api('GET', `/api/rooms/${room.id}/text?at=${Date.now()}`, { token });
	const firstMs = performance.now() - t0;
	assert.equal(first.status, 200, first.text);
	assert.equal(first.json.text, text, 'the final text after the reload');

	// Every event's time, for random moments and a replay of a few of them.
	const events = [];
	for (let after = 0; ; ) {
		const res = await srv.api('GET', `/api/rooms/${room.id}/timeline?after=${after}&limit=1000`, { token });
		events.push(...res.json.events.filter((e) => e.kind === 'edit'));
		if (res.json.next === null) break;
		after = res.json.next;
	}
	assert.equal(events.length, EVENTS, 'every edit is in the timeline');
	const lo = events[0].at;
	const hi = events.at(-1).at;
	const crdt = await loadCrdt();
	const times = [];
	let checked = 0;
	for (let p = 0; p < PROBES; p++) {
		const at = lo + Math.floor(r() * (hi - lo + 1));
		t0 = performance.now();
		const res = await srv.api('GET', `/api/rooms/${room.id}/text?at=${at}`, { token });
		times.push(performance.now() - t0);
		assert.equal(res.status, 200, res.text);
		if (p % Math.max(1, Math.floor(PROBES / 10)) === 0) {
			const doc = new crdt.Doc(1);
			for (const e of events) if (e.at <= at) doc.applyUpdate(new Uint8Array(Buffer.from(e.ops, 'base64')));
			assert.equal(res.json.text, doc.text(), `text at ${at}`);
			checked++;
		}
	}
	times.sort((x, y) => x - y);
	const q = (f) => times[Math.min(times.length - 1, Math.floor(times.length * f))];
	console.log(
		JSON.stringify({
			events: EVENTS,
			probes: PROBES,
			checked,
			text_bytes: Buffer.byteLength(text),
			first_after_restart_ms: +firstMs.toFixed(1),
			rest_ms: { p50: +q(0.5).toFixed(2), p99: +q(0.99).toFixed(2), max: +times.at(-1).toFixed(2) },
		}),
	);
} finally {
	await srv.stop();
}
