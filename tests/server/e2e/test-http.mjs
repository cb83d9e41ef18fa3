// test-http.mjs - requests as hostile or merely unusual clients send them,
// written byte for byte on a raw TCP socket (issue 18): large headers,
// chunked bodies, bad or duplicated Content-Length, Content-Length with
// Transfer-Encoding, %00 in the path.  Each gets an answer, never a dropped
// connection, and a malformed one gets its 4xx within 1 s; meanwhile the
// server goes on serving everyone else (a WebSocket pair typing, REST
// calls, clients holding half-sent heads).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { PG, REDIS_URL, TANDEM_BIN, Tandem, converge, requirements, within } from './harness.mjs';

await requirements();

// The documented limits (docs/protocol.md, "HTTP requests").
const HEAD_MAX = 16 * 1024;
const BODY_MAX = 64 * 1024;
// A malformed request must be answered within this.
const ANSWER_MS = 1000;

let srv;
before(async () => {
	srv = await Tandem.start();
});
after(async () => {
	await srv?.stop();
});

// Parses an HTTP/1.1 response out of buf: {status, headers, body} once it
// is complete (by Content-Length, or by the close when `closed`), else null.
function parseResponse(buf, closed) {
	const end = buf.indexOf('\r\n\r\n');
	if (end < 0) return null;
	const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
	const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
	if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
	const headers = {};
	for (const l of lines.slice(1)) {
		const i = l.indexOf(':');
		const k = l.slice(0, i).trim().toLowerCase();
		const v = l.slice(i + 1).trim();
		headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
	}
	const rest = buf.subarray(end + 4);
	const cl = headers['content-length'];
	if (cl !== undefined) {
		if (rest.length < Number(cl)) return null;
		return { status: Number(m[1]), headers, body: rest.subarray(0, Number(cl)).toString() };
	}
	return closed ? { status: Number(m[1]), headers, body: rest.toString() } : null;
}

// Writes `bytes` (a string, a Buffer, or an array of them written one after
// another) on a fresh connection and resolves with the response and how
// long it took from the first byte written: {status, headers, body, ms}.
// status 0 means the server closed without answering.  A write the server
// refused to read any further (it answered early) is not an error.
function raw(bytes, { timeout = 10000 } = {}) {
	return new Promise((resolve, reject) => {
		const s = net.connect({ host: '127.0.0.1', port: srv.port });
		let buf = Buffer.alloc(0);
		let t0 = 0;
		let done = false;
		const finish = (closed) => {
			if (done) return;
			let r;
			try {
				r = parseResponse(buf, closed);
			} catch (e) {
				done = true;
				s.destroy();
				reject(e);
				return;
			}
			if (!r && !closed) return;
			done = true;
			clearTimeout(timer);
			s.destroy();
			resolve(r ? { ...r, ms: performance.now() - t0 } : { status: 0, ms: performance.now() - t0, raw: buf.toString() });
		};
		const timer = setTimeout(() => {
			if (done) return;
			done = true;
			s.destroy();
			reject(new Error(`no complete answer within ${timeout} ms; got ${JSON.stringify(buf.toString().slice(0, 300))}`));
		}, timeout);
		s.on('connect', async () => {
			t0 = performance.now();
			for (const part of Array.isArray(bytes) ? bytes : [bytes]) {
				if (done || s.destroyed) return;
				if (!s.write(part)) await new Promise((r) => s.once('drain', r).once('close', r));
			}
		});
		s.on('data', (d) => {
			buf = Buffer.concat([buf, d]);
			finish(false);
		});
		s.on('error', () => finish(true)); // EPIPE / ECONNRESET after an early answer
		s.on('close', () => finish(true));
	});
}

const head = (lines) => lines.join('\r\n') + '\r\n\r\n';

