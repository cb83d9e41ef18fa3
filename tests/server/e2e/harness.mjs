// harness.mjs - what every end-to-end test file of the tandem server shares.
//
// Each test file starts its own `tandem serve` on a free port (after
// `tandem migrate`), talks to it only through its public interface (REST
// and the tandem.v1 WebSocket protocol, see README.md beside this file) and
// stops it with SIGTERM at the end, checking it exits 0 and printed no
// sanitizer report.  CRDT traffic is made and checked with the real wasm
// build of crdt/ (crdt/wasm/crdt.mjs + tandem-crdt.wasm), never a mock.
//
// Nothing here waits a fixed time for something to happen: every wait is
// for a specific message, close or process exit, bounded by a timeout that
// turns into a failure naming what did not arrive.  The one poll is the
// readiness check of a freshly started tandem (connect until the port
// answers), bounded likewise and aborted as soon as the process dies.
//
// Environment (meson sets the first three):
//   TANDEM_BIN         the tandem binary (default <repo>/build/server/tandem,
//                      or $TANDEM_BUILD/server/tandem)
//   TANDEM_CRDT_WASM   tandem-crdt.wasm (default <build>/crdt/wasm/...)
//   TANDEM_CRDT_MJS    crdt.mjs (default <repo>/crdt/wasm/crdt.mjs)
//   TANDEM_MIGRATIONS  passed to `tandem migrate` (default <repo>/migrations)
//   TANDEM_REDIS_URL   default redis://127.0.0.1:$TANDEM_REDIS_PORT (6390)
//   TANDEM_PG          default "host=127.0.0.1 port=$TANDEM_PG_PORT (5490)
//                      dbname=tandem user=postgres sslmode=disable gssencmode=disable"
//   TANDEM_SEED        seed of the random edits (printed by each file)
//   TANDEM_E2E_VERBOSE=1  copy tandem's output to stderr as it comes
//   CI=true            a missing prerequisite fails instead of skipping (77)

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..', '..');
export const CI = process.env.CI === 'true';
// tandem was built with a sanitizer (meson sets it): its RSS is not its own.
export const SANITIZED = process.env.TANDEM_SANITIZED === '1';
const VERBOSE = process.env.TANDEM_E2E_VERBOSE === '1';

const BUILD = process.env.TANDEM_BUILD || path.join(REPO, 'build');
export const TANDEM_BIN = process.env.TANDEM_BIN || path.join(BUILD, 'server', 'tandem');
const CRDT_WASM =
	process.env.TANDEM_CRDT_WASM || path.join(BUILD, 'crdt', 'wasm', 'tandem-crdt.wasm');
const MIGRATIONS = process.env.TANDEM_MIGRATIONS || path.join(REPO, 'migrations');
const CRDT_MJS = process.env.TANDEM_CRDT_MJS || path.join(REPO, 'crdt', 'wasm', 'crdt.mjs');
const REDIS_PORT = Number(process.env.TANDEM_REDIS_PORT || 6390);
const PG_PORT = Number(process.env.TANDEM_PG_PORT || 5490);
export const REDIS_URL = process.env.TANDEM_REDIS_URL || `redis://127.0.0.1:${REDIS_PORT}`;
export const PG =
	process.env.TANDEM_PG || `host=127.0.0.1 port=${PG_PORT} dbname=tandem user=postgres sslmode=disable gssencmode=disable`;

// Bound of every single wait, unless a test says otherwise.
export const WAIT_MS = 10000;

// ---- skipping ----------------------------------------------------------------

// A prerequisite is missing: exit 77 (meson's skip) locally, fail in CI.
export function skipFile(reason) {
	if (CI) {
		console.error(`FAIL (CI=true, so no skipping): ${reason}`);
		process.exit(1);
	}
	console.error(`SKIP: ${reason}`);
	process.exit(77);
}

// ---- seeded randomness -------------------------------------------------------

export const SEED = Number(process.env.TANDEM_SEED || crypto.randomInt(1, 2 ** 31));

// mulberry32: small, fast, and good enough to pick edit positions.
export function rng(seed = SEED) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	next.int = (n) => Math.floor(next() * n);
	next.pick = (arr) => arr[next.int(arr.length)];
	return next;
}

// ---- waiting -----------------------------------------------------------------

