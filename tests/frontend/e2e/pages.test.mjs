// The pages a link can end on besides the room: invalid, expired, closed,
// seat taken by another tab (4008), server unreachable.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { allowNetworkErrors, cursorAt, jwtSign, openRoom, shot, start, text, WAIT, waitText } from './harness.mjs';

let env, room;
before(async () => {
	env = await start();
	room = await env.tandem.createRoom({
		names: { candidate: 'Ada', interviewer: 'Ivan' },
	});
});
after(async () => {
	await env?.stop();
});

const token = (claims, secret = env.tandem.secret) =>
	jwtSign(
		{
			room: room.id,
			role: 'candidate',
			name: 'Ada',
			iat: Math.floor(Date.now() / 1000),
			jti: crypto.randomUUID(),
			...claims,
		},
		secret,
	);
const url = (t) => `${env.tandem.base}/?room=${encodeURIComponent(room.id)}#token=${t}`;

test('a link without its token', async () => {
	const p = await env.page();
	await p.goto(`${env.tandem.base}/?room=${room.id}`);
	await p.locator('[data-page="invalid-link"]').waitFor({ timeout: WAIT });
	assert.match(await p.getByRole('heading').textContent(), /not valid/);
	await shot(p, 'page-invalid-link');
});

test('an expired link', async () => {
	const p = await env.page();
	await p.goto(url(token({ exp: Math.floor(Date.now() / 1000) - 60 })));
	await p.locator('[data-page="expired"]').waitFor({ timeout: WAIT });
	await shot(p, 'page-expired');
});

test('a forged link (the server refuses it)', async () => {
	const p = await env.page();
	await p.goto(url(token({ exp: Math.floor(Date.now() / 1000) + 3600 }, 'not the secret')));
	await p.locator('[data-page="invalid-link"]').waitFor({ timeout: WAIT });
});

test('a seat opened in another tab (4008), then taken back', async () => {
	const first = await env.page();
	await openRoom(first, env.link(room, 'candidate'));
	const second = await env.page();
	await openRoom(second, env.link(room, 'candidate'));
	await first.locator('[data-page="seat-taken"]').waitFor({ timeout: WAIT });
	await shot(first, 'page-seat-taken');
	await first.getByRole('button', { name: 'Use it here instead' }).click();
	await first.waitForSelector('[data-conn="connected"]', { timeout: WAIT });
	await second.locator('[data-page="seat-taken"]').waitFor({ timeout: WAIT });
	// The editor is back, shows the document and takes typing that reaches
	// the peer (it was once left blank and dead).
	await first.locator('.editor-host .cm-line').first().waitFor({ timeout: WAIT });
	const peer = await env.page();
	await openRoom(peer, env.link(room, 'interviewer'));
	const before = await text(first);
	await cursorAt(first, 0);
	await first.keyboard.type('# back here\n');
	await waitText(peer, `# back here\n${before}`, 'the peer after the reclaim');
	await shot(first, 'page-seat-reclaimed');
	await peer.close();
	await second.close();
	await first.close();
});

test('the server cannot be reached', async () => {
	const p = await env.page();
	allowNetworkErrors(p);
	await p.context().routeWebSocket(/\/ws$/, (ws) => ws.close({ code: 1001, reason: 'unreachable' }));
	await p.goto(env.link(room, 'observer'));
	await p.locator('[data-page="unreachable"]').waitFor({ timeout: WAIT });
	await shot(p, 'page-unreachable');
	// Every number the countdown shows from now on, recorded in the page as it
	// changes (a value lasts a second: too short to catch by polling a selector).
	await p.evaluate(() => {
		const shown = (window.shownCountdown = []);
		const note = () => {
			const c = document.querySelector('.countdown');
			if (!c) return;
			const last = shown[shown.length - 1];
			const v = { until: c.dataset.until, left: Number(c.dataset.left), text: c.textContent };
			if (!last || last.until !== v.until || last.left !== v.left) shown.push(v);
		};
		note();
		new MutationObserver(note).observe(document.body, {
			subtree: true,
			childList: true,
			characterData: true,
			attributes: true,
		});
	});
	// Within one wait for the next try, the number goes down by one at a time.
	// The waits double up to 8 s, so one of at least 2 s comes within a few tries.
	await p.waitForFunction(
		() =>
			window.shownCountdown.some(
				(v, i, all) => i > 0 && all[i - 1].until === v.until && all[i - 1].left === v.left + 1 && v.left >= 1,
			),
		null,
		{ timeout: 30000, polling: 100 },
	);
	const shown = await p.evaluate(() => window.shownCountdown);
	for (const v of shown) assert.equal(v.text, String(v.left), 'the number shown is the number left');
	for (let i = 1; i < shown.length; i++)
		if (shown[i].until === shown[i - 1].until)
			assert.ok(shown[i].left < shown[i - 1].left, `never up within one wait: ${JSON.stringify(shown)}`);
});

test('the room is closed: an open page says so, and the link stops working', async () => {
	const p = await env.page();
	await openRoom(p, env.link(room, 'candidate'));
	const r = await env.tandem.api('POST', `/api/rooms/${room.id}/close`, {
		token: room.tokens.interviewer,
	});
	assert.equal(r.status, 200, r.text);
	await p.locator('[data-page="closed"]').waitFor({ timeout: WAIT });
	await shot(p, 'page-closed');
	const again = await env.page();
	await again.goto(env.link(room, 'candidate'));
	await again.locator('[data-page="closed"], [data-page="invalid-link"]').waitFor({ timeout: WAIT });
});
