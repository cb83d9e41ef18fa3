// test-drills.mjs - failure drills: nothing acknowledged is ever lost.
//
// Two peers type while something breaks: tandem killed with SIGKILL, or
// stopped with SIGTERM, and started again; Redis stopped for a while
// (DRILL_REDIS_DOWN_MS, default 10 s); PostgreSQL restarted; a client that
// vanishes without closing.  After each drill both peers converge, a fresh
// observer's copy of the document holds every edit acknowledged before the
// failure, and the room's timeline (GET /api/rooms/:id/timeline, every
// page) holds seqs 1..N exactly once, in order, and its edit events alone
// rebuild the very document the peers converged on, as does text?at=now.  The Redis and
// PostgreSQL drills run against private instances (started here, on free
// ports, in temporary folders) so the shared services are never disturbed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import {
	REPO,
	SEED,
	TANDEM_BIN,
	Tandem,
	converge,
	freePort,
	loadCrdt,
	requirements,
	rng,
	skipFile,
	versionIncludes,
	versionJson,
	versionNorm,
	versionUnion,
	within,
} from './harness.mjs';

await requirements();
console.log(`# TANDEM_SEED=${SEED}`);

const MIGRATIONS = process.env.TANDEM_MIGRATIONS || path.join(REPO, 'migrations');
const REDIS_DOWN_MS = Number(process.env.DRILL_REDIS_DOWN_MS || 10000);
const cleanups = [];
after(async () => {
	for (const f of cleanups.reverse()) await f();
});

// ---- private services ----------------------------------------------------------

function which(cmd) {
	return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
}