// Resolves with promise's value, or rejects after ms with "timed out: what".
export function within(promise, ms, what) {
	let timer;
	const timeout = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---- prerequisites -----------------------------------------------------------

// Connects to host:port, writes `hello`, resolves with the first bytes back.
function probe(port, hello, ms = 3000) {
	return new Promise((resolve, reject) => {
		const s = net.connect({ host: '127.0.0.1', port });
		const timer = setTimeout(() => {
			s.destroy();
			reject(new Error(`no answer from 127.0.0.1:${port}`));
		}, ms);
		s.on('connect', () => s.write(hello));
		s.once('data', (d) => {
			clearTimeout(timer);
			s.destroy();
			resolve(d);
		});
		s.on('error', (e) => {
			clearTimeout(timer);
			reject(e);
		});
	});
}

function urlPort(url, dflt) {
	try {
		return Number(new URL(url).port) || dflt;
	} catch {
		return dflt;
	}
}

function pgPort() {
	const m = /port=(\d+)/.exec(PG) || /:(\d+)\//.exec(PG);
	return m ? Number(m[1]) : PG_PORT;
}

// Checks everything a test file needs, skipping (77) or failing (CI) when
// something is absent: the tandem binary, the wasm CRDT, the ws package
// (installed with `npm ci` when missing), Redis and PostgreSQL answering.
export async function requirements() {
	if (!fs.existsSync(TANDEM_BIN)) skipFile(`no tandem binary at ${TANDEM_BIN} (set TANDEM_BIN)`);
	if (!fs.existsSync(CRDT_WASM))
		skipFile(`no tandem-crdt.wasm at ${CRDT_WASM} (set TANDEM_CRDT_WASM)`);
	await ensureWs();
	try {
		const pong = await probe(urlPort(REDIS_URL, REDIS_PORT), 'PING\r\n');
		if (!pong.toString().startsWith('+PONG')) throw new Error(`PING answered ${pong}`);
	} catch (e) {
		skipFile(`Redis at ${REDIS_URL} unreachable (${e.message}); run scripts/services start`);
	}
	try {
		// An SSLRequest: any PostgreSQL answers one byte, 'S' or 'N'.
		const req = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
		const ans = await probe(pgPort(), req);
		if (ans[0] !== 0x53 && ans[0] !== 0x4e) throw new Error('not PostgreSQL');
	} catch (e) {
		skipFile(`PostgreSQL (${PG}) unreachable (${e.message}); run scripts/services start`);
	}
}

// node_modules is not committed: `npm ci` makes it from package-lock.json.
// Test files run in parallel, so the install is serialised by a lock
// directory (mkdir is atomic).
let WebSocket = null;
async function ensureWs() {
	const pkg = path.join(HERE, 'node_modules', 'ws', 'package.json');
	if (!fs.existsSync(pkg)) {
		const lock = path.join(HERE, '.npm-ci.lock');
		const deadline = Date.now() + 120000;
		for (;;) {
			try {
				fs.mkdirSync(lock);
				break;
			} catch (e) {
				if (e.code !== 'EEXIST') throw e;
				if (Date.now() > deadline)
					skipFile(`stale ${lock}: remove it, or run npm ci in ${HERE}`);
				await new Promise((r) => setTimeout(r, 200));
			}
		}
		try {
			if (!fs.existsSync(pkg)) {
				const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
					cwd: HERE,
					stdio: ['ignore', 'inherit', 'inherit'],
				});
				if (r.status !== 0 || !fs.existsSync(pkg))
					skipFile(`npm ci in ${HERE} failed (status ${r.status})`);
			}
		} finally {
			fs.rmSync(lock, { recursive: true, force: true });
		}
	}
	WebSocket = (await import(pathToFileURL(path.join(HERE, 'node_modules', 'ws', 'index.js')))).default;
}

// ---- the CRDT ----------------------------------------------------------------

let crdtPromise = null;
// The wasm CRDT module, loaded once per process.
export function loadCrdt() {
	if (!crdtPromise)
		crdtPromise = (async () => {
			const { TandemCrdt } = await import(pathToFileURL(CRDT_MJS));
			return TandemCrdt.load(fs.readFileSync(CRDT_WASM));
		})();
	return crdtPromise;
}

// Encoded version -> the JSON form of the protocol: {"<agent>": next, ...}.
export function versionJson(crdt, encoded) {
	const out = {};
	for (const [agent, next] of crdt.versionEntries(encoded)) out[String(agent)] = next;
	return out;
}

