// test-timeline.mjs - the replay endpoints: GET /api/rooms/:id/timeline and
// GET /api/rooms/:id/text?at=TIME.
//
// Two peers type, paste, lose focus and write notes; then the timeline must
// hold every event once, in order, paged consistently, with the right
// kinds and actors, and its edits must rebuild the document; the text at
// several moments (unix ms and RFC 3339) must equal a replay of the edits
// up to that moment; only the interviewer and observers may read it, also
// after the room closed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { SEED, Tandem, converge, loadCrdt, requirements, rng } from './harness.mjs';

await requirements();
console.log(`# TANDEM_SEED=${SEED}`);

let srv;
before(async () => {
	srv = await Tandem.start();
});
after(async () => {
	await srv?.stop();
});

const r = rng();

async function all(room, token, limit = 1000, on = srv) {
	const events = [];
	let afterSeq = 0;
	for (;;) {
		const res = await on.api('GET', `/api/rooms/${room.id}/timeline?after=${afterSeq}&limit=${limit}`, { token });
		assert.equal(res.status, 200, res.text);
		events.push(...res.json.events);
		if (res.json.next === null) return events;
		afterSeq = res.json.next;
	}
}

async function session() {
	const room = await srv.createRoom();
	const a = await srv.join(room, 'interviewer');
	const b = await srv.join(room, 'candidate');
	for (let i = 0; i < 120; i++) {
		const c = i % 3 ? b : a;
		c.edit((d) => {
			const len = d.length;
			if (len > 4 && r() < 0.25) d.delete(r.int(len - 1), 1);
			else d.insert(r.int(len + 1), String.fromCharCode(97 + r.int(26)));
		});
		if (i % 20 === 0) await delay(3); // so that the session spans several milliseconds
		if (i === 40) b.send({ t: 'event', kind: 'paste', size: 12 });
		if (i === 60) b.send({ t: 'event', kind: 'blur' });
		if (i === 80) a.send({ t: 'note', text: 'good start' });
	}
	await converge([a, b]);
	return { room, a, b };
}

test('the timeline: every event once, in order, pages agree, edits rebuild the document', async () => {
	const { room, a, b } = await session();
	const events = await all(room, room.tokens.interviewer);
	events.forEach((e, i) => assert.equal(e.seq, i + 1, `event ${i}: seq ${e.seq}`));
	for (let i = 1; i < events.length; i++) assert.ok(events[i].at >= events[i - 1].at, `times never go back at ${i}`);
	const kinds = new Set(events.map((e) => e.kind));
	for (const k of ['join', 'presence', 'edit', 'paste', 'blur', 'note'])
		assert.ok(kinds.has(k), `a ${k} event in ${[...kinds].join(', ')}`);
	const paste = events.find((e) => e.kind === 'paste');
	assert.equal(paste.actor, 'candidate');
	assert.equal(paste.payload.size, 12);
	assert.equal(events.find((e) => e.kind === 'note').payload.text, 'good start');
	for (const e of events.filter((x) => x.kind === 'edit')) {
		assert.ok(['interviewer', 'candidate'].includes(e.actor), `edit actor ${e.actor}`);
		assert.ok(Array.isArray(e.payload.v) && e.payload.v.length >= 1, `edit version entries ${JSON.stringify(e.payload)}`);
		assert.equal(typeof e.ops, 'string');
	}
	// Small pages give the same events.
	assert.deepEqual(await all(room, room.tokens.observer, 7), events, 'pages of 7 (observer) = one page');
	// ?kinds= keeps only those kinds; pages cover the same events (some may be
	// short or empty while next goes on).
	const want = ['note', 'paste', 'blur', 'join'];
	const picked = events.filter((e) => want.includes(e.kind));
	for (const limit of [7, 1000]) {
		const got = [];
		let after = 0;
		for (;;) {
			const res = await srv.api('GET', `/api/rooms/${room.id}/timeline?after=${after}&limit=${limit}&kinds=${want.join(',')}`, {
				token: room.tokens.interviewer,
			});
			assert.equal(res.status, 200, res.text);
			got.push(...res.json.events);
			if (res.json.next === null) break;
			after = res.json.next;
		}
		assert.deepEqual(got, picked, `kinds=${want} in pages of ${limit}`);
	}
	for (const bad of ['', 'Note', 'note,,paste', ',note', 'note,', 'note;drop', 'x'.repeat(200)])
		assert.equal(
			(await srv.api('GET', `/api/rooms/${room.id}/timeline?kinds=${encodeURIComponent(bad)}`, { token: room.tokens.interviewer })).status,
			400,
			`kinds=${bad}`,
		);
	assert.deepEqual(
		(await srv.api('GET', `/api/rooms/${room.id}/timeline?limit=1000&kinds=no.such.kind`, { token: room.tokens.interviewer })).json,
		{ events: [], next: null },
		'an unknown kind: nothing',
	);
	const crdt = await loadCrdt();
	const doc = new crdt.Doc(1);
	for (const e of events) if (e.kind === 'edit') doc.applyUpdate(new Uint8Array(Buffer.from(e.ops, 'base64')));
	assert.equal(doc.text(), a.text(), 'the edits rebuild the document');
	await a.close();
	await b.close();
});