// A redis-server with appendonly yes on a free port; stop() and start() keep its data.
async function privateRedis() {
	if (!which('redis-server')) skipFile('no redis-server');
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-drill-redis-'));
	const port = await freePort();
	const r = {
		port,
		url: `redis://127.0.0.1:${port}`,
		proc: null,
		async start() {
			const p = spawn(
				'redis-server',
				['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
				{ stdio: 'ignore' },
			);
			this.proc = p;
			this.exited = new Promise((res) => p.on('exit', res));
			for (let i = 0; ; i++) {
				const ok = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout;
				if (ok.startsWith('PONG')) return;
				if (i > 200) throw new Error('private redis-server did not answer');
				await delay(25); // readiness poll of a process we just started
			}
		},
		async stop() {
			if (!this.proc) return;
			this.proc.kill('SIGTERM');
			await within(this.exited, 10000, 'redis-server to stop');
			this.proc = null;
		},
	};
	await r.start();
	cleanups.push(async () => {
		await r.stop();
		fs.rmSync(dir, { recursive: true, force: true });
	});
	return r;
}

// A PostgreSQL cluster of its own (initdb), migrated; restart() is pg_ctl restart.
async function privatePg() {
	const bins = fs.existsSync('/usr/lib/postgresql')
		? fs.readdirSync('/usr/lib/postgresql').sort((a, b) => a - b)
		: [];
	if (!bins.length) skipFile('no PostgreSQL server binaries');
	const bin = `/usr/lib/postgresql/${bins[bins.length - 1]}/bin`;
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-drill-pg-'));
	const root = process.getuid() === 0;
	if (root) spawnSync('chown', ['postgres:postgres', dir]);
	const run = (cmd) => {
		const r = root
			? spawnSync('runuser', ['-u', 'postgres', '--', 'sh', '-c', cmd], { encoding: 'utf8' })
			: spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
		assert.equal(r.status, 0, `${cmd}: ${r.stdout}${r.stderr}`);
	};
	const port = await freePort();
	run(`${bin}/initdb -D ${dir}/data -A trust -U postgres -E UTF8 --no-locale --no-sync >${dir}/initdb.log 2>&1`);
	const opts = `-o '-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off'`;
	const pg = {
		conninfo: `host=127.0.0.1 port=${port} dbname=postgres user=postgres`,
		start: () => run(`${bin}/pg_ctl start -D ${dir}/data -l ${dir}/pg.log -s -w -t 60 ${opts}`),
		stop: () => run(`${bin}/pg_ctl stop -D ${dir}/data -m fast -s -w -t 60`),
	};
	pg.start();
	cleanups.push(async () => {
		try {
			pg.stop();
		} catch {
			/* already stopped */
		}
		fs.rmSync(dir, { recursive: true, force: true });
	});
	const m = spawnSync(TANDEM_BIN, ['migrate', '--pg', pg.conninfo, '--migrations', MIGRATIONS], {
		encoding: 'utf8',
	});
	assert.equal(m.status, 0, `migrate: ${m.stdout}${m.stderr}`);
	return pg;
}

// ---- typing, rejoining, checking -------------------------------------------------

const r = rng();

// n random single-character edits by c, yielding to the event loop between them.
async function type(c, n) {
	for (let i = 0; i < n; i++) {
		c.edit((d) => {
			const len = d.length;
			if (len > 5 && r() < 0.2) d.delete(r.int(len - 1), 1);
			else d.insert(r.int(len + 1), String.fromCharCode(97 + r.int(26)));
		});
		await delay(2); // a typist's pace, well under the server's ops/s limit
	}
}

// A new connection for old's seat that keeps old's document (and its
// unacknowledged ops) and sends what no ack covered.
async function rejoin(srv, room, seat, old) {
	const c = await srv.connect();
	await c.join(room.id, room.tokens[seat], await old.version(), { doc: old.doc });
	for (const a of old.ownAgents) c.ownAgents.add(a);
	c.ack = { ...old.ack };
	await c.resendUnacked();
	return c;
}

// Every event of the room's timeline, page by page.
async function timeline(srv, room) {
	const events = [];
	let after = 0;
	for (let pages = 0; ; pages++) {
		const res = await srv.api('GET', `/api/rooms/${room.id}/timeline?after=${after}&limit=500`, {
			token: room.tokens.interviewer,
		});
		assert.equal(res.status, 200, `timeline page after ${after}: ${res.text}`);
		events.push(...res.json.events);
		if (res.json.next === null) break;
		assert.ok(res.json.next > after, `next ${res.json.next} moves forward from ${after}`);
		after = res.json.next;
		assert.ok(pages < 1000, 'too many pages');
	}
	return events;
}

// Seqs 1..N, once each, in order; the edits rebuild the peers' converged
// text and cover every acked version.  The text is read here, from peers
// that must be at exactly the version `acked` (converge()'s result): a text
// read by the caller could be older than its version (an argument list
// evaluates a.text() before an awaited converge() in a later argument), and
// then looks like a CRDT that diverged by the last keystrokes in flight.
async function checkTimeline(srv, room, peers, acked) {
	const crdt = await loadCrdt();
	for (const p of peers)
		assert.deepEqual(versionNorm(await p.version()), versionNorm(acked), `${p.seat} is at the converged version`);
	const text = peers[0].text();
	const events = await timeline(srv, room);
	events.forEach((e, i) => assert.equal(e.seq, i + 1, `event ${i} has seq ${e.seq}: in order, exactly once`));
	const doc = new crdt.Doc(1);
	let edits = 0;
	for (const e of events)
		if (e.kind === 'edit') {
			doc.applyUpdate(new Uint8Array(Buffer.from(e.ops, 'base64')));
			edits++;
		}
	assert.ok(edits > 0, 'the timeline holds edits');
	assert.equal(doc.pending(), 0, 'the timeline\'s edits leave nothing pending');
	const v = versionJson(crdt, doc.version());
	assert.ok(versionIncludes(v, acked), `the timeline covers every acked op: ${JSON.stringify(v)} vs ${JSON.stringify(acked)}`);
	assert.equal(doc.text(), text, 'the timeline rebuilds the converged document');
	const now = await srv.api('GET', `/api/rooms/${room.id}/text?at=${Date.now()}`, { token: room.tokens.interviewer });
	assert.equal(now.status, 200, `text?at=now: ${now.text}`);
	assert.equal(now.json.text, text, 'text?at=now is the converged document');
	return events;
}

// A fresh observer's copy holds everything acked so far.
async function checkDurable(srv, room, acked, what) {
	const obs = await srv.join(room, 'observer');
	const v = await obs.version();
	assert.ok(versionIncludes(v, acked), `${what}: server copy ${JSON.stringify(v)} lacks acked ${JSON.stringify(acked)}`);
	await obs.close();
}

// ---- the drills ------------------------------------------------------------------

async function restartDrill(how) {
	const srv = await Tandem.start();
	cleanups.push(() => srv.proc && srv.stop());
	const room = await srv.createRoom();
	let a = await srv.join(room, 'interviewer');
	let b = await srv.join(room, 'candidate');
	await Promise.all([type(a, 60), type(b, 60)]);
	await converge([a, b]);
	// More typing, and the failure while some of it is in flight.
	a.edit((d) => d.insert(0, 'inflight-a '));
	b.edit((d) => d.insert(d.length, ' inflight-b'));
	const acked = versionUnion(a.ack, b.ack);
	if (how === 'SIGKILL') {
		srv.proc.kill('SIGKILL');
		await within(srv.exited, 10000, 'tandem to die');
		srv.proc = null;
		await srv._spawn();
	} else {
		await srv.restart();
	}
	await checkDurable(srv, room, acked, `after ${how}`);
	a = await rejoin(srv, room, 'interviewer', a);
	b = await rejoin(srv, room, 'candidate', b);
	await Promise.all([type(a, 30), type(b, 30)]);
	const target = await converge([a, b]);
	await checkTimeline(srv, room, [a, b], target);
	await a.close();
	await b.close();
	await srv.stop();
}

test('tandem killed with SIGKILL mid-session: acked edits survive, timeline exact', () => restartDrill('SIGKILL'));

test('tandem stopped with SIGTERM mid-session: acked edits survive, timeline exact', () => restartDrill('SIGTERM'));

test(`Redis stopped for ${REDIS_DOWN_MS} ms mid-session: editing goes on, acks keep coming, nothing lost`, async () => {
	const redis = await privateRedis();
	const srv = await Tandem.start({ args: ['--redis', redis.url] });
	cleanups.push(() => srv.proc && srv.stop());
	const room = await srv.createRoom();
	const a = await srv.join(room, 'interviewer');
	const b = await srv.join(room, 'candidate');
	await Promise.all([type(a, 40), type(b, 40)]);
	await converge([a, b]);
	await redis.stop();
	const downUntil = Date.now() + REDIS_DOWN_MS;
	// Typing throughout the outage; acks come through PostgreSQL.
	while (Date.now() < downUntil) {
		await Promise.all([type(a, 20), type(b, 20)]);
		await converge([a, b]);
	}
	await redis.start();
	// tandem reconnects with backoff: go on once /readyz says Redis is up
	// again (a bounded poll of a state, as the harness's start-up check).
	for (let i = 0; ; i++) {
		await Promise.all([type(a, 5), type(b, 5)]);
		const res = await fetch(`${srv.base}/readyz`);
		if (/redis up/.test(await res.text())) break;
		assert.ok(i < 300, 'tandem did not see Redis again');
	}
	await Promise.all([type(a, 40), type(b, 40)]);
	const target = await converge([a, b]);
	await checkDurable(srv, room, target, 'after the Redis outage');
	await checkTimeline(srv, room, [a, b], target);
	// And it all survives a restart on top (the stream and PostgreSQL agree).
	await srv.restart();
	await checkDurable(srv, room, target, 'after the Redis outage and a restart');
	await checkTimeline(srv, room, [a, b], target);
	await a.close();
	await b.close();
	await srv.stop();
});

test('PostgreSQL restarted mid-session: flushing catches up, nothing lost', async () => {
	const pg = await privatePg();
	const srv = await Tandem.start({ args: ['--pg', pg.conninfo] });
	cleanups.push(() => srv.proc && srv.stop());
	const room = await srv.createRoom();
	const a = await srv.join(room, 'interviewer');
	const b = await srv.join(room, 'candidate');
	await Promise.all([type(a, 40), type(b, 40)]);
	await converge([a, b]);
	pg.stop();
	await Promise.all([type(a, 40), type(b, 40)]);
	await converge([a, b]); // acks through the stream while PostgreSQL is away
	pg.start();
	await Promise.all([type(a, 40), type(b, 40)]);
	const target = await converge([a, b]);
	await checkTimeline(srv, room, [a, b], target);
	await srv.restart();
	await checkDurable(srv, room, target, 'after the PostgreSQL restart and a tandem restart');
	await checkTimeline(srv, room, [a, b], target);
	await a.close();
	await b.close();
	await srv.stop();
});

test('a client that vanishes without closing: its acked edits stay, peers converge', async () => {
	const srv = await Tandem.start();
	cleanups.push(() => srv.proc && srv.stop());
	const room = await srv.createRoom();
	let a = await srv.join(room, 'interviewer');
	const b = await srv.join(room, 'candidate');
	await Promise.all([type(a, 40), type(b, 40)]);
	await converge([a, b]);
	a.edit((d) => d.insert(0, 'last words '));
	await a.acked();
	const acked = { ...a.ack };
	a.drop();
	await b.presenceIs('interviewer', 'DISCONNECTED', 40000);
	await b.reach(acked);
	await type(b, 20);
	a = await rejoin(srv, room, 'interviewer', a);
	await type(a, 20);
	const target = await converge([a, b]);
	await checkTimeline(srv, room, [a, b], target);
	await a.close();
	await b.close();
	await srv.stop();
});

// The drill of issue 14: the candidate's last characters reached the
// interviewer but not the server's timeline (the server forwarded them and
// died before recording them), and the interviewer typed after them while
// the server was down.  After both reconnect and resend, the interviewer's
// characters wait on the server for the candidate's; when those arrive the
// server must forward the released edit to the candidate, acknowledge it to
// the interviewer, and record it so that text?at=now is the document.
test('tandem killed with SIGKILL while an edit depends on ops it never recorded: both converge, all acked', async () => {
	const srv = await Tandem.start();
	cleanups.push(() => srv.proc && srv.stop());
	const room = await srv.createRoom();
	let a = await srv.join(room, 'interviewer');
	let b = await srv.join(room, 'candidate');
	a.edit((d) => d.insert(0, 'hello '));
	await converge([a, b]);
	// X: typed by the candidate, seen by the interviewer, never recorded.
	const before = b.doc.version();
	b.doc.insert(b.doc.length, 'abc');
	a.doc.applyUpdate(b.doc.encodeSince(before));
	srv.proc.kill('SIGKILL');
	await within(srv.exited, 10000, 'tandem to die');
	srv.proc = null;
	// Y: typed by the interviewer after X while the server is down.
	a.doc.insert(a.doc.length, 'XYZ');
	await srv._spawn();
	a = await rejoin(srv, room, 'interviewer', a); // Y waits on the server for X
	b = await rejoin(srv, room, 'candidate', b); // X arrives: Y is released
	const target = await converge([a, b]);
	assert.equal(b.text(), 'hello abcXYZ', 'the candidate has the interviewer\'s characters');
	await checkDurable(srv, room, target, 'after the release');
	await checkTimeline(srv, room, [a, b], target);
	// Later edits of the interviewer do not wait on the candidate's side.
	await Promise.all([type(a, 10), type(b, 10)]);
	await checkTimeline(srv, room, [a, b], await converge([a, b]));
	await a.close();
	await b.close();
	await srv.stop();
});

// Issue 14, defect 1: a close is closed only once PostgreSQL has it.  With
// PostgreSQL unreachable the close answers 503 (promptly, not a dropped
// connection), the room stays open, and a retry once it is back closes it
// for good (it stays closed across a restart); closing again answers 200.
test('closing a room while PostgreSQL is unreachable: 503, still open; a retry closes it durably', async () => {
	const pg = await privatePg();
	const srv = await Tandem.start({ args: ['--pg', pg.conninfo] });
	cleanups.push(() => srv.proc && srv.stop());
	const room = await srv.createRoom();
	const a = await srv.join(room, 'interviewer');
	const close = () => srv.api('POST', `/api/rooms/${room.id}/close`, { token: room.tokens.interviewer });
	pg.stop();
	const down = await close();
	assert.equal(down.status, 503, `close with PostgreSQL down: ${down.status} ${down.text}`);
	const open = await srv.api('GET', `/api/rooms/${room.id}`, { token: room.tokens.interviewer });
	assert.equal(open.status, 200, open.text);
	assert.equal(open.json.closed, false, `a close PostgreSQL never confirmed left the room open: ${open.text}`);
	assert.equal(a.closeInfo, null, 'the interviewer is still connected');
	pg.start();
	// The client retries, as the 503 asks, until PostgreSQL is back.
	let res = await close();
	for (let i = 0; res.status === 503; i++) {
		assert.ok(i < 20, `close still 503 after PostgreSQL came back: ${res.text}`);
		res = await close();
	}
	assert.equal(res.status, 200, `the retried close: ${res.status} ${res.text}`);
	assert.equal((await a.closedWith('the room closed')).code, 4002);
	assert.equal((await close()).status, 200, 'closing a closed room again is answered 200');
	await srv.restart();
	const after = await srv.api('GET', `/api/rooms/${room.id}`, { token: room.tokens.interviewer });
	assert.equal(after.status, 200, after.text);
	assert.equal(after.json.closed, true, `still closed after a restart: ${after.text}`);
	const c = await srv.connect();
	await assert.rejects(c.join(room.id, room.tokens.candidate, {}), 'a closed room refuses joins after a restart');
	await srv.stop();
});

// Issue 16, defect 4: the admin's problem routes wait on PostgreSQL under the
// same deadline as the other REST calls: with PostgreSQL unreachable each is
// answered 503 promptly (it hung until the client gave up), and once it is
// back they answer again.
test('the admin problem routes while PostgreSQL is unreachable: 503 within the deadline', async () => {
	const pg = await privatePg();
	const srv = await Tandem.start({ args: ['--pg', pg.conninfo] });
	cleanups.push(() => srv.proc && srv.stop());
	const token = srv.adminKey;
	const up = await srv.api('GET', '/api/problems', { token });
	assert.equal(up.status, 200, `list with PostgreSQL up: ${up.text}`);
	pg.stop();
	const calls = [
		['GET', '/api/problems'],
		['GET', '/api/problems/pair-sum'],
		['DELETE', '/api/problems/pair-sum'],
		['PUT', '/api/problems/tiny', { id: 'tiny' }],
		['PUT', '/api/problems/add', {
			title: 'Add',
			difficulty: 'easy',
			statement: 'Add two numbers.',
			signature: { kind: 'function', entry: 'add' },
			starter: 'def add(a, b):\n    ...\n',
			tests: { sample: [{ args: [1, 2], expected: 3 }], hidden: [{ args: [2, 2], expected: 4 }] },
		}],
	];
	for (const [method, p, body] of calls) {
		const t0 = Date.now();
		const res = await srv.api(method, p, { token, body });
		const ms = Date.now() - t0;
		// A PUT of an invalid problem is refused (400) before PostgreSQL is asked.
		if (body && !body.title) {
			assert.equal(res.status, 400, `${method} ${p}: ${res.status} ${res.text}`);
			continue;
		}
		assert.equal(res.status, 503, `${method} ${p} with PostgreSQL down: ${res.status} ${res.text}`);
		assert.ok(ms < 8000, `${method} ${p} answered after ${ms} ms`);
	}
	pg.start();
	let res = await srv.api('GET', '/api/problems', { token });
	for (let i = 0; res.status === 503; i++) {
		assert.ok(i < 20, `list still 503 after PostgreSQL came back: ${res.text}`);
		res = await srv.api('GET', '/api/problems', { token });
	}
	assert.equal(res.status, 200, `list once PostgreSQL is back: ${res.text}`);
	await srv.stop();
});
