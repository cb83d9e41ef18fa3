// Offline editing: a page whose socket cannot reach the server keeps
// typing, keeps the edits in IndexedDB across a reload, and merges them on
// reconnect; the peer ends with everything, nothing lost or doubled.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
	allowNetworkErrors,
	cursorAt,
	openRoom,
	shot,
	startPair,
	text,
	WAIT,
	waitSaved,
	waitText,
} from './harness.mjs';

let env, room, cand, intv;
before(async () => {
	({ env, room, cand, intv } = await startPair());
});
after(async () => {
	await env?.stop();
});

/**
 * The page's WebSockets go through this route: passed to the server while
 * `online`, refused (closed at once) while not.  Sockets already open are
 * not touched: the test closes the page's own.
 */
let online = true;
async function routeSockets(page) {
	await page.context().routeWebSocket(/\/ws$/, (ws) => {
		if (online) ws.connectToServer();
		else ws.close({ code: 1001, reason: 'offline' });
	});
}
async function network(_page, on) {
	online = on;
}

test('offline: type, reload, reconnect: nothing lost', async () => {
	allowNetworkErrors(cand);
	await routeSockets(cand);
	await cand.reload();
	await cand.waitForSelector('[data-conn="connected"]', { timeout: WAIT });
	await cursorAt(cand, 0);
	await cand.keyboard.type('online = 1\n');
	await waitText(intv, 'online = 1\n');
	await waitSaved(cand);

	// The server goes away for this page: its socket is closed and every new
	// one refused.
	await network(cand, false);
	await cand.evaluate(() => window.tandem.session.dropSocket());
	await cand.waitForSelector('[data-conn="reconnecting"]', { timeout: WAIT });
	await cursorAt(cand, (await text(cand)).length);
	await cand.keyboard.type('offline = "😀 世界"\n');
	// The edits are kept on this device, not on the server.
	await cand.waitForSelector('.save[data-kept="1"]:not([data-unacked="0"])', {
		timeout: WAIT,
	});
	await shot(cand, 'room-offline');
	// The peer typed meanwhile.
	await cursorAt(intv, 0);
	await intv.keyboard.type('# peer\n');

	// Reload while still cut off: the page comes back from IndexedDB.
	await cand.reload();
	await cand.waitForFunction(() => window.tandem?.view, null, {
		timeout: WAIT,
	});
	assert.equal(await text(cand), 'online = 1\noffline = "😀 世界"\n');
	assert.notEqual(await cand.locator('.conn').getAttribute('data-conn'), 'connected');

	// Back online: both sides end with everything.
	await network(cand, true);
	await cand.evaluate(() => window.tandem.session.retryNow());
	const want = '# peer\nonline = 1\noffline = "😀 世界"\n';
	await waitText(cand, want, 'candidate after reconnect');
	await waitText(intv, want, 'interviewer after reconnect');
	await waitSaved(cand);
});

test('the browser goes offline: "Offline" at once, Run and Submit wait for the connection', async () => {
	const p = await env.page();
	allowNetworkErrors(p);
	await openRoom(p, env.link(room, 'candidate'));
	await p.context().setOffline(true);
	// Chromium's offline mode leaves open sockets alone: only the page's
	// `offline` handling can say so.
	await p.waitForSelector('[data-conn="offline"]', { timeout: 3000 });
	assert.ok(await p.getByRole('button', { name: 'Run', exact: true }).isDisabled());
	assert.ok(await p.getByRole('button', { name: 'Submit' }).isDisabled());
	await p.getByTestId('wait-note').waitFor({ timeout: WAIT });
	// The shortcut says why nothing runs.
	await cursorAt(p, 0);
	await p.keyboard.press('Control+Enter');
	await p.getByRole('alert').filter({ hasText: 'wait for the connection' }).waitFor({ timeout: WAIT });
	await shot(p, 'room-browser-offline');
	await p.context().setOffline(false);
	await p.waitForSelector('[data-conn="connected"]', { timeout: WAIT });
	assert.equal(await p.getByTestId('wait-note').count(), 0);
	await p.close();
});