test('text?at equals a replay of the edits up to that moment', async () => {
	const { room, a, b } = await session();
	const events = await all(room, room.tokens.interviewer);
	const edits = events.filter((e) => e.kind === 'edit');
	const crdt = await loadCrdt();
	const moments = [edits[0].at, edits[5].at, edits[Math.floor(edits.length / 2)].at, edits.at(-1).at, edits.at(-1).at + 60000];
	for (const at of moments) {
		const replay = new crdt.Doc(1);
		let last = null;
		for (const e of edits)
			if (e.at <= at) {
				replay.applyUpdate(new Uint8Array(Buffer.from(e.ops, 'base64')));
				last = e.seq;
			}
		const plus2 = new Date(at + 2 * 3600000).toISOString().replace('Z', '+02:00');
		const minus0530 = new Date(at - 5.5 * 3600000).toISOString().replace('Z', '-05:30');
		for (const form of [String(at), new Date(at).toISOString(), plus2, minus0530]) {
			const res = await srv.api('GET', `/api/rooms/${room.id}/text?at=${encodeURIComponent(form)}`, {
				token: room.tokens.interviewer,
			});
			assert.equal(res.status, 200, res.text);
			assert.equal(res.json.at, at, `at echoed for ${form}`);
			assert.equal(res.json.seq, last, `seq at ${form}`);
			assert.equal(res.json.text, replay.text(), `text at ${form}`);
		}
	}
	const early = await srv.api('GET', `/api/rooms/${room.id}/text?at=${edits[0].at - 1}`, { token: room.tokens.observer });
	assert.equal(early.status, 200, early.text);
	assert.deepEqual([early.json.seq, early.json.text], [null, ''], 'before the first edit: nothing');
	// Without at, or with at=now, it is the text now: the document the peers hold.
	for (const q of ['', '?at=now']) {
		const res = await srv.api('GET', `/api/rooms/${room.id}/text${q}`, { token: room.tokens.interviewer });
		assert.equal(res.status, 200, `text${q}: ${res.text}`);
		assert.equal(res.json.text, a.text(), `text${q} is the document now`);
		assert.equal(res.json.seq, edits.at(-1).seq, `text${q}: seq of the last edit`);
	}
	for (const bad of ['', 'yesterday', '2026-13-01T00:00:00Z', '12abc'])
		assert.equal(
			(await srv.api('GET', `/api/rooms/${room.id}/text?at=${encodeURIComponent(bad)}`, { token: room.tokens.interviewer })).status,
			400,
			`at=${bad}`,
		);
	await a.close();
	await b.close();
});