// JSON version -> encoded version.
export function versionEncode(crdt, json) {
	return crdt.versionFromEntries(
		Object.entries(json || {}).map(([a, n]) => [Number(a), Number(n)]),
	);
}

// True when JSON version a has seen everything b has.
export function versionIncludes(a, b) {
	for (const [agent, next] of Object.entries(b)) if ((a[agent] || 0) < next) return false;
	return true;
}

// Per-agent maximum of JSON versions.
export function versionUnion(...vs) {
	const out = {};
	for (const v of vs)
		for (const [agent, next] of Object.entries(v)) out[agent] = Math.max(out[agent] || 0, next);
	return out;
}

// Drops zero entries and sorts keys, so two versions compare with deepEqual.
export function versionNorm(v) {
	const out = {};
	for (const k of Object.keys(v)
		.filter((k) => v[k] > 0)
		.sort((a, b) => a - b))
		out[k] = v[k];
	return out;
}

// Reads the operation spans of an encoded update without applying it
// (format in crdt/encode.c): {kind: 'U', ops: [{agent, seq, len, type}]},
// or {kind: 'S'} for a snapshot, whose layout this does not read.
export function updateOps(bytes) {
	let p = 0;
	const varint = () => {
		let v = 0,
			shift = 0;
		for (;;) {
			if (p >= bytes.length) throw new Error('truncated update');
			const b = bytes[p++];
			v += (b & 0x7f) * 2 ** shift;
			if (!(b & 0x80)) return v;
			shift += 7;
		}
	};
	const fmt = varint();
	// Snapshots are format 2 (crdt.h); format 1 is an update or an old snapshot.
	if (fmt === 2 && bytes[p] === 0x53) return { kind: 'S', ops: null };
	if (fmt !== 1) throw new Error(`update format ${fmt}`);
	const kind = String.fromCharCode(bytes[p++]);
	if (kind === 'S') return { kind, ops: null };
	if (kind !== 'U') throw new Error(`not an update (kind ${kind})`);
	const ids = [];
	for (let n = varint(); n > 0; n--) ids.push(varint());
	const ops = [];
	const ref = () => {
		if (varint() !== 0) varint();
	};
	for (let n = varint(); n > 0; n--) {
		const head = varint();
		const seq = varint();
		const len = varint();
		const code = head % 4;
		const agent = ids[Math.floor(head / 4)];
		if (code === 0) {
			ref();
			ref();
			const nbytes = varint();
			p += nbytes;
		} else {
			varint();
			varint();
		}
		ops.push({ agent, seq, len, type: code === 0 ? 'ins' : 'del' });
	}
	if (p !== bytes.length) throw new Error('trailing bytes in update');
	return { kind, ops };
}

// The per-agent seq ranges an update holds, as {agent: [[lo, hi), ...]}
// merged and sorted; overlapping spans would mean an op sent twice.
export function updateRanges(ops) {
	const by = {};
	for (const op of ops) (by[op.agent] ||= []).push([op.seq, op.seq + op.len]);
	for (const a of Object.keys(by)) {
		const r = by[a].sort((x, y) => x[0] - y[0]);
		const merged = [];
		for (const [lo, hi] of r) {
			const last = merged[merged.length - 1];
			if (last && lo < last[1]) throw new Error(`agent ${a}: op ${lo} sent twice`);
			if (last && lo === last[1]) last[1] = hi;
			else merged.push([lo, hi]);
		}
		by[a] = merged;
	}
	return by;
}

// The ranges a client at version `from` lacks to reach `to`.
export function missingRanges(from, to) {
	const out = {};
	for (const [a, next] of Object.entries(to)) {
		const lo = from[a] || 0;
		if (next > lo) out[a] = [[lo, next]];
	}
	return out;
}

// ---- JWT ---------------------------------------------------------------------

const b64u = (buf) => Buffer.from(buf).toString('base64url');

export function jwtDecode(token) {
	const parts = String(token).split('.');
	assert.equal(parts.length, 3, `token is not a JWT (three dot-separated parts): ${token}`);
	return {
		header: JSON.parse(Buffer.from(parts[0], 'base64url').toString()),
		payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString()),
		signature: parts[2],
	};
}

// An HS256 JWT of payload signed with secret.
export function jwtSign(payload, secret, header = { alg: 'HS256', typ: 'JWT' }) {
	const head = b64u(JSON.stringify(header)) + '.' + b64u(JSON.stringify(payload));
	return head + '.' + b64u(crypto.createHmac('sha256', secret).update(head).digest());
}

