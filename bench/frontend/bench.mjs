// bench.mjs - Tandem's room page beside y-codemirror.next + y-websocket, in
// the same headless Chromium, with the same CodeMirror build and the same
// static server (tandem serve --static, gzip, caching) for both pages.
//
// Measured, for each system:
//   keystroke -> peer render: page A types at 10 characters a second, at
//     most LINE_KEYS to a line (see caret); the
//     time from A's keydown to the first animation frame after B's editor
//     shows the character (both pages on one machine clock:
//     performance.timeOrigin + performance.now()), on a small document (after
//     WARM_KEYS typed first and timed apart: the pages' warm-up) and
//     on a 100,000-character one, right after its paste and once parsed
//     (see parsed());
//   local keystroke, on the 100,000-character document: A's keydown to the
//     end of the tasks the key ran (see INSTRUMENT), and to A's editor DOM
//     holding the character; the CPU time of those tasks from a Chromium
//     trace (tracedTyping: what load does not inflate); and Tandem's own
//     part (the binding and the session, timed in the page);
//   reconnect: B offline while A makes 1,000 edits, then B reconnects: from
//     the reconnect to B rendering the merged text, median of
//     BENCH_RECONNECTS (3), with Tandem's parts (socket open, welcome,
//     catch-up frame, merge, CodeMirror's transaction, frame) and B's main
//     thread CPU time over one more, traced, reconnect;
//   first load: a fresh browser context opening a room link until the
//     editor is editable (tandem: after the welcome; y: after the sync),
//     and the bytes transferred (resource timing transferSize);
//   scrub (tandem only): replay of the room, seek to 50 random moments,
//     each from the seek to the first animation frame whose editor holds
//     the moment's text; then playback at 32x for 3 s, the longest gap
//     between animation frames.  Both also as main-thread CPU time from
//     Chromium's trace (each task's thread time), which load moves far less.
// BENCH_ONLY=replay runs Tandem's session and its replay alone (no first
// loads, no y page); BENCH_DIST=dir serves that build of the app instead of
// frontend/dist (to compare two builds in one sitting).
// Prints a Markdown table and writes results.json.  The machine is shared:
// record that beside the figures.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
process.env.TANDEM_BUILD ||= path.join(REPO, 'build-release');
const { Tandem, freePort } = await import(pathToFileURL(path.join(REPO, 'tests/server/e2e/harness.mjs')));
const { chromium } = await import(pathToFileURL(path.join(REPO, 'frontend/node_modules/playwright-core/index.mjs')));

const N_KEYS = Number(process.env.BENCH_KEYS || 120);
const BIG = 100000;
const results = {};