test('who may replay: interviewer and observer, not the candidate, also after the close', async () => {
	const { room, a, b } = await session();
	const path = `/api/rooms/${room.id}/timeline?limit=5`;
	assert.equal((await srv.api('GET', path, { token: room.tokens.candidate })).status, 403, 'candidate');
	assert.equal((await srv.api('GET', `/api/rooms/${room.id}/text?at=0`, { token: room.tokens.candidate })).status, 403);
	assert.equal((await srv.api('GET', path)).status, 401, 'no token');
	assert.equal((await srv.api('GET', `/api/rooms/${room.id}/timeline?limit=0`, { token: room.tokens.interviewer })).status, 400);
	assert.equal((await srv.api('GET', `/api/rooms/${room.id}/timeline?after=x`, { token: room.tokens.interviewer })).status, 400);
	const closed = await srv.api('POST', `/api/rooms/${room.id}/close`, { token: room.tokens.interviewer });
	assert.equal(closed.status, 200, closed.text);
	await a.closedWith('close after the room closed');
	await b.closedWith('close after the room closed');
	const events = await all(room, room.tokens.interviewer);
	assert.equal(events.at(-1).kind === 'close' || events.some((e) => e.kind === 'close'), true, 'a close event');
	assert.equal((await srv.api('GET', path, { token: room.tokens.observer })).status, 200, 'observer after close');
	const text = await srv.api('GET', `/api/rooms/${room.id}/text?at=${Date.now() + 1000}`, { token: room.tokens.interviewer });
	assert.equal(text.status, 200, text.text);
	assert.equal(text.json.text, a.text(), 'the final text after the close');
	assert.equal((await srv.api('GET', path, { token: room.tokens.candidate })).status, 401, 'candidate after close');
	// The admin key replays any room, as the interviewer does; a wrong key is no key.
	assert.deepEqual(await all(room, srv.adminKey), events, 'the admin key reads the same timeline');
	const adminText = await srv.api('GET', `/api/rooms/${room.id}/text`, { token: srv.adminKey });
	assert.equal(adminText.status, 200, adminText.text);
	assert.equal(adminText.json.text, a.text(), 'the admin key reads the text');
	assert.equal((await srv.api('GET', path, { token: srv.adminKey + 'x' })).status, 401, 'a wrong admin key');
	assert.equal((await srv.api('GET', `/api/rooms/${room.id}/text`, { token: srv.adminKey.slice(1) })).status, 401, 'a wrong admin key (text)');
	// And after a restart, read back from storage.
	await srv.restart();
	const again = await all(room, room.tokens.interviewer);
	assert.deepEqual(again, events, 'the same timeline after a restart');
	const text2 = await srv.api('GET', `/api/rooms/${room.id}/text?at=${Date.now()}`, { token: room.tokens.interviewer });
	assert.equal(text2.json.text, a.text(), 'the final text after a restart');
});

test('an empty room is freed once stored, and loads again with its document and timeline', async () => {
	// A tandem of its own, so the rooms gauge counts only this room.
	const own = await Tandem.start({ leftAfterMs: 300 });
	try {
		const room = await own.createRoom();
		let a = await own.join(room, 'interviewer');
		let b = await own.join(room, 'candidate');
		for (let i = 0; i < 30; i++) (i % 2 ? a : b).edit((d) => d.insert(d.length, String(i % 10)));
		const target = await converge([a, b]);
		const text = a.text();
		const before = await all(room, room.tokens.interviewer, 1000, own);
		await a.close();
		await b.close();
		// Freed after --left-after-ms plus 5 s once everything is stored: watch the gauge.
		for (let i = 0; ; i++) {
			const m = await fetch(`${own.base}/metrics`).then((res) => res.text());
			if (/^tandem_rooms 0$/m.test(m)) break;
			assert.ok(i < 400, `the room was not freed: ${m.match(/^tandem_rooms .*$/m)}`);
			await delay(50); // a bounded poll of a state the server reports
		}
		a = await own.join(room, 'interviewer');
		assert.equal(a.text(), text, 'the document after the reload');
		const v = await a.version();
		for (const [agent, n] of Object.entries(target)) assert.ok((v[agent] || 0) >= n, `agent ${agent} after the reload`);
		b = await own.join(room, 'candidate');
		b.edit((d) => d.insert(0, '>'));
		await converge([a, b]);
		const after = await all(room, room.tokens.interviewer, 1000, own);
		after.forEach((e, i) => assert.equal(e.seq, i + 1, `seq ${e.seq} at ${i}: numbering goes on`));
		assert.deepEqual(after.slice(0, before.length), before, 'the earlier events unchanged');
		await a.close();
		await b.close();
	} finally {
		await own.stop();
	}
});