// ---- processes ---------------------------------------------------------------

// A free TCP port on 127.0.0.1 (bound and released; the small race with
// other processes is acceptable for tests).
export function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

// Runs `tandem migrate` once per test file.  Test files run in parallel;
// a lock directory keeps their migrations from racing each other (what
// concurrent migrations do is not what these tests are about).
let migrated = false;
export async function migrate() {
	if (migrated) return;
	const lock = path.join(HERE, '.migrate.lock');
	const deadline = Date.now() + 60000;
	for (;;) {
		try {
			fs.mkdirSync(lock);
			break;
		} catch (e) {
			if (e.code !== 'EEXIST') throw e;
			if (Date.now() > deadline) throw new Error(`stale lock ${lock}`);
			await new Promise((r) => setTimeout(r, 100));
		}
	}
	try {
		const r = spawnSync(TANDEM_BIN, ['migrate', '--pg', PG, '--migrations', MIGRATIONS], {
			encoding: 'utf8',
			timeout: 60000,
		});
		assert.equal(
			r.status,
			0,
			`tandem migrate --pg '${PG}' --migrations ${MIGRATIONS} exited ${r.status} (signal ${r.signal}):\n${r.stdout}${r.stderr}`,
		);
	} finally {
		fs.rmSync(lock, { recursive: true, force: true });
	}
	migrated = true;
}

const SANITIZER = /ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/;

// A running `tandem serve`.  Start with Tandem.start(); always stop().
export class Tandem {
	constructor(opts) {
		this.opts = opts;
		this.output = '';
	}

	// Starts tandem serve on a free port with a fresh secret and admin key
	// (or those given), and resolves once its port accepts connections.
	// opts: {leftAfterMs = 300, secret, adminKey, port, args: [...]}
	static async start(opts = {}) {
		await migrate();
		const t = new Tandem(opts);
		t.secret = opts.secret || crypto.randomBytes(24).toString('hex');
		t.adminKey = opts.adminKey || crypto.randomBytes(24).toString('hex');
		t.port = opts.port || (await freePort());
		await t._spawn();
		return t;
	}

	get base() {
		return `http://127.0.0.1:${this.port}`;
	}

	get wsUrl() {
		return `ws://127.0.0.1:${this.port}/ws`;
	}