function pct(xs, p) {
	const s = [...xs].sort((a, b) => a - b);
	return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the two systems -------------------------------------------------------------

async function tandemSystem() {
	const t = await Tandem.start({
		args: [
			'--static',
			process.env.BENCH_DIST ? path.resolve(process.env.BENCH_DIST) : path.join(REPO, 'frontend/dist'),
		],
	});
	return {
		name: 'tandem',
		server: t,
		async room() {
			const r = await t.createRoom({
				names: { candidate: 'A', interviewer: 'B' },
			});
			return {
				a: r.links.candidate.replace(/^https?:\/\/[^/]+/, t.base),
				b: r.links.interviewer.replace(/^https?:\/\/[^/]+/, t.base),
				r,
			};
		},
		ready: () => !!(window.tandem?.view && document.querySelector('[data-conn="connected"]')),
		viewExpr: 'window.tandem.view',
		offline: () => window.tandem.session.stop(),
		online: () => window.tandem.session.reclaim(),
		settled: () => document.querySelector('.save[data-unacked="0"]') !== null,
	};
}

async function ySystem() {
	const wsPort = await freePort();
	const proc = spawn(process.execPath, [path.join(HERE, 'node_modules/@y/websocket-server/src/server.js')], {
		env: { ...process.env, HOST: '127.0.0.1', PORT: String(wsPort) },
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	// Not left running when the benchmark fails half way.
	process.on('exit', () => proc.kill('SIGTERM'));
	// The y page comes from a small static server of ours that, like tandem,
	// answers with the precompressed .gz files (tandem's own would do, but
	// its Content-Security-Policy rightly forbids connecting to another port).
	const t = await staticServer(path.join(HERE, 'ypage/dist'));
	let n = 0;
	await sleep(500);
	return {
		name: 'y-codemirror.next + y-websocket',
		server: t,
		proc,
		async room() {
			const room = `bench-${Date.now()}-${n++}`;
			const u = (name) =>
				`${t.base}/?ws=${encodeURIComponent(`ws://127.0.0.1:${wsPort}`)}&room=${room}&name=${name}`;
			return { a: u('A'), b: u('B') };
		},
		ready: () => !!(window.ybench?.view && window.ybench.synced()),
		viewExpr: 'window.ybench.view',
		offline: () => window.ybench.provider.disconnect(),
		online: () => window.ybench.provider.connect(),
		settled: () => window.ybench.provider.ws?.bufferedAmount === 0,
	};
}

async function staticServer(root) {
	const http = await import('node:http');
	const port = await freePort();
	const types = {
		'.html': 'text/html',
		'.js': 'text/javascript',
		'.css': 'text/css',
	};
	const srv = http.createServer((req, res) => {
		const u = new URL(req.url, 'http://x');
		const file = path.join(root, u.pathname === '/' ? 'index.html' : path.normalize(u.pathname));
		if (!file.startsWith(root) || !fs.existsSync(file)) {
			res.writeHead(404).end();
			return;
		}
		const gz = /gzip/.test(req.headers['accept-encoding'] || '') && fs.existsSync(`${file}.gz`);
		res.writeHead(200, {
			'content-type': types[path.extname(file)] || 'application/octet-stream',
			...(gz ? { 'content-encoding': 'gzip' } : {}),
			'cache-control': u.pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-store',
		});
		res.end(fs.readFileSync(gz ? `${file}.gz` : file));
	});
	await new Promise((r) => srv.listen(port, '127.0.0.1', r));
	return {
		base: `http://127.0.0.1:${port}`,
		stop: () => new Promise((r) => srv.close(r)),
	};
}

// ---- in-page instrumentation ---------------------------------------------------------

// Installed in every page: keydown times, the end of each keystroke's
// handling, and render times of every change of the editor's document length.
//
// A keystroke's local handling runs from A's keydown (a capture listener on
// the document, so before any of the page's own) to the end of the tasks the
// key ran: CodeMirror's transaction, the binding's CRDT operations and
// encoding, the session's state updates and the UI's re-render (Preact
// renders in a microtask, after the editor's DOM already holds the
// character).  Its end is when a MessageChannel message posted at the last
// DOM change the key made is delivered, the next task; a frame due in
// between (style, layout, paint) is counted too.  __local keeps the older,
// shorter measure: keydown to the editor's DOM holding the character.
const INSTRUMENT = (viewExpr) => {
	const view = window.tandem?.view || window.ybench.view;
	const now = () => performance.timeOrigin + performance.now();
	window.__keys = [];
	window.__local = [];
	window.__handled = [];
	window.__renders = [];
	window.__ours = [];
	if (window.__instrumented) return;
	window.__instrumented = true;
	// Tandem's own part of a keystroke: the binding copying CodeMirror's
	// transaction into the CRDT, encoding the update, sending it, and the
	// session's bookkeeping (state, the replica's write scheduled).
	const binding = window.tandem?.binding;
	if (binding) {
		const local = binding.local;
		binding.local = function (tr) {
			const t = performance.now();
			try {
				return local.call(this, tr);
			} finally {
				const i = window.__keys.length - 1;
				window.__ours[i] = (window.__ours[i] ?? 0) + performance.now() - t;
			}
		};
	}
	let len = view.state.doc.length;
	const marker = new MessageChannel();
	let pending = 0;
	marker.port1.onmessage = () => {
		if (--pending === 0) window.__handled[window.__keys.length - 1] = now();
	};
	const mark = () => {
		pending++;
		marker.port2.postMessage(0);
	};
	document.addEventListener(
		'keydown',
		() => {
			window.__keys.push(now());
			mark();
		},
		true,
	);
	new MutationObserver(() => {
		mark();
		const l = view.state.doc.length;
		if (l === len) return;
		const grew = l - len;
		len = l;
		if (grew === 1) window.__local.push(now());
		requestAnimationFrame(() => window.__renders.push({ t: now(), grew }));
	}).observe(view.contentDOM, {
		childList: true,
		subtree: true,
		characterData: true,
	});
};

async function openPair(browser, sys, room) {
	const pages = [];
	for (const url of [room.a, room.b]) {
		const ctx = await browser.newContext({
			viewport: { width: 1280, height: 720 },
		});
		const p = await ctx.newPage();
		p.on('pageerror', (e) => console.error(`${sys.name}: page error: ${e.message}`));
		p.on('console', (m) => m.type() === 'error' && console.error(`${sys.name}: console: ${m.text()}`));
		await p.goto(url);
		await p.waitForFunction(sys.ready, null, { timeout: 20000 });
		pages.push(p);
	}
	return pages;
}

// Puts A's caret at the start of the line `back` lines above the last one
// (a selection, not an edit).  A types at most LINE_KEYS characters there:
// the two editors differ in width (Tandem's shows 84 columns beside its
// panes, the y page's is wider), and past its width every keystroke would
// scroll the editor sideways and re-measure it, a cost of the page's
// layout that one page would pay and the other not.
const LINE_KEYS = 60;
// Typed before the small document's timed keystrokes, timed apart.
const WARM_KEYS = 10;
async function caret(a, back) {
	await a.evaluate((back) => {
		const v = window.tandem?.view || window.ybench.view;
		const line = v.state.doc.line(Math.max(1, v.state.doc.lines - back));
		v.focus();
		v.dispatch({ selection: { anchor: line.from }, scrollIntoView: true });
	}, back);
}

// A types n keys at 10 a second; each key's latencies.
async function typing(sys, a, b, n = N_KEYS) {
	await a.evaluate(INSTRUMENT, sys.viewExpr);
	await b.evaluate(INSTRUMENT, sys.viewExpr);
	await caret(a, 0);
	// The peer looks where A types (CodeMirror draws only what is in view).
	await b.evaluate(() => {
		const v = window.tandem?.view || window.ybench.view;
		v.scrollDOM.scrollTop = v.scrollDOM.scrollHeight;
	});
	await sleep(200);
	const start = Date.now();
	for (let i = 0; i < n; i++) {
		if (i > 0 && i % LINE_KEYS === 0) await caret(a, i / LINE_KEYS);
		await a.keyboard.type('abcdefghij'[i % 10]);
		const next = start + (i + 1) * 100;
		await sleep(Math.max(0, next - Date.now()));
	}
	await sleep(500);
	const keys = await a.evaluate(() => window.__keys);
	const local = await a.evaluate(() => window.__local);
	const handled = await a.evaluate(() => window.__handled);
	const ours = await a.evaluate(() => window.__ours.filter((x) => x !== null));
	const renders = await b.evaluate(() => window.__renders.filter((r) => r.grew === 1).map((r) => r.t));
	const peer = [];
	const own = [];
	const whole = [];
	for (let i = 0; i < keys.length; i++) {
		if (renders[i] !== undefined) peer.push(renders[i] - keys[i]);
		if (local[i] !== undefined) own.push(local[i] - keys[i]);
		if (handled[i] !== undefined) whole.push(handled[i] - keys[i]);
	}
	return { peer, own, whole, ours, lost: keys.length - renders.length };
}

// The CPU time of each keystroke's handling, from a Chromium trace of page
// A: the tasks of A's main thread that dispatched a key's events (keydown,
// keypress, beforeinput, input, textupdate, keyup), with the microtasks
// they ran (CodeMirror's transaction, the binding, the UI's re-render).
// Each task's thread time (tdur) is what the thread ran, whatever else the
// machine did; its wall time (dur) is given too.  Frames drawn and timers
// (the replica's write) are other tasks, not counted.
const KEY_EVENTS = new Set(['keydown', 'keypress', 'beforeinput', 'input', 'textInput', 'textupdate', 'keyup']);

async function tracedTyping(browser, sys, a, n) {
	const back = Math.ceil(N_KEYS / LINE_KEYS);
	await caret(a, back);
	await sleep(200);
	await browser.startTracing(a, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
	const start = Date.now();
	for (let i = 0; i < n; i++) {
		if (i > 0 && i % LINE_KEYS === 0) await caret(a, back + i / LINE_KEYS);
		await a.keyboard.type('klmnopqrst'[i % 10]);
		await sleep(Math.max(0, start + (i + 1) * 100 - Date.now()));
	}
	await sleep(300);
	const events = JSON.parse((await browser.stopTracing()).toString()).traceEvents;
	const keydowns = events.filter((e) => e.name === 'EventDispatch' && e.args?.data?.type === 'keydown');
	if (!keydowns.length) return { cpu: [], wall: [] };
	const { pid, tid } = keydowns[0];
	const main = events.filter((e) => e.pid === pid && e.tid === tid && e.ph === 'X');
	const tasks = main.filter((e) => e.name === 'RunTask').sort((x, y) => x.ts - y.ts);
	const dispatches = main.filter((e) => e.name === 'EventDispatch' && KEY_EVENTS.has(e.args?.data?.type));
	const downs = dispatches
		.filter((e) => e.args.data.type === 'keydown')
		.map((e) => e.ts)
		.sort((x, y) => x - y);
	const keyTasks = new Set();
	for (const d of dispatches) {
		const t = tasks.find((k) => k.ts <= d.ts && d.ts <= k.ts + k.dur);
		if (t) keyTasks.add(t);
	}
	const cpu = downs.map(() => 0);
	const wall = downs.map(() => 0);
	for (const t of keyTasks) {
		let i = downs.length - 1;
		while (i > 0 && downs[i] > t.ts + t.dur) i--;
		cpu[i] += (t.tdur ?? t.dur) / 1000;
		wall[i] += t.dur / 1000;
	}
	return { cpu, wall };
}

async function fill(sys, a, b, n) {
	await a.evaluate(
		([e, n]) => {
			const v = window.tandem?.view || window.ybench.view;
			const line = 'value = compute(items[i], 42)  # filler\n';
			v.dispatch({
				changes: {
					from: v.state.doc.length,
					insert: line.repeat(Math.ceil(n / line.length)).slice(0, n),
				},
			});
		},
		[sys.viewExpr, n],
	);
	await b.waitForFunction(
		(m) => (window.tandem?.view || window.ybench.view).state.doc.length >= m[1],
		[sys.viewExpr, n],
		{ timeout: 60000 },
	);
}

// Both editors parse a pasted text in idle-time slices after its
// transaction (CodeMirror's budget there is 20 ms); until the tree reaches
// the end, every keystroke's transaction parses for up to 20 ms more.  The
// 100k document's keystrokes are timed twice: right after the paste, while
// the parse catches up, and once both editors' trees cover the text, as
// when a person opens a document and reads before typing.
async function parsed(a, b) {
	for (const p of [a, b])
		await p.waitForFunction(() => (window.tandem || window.ybench).parsed(), null, { timeout: 60000 });
}

// The CPU time page B's main thread spent from the reconnect call to the
// frame showing the merged text (every task in between: the socket, the
// messages, the merge, CodeMirror's transaction, layout and paint), from a
// Chromium trace: the thread time (tdur) of its tasks.
async function tracedReconnect(browser, sys, a, b) {
	await browser.startTracing(b, {
		categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing'],
	});
	const wall = await reconnect(sys, a, b);
	const raw = await browser.stopTracing();
	if (process.env.BENCH_PROFILE)
		fs.writeFileSync(`${process.env.BENCH_PROFILE}-${sys.name.split(' ')[0]}-reconnect.trace.json`, raw);
	const events = JSON.parse(raw.toString()).traceEvents;
	const mark = (n) => events.find((e) => e.name === n);
	const s = mark('bench-reconnect-start');
	const e = mark('bench-reconnect-end');
	if (!s || !e) return null;
	let cpu = 0;
	for (const t of events)
		if (
			t.pid === s.pid &&
			t.tid === s.tid &&
			t.name === 'RunTask' &&
			t.ph === 'X' &&
			t.ts + t.dur >= s.ts &&
			t.ts <= e.ts
		)
			cpu += (t.tdur ?? t.dur) / 1000;
	return { cpu, wall: wall.total };
}

async function reconnect(sys, a, b, cdp = null) {
	await b.evaluate(sys.offline);
	await a.evaluate((e) => {
		const v = window.tandem?.view || window.ybench.view;
		let seed = 7;
		for (let i = 0; i < 1000; i++) {
			seed = (seed * 1103515245 + 12345) % 2147483648;
			v.dispatch({
				changes: { from: seed % (v.state.doc.length + 1), insert: 'x' },
			});
		}
	}, sys.viewExpr);
	await a.waitForFunction(sys.settled, null, { timeout: 60000 });
	await sleep(300);
	const want = await a.evaluate(() => (window.tandem?.view || window.ybench.view).state.doc.length, sys.viewExpr);
	// With a CDP session (BENCH_PROFILE), the socket's own times from
	// Chromium's network service, free of B's main thread: the handshake
	// (request to response) and each frame, from the handshake request on.
	const net = [];
	let handshakeWall = 0;
	const onNet = (kind) => (e) => {
		if (kind === 'handshake') handshakeWall ||= e.wallTime * 1000;
		net.push([kind, e.timestamp, e.response?.payloadData?.length ?? 0]);
	};
	const netEvents = {
		'Network.webSocketWillSendHandshakeRequest': 'handshake',
		'Network.webSocketHandshakeResponseReceived': 'upgraded',
		'Network.webSocketFrameSent': 'sent',
		'Network.webSocketFrameReceived': 'received',
	};
	const listeners = Object.entries(netEvents).map(([ev, kind]) => [ev, onNet(kind)]);
	if (cdp) {
		await cdp.send('Network.enable');
		for (const [ev, fn] of listeners) cdp.on(ev, fn);
		await cdp.send('Profiler.start');
	}
	const res = await b.evaluate(
		([, want]) =>
			new Promise((resolve) => {
				const v = window.tandem?.view || window.ybench.view;
				performance.mark('bench-reconnect-start');
				const t0 = performance.now();
				// Tandem's parts, in order: the socket open (handshake), the
				// welcome (join), the catch-up's binary frame (the server's
				// catch-up), the CRDT merge with its change list, CodeMirror's
				// transaction (DOM updated), then the frame.
				const parts = {};
				const at = (k) => (parts[k] ??= performance.now() - t0);
				if (window.tandem) {
					const Base = window.WebSocket;
					window.WebSocket = class extends Base {
						constructor(...args) {
							at('socket');
							super(...args);
							at('socket_made');
							this.addEventListener('open', () => at('open'));
							this.addEventListener('message', (e) => {
								if (typeof e.data === 'string') {
									if (e.data.includes('"welcome"')) at('welcome');
								} else if (parts.update === undefined) {
									at('update');
									parts.update_bytes = e.data.byteLength;
								}
							});
						}
					};
					const doc = window.tandem.session.doc;
					const apply = doc.applyUpdate;
					doc.applyUpdate = function (bytes) {
						const t = performance.now();
						try {
							return apply.call(this, bytes);
						} finally {
							parts.merge_ms = (parts.merge_ms ?? 0) + performance.now() - t;
						}
					};
					const onRemote = window.tandem.session.onRemote;
					window.tandem.session.onRemote = (bytes) => {
						const t = performance.now();
						onRemote(bytes);
						parts.remote_ms = (parts.remote_ms ?? 0) + performance.now() - t;
						if (v.state.doc.length === want) at('dispatched');
					};
					const restore = () => {
						window.WebSocket = Base;
						doc.applyUpdate = apply;
						window.tandem.session.onRemote = onRemote;
					};
					parts.restore = restore;
				}
				const check = () => {
					if (v.state.doc.length === want) {
						obs.disconnect();
						requestAnimationFrame(() => {
							const total = performance.now() - t0;
							performance.mark('bench-reconnect-end');
							parts.restore?.();
							delete parts.restore;
							resolve({ total, ...parts, start_wall: performance.timeOrigin + t0 });
						});
					}
				};
				const obs = new MutationObserver(check);
				obs.observe(v.contentDOM, {
					childList: true,
					subtree: true,
					characterData: true,
				});
				if (window.tandem) window.tandem.session.reclaim();
				else window.ybench.provider.connect();
			}),
		[sys.viewExpr, want],
	);
	if (cdp) {
		const { profile } = await cdp.send('Profiler.stop');
		const file = `${process.env.BENCH_PROFILE}-${sys.name.split(' ')[0]}-reconnect.cpuprofile`;
		fs.writeFileSync(file, JSON.stringify(profile));
		for (const [ev, fn] of listeners) cdp.off(ev, fn);
		await cdp.send('Network.disable');
		const t0 = net[0]?.[1] ?? 0;
		// The handshake request on the page's clock (both are wall clocks).
		if (handshakeWall && res.start_wall) res.handshake = handshakeWall - res.start_wall;
		res.net = net.map(([kind, t, n]) => `${kind}@${((t - t0) * 1000).toFixed(1)}(${n})`).join(' ');
	}
	return res;
}

async function firstLoad(browser, sys, url) {
	const ctx = await browser.newContext({
		viewport: { width: 1280, height: 720 },
	});
	const p = await ctx.newPage();
	await p.goto(url);
	await p.waitForFunction(sys.ready, null, { timeout: 20000, polling: 5 });
	const r = await p.evaluate(() => {
		const nav = performance.getEntriesByType('navigation')[0];
		const res = performance.getEntriesByType('resource');
		const bytes = (nav?.transferSize ?? 0) + res.reduce((s, e) => s + (e.transferSize || 0), 0);
		return { ms: performance.now(), bytes };
	});
	await ctx.close();
	return r;
}

async function scrub(browser, t, room) {
	const ctx = await browser.newContext({
		viewport: { width: 1280, height: 720 },
	});
	const p = await ctx.newPage();
	await p.goto(`${t.base}/replay/${room.r.id}#token=${room.r.tokens.interviewer}`);
	await p.waitForFunction(() => window.tandemReplay?.replay, null, {
		timeout: 60000,
	});
	await browser.startTracing(p, { categories: TRACE_CATEGORIES });
	const times = await p.evaluate(
		() =>
			new Promise(async (resolve) => {
				const r = window.tandemReplay;
				const { start, end } = r.replay;
				const out = [];
				let seed = 11;
				for (let i = 0; i < 50; i++) {
					seed = (seed * 1103515245 + 12345) % 2147483648;
					const at = start + ((seed % 1000) / 1000) * (end - start);
					const want = r.replay.at(at).text.length;
					// Settle first, so one seek's work is not counted in the next.
					await new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
					console.timeStamp('seek-start');
					const t0 = performance.now();
					r.seek(at);
					// To the first frame after the editor holds the moment's text.
					for (;;) {
						await new Promise((res) => requestAnimationFrame(res));
						if (r.view.state.doc.length === want) break;
					}
					out.push(performance.now() - t0);
					// The CPU count ends once that frame is drawn: at the next one.
					await new Promise((res) => requestAnimationFrame(res));
					console.timeStamp('seek-end');
				}
				resolve({
					out,
					events: r.replay.events.length,
					edits: r.replay.edits.length,
				});
			}),
	);
	// Playback at 32x from the start for 3 s: the longest gap between frames
	// (the whole session, its 100,000-character paste included, plays in it).
	await p.getByRole('slider', { name: 'Timeline' }).fill('0');
	await p.getByRole('combobox').selectOption('32');
	await p.getByRole('button', { name: 'Play' }).click();
	Object.assign(
		times,
		await p.evaluate(
			() =>
				new Promise((resolve) => {
					let last = performance.now();
					let max = 0;
					let frames = 0;
					let over = 0;
					const end = last + 3000;
					const tick = (now) => {
						console.timeStamp('frame');
						max = Math.max(max, now - last);
						if (now - last > 50) over++;
						frames++;
						last = now;
						if (now < end) requestAnimationFrame(tick);
						else resolve({ playMaxFrame: max, playFrames: frames, playOver50: over });
					};
					requestAnimationFrame(tick);
				}),
		),
	);
	const cpu = mainThreadCpu(JSON.parse((await browser.stopTracing()).toString()));
	times.seekCpu = cpu.seeks;
	times.playMaxFrameCpu = cpu.maxFrame;
	await ctx.close();
	return times;
}

// Main-thread CPU time, which the other sessions' load moves far less than
// wall time: Chromium's trace gives each task of the renderer's main thread
// its thread time (tdur).  Per seek: the tasks from the one that seeks to the
// frame after the one showing the moment; per frame of playback: the tasks
// between one animation frame and the next.
const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'toplevel'];
function mainThreadCpu(trace) {
	const ev = trace.traceEvents ?? trace;
	const main = ev.find(
		(e) =>
			e.name === 'thread_name' &&
			e.args?.name === 'CrRendererMain' &&
			ev.some((m) => m.name === 'TimeStamp' && m.pid === e.pid && m.tid === e.tid),
	);
	const on = (e) => e.pid === main.pid && e.tid === main.tid;
	const tasks = ev
		.filter((e) => on(e) && e.ph === 'X' && e.name === 'RunTask' && e.tdur !== undefined)
		.sort((a, b) => a.ts - b.ts);
	const marks = ev.filter((e) => on(e) && e.name === 'TimeStamp').sort((a, b) => a.ts - b.ts);
	// CPU ms of the tasks that start in [from, to), and of the one running at from.
	const cpu = (from, to) =>
		tasks.filter((t) => t.ts + t.dur > from && t.ts < to).reduce((s, t) => s + t.tdur, 0) / 1000;
	const seeks = [];
	let start = null;
	const frames = [];
	for (const m of marks) {
		const msg = m.args?.data?.message;
		if (msg === 'seek-start') start = m.ts;
		else if (msg === 'seek-end' && start !== null) (seeks.push(cpu(start, m.ts)), (start = null));
		else if (msg === 'frame') frames.push(m.ts);
	}
	// A frame: the tasks that start after the previous frame's mark, up to
	// its own (the task drawing it starts before its mark).
	const starting = (from, to) =>
		tasks.filter((t) => t.ts > from && t.ts <= to).reduce((s, t) => s + t.tdur, 0) / 1000;
	let maxFrame = 0;
	for (let i = 1; i < frames.length; i++) maxFrame = Math.max(maxFrame, starting(frames[i - 1], frames[i]));
	return { seeks, maxFrame };
}

// ---- the run ---------------------------------------------------------------------

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	args: ['--no-sandbox', '--disable-gpu'],
});
// BENCH_ONLY picks parts (small,big,reconnect,load,scrub; default all),
// BENCH_SYSTEMS systems (tandem,y); BENCH_PROFILE=prefix saves a CPU profile
// of page A while it types on the large document (prefix-<system>.cpuprofile,
// for Chrome DevTools' Performance panel), and of page B during each
// reconnect (the last one's kept), whose record in results.json then also
// has `net`: the socket's handshake and frames as Chromium's network
// service saw them (ms from the handshake request; a binary frame's size
// is its base64 length), and `handshake`: when the request went, from the
// reconnect call.
// BENCH_ONLY=replay is small,big,reconnect,scrub of Tandem alone.
const REPLAY = process.env.BENCH_ONLY === 'replay';
const ONLY = new Set(
	(REPLAY ? 'small,big,reconnect,scrub' : process.env.BENCH_ONLY || 'small,big,reconnect,load,scrub').split(','),
);
const SYSTEMS = (process.env.BENCH_SYSTEMS || (REPLAY ? 'tandem' : 'tandem,y')).split(',');
const RECONNECTS = Number(process.env.BENCH_RECONNECTS || 3);
const makers = { tandem: tandemSystem, y: ySystem };
for (const key of SYSTEMS) {
	const sys = await makers[key]();
	const room = await sys.room();
	const [a, b] = await openPair(browser, sys, room);
	const log = (m) => console.error(`${sys.name}: ${m}`);
	const r = {};
	if (ONLY.has('small')) {
		log('typing on a small document');
		// The first keystrokes after a page opened are each system's warm-up
		// (the first call of every function on the way: 25-81 ms for
		// Tandem's first two, 26-49 ms for y's first, in three runs where
		// none of the other 118 passed 18 ms in either): timed apart.
		const warm = await typing(sys, a, b, WARM_KEYS);
		r.peer_first = warm.peer.map((x) => Math.round(x * 10) / 10);
		const small = await typing(sys, a, b);
		r.peer_small_p50 = pct(small.peer, 50);
		r.peer_small_p99 = pct(small.peer, 99);
		r.peer_small = small.peer.map((x) => Math.round(x * 10) / 10);
		r.lost = small.lost;
	}
	if (ONLY.has('big') || ONLY.has('reconnect')) {
		log('filling to 100,000 characters');
		await fill(sys, a, b, BIG);
	}
	if (ONLY.has('big')) {
		log('typing on the large document, right after its paste');
		const fresh = await typing(sys, a, b);
		r.peer_fresh_p50 = pct(fresh.peer, 50);
		r.peer_fresh_p99 = pct(fresh.peer, 99);
		r.peer_fresh = fresh.peer.map((x) => Math.round(x * 10) / 10);
		r.handled_fresh_p50 = pct(fresh.whole, 50);
		r.handled_fresh_p99 = pct(fresh.whole, 99);
		r.lost = (r.lost ?? 0) + fresh.lost;
		log('typing on the large document, parsed');
		await parsed(a, b);
		const cdp = process.env.BENCH_PROFILE ? await a.context().newCDPSession(a) : null;
		if (cdp) {
			await cdp.send('Profiler.enable');
			await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
			await cdp.send('Profiler.start');
		}
		const big = await typing(sys, a, b);
		if (cdp) {
			const { profile } = await cdp.send('Profiler.stop');
			const file = `${process.env.BENCH_PROFILE}-${key}.cpuprofile`;
			fs.writeFileSync(file, JSON.stringify(profile));
			log(`CPU profile of page A: ${file}`);
			await cdp.detach();
		}
		r.peer_big_p50 = pct(big.peer, 50);
		r.peer_big_p99 = pct(big.peer, 99);
		r.peer_big = big.peer.map((x) => Math.round(x * 10) / 10);
		r.local_big_p50 = pct(big.own, 50);
		r.local_big_p99 = pct(big.own, 99);
		r.handled_big_p50 = pct(big.whole, 50);
		r.handled_big_p99 = pct(big.whole, 99);
		r.ours_big_p50 = pct(big.ours, 50);
		r.ours_big_p99 = pct(big.ours, 99);
		r.lost = (r.lost ?? 0) + big.lost;
		log('typing on the large document, traced (CPU time of each keystroke)');
		const tr = await tracedTyping(browser, sys, a, Math.min(N_KEYS, 60));
		r.key_cpu_p50 = pct(tr.cpu, 50);
		r.key_cpu_p99 = pct(tr.cpu, 99);
		r.key_wall_p50 = pct(tr.wall, 50);
		r.key_wall_p99 = pct(tr.wall, 99);
		r.key_traced = tr.cpu.length;
	}
	if (ONLY.has('reconnect')) {
		log(`1,000 edits while the peer is offline, then its reconnect (${RECONNECTS} times)`);
		const cdp = process.env.BENCH_PROFILE ? await b.context().newCDPSession(b) : null;
		if (cdp) {
			await cdp.send('Profiler.enable');
			await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
		}
		// B looks at the end of the text, as after the typing above (and
		// with BENCH_ONLY=reconnect too): what it draws decides how much
		// its editor parses and draws on the catch-up.
		await b.evaluate(
			() =>
				new Promise((resolve) => {
					const v = window.tandem?.view || window.ybench.view;
					v.scrollDOM.scrollTop = v.scrollDOM.scrollHeight;
					requestAnimationFrame(() => requestAnimationFrame(resolve));
				}),
		);
		const recs = [];
		for (let i = 0; i < RECONNECTS; i++) {
			// Only the reconnect itself is profiled, not A's edits before it.
			recs.push(await reconnect(sys, a, b, cdp));
		}
		if (cdp) await cdp.detach();
		r.reconnect_traced = await tracedReconnect(browser, sys, a, b);
		recs.sort((x, y) => x.total - y.total);
		r.reconnects = recs;
		r.reconnect_1000_ms = recs[Math.floor(recs.length / 2)].total;
		r.reconnect_parts = recs[Math.floor(recs.length / 2)];
	}
	if (ONLY.has('load')) {
		log('first loads');
		const loads = [];
		for (let i = 0; i < 5; i++) loads.push(await firstLoad(browser, sys, (await sys.room()).a));
		r.first_load_ms_median = pct(
			loads.map((l) => l.ms),
			50,
		);
		r.first_load_bytes = loads[0].bytes;
	}
	if (sys.name === 'tandem' && ONLY.has('scrub')) {
		log('replay scrubs');
		const s = await scrub(browser, sys.server, room);
		r.scrub_p50 = pct(s.out, 50);
		r.scrub_p99 = pct(s.out, 99);
		r.scrub_max = Math.max(...s.out);
		r.scrub_events = s.events;
		r.play32_max_frame = s.playMaxFrame;
		r.play32_frames = s.playFrames;
		r.play32_over50 = s.playOver50;
		r.scrub_cpu_p50 = pct(s.seekCpu, 50);
		r.scrub_cpu_p99 = pct(s.seekCpu, 99);
		r.play32_max_frame_cpu = s.playMaxFrameCpu;
	}
	results[sys.name] = r;
	await a.context().close();
	await b.context().close();
	await sys.server.stop();
	sys.proc?.kill('SIGTERM');
}
await browser.close();

const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : '–');
const names = Object.keys(results);
const rows = [
	[
		'keystroke → peer render, small doc, p50 / p99 (ms)',
		(r) => `${fmt(r.peer_small_p50)} / ${fmt(r.peer_small_p99)}`,
	],
	[
		'keystroke → peer render, the first 3 after the pages opened (ms; not in the row above)',
		(r) => (r.peer_first?.length ? r.peer_first.slice(0, 3).map(fmt).join(' / ') : '–'),
	],
	[
		'keystroke → peer render, 100k doc right after its paste, p50 / p99 (ms)',
		(r) => `${fmt(r.peer_fresh_p50)} / ${fmt(r.peer_fresh_p99)}`,
	],
	[
		'keystroke → peer render, 100k doc parsed, p50 / p99 (ms)',
		(r) => `${fmt(r.peer_big_p50)} / ${fmt(r.peer_big_p99)}`,
	],
	[
		'local keystroke handling (keydown to end of its tasks), 100k doc right after its paste, p50 / p99 (ms)',
		(r) => `${fmt(r.handled_fresh_p50)} / ${fmt(r.handled_fresh_p99)}`,
	],
	[
		'local keystroke handling (keydown to end of its tasks), 100k doc parsed, p50 / p99 (ms)',
		(r) => `${fmt(r.handled_big_p50)} / ${fmt(r.handled_big_p99)}`,
	],
	[
		'keydown to the editor DOM holding the character, 100k doc, p50 / p99 (ms)',
		(r) => `${fmt(r.local_big_p50)} / ${fmt(r.local_big_p99)}`,
	],
	[
		"keystroke's tasks on A's main thread, traced, 100k doc: CPU p50 / p99, wall p50 / p99 (ms)",
		(r) =>
			r.key_traced
				? `${fmt(r.key_cpu_p50)} / ${fmt(r.key_cpu_p99)}, ${fmt(r.key_wall_p50)} / ${fmt(r.key_wall_p99)}`
				: '–',
	],
	[
		"… of which Tandem's binding and session (CRDT ops, encode, send, bookkeeping), p50 / p99 (ms)",
		(r) => (!Number.isFinite(r.ours_big_p50) ? '–' : `${fmt(r.ours_big_p50)} / ${fmt(r.ours_big_p99)}`),
	],
	['1,000-edit reconnect merged and rendered, median (ms)', (r) => fmt(r.reconnect_1000_ms)],
	[
		'… of which: socket open / welcome / catch-up frame in / merge / transaction / to the frame (ms)',
		(r) => {
			const p = r.reconnect_parts;
			if (!p || p.open === undefined) return '–';
			return `${fmt(p.open)} / ${fmt(p.welcome)} / ${fmt(p.update)} / ${fmt(p.merge_ms)} / ${fmt(p.remote_ms - p.merge_ms)} / ${fmt(p.total - p.dispatched)}`;
		},
	],
	[
		"… B's main thread during a traced reconnect: CPU / wall (ms)",
		(r) => (r.reconnect_traced ? `${fmt(r.reconnect_traced.cpu)} / ${fmt(r.reconnect_traced.wall)}` : '–'),
	],
	['first load to editable, median of 5 (ms)', (r) => fmt(r.first_load_ms_median)],
	['first load transferred (KB)', (r) => fmt(r.first_load_bytes / 1024)],
	[
		'replay playback at 32x, longest frame over 3 s (ms; frames over 50 ms / frames)',
		(r) => `${fmt(r.play32_max_frame)} (${fmt(r.play32_over50)} / ${fmt(r.play32_frames)})`,
	],
	[
		'replay scrub, main-thread CPU per seek, p50 / p99 (ms)',
		(r) => (r.scrub_cpu_p50 === undefined ? '–' : `${fmt(r.scrub_cpu_p50)} / ${fmt(r.scrub_cpu_p99)}`),
	],
	['replay playback at 32x, most main-thread CPU in one frame (ms)', (r) => fmt(r.play32_max_frame_cpu)],
	[
		'replay scrub to a random moment, p50 / p99 / max (ms)',
		(r) => (r.scrub_p50 === undefined ? '–' : `${fmt(r.scrub_p50)} / ${fmt(r.scrub_p99)} / ${fmt(r.scrub_max)}`),
	],
];
console.log(`| measure | ${names.join(' | ')} |\n|---|${names.map(() => '---').join('|')}|`);
for (const [label, f] of rows) console.log(`| ${label} | ${names.map((n) => f(results[n])).join(' | ')} |`);
console.log(
	`keystrokes per run: ${N_KEYS} at 10/s; lost renders: ${names.map((n) => `${n} ${results[n].lost}`).join(', ')}`,
);
fs.writeFileSync(path.join(HERE, 'results.json'), JSON.stringify(results, null, 2));