test('a socket that stops answering is dropped and the edit still arrives', async () => {
	const p = await env.page();
	allowNetworkErrors(p);
	// The first socket goes half-dead on demand: the server's frames stop
	// reaching the page while the socket stays open.
	let sockets = 0;
	let mute = false;
	await p.context().routeWebSocket(/\/ws$/, (ws) => {
		const first = ++sockets === 1;
		const server = ws.connectToServer();
		server.onMessage((m) => {
			if (!(first && mute)) ws.send(m);
		});
	});
	await openRoom(p, env.link(room, 'candidate'));
	await waitSaved(p);
	// Every state the indicator shows is recorded: the reconnect after the
	// dead socket is over in a fraction of a second, quicker than Playwright
	// polls a selector.
	await p.evaluate(() => {
		const el = document.querySelector('.conn');
		window.connStates = [];
		new MutationObserver(() => window.connStates.push(el.dataset.conn)).observe(el, {
			attributes: true,
			attributeFilter: ['data-conn'],
		});
	});
	mute = true;
	const before = await text(intv);
	await cursorAt(p, 0);
	await p.keyboard.type('half = 1\n');
	// The watchdog gives up on the socket ANSWER_MS (8 s) after the first
	// unanswered frame, shows it, and reconnects.
	await p.waitForFunction(() => window.connStates.includes('reconnecting'), null, { timeout: 15000 });
	await p.waitForSelector('[data-conn="connected"]', { timeout: WAIT });
	assert.ok(sockets >= 2, 'a new socket');
	await waitText(intv, `half = 1\n${before}`, 'the peer after the dead socket');
	await waitSaved(p);
	await p.close();
});

test('a long offline session: the replica log is folded into a snapshot, and a reload keeps it all', async () => {
	const p = await env.page();
	allowNetworkErrors(p);
	await routeSockets(p);
	await openRoom(p, env.link(room, 'candidate'));
	await waitSaved(p);
	const start = await text(p);
	await network(p, false);
	await p.evaluate(() => window.tandem.session.dropSocket());
	await p.waitForSelector('[data-conn="reconnecting"]', { timeout: WAIT });
	// 300 edits, each its own update and log record: more than the log
	// holds before it is folded into a snapshot (COMPACT_AT, 256).
	await p.evaluate(() => {
		const v = window.tandem.view;
		for (let i = 0; i < 300; i++)
			v.dispatch({ changes: { from: v.state.doc.length, insert: String.fromCharCode(97 + (i % 26)) } });
	});
	await p.waitForSelector('.save[data-kept="1"]:not([data-unacked="0"])', { timeout: WAIT });
	// Then a few more, written as log records after the snapshot.
	await cursorAt(p, (await text(p)).length);
	await p.keyboard.type('\n# after');
	await p.waitForSelector('.save[data-kept="1"]:not([data-unacked="0"])', { timeout: WAIT });
	const want = await text(p);
	assert.equal(want.length, start.length + 300 + '\n# after'.length);

	await p.reload();
	await p.waitForFunction(() => window.tandem?.view, null, { timeout: WAIT });
	assert.equal(await text(p), want);
	// IndexedDB holds a snapshot of at least the 300 edits and a short log.
	const stored = await p.evaluate(
		() =>
			new Promise((resolve, reject) => {
				const req = indexedDB.open('tandem');
				req.onerror = () => reject(req.error);
				req.onsuccess = () => {
					const tx = req.result.transaction(['replicas', 'log'], 'readonly');
					const snaps = tx.objectStore('replicas').getAll();
					const log = tx.objectStore('log').getAll();
					tx.oncomplete = () =>
						resolve({
							snapSeq: Math.max(0, ...snaps.result.map((s) => s.seq ?? 0)),
							log: log.result.length,
						});
				};
			}),
	);
	assert.ok(stored.snapSeq >= 300, `a snapshot after the 300 edits (seq ${stored.snapSeq})`);
	assert.ok(stored.log < 256, `the log was folded (${stored.log} records left)`);

	await network(p, true);
	await p.evaluate(() => window.tandem.session.retryNow());
	await waitText(intv, want, 'the peer after the long offline session');
	await waitSaved(p);
	await p.close();
});