	async _spawn() {
		const args = [
			'serve',
			'--listen',
			`127.0.0.1:${this.port}`,
			'--redis',
			REDIS_URL,
			'--pg',
			PG,
			'--secret',
			this.secret,
			'--admin-key',
			this.adminKey,
			'--left-after-ms',
			String(this.opts.leftAfterMs ?? 300),
			...(this.opts.args || []),
		];
		this.args = args;
		this.output = '';
		const env = { ...process.env };
		// Flags are the interface under test; keep stray TANDEM_* settings of
		// the calling shell from changing what they mean.
		for (const k of Object.keys(env)) if (k.startsWith('TANDEM_') && k !== 'TANDEM_LOG_LEVEL') delete env[k];
		const proc = spawn(TANDEM_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
		this.proc = proc;
		const collect = (d) => {
			this.output += d;
			if (VERBOSE) process.stderr.write(`[tandem ${this.port}] ${d}`);
		};
		proc.stdout.setEncoding('utf8').on('data', collect);
		proc.stderr.setEncoding('utf8').on('data', collect);
		this.dead = null;
		this.exited = new Promise((resolve) => {
			proc.on('exit', (code, signal) => {
				if (this.proc === proc) this.dead = { code, signal };
				resolve({ code, signal });
			});
		});
		process.on('exit', () => {
			if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
		});
		await this._ready();
	}

	// Connects until the port answers: the one poll of the suite, bounded,
	// and aborted the moment the process exits.
	async _ready(ms = 20000) {
		const deadline = Date.now() + ms;
		let dead = null;
		this.exited.then((e) => (dead = e));
		for (;;) {
			if (dead)
				throw new Error(
					`tandem exited (code ${dead.code}, signal ${dead.signal}) before listening on ${this.port}:\n` +
						this.output,
				);
			const ok = await new Promise((resolve) => {
				const s = net.connect({ host: '127.0.0.1', port: this.port });
				s.on('connect', () => {
					s.destroy();
					resolve(true);
				});
				s.on('error', () => resolve(false));
			});
			if (ok) return;
			if (Date.now() > deadline) {
				this.proc.kill('SIGKILL');
				throw new Error(`tandem did not listen on ${this.port} within ${ms} ms:\n${this.output}`);
			}
			await new Promise((r) => setTimeout(r, 50));
		}
	}

	// SIGTERM (or signal), then checks the exit: status 0, no signal, no
	// sanitizer report.
	async stop(signal = 'SIGTERM') {
		if (!this.proc) return;
		const proc = this.proc;
		this.proc = null;
		if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
		let e;
		try {
			e = await within(this.exited, 15000, `tandem to exit after ${signal}`);
		} catch (err) {
			proc.kill('SIGKILL');
			throw new Error(`${err.message}\n--- tandem output ---\n${this.output}`);
		}
		assert.ok(
			e.code === 0 && e.signal === null,
			`tandem exited with code ${e.code}, signal ${e.signal} after ${signal} (expected 0):\n${this.output}`,
		);
		assert.doesNotMatch(this.output, SANITIZER, `sanitizer report in tandem's output:\n${this.output}`);
	}

	// Why a request failed, when the reason is that tandem is gone.
	deathNote() {
		if (!this.dead) return '';
		return `\n*** tandem (port ${this.port}) died while running: code ${this.dead.code}, signal ${this.dead.signal}; its output:\n${this.output.slice(-4000)}`;
	}

	// Stops and starts again on the same port with the same secret and key.
	async restart() {
		await this.stop();
		await this._spawn();
	}

	// ---- REST ----

	// {status, json, text} of one request; token goes into Authorization.
	async api(method, p, { token, body, headers = {} } = {}) {
		const h = { ...headers };
		if (token !== undefined) h.authorization = `Bearer ${token}`;
		let payload;
		if (body !== undefined) {
			h['content-type'] = 'application/json';
			payload = typeof body === 'string' ? body : JSON.stringify(body);
		}
		let res;
		try {
			res = await within(
				fetch(this.base + p, { method, headers: h, body: payload }),
				WAIT_MS,
				`${method} ${p}`,
			);
		} catch (e) {
			throw new Error(`${method} ${p}: ${e.message} ${e.cause?.message ?? ''}${this.deathNote()}`);
		}
		const text = await res.text();
		let json = null;
		try {
			json = JSON.parse(text);
		} catch {
			/* not JSON: json stays null */
		}
		return { status: res.status, json, text };
	}

	// Creates a room and checks the documented shape of the answer.
	async createRoom(body = {}) {
		const r = await this.api('POST', '/api/rooms', { token: this.adminKey, body });
		assert.equal(r.status, 201, `POST /api/rooms answered ${r.status}: ${r.text}`);
		const room = r.json;
		assert.ok(room && room.id !== undefined, `no id in ${r.text}`);
		for (const seat of ['interviewer', 'candidate', 'observer']) {
			assert.equal(typeof room.tokens?.[seat], 'string', `no tokens.${seat} in ${r.text}`);
			assert.equal(typeof room.links?.[seat], 'string', `no links.${seat} in ${r.text}`);
		}
		return room;
	}

	// ---- WebSocket ----

	// Opens a socket (subprotocol tandem.v1 unless told otherwise).
	async connect(opts) {
		try {
			return await Client.connect(this, opts);
		} catch (e) {
			e.message += this.deathNote();
			throw e;
		}
	}

	// Opens a socket and joins: a ready Client with its doc caught up.
	async join(room, seat, { version = {}, token } = {}) {
		const c = await this.connect();
		await c.join(room.id, token ?? room.tokens[seat], version);
		if (token === undefined) assert.equal(c.seat, seat, `welcome.seat for a ${seat} token`);
		return c;
	}
}

// ---- a protocol client ----------------------------------------------------------

let nextId = 1;

// One WebSocket connection speaking tandem.v1.  Everything received lands
// in an inbox; next() takes the first item matching a predicate, waiting
// for it when none is there yet.  After join(), binary frames are applied
// to this.doc as they arrive (and kept in this.updates), and acks and
// presence are tracked, so tests can wait for a version or a state.
export class Client {
	static async connect(srv, { protocol = 'tandem.v1', headers, path = '/ws' } = {}) {
		const c = new Client(srv);
		await c._open(protocol, headers, path);
		return c;
	}