// A malformed request: a 4xx (or the given status) within ANSWER_MS.
async function refused(bytes, what, status = 400) {
	const r = await raw(bytes);
	assert.notEqual(r.status, 0, `${what}: the connection was dropped without an answer`);
	assert.equal(r.status, status, `${what}: answered ${r.status} ${r.body}`);
	assert.ok(r.ms < ANSWER_MS, `${what}: answered after ${r.ms.toFixed(0)} ms (limit ${ANSWER_MS})`);
	assert.match(r.headers['content-type'] || '', /json/, `${what}: an error body in JSON`);
	assert.ok(JSON.parse(r.body).error, `${what}: {"error": ...} ${r.body}`);
	return r;
}

function chunked(body, size = 7) {
	const parts = [];
	for (let i = 0; i < body.length; i += size) {
		const piece = body.slice(i, i + size);
		parts.push(`${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`);
	}
	return parts.join('') + '0\r\n\r\n';
}

const post = (p, extra) => [`POST ${p} HTTP/1.1`, 'Host: t', `Authorization: Bearer ${srv.adminKey}`, ...extra];

test('headers up to the documented space are read; beyond it 431, never a dropped connection', async () => {
	for (const size of [4000, 4050, 8192, 12 * 1024, HEAD_MAX - 512]) {
		const r = await raw(head(['GET /healthz HTTP/1.1', 'Host: t', `Cookie: a=${'x'.repeat(size)}`]));
		assert.equal(r.status, 200, `a ${size}-byte cookie: answered ${r.status}`);
		assert.equal(r.body, 'ok\n');
	}
	// Many headers that fit the space together: read, and the API still sees Authorization.
	const many = [];
	for (let i = 0; i < 40; i++) many.push(`X-Filler-${i}: ${'y'.repeat(100)}`);
	const r = await raw(head([...post('/api/rooms', many), 'Content-Length: 2']) + '{}');
	assert.equal(r.status, 201, `40 extra headers: ${r.status} ${r.body}`);

	await refused(head(['GET /healthz HTTP/1.1', 'Host: t', `Cookie: a=${'x'.repeat(HEAD_MAX)}`]), 'one header over the space', 431);
	const lots = [];
	for (let i = 0; i < 40; i++) lots.push(`Cookie: c${i}=${'z'.repeat(500)}`);
	await refused(head(['GET /healthz HTTP/1.1', 'Host: t', ...lots]), '40 cookies of 500 bytes', 431);
	const count = [];
	for (let i = 0; i < 200; i++) count.push(`Accept: a/${i}`);
	await refused(head(['GET /healthz HTTP/1.1', 'Host: t', ...count]), '200 header lines', 431);
	await refused(head([`GET /healthz?${'a=1&'.repeat(4000)} HTTP/1.1`, 'Host: t']), 'a 16 KB request line', 414);
	await refused(head([`GET /healthz?${'a&'.repeat(200)} HTTP/1.1`, 'Host: t']), '200 query arguments', 414);
	// A WebSocket handshake with a huge header: the same answer.
	await refused(
		head(['GET /ws HTTP/1.1', 'Host: t', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13',
			'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol: tandem.v1', `Cookie: ${'q'.repeat(HEAD_MAX)}`]),
		'a WebSocket handshake over the space', 431);
});

