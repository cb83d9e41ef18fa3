// test-static.mjs - `tandem serve --static DIR` serving the built browser
// app (issue 17): the type of every file Vite emits, precompressed gzip,
// caching by name, the single-page-app fallback, the security headers,
// and never a byte from outside DIR (.. and symlinks).  DIR is made here,
// the way `vite build` lays it out, with a secret beside it and symlinks
// in it that point out.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, test } from 'node:test';

import { Tandem, requirements } from './harness.mjs';

await requirements();

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-static-'));
const DIST = path.join(ROOT, 'dist');
const SECRET = 'SECRET-OUTSIDE-DIST-' + Math.random();
const INDEX = '<!doctype html><title>Tandem</title><script type="module" src="/assets/index-3f2a1b.js"></script>';

const files = {
	'index.html': INDEX,
	'assets/index-3f2a1b.js': 'console.log("app");'.repeat(50),
	'assets/worker-77aa.mjs': 'export const x = 1;',
	'assets/index-9c8d.css': 'body{margin:0}',
	'assets/tandem-crdt-5e6f.wasm': Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
	'assets/logo-1a2b.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
	'assets/icon-3c4d.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
	'assets/index-3f2a1b.js.map': '{"version":3}',
	'assets/font-5e6f.woff2': Buffer.from('wOF2fake'),
	'favicon.ico': Buffer.from([0, 0, 1, 0]),
	'manifest.json': '{"name":"Tandem"}',
};
const TYPES = {
	'index.html': /^text\/html/,
	'assets/index-3f2a1b.js': /^text\/javascript/,
	'assets/worker-77aa.mjs': /^text\/javascript/,
	'assets/index-9c8d.css': /^text\/css/,
	'assets/tandem-crdt-5e6f.wasm': /^application\/wasm$/,
	'assets/logo-1a2b.svg': /^image\/svg\+xml$/,
	'assets/icon-3c4d.png': /^image\/png$/,
	'assets/index-3f2a1b.js.map': /^application\/json$/,
	'assets/font-5e6f.woff2': /^font\/woff2$/,
	'favicon.ico': /^image\/(x-icon|vnd\.microsoft\.icon)$/,
	'manifest.json': /^application\/json$/,
};
const CSP =
	"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

let srv;
before(async () => {
	// Started as root, tandem serves as nobody: the folders must be readable by anyone
	// (the secrets too, so that only tandem's own rules keep them out).
	fs.chmodSync(ROOT, 0o755);
	fs.mkdirSync(path.join(DIST, 'assets'), { recursive: true });
	for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(DIST, name), content);
	// Precompressed twins of the big text files, as a compression plugin writes them.
	for (const name of ['index.html', 'assets/index-3f2a1b.js', 'assets/tandem-crdt-5e6f.wasm'])
		fs.writeFileSync(path.join(DIST, name + '.gz'), zlib.gzipSync(Buffer.from(files[name])));
	// What must never be served: a file beside DIST, and links from inside DIST to it and to /etc.
	fs.writeFileSync(path.join(ROOT, 'secret.txt'), SECRET);
	fs.mkdirSync(path.join(ROOT, 'outside'));
	fs.writeFileSync(path.join(ROOT, 'outside', 'secret.txt'), SECRET);
	fs.symlinkSync(path.join(ROOT, 'secret.txt'), path.join(DIST, 'leak.txt'));
	fs.symlinkSync(path.join(ROOT, 'secret.txt'), path.join(DIST, 'assets', 'leak-1a.js'));
	fs.symlinkSync(path.join(ROOT, 'outside'), path.join(DIST, 'linkdir'));
	fs.symlinkSync('/etc', path.join(DIST, 'etc'));
	fs.writeFileSync(path.join(DIST, '.env'), SECRET);
	srv = await Tandem.start({ args: ['--static', DIST] });
});
after(async () => {
	await srv?.stop();
	fs.rmSync(ROOT, { recursive: true, force: true });
});

// One request with node:http (which, unlike fetch, leaves gzip alone): {status, headers, body: Buffer}.
function get(p, { method = 'GET', headers = {} } = {}) {
	return new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port: srv.port, path: p, method, headers }, (res) => {
			const chunks = [];
			res.on('data', (d) => chunks.push(d));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
			res.on('error', reject);
		});
		req.on('error', reject);
		req.setTimeout(10000, () => req.destroy(new Error(`${method} ${p}: no answer in 10 s`)));
		req.end();
	});
}