	constructor(srv) {
		this.srv = srv;
		this.inbox = [];
		this.waiters = [];
		this.updates = [];
		this.errors = [];
		this.applyErrors = [];
		this.presence = {};
		this.ownAgents = new Set();
		this.ack = {};
		this.acks = 0;
		this.sent = 0;
		this.live = false;
		this.closeInfo = null;
		this.resendTimer = null;
	}

	_open(protocol, headers, path = '/ws') {
		const url = `ws://127.0.0.1:${this.srv.port}${path}`;
		const ws = new WebSocket(url, protocol === null ? [] : [protocol], {
			headers,
			maxPayload: 256 * 1024 * 1024,
		});
		this.ws = ws;
		this.closed = new Promise((resolve) => {
			ws.on('close', (code, reason) => {
				this.closeInfo = { code, reason: reason.toString() };
				resolve(this.closeInfo);
				this._wake();
			});
		});
		ws.on('message', (data, isBinary) => this._receive(data, isBinary));
		return new Promise((resolve, reject) => {
			ws.once('open', () => resolve());
			ws.once('unexpected-response', (req, res) => {
				// With this listener ws leaves the request to us: end it.
				req.destroy();
				reject(Object.assign(new Error(`handshake refused: HTTP ${res.statusCode}`), { status: res.statusCode }));
			});
			ws.once('error', (e) => reject(e));
		});
	}

	_receive(data, isBinary) {
		if (isBinary) {
			const bytes = new Uint8Array(data);
			if (this.live) {
				this.updates.push(bytes);
				try {
					this.doc.applyUpdate(bytes);
				} catch (e) {
					this.applyErrors.push(e);
				}
			} else this.inbox.push({ bin: bytes });
		} else {
			let msg;
			try {
				msg = JSON.parse(data.toString());
			} catch {
				msg = { t: '<unparsable>', raw: data.toString() };
			}
			this._track(msg);
			this.inbox.push({ msg, at: performance.now() });
		}
		this._wake();
	}

	// Keeps the state tests wait on: acks, presence, errors, rate limits.
	_track(msg) {
		if (msg.t === 'ack') {
			this.acks++;
			if (msg.version && typeof msg.version === 'object')
				this.ack = versionUnion(this.ack, msg.version);
		} else if (msg.t === 'presence') {
			for (const m of presenceMembers(msg)) this.presence[m.seat] = m.state;
		} else if (msg.t === 'welcome' && msg.presence) {
			for (const m of presenceMembers(msg.presence)) this.presence[m.seat] = m.state;
		} else if (msg.t === 'error') {
			this.errors.push(msg);
			// Rate limited: resend what is unacknowledged after the time the
			// server asked for (a client's duty, not test synchronisation).
			// One resend covers every refusal before it, so at most one is
			// scheduled at a time.
			if ((msg.code === 'rate_limited' || msg.code === 'overloaded') && this.live && !this.resendTimer)
				this.resendTimer = setTimeout(
					() => {
						this.resendTimer = null;
						this.resendUnacked();
					},
					Math.max(0, Number(msg.retry_ms) || 100),
				);
		}
	}

	_wake() {
		for (const w of this.waiters.slice()) w();
	}

	// Resolves when check() returns something truthy (re-checked on every
	// arrival); rejects on timeout, or when the socket closes first unless
	// allowClose.
	until(check, what, { timeout = WAIT_MS, allowClose = false } = {}) {
		const guarded = () => {
			const v = check();
			if (!v && this.closeInfo && !allowClose)
				throw new Error(
					`socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting for ${what}; ` +
						`inbox: ${this.describeInbox()}${this.srv.deathNote()}`,
				);
			return v;
		};
		return untilAny([this], guarded, what, { timeout }).catch((e) => {
			if (e.timedOut) e.message += `; inbox: ${this.describeInbox()}${this.srv.deathNote()}`;
			throw e;
		});
	}

	describeInbox() {
		const items = this.inbox.map((x) => (x.bin ? `<binary ${x.bin.length} B>` : JSON.stringify(x.msg).slice(0, 200)));
		return items.length ? items.join(', ') : '(empty)';
	}

	// Takes the first inbox item for which pred(item) holds.
	next(pred, what, opts) {
		return this.until(
			() => {
				const i = this.inbox.findIndex(pred);
				return i >= 0 ? this.inbox.splice(i, 1)[0] : null;
			},
			what,
			opts,
		);
	}