test('a chunked body is read with the size limit, never dropped', async () => {
	const body = JSON.stringify({ problem: 'chunked-problem', names: { candidate: 'Chunk' } });
	let r = await raw(head([...post('/api/rooms', ['Content-Type: application/json', 'Transfer-Encoding: chunked'])]) + chunked(body));
	assert.equal(r.status, 201, `chunked POST: ${r.status} ${r.body}`);
	const room = JSON.parse(r.body);
	assert.equal(room.problem, 'chunked-problem', `the chunked body was read: ${r.body}`);
	const g = await srv.api('GET', `/api/rooms/${room.id}`, { token: room.tokens.candidate });
	assert.equal(g.json.problem, 'chunked-problem', g.text);

	// Chunk extensions and a trailer are allowed; the head and every chunk arrive in separate writes.
	const ext = '5;name=value\r\n{"pro\r\n' + `${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n` + '0\r\nX-Trailer: 1\r\n\r\n';
	r = await raw([head(post('/api/rooms', ['Transfer-Encoding: chunked'])), ...ext.match(/[\s\S]{1,9}/g)]);
	assert.equal(r.status, 201, `chunked with extensions and a trailer: ${r.status} ${r.body}`);
	assert.equal(JSON.parse(r.body).problem, 'chunked-problem');

	// 'Transfer-Encoding: Chunked' is the same coding (names are case-insensitive).
	r = await raw(head(post('/api/rooms', ['Transfer-Encoding: Chunked'])) + chunked('{}'));
	assert.equal(r.status, 201, `Chunked: ${r.status} ${r.body}`);

	// Over the limit: 413, whether it is 10 MB or just over.
	for (const size of [BODY_MAX + 1, 10 * 1024 * 1024]) {
		const piece = 'a'.repeat(64 * 1024);
		const parts = [head(post('/api/rooms', ['Transfer-Encoding: chunked']))];
		let left = size;
		while (left > 0) {
			const n = Math.min(left, piece.length);
			parts.push(`${n.toString(16)}\r\n${piece.slice(0, n)}\r\n`);
			left -= n;
		}
		parts.push('0\r\n\r\n');
		const big = await raw(parts);
		assert.equal(big.status, 413, `a ${size}-byte chunked body: ${big.status} ${big.body}`);
	}

	// Broken framing.
	for (const [framing, what] of [
		['zz\r\n{}\r\n0\r\n\r\n', 'a chunk size that is not hex'],
		['2\r\n{}XX0\r\n\r\n', 'no CRLF after the chunk data'],
		['-2\r\n{}\r\n0\r\n\r\n', 'a negative chunk size'],
		['ffffffffffffffffff\r\n{}\r\n0\r\n\r\n', 'a chunk size that overflows'],
		['\r\n\r\n', 'no chunk size'],
	])
		await refused(head(post('/api/rooms', ['Transfer-Encoding: chunked'])) + framing, what);
	// A coding we do not implement.
	await refused(head(post('/api/rooms', ['Transfer-Encoding: gzip, chunked'])) + chunked('{}'), 'gzip coding', 501);
	await refused(head(post('/api/rooms', ['Transfer-Encoding: identity'])) + '{}', 'identity coding', 501);
});

test('Expect: 100-continue gets the go-ahead before the body is sent', async () => {
	for (const framing of [['Content-Length: 16'], ['Transfer-Encoding: chunked']]) {
		const s = net.connect({ host: '127.0.0.1', port: srv.port });
		let buf = '';
		const more = () => new Promise((resolve) => s.once('data', (d) => resolve((buf += d))));
		await new Promise((resolve) => s.once('connect', resolve));
		s.write(head([...post('/api/rooms', ['Expect: 100-continue', ...framing])]));
		assert.match(await within(more(), ANSWER_MS, `100 Continue (${framing})`), /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
		const body = '{"problem": "x"}';
		s.write(framing[0].startsWith('Content') ? body : chunked(body));
		while (!/\r\n\r\n[\s\S]*\}$/.test(buf.slice(25))) await within(more(), ANSWER_MS * 5, `the answer (${framing})`);
		assert.match(buf.slice(25), /^HTTP\/1\.1 201 /, `${framing}: ${buf}`);
		assert.match(buf, /"problem":"x"/);
		s.destroy();
	}
});

