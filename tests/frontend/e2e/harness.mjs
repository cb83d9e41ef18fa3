// harness.mjs - what the browser end-to-end tests share.
//
// Each test file starts a real `tandem serve --static frontend/dist` (the
// server tests' harness: tests/server/e2e/harness.mjs, real Redis and
// PostgreSQL) and drives Debian's Chromium through playwright-core (pinned
// in frontend/package.json to the version built for that Chromium; no
// browser is ever downloaded).  Every page's console is watched: an error
// logged there fails the test, except the network errors a test causes on
// purpose (allowNetworkErrors).  Screenshots go to
// build/frontend-screenshots/ (TANDEM_SCREENSHOTS), the current ones are
// copied into docs/screenshots/ by hand.
//
// Environment: as tests/server/e2e/harness.mjs (TANDEM_BUILD, TANDEM_BIN,
// TANDEM_REDIS_URL, TANDEM_PG, ...), plus CHROMIUM (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..', '..');
const server = await import(pathToFileURL(path.join(REPO, 'tests', 'server', 'e2e', 'harness.mjs')));
export const { Tandem, within, jwtSign, TANDEM_BIN, SEED, rng } = server;
const { chromium } = await import(
	pathToFileURL(path.join(REPO, 'frontend', 'node_modules', 'playwright-core', 'index.mjs'))
);

export const DIST = path.join(REPO, 'frontend', 'dist');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SHOTS = process.env.TANDEM_SCREENSHOTS || path.join(REPO, 'build', 'frontend-screenshots');
export const WAIT = 10000;

export function requirements() {
	// scripts/test provides all of these; a missing one is a failure, not a skip.
	assert.ok(fs.existsSync(TANDEM_BIN), `no tandem binary at ${TANDEM_BIN} (set TANDEM_BUILD)`);
	assert.ok(fs.existsSync(path.join(DIST, 'index.html')), `${DIST} is not built (npm run build in frontend/)`);
	assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`);
}

/** A tandem serving the built app, and a browser. */
export async function start(opts = {}) {
	requirements();
	const tandem = await Tandem.start({
		...opts,
		args: ['--static', DIST, ...(opts.args || [])],
	});
	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
	});
	const pages = [];
	return {
		tandem,
		browser,
		/** A fresh context (own storage, as another person's browser) with one page. */
		async page({ width = 1280, height = 720, colorScheme = 'light' } = {}) {
			const context = await browser.newContext({
				viewport: { width, height },
				colorScheme,
			});
			const page = await context.newPage();
			page.consoleErrors = [];
			page.allowed = [];
			page.on('console', (m) => {
				if (m.type() === 'error') page.consoleErrors.push(m.text());
			});
			page.on('pageerror', (e) => page.consoleErrors.push(`pageerror: ${e.message}`));
			pages.push(page);
			return page;
		},
		/** The link of a seat, on this tandem. */
		link(room, seat) {
			return room.links[seat].replace(/^https?:\/\/[^/]+/, tandem.base);
		},
		async stop() {
			const errors = [];
			for (const p of pages) {
				const bad = p.consoleErrors.filter((e) => !p.allowed.some((re) => re.test(e)));
				if (bad.length) errors.push(`${p.url()}:\n  ${bad.join('\n  ')}`);
			}
			await browser.close();
			await tandem.stop();
			assert.deepEqual(errors, [], 'console errors in the pages');
		},
	};
}

/** Errors a test causes on purpose (a blocked or refused socket). */
export function allowNetworkErrors(page) {
	page.allowed.push(/WebSocket connection to .* failed/, /Failed to load resource/);
}

export async function shot(page, name) {
	fs.mkdirSync(SHOTS, { recursive: true });
	await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

// ---- the room page ----------------------------------------------------------------

export async function openRoom(page, url) {
	await page.goto(url);
	await page.waitForSelector('[data-conn="connected"]', { timeout: WAIT });
	await page.waitForFunction(() => window.tandem?.view, null, {
		timeout: WAIT,
	});
}

/**
 * A started environment with one room (candidate Ada, interviewer Ivan) and
 * a page open for each seat: what most room tests begin with.  The caller
 * stops env.
 */
export async function startPair() {
	const env = await start();
	const room = await env.tandem.createRoom({
		names: { candidate: 'Ada', interviewer: 'Ivan' },
	});
	const cand = await env.page();
	const intv = await env.page();
	await openRoom(cand, env.link(room, 'candidate'));
	await openRoom(intv, env.link(room, 'interviewer'));
	return { env, room, cand, intv };
}

/** The editor's text (CodeMirror's document, not the DOM, which holds peers' name labels). */
export function text(page) {
	return page.evaluate(() => window.tandem.view.state.doc.toString());
}

/** Waits until the editor's text is `want` (or satisfies it, a function). */
export async function waitText(page, want, what = 'editor text') {
	try {
		await page.waitForFunction((w) => window.tandem?.view && window.tandem.view.state.doc.toString() === w, want, {
			timeout: WAIT,
			polling: 20,
		});
	} catch {
		assert.equal(await text(page), want, `${what}: not reached within ${WAIT} ms`);
	}
}

/** Puts the cursor at UTF-16 offset pos and focuses the editor. */
export async function cursorAt(page, pos) {
	await page.evaluate((p) => {
		const v = window.tandem.view;
		v.focus();
		v.dispatch({ selection: { anchor: p } });
	}, pos);
}

/** Waits for every local edit of the page to be acknowledged by the server. */
export async function waitSaved(page) {
	await page.waitForSelector('.save[data-unacked="0"][data-kept="1"]', {
		timeout: WAIT,
	});
}