	// Takes the first JSON message of type t (and matching pred).
	async msg(t, pred = () => true, opts) {
		const item = await this.next((x) => x.msg && x.msg.t === t && pred(x.msg), `a "${t}" message`, opts);
		return item.msg;
	}

	// Takes the first error with this code.
	error(code, opts) {
		return this.msg('error', (m) => m.code === code, opts).catch((e) => {
			throw new Error(`expected error "${code}": ${e.message}`);
		});
	}

	// JSON messages of type t still in the inbox (not taken).
	peek(t) {
		return this.inbox.filter((x) => x.msg && x.msg.t === t).map((x) => x.msg);
	}

	// Resolves with {code, reason} when the socket closes.
	closedWith(what = 'close', timeout = WAIT_MS) {
		return within(this.closed, timeout, `${what} (inbox: ${this.describeInbox()})`);
	}

	send(obj) {
		if (obj.id === undefined && obj.t !== undefined) obj = { ...obj, id: nextId++ };
		this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
		return obj.id;
	}

	sendRaw(data, binary) {
		this.ws.send(data, { binary });
	}

	// Sends join and waits for welcome and the catch-up binary frame; makes
	// (or, given one, keeps) this.doc, applies the catch-up, goes live.
	// Returns {welcome, catchup}.  A refused join rejects with .close set.
	async join(room, token, version = {}, { doc } = {}) {
		const crdt = await loadCrdt();
		const id = this.send({ t: 'join', room, token, version });
		let welcome;
		try {
			welcome = (await this.next((x) => x.msg && (x.msg.t === 'welcome' || x.msg.t === 'error'), 'welcome')).msg;
		} catch (e) {
			if (this.closeInfo) e.close = this.closeInfo;
			throw e;
		}
		if (welcome.t === 'error')
			throw Object.assign(new Error(`join answered with error ${JSON.stringify(welcome)}`), { errorMsg: welcome });
		assert.equal(welcome.id, id, `welcome echoes the join's id: ${JSON.stringify(welcome)}`);
		assert.ok(Number.isInteger(welcome.agent), `welcome.agent is an integer: ${JSON.stringify(welcome)}`);
		this.welcome = welcome;
		this.seat = welcome.seat;
		this.agent = welcome.agent;
		this.ownAgents.add(welcome.agent);
		const first = await this.next((x) => x.bin, 'the catch-up binary frame after welcome');
		this.catchup = first.bin;
		this.doc = doc || new crdt.Doc(welcome.agent);
		this.doc.agent = welcome.agent;
		this.doc.applyUpdate(first.bin);
		// Anything binary that came after the catch-up is live traffic.
		const rest = this.inbox.filter((x) => x.bin);
		this.inbox = this.inbox.filter((x) => !x.bin);
		this.live = true;
		for (const x of rest) this._receive(x.bin, true);
		return { welcome, catchup: first.bin };
	}

	get crdt() {
		return crdtPromise;
	}

	// The doc's version in JSON form.
	async version() {
		return versionJson(await loadCrdt(), this.doc.version());
	}

	text() {
		return this.doc.text();
	}

	// Makes local edits with fn(doc) and sends them as one update.
	edit(fn) {
		const before = this.doc.version();
		fn(this.doc);
		const upd = this.doc.encodeSince(before);
		if (updateOps(upd).ops.length) {
			this.ws.send(upd, { binary: true });
			this.sent++;
		}
		return upd;
	}

	// Sends this client's own ops (of every agent it has edited as) that no
	// ack has covered yet.
	async resendUnacked() {
		if (this.ws.readyState !== 1) return null;
		const crdt = await loadCrdt();
		const since = versionJson(crdt, this.doc.version());
		for (const a of this.ownAgents) since[a] = this.ack[a] || 0;
		const upd = this.doc.encodeSince(versionEncode(crdt, since));
		if (updateOps(upd).ops.length === 0) return null;
		this.ws.send(upd, { binary: true });
		this.sent++;
		return upd;
	}

	// Waits until the server has acknowledged every op of this client's own agents.
	async acked(timeout = WAIT_MS) {
		const own = await this.version();
		return this.until(
			() => [...this.ownAgents].every((a) => (this.ack[a] || 0) >= (own[a] || 0)),
			`acks covering own ops ${JSON.stringify(own)} (ack so far ${JSON.stringify(this.ack)}, errors ${JSON.stringify(this.errors)})`,
			{ timeout },
		);
	}