test('Content-Length that is not one decimal number, or with Transfer-Encoding: 400', async () => {
	for (const cl of ['-1', 'abc', '1e3', '', '0x10', '2, 2', '+2', '99999999999999999999999'])
		await refused(head([...post('/api/rooms', [`Content-Length: ${cl}`])]) + '{}', `Content-Length: ${JSON.stringify(cl)}`);
	await refused(head(post('/api/rooms', ['Content-Length: 2', 'Content-Length: 40'])) + '{}', 'two different Content-Lengths');
	await refused(head(post('/api/rooms', ['Content-Length: 2', 'Content-Length: 2'])) + '{}', 'the same Content-Length twice');
	await refused(head(post('/api/rooms', ['Content-Length: 2', 'Transfer-Encoding: chunked'])) + chunked('{}'), 'Content-Length and chunked');
	await refused(head(post('/api/rooms', ['Transfer-Encoding: chunked', 'Content-Length: 2'])) + chunked('{}'), 'chunked and Content-Length');
	await refused(head(post('/api/rooms', ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'])) + chunked('{}'), 'chunked twice');
	// Leading and trailing blanks are not part of the value (RFC 9110 5.5): accepted.
	const r = await raw(head(post('/api/rooms', ['Content-Length:   2  '])) + '{}');
	assert.equal(r.status, 201, `Content-Length with blanks: ${r.status} ${r.body}`);
	// A POST with no body at all is an empty body, answered at once.
	const noBody = await raw(head(post('/api/rooms', [])));
	assert.equal(noBody.status, 201, `POST without a body: ${noBody.status} ${noBody.body}`);
});

test('%00 in the path or query is 400, every time', async () => {
	const room = await srv.createRoom();
	for (const p of ['/%00', '/%00/', '/index.html%00.png', '/a%00b', '/api/rooms/%00', `/api/rooms/${room.id}%00`,
		'/healthz%00', '/?x=%00', '/api/rooms?x=1&y=%00', '/ws%00', '/./%00', '/..%00', '/%2e%2e/%00'])
		for (let i = 0; i < 3; i++)
			await refused(head([`GET ${p} HTTP/1.1`, 'Host: t', `Authorization: Bearer ${room.tokens.interviewer}`]), `GET ${p} (try ${i + 1})`);
	await refused(head(['GET /ws%00 HTTP/1.1', 'Host: t', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13',
		'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol: tandem.v1']), 'a WebSocket handshake on /ws%00');
});

test('other malformed heads are answered, not dropped', async () => {
	for (const [bytes, what, status] of [
		['GET\r\n\r\n', 'a request line without a target'],
		['GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n', 'a request line with four parts'],
		['GET / HTTP/2.0\r\nHost: t\r\n\r\n', 'HTTP/2.0 in a request line', 505],
		['GET noslash HTTP/1.1\r\nHost: t\r\n\r\n', 'a target without /'],
		['GET / HTTP/1.1\r\nNo colon here\r\n\r\n', 'a header line without a colon'],
		['GET / HTTP/1.1\r\nHost : t\r\n\r\n', 'a blank before the colon'],
		['GET / HTTP/1.1\r\n folded: x\r\n\r\n', 'obsolete line folding'],
		['GET / HTTP/1.1\r\nX: a\0b\r\n\r\n', 'a NUL in a header value'],
		['GET /\x01 HTTP/1.1\r\n\r\n', 'a control byte in the target'],
		['BREW / HTTP/1.1\r\nHost: t\r\n\r\n', 'an unknown method', 501],
	])
		await refused(bytes, what, status ?? 400);
	// A bare LF ending lines, and empty lines before the request, are tolerated (RFC 9112 2.2).
	for (const [bytes, what] of [
		['GET /healthz HTTP/1.1\nHost: t\n\n', 'LF-only lines'],
		['\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n', 'empty lines first'],
		['\nGET /healthz HTTP/1.1\nHost: t\n\n', 'an empty LF line first'],
	]) {
		const r = await raw(bytes);
		assert.equal(r.status, 200, `${what}: ${r.status}`);
	}
});

test('a text frame that is not UTF-8 closes the WebSocket with 1007', async () => {
	const room = await srv.createRoom();
	for (const joined of [false, true]) {
		const c = joined ? await srv.join(room, 'candidate') : await srv.connect();
		c.sendRaw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), false);
		const { code } = await c.closedWith(`the close after bad UTF-8 (joined: ${joined})`);
		assert.equal(code, 1007, `joined: ${joined}`);
	}
});

test('meanwhile the server keeps serving everyone else', async () => {
	const room = await srv.createRoom();
	const a = await srv.join(room, 'interviewer');
	const b = await srv.join(room, 'candidate');
	// Clients holding half a head open (a slow or stalled sender).
	const stalled = [];
	for (let i = 0; i < 20; i++) {
		const s = net.connect({ host: '127.0.0.1', port: srv.port });
		s.on('error', () => {});
		s.on('connect', () => s.write(`GET /healthz HTTP/1.1\r\nHost: t\r\nCookie: ${'s'.repeat(8000)}`));
		stalled.push(s);
	}
	const bad = [
		head(['GET /%00 HTTP/1.1', 'Host: t']),
		head(['GET / HTTP/1.1', `Cookie: ${'x'.repeat(HEAD_MAX + 10)}`]),
		head(post('/api/rooms', ['Content-Length: -1'])),
		head(post('/api/rooms', ['Content-Length: 2', 'Transfer-Encoding: chunked'])) + chunked('{}'),
		head(post('/api/rooms', ['Transfer-Encoding: chunked'])) + 'zz\r\n',
	];
	let typing = true;
	const typist = (async () => {
		let n = 0;
		while (typing) {
			for (const [c, ch] of [[a, 'a'], [b, 'b']]) c.edit((d) => d.insert(d.length, ch));
			n++;
			await Promise.all([a.acked(), b.acked()]);
		}
		return n;
	})();
	// Malformed requests in waves, each wave with a good REST call and a probe beside it.
	for (let wave = 0; wave < 10; wave++) {
		const good = within(srv.api('GET', `/api/rooms/${room.id}`, { token: room.tokens.observer }), ANSWER_MS * 5, 'a good REST call during the flood');
		const answers = await Promise.all(bad.map((x) => raw(x)));
		for (const [i, r] of answers.entries())
			assert.ok(r.status >= 400 && r.status < 500 && r.ms < ANSWER_MS, `wave ${wave}, request ${i}: ${r.status} after ${r.ms.toFixed(0)} ms`);
		assert.equal((await good).status, 200);
		assert.equal((await raw(head(['GET /healthz HTTP/1.1', 'Host: t']))).status, 200);
	}
	typing = false;
	const rounds = await typist;
	assert.ok(rounds > 0, 'the typists got edits acknowledged during the flood');
	await converge([a, b]);
	assert.equal(a.text().length, 2 * rounds);
	// The stalled heads still hold their connections; finishing one gets it answered.
	const last = stalled[0];
	const answer = new Promise((resolve) => last.once('data', (d) => resolve(d.toString())));
	last.write('\r\n\r\n');
	assert.match(await within(answer, ANSWER_MS * 5, 'the stalled client, once it finished its head'), /^HTTP\/1\.1 200/);
	for (const s of stalled.slice(2)) s.destroy();
	await a.close();
	await b.close();
	// The others are answered 408 when their 10 s are up; one that said nothing is just closed.
	const got = (s) =>
		new Promise((resolve) => {
			let buf = '';
			s.on('data', (d) => (buf += d));
			s.on('close', () => resolve(buf));
		});
	const silent = net.connect({ host: '127.0.0.1', port: srv.port });
	silent.on('error', () => {});
	const [late, none] = await within(Promise.all([got(stalled[1]), got(silent)]), 15000, 'the 10 s head deadline');
	assert.match(late, /^HTTP\/1\.1 408 /, 'a head not complete in 10 s');
	assert.equal(none, '', 'a connection that sent nothing gets nothing');
});

test('a port already taken: tandem says so and exits 1, without aborting', () => {
	// Output to a file, not a pipe: a judge process forked at start may hold a pipe open
	// after tandem itself has exited, and that is not what this test is about.
	const log = path.join(os.tmpdir(), `tandem-port-taken-${process.pid}.log`);
	const fd = fs.openSync(log, 'w');
	let r;
	try {
		r = spawnSync(
			TANDEM_BIN,
			['serve', '--listen', `127.0.0.1:${srv.port}`, '--redis', REDIS_URL, '--pg', PG, '--secret', 's', '--admin-key', 'k'],
			{ stdio: ['ignore', fd, fd], timeout: 20000 },
		);
	} finally {
		fs.closeSync(fd);
	}
	const out = fs.readFileSync(log, 'utf8');
	fs.rmSync(log, { force: true });
	assert.equal(r.status, 1, `exit ${r.status} signal ${r.signal}: ${out}`);
	assert.match(out, /event=listen .*could not listen/);
});