function securityHeaders(r, what) {
	assert.equal(r.headers['content-security-policy'], CSP, `${what}: CSP`);
	assert.equal(r.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
	assert.equal(r.headers['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
}

test('every type Vite emits is served with its Content-Type and the security headers', async () => {
	for (const [name, content] of Object.entries(files)) {
		const r = await get('/' + name);
		assert.equal(r.status, 200, `/${name}: ${r.status} ${r.body}`);
		assert.match(r.headers['content-type'], TYPES[name], `/${name}: Content-Type ${r.headers['content-type']}`);
		assert.deepEqual(r.body, Buffer.from(content), `/${name}: body`);
		assert.equal(r.headers['content-encoding'], undefined, `/${name}: not encoded without Accept-Encoding`);
		securityHeaders(r, `/${name}`);
	}
	const root = await get('/');
	assert.equal(root.status, 200);
	assert.equal(root.body.toString(), INDEX, '/ is index.html');
	// HEAD: the same headers, no body.
	const head = await get('/assets/index-3f2a1b.js', { method: 'HEAD' });
	assert.equal(head.status, 200);
	assert.equal(Number(head.headers['content-length']), Buffer.byteLength(files['assets/index-3f2a1b.js']));
	assert.equal(head.body.length, 0, 'HEAD has no body');
	// Other methods are not for files.
	assert.equal((await get('/index.html', { method: 'POST' })).status, 405);
});

test('precompressed gzip when the client takes it, with Vary', async () => {
	for (const name of ['index.html', 'assets/index-3f2a1b.js', 'assets/tandem-crdt-5e6f.wasm']) {
		for (const ae of ['gzip', 'gzip, deflate, br', 'br;q=1.0, gzip;q=0.8', '*']) {
			const r = await get('/' + name, { headers: { 'accept-encoding': ae } });
			assert.equal(r.status, 200);
			assert.equal(r.headers['content-encoding'], 'gzip', `/${name} with "${ae}"`);
			assert.match(r.headers['content-type'], TYPES[name], `/${name}.gz keeps the type of /${name}`);
			assert.deepEqual(zlib.gunzipSync(r.body), Buffer.from(files[name]), `/${name}: the gzip twin`);
			assert.match(r.headers.vary || '', /accept-encoding/i);
		}
		for (const ae of ['deflate, br', 'gzip;q=0', 'identity']) {
			const r = await get('/' + name, { headers: { 'accept-encoding': ae } });
			assert.equal(r.headers['content-encoding'], undefined, `/${name} with "${ae}": plain`);
			assert.deepEqual(r.body, Buffer.from(files[name]));
			assert.match(r.headers.vary || '', /accept-encoding/i);
		}
	}
	// No twin: the plain file, whatever the client takes.
	const css = await get('/assets/index-9c8d.css', { headers: { 'accept-encoding': 'gzip' } });
	assert.equal(css.headers['content-encoding'], undefined);
	assert.equal(css.body.toString(), files['assets/index-9c8d.css']);
});

test('hashed assets are immutable, index.html is revalidated', async () => {
	for (const name of Object.keys(files).filter((n) => n.startsWith('assets/')))
		assert.equal((await get('/' + name)).headers['cache-control'], 'public, max-age=31536000, immutable', name);
	for (const p of ['/', '/index.html', '/room/abc', '/favicon.ico'])
		assert.equal((await get(p)).headers['cache-control'], 'no-cache', p);
});

test('the app routes answer index.html; /api, /ws, /metrics, /healthz, /readyz keep their meaning', async () => {
	for (const p of ['/room/abc123', '/room/abc123/', '/replay/xyz', '/dashboard', '/problems', '/problems/two-sum', '/?room=1'])
	{
		const r = await get(p);
		assert.equal(r.status, 200, `${p}: ${r.status}`);
		assert.equal(r.body.toString(), INDEX, `${p}: index.html`);
		assert.match(r.headers['content-type'], /^text\/html/);
		securityHeaders(r, p);
	}
	for (const p of ['/assets/missing-0000.js', '/assets/', '/assets/sub/none', '/missing.js', '/nope.png']) {
		const r = await get(p);
		assert.equal(r.status, 404, `${p}: ${r.status}`);
		assert.ok(!r.body.toString().includes('<title>Tandem'), `${p}: not index.html`);
	}
	const api = await get('/api/rooms/none');
	assert.equal(api.status, 401, 'an API route still needs its token');
	assert.match(api.headers['content-type'], /json/);
	assert.equal((await get('/api/nope')).status, 404);
	assert.equal((await get('/healthz')).body.toString(), 'ok\n');
	assert.match((await get('/metrics')).body.toString(), /tandem_connections/);
	assert.ok([200, 503].includes((await get('/readyz')).status));
	const ws = await get('/ws');
	assert.equal(ws.status, 400, '/ws without a handshake');
	// And the WebSocket itself still works beside the files.
	const room = await srv.createRoom();
	const c = await srv.join(room, 'interviewer');
	await c.close();
});

test('nothing outside DIR is ever served: .., encoded .., symlinks, dotfiles', async () => {
	for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/../../secret.txt', '/..%2fsecret.txt',
		'/%2e%2e%2fsecret.txt', '/leak.txt', '/assets/leak-1a.js', '/linkdir/secret.txt', '/etc/passwd', '/etc/hostname',
		'/.env', '/assets/%2e%2e/%2e%2e/secret.txt', '/dist/../secret.txt', '//etc/passwd'])
	{
		const r = await get(p);
		const body = r.body.toString();
		assert.ok(!body.includes(SECRET), `${p}: served the secret (${r.status})`);
		assert.ok(!/root:.*:0:0:/.test(body), `${p}: served /etc/passwd (${r.status})`);
		assert.ok(r.status === 404 || r.status === 400 || (r.status === 200 && body === INDEX),
			`${p}: ${r.status} ${body.slice(0, 80)}`);
	}
	// A link to a file of DIST's own is still a link: not followed either.
	fs.symlinkSync(path.join(DIST, 'index.html'), path.join(DIST, 'assets', 'inner-1.html'));
	assert.equal((await get('/assets/inner-1.html')).status, 404);
});

test('the API answers carry security headers too, and never the app CSP', async () => {
	const r = await get('/api/rooms/none');
	assert.equal(r.headers['x-content-type-options'], 'nosniff');
	assert.equal(r.headers['referrer-policy'], 'no-referrer');
	assert.match(r.headers['content-security-policy'], /default-src 'none'/);
	assert.equal(r.headers['cache-control'], 'no-store');
});