	// Waits until the doc has seen everything in JSON version v.
	async reach(v, timeout = WAIT_MS) {
		const crdt = await loadCrdt();
		return this.until(
			() => {
				if (this.applyErrors.length) throw this.applyErrors[0];
				return versionIncludes(versionJson(crdt, this.doc.version()), v);
			},
			`doc to reach ${JSON.stringify(v)}`,
			{ timeout },
		).catch(async (e) => {
			throw new Error(`${e.message}; doc is at ${JSON.stringify(await this.version())}`);
		});
	}

	// Waits until presence says seat is in state.
	presenceIs(seat, state, timeout = WAIT_MS) {
		return this.until(
			() => this.presence[seat] === state,
			`presence ${seat}=${state} (now ${JSON.stringify(this.presence)})`,
			{ timeout },
		);
	}

	// Abrupt loss of the connection (no close frame).
	drop() {
		this.live = false;
		this.ws.terminate();
	}

	close(code = 1000) {
		if (this.ws.readyState <= 1) this.ws.close(code);
		return this.closedWith('our close to complete');
	}
}

// Presence in any of the shapes a presence message or a room's REST view
// may use, as [{seat, name, state}]: an array of members ({members: [...]}
// or a bare array), an object keyed by seat (value: a state or a member),
// or a single member ({seat, state}).
export function presenceMembers(x) {
	if (!x) return [];
	if (Array.isArray(x)) return x.filter((m) => m && m.seat).map((m) => ({ ...m, state: m.state }));
	if (Array.isArray(x.members)) return presenceMembers(x.members);
	if (x.members && typeof x.members === 'object') return presenceMembers(x.members);
	if (x.seat && x.state) return [x];
	const out = [];
	for (const [seat, v] of Object.entries(x)) {
		if (seat === 't' || seat === 'id' || seat === 'room') continue;
		if (typeof v === 'string') out.push({ seat, state: v });
		else if (v && typeof v === 'object' && v.state) out.push({ seat, ...v });
	}
	return out;
}

// Resolves when check() returns something truthy, re-checked whenever any
// of clients receives something; rejects after timeout.  (Client.until
// wakes on its own client's arrivals only.)
export function untilAny(clients, check, what, { timeout = WAIT_MS } = {}) {
	return new Promise((resolve, reject) => {
		const tryIt = () => {
			let v;
			try {
				v = check();
			} catch (e) {
				done();
				reject(e);
				return;
			}
			if (v) {
				done();
				resolve(v);
			}
		};
		const timer = setTimeout(() => {
			done();
			reject(Object.assign(new Error(`timed out after ${timeout} ms waiting for ${what}`), { timedOut: true }));
		}, timeout);
		const done = () => {
			clearTimeout(timer);
			for (const c of clients) {
				const i = c.waiters.indexOf(tryIt);
				if (i >= 0) c.waiters.splice(i, 1);
			}
		};
		for (const c of clients) c.waiters.push(tryIt);
		tryIt();
	});
}

// Waits until every client's doc has reached the union of all their
// versions, and returns that version.
export async function converge(clients, timeout = WAIT_MS) {
	for (const c of clients) await c.acked(timeout);
	const target = versionUnion(...(await Promise.all(clients.map((c) => c.version()))));
	for (const c of clients) await c.reach(target, timeout);
	const texts = clients.map((c) => c.text());
	for (let i = 1; i < clients.length; i++)
		assert.equal(texts[i], texts[0], `client ${i} (${clients[i].seat}) and client 0 (${clients[0].seat}) differ`);
	for (const c of clients) assert.equal(c.doc.pending(), 0, `${c.seat} has ops pending`);
	return target;
}

// A fresh client joins with an empty version: the catch-up it receives is
// the document as a snapshot (format 2, not every operation as an update)
// and must hold the whole document (exactly the target version) and nothing
// else after it.  Returns it (the caller closes it).
export async function lateJoiner(srv, room, target, seat = 'observer') {
	const c = await srv.join(room, seat);
	const { catchup } = c;
	const info = updateOps(catchup);
	assert.equal(info.kind, 'S', 'a client joining with {} is sent a snapshot');
	assert.equal(catchup[0], 2, 'the snapshot is in format 2');
	assert.deepEqual(versionNorm(await c.version()), versionNorm(target), 'late joiner version after its catch-up');
	assert.equal(c.doc.pending(), 0, 'late joiner has nothing pending');
	return c;
}
