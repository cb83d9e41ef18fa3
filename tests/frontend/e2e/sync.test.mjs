// Two people in one room: concurrent typing at different places and at the
// same place ends with identical text in both browsers; the peer's cursor
// shows where it is; Run's output reaches both.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cursorAt, openRoom, shot, startPair, text, WAIT, waitSaved, waitText } from './harness.mjs';

let env, room, cand, intv;
before(async () => {
	({ env, room, cand, intv } = await startPair());
});
after(async () => {
	await env?.stop();
});

test('the token leaves the address bar', async () => {
	assert.doesNotMatch(cand.url(), /token/);
	assert.doesNotMatch(intv.url(), /token/);
});

test('each tab is titled with its person and seat', async () => {
	await cand.waitForFunction(() => document.title.endsWith('· Ada (candidate) · Tandem'), null, { timeout: WAIT });
	await intv.waitForFunction(() => document.title.endsWith('· Ivan (interviewer) · Tandem'), null, { timeout: WAIT });
});

test('concurrent typing at different places ends equal', async () => {
	await cursorAt(cand, 0);
	await cand.keyboard.type('x = 1\n');
	await waitText(intv, 'x = 1\n');
	await cursorAt(intv, (await text(intv)).length);
	await cursorAt(cand, 0);
	const a = '# Ada 😀 世界 é\n';
	const b = '    return 42  # Ivan 中文\n';
	await Promise.all([cand.keyboard.type(a, { delay: 8 }), intv.keyboard.type(b, { delay: 8 })]);
	const want = a + 'x = 1\n' + b;
	await waitText(cand, want, 'candidate');
	await waitText(intv, want, 'interviewer');
	await Promise.all([waitSaved(cand), waitSaved(intv)]);
});

// The indicator's words change when a save state holds (saving.ts), not at
// every keystroke's round trip; the page records each change of them.
test('the save indicator says "Saving…" while typing, then "All changes saved"', async () => {
	await waitSaved(cand);
	await cand.waitForSelector('.save[data-shown="saved"]', { timeout: WAIT });
	await cand.evaluate(() => {
		const el = document.querySelector('.save');
		window.__saveTexts = [];
		new MutationObserver(() => window.__saveTexts.push(el.textContent)).observe(el, {
			childList: true,
			characterData: true,
			subtree: true,
		});
	});
	await cursorAt(cand, 0);
	await cand.keyboard.type('# typed\n', { delay: 30 });
	await waitSaved(cand);
	await cand.waitForSelector('.save[data-shown="saved"]', { timeout: WAIT });
	const texts = await cand.evaluate(() => window.__saveTexts);
	assert.equal(texts[0], 'Saving…', `the first change of the words: ${JSON.stringify(texts)}`);
	assert.equal(texts.at(-1), 'All changes saved');
	assert.equal(await cand.textContent('.save'), 'All changes saved');
});

test('concurrent typing at the same place ends equal, nothing lost', async () => {
	const base = await text(cand);
	const at = base.indexOf('x = 1');
	await cursorAt(cand, at);
	await cursorAt(intv, at);
	const a = 'AAAA😀AAAA';
	const b = 'bbbb世界bbbb';
	await Promise.all([cand.keyboard.type(a, { delay: 10 }), intv.keyboard.type(b, { delay: 10 })]);
	await cand.waitForFunction((n) => window.tandem.view.state.doc.length === n, base.length + a.length + b.length, {
		timeout: WAIT,
	});
	const final = await text(cand);
	await waitText(intv, final, 'interviewer equals candidate');
	const inserted = final.slice(at, at + a.length + b.length);
	// Each typist's characters are all there, in their order.
	const sub = (s, of) => {
		const want = Array.from(s);
		let i = 0;
		for (const ch of of) if (ch === want[i]) i++;
		return i === want.length;
	};
	assert.ok(sub(a, inserted) && sub(b, inserted), `inserted run ${JSON.stringify(inserted)}`);
	assert.equal(final.slice(0, at) + final.slice(at + a.length + b.length), base);
});

test("the peer's cursor shows at its position, with its name", async () => {
	const t = await text(cand);
	const pos = t.indexOf('return');
	await cursorAt(cand, pos);
	const caret = intv.locator('.cm-peer-caret.cm-peer-candidate');
	await caret.waitFor({ timeout: WAIT });
	await intv.waitForFunction(
		(p) => {
			const v = window.tandem.view;
			const c = document.querySelector('.cm-peer-caret.cm-peer-candidate');
			const want = v.coordsAtPos(p);
			if (!c || !want) return false;
			const r = c.getBoundingClientRect();
			return Math.abs(r.left - want.left) < 3 && Math.abs(r.top - want.top) < 4;
		},
		pos,
		{ timeout: WAIT },
	);
	assert.equal(await caret.locator('.cm-peer-name').textContent(), 'Ada');
});

test('Run shows the output in both browsers', async () => {
	await cand.evaluate(() => {
		const v = window.tandem.view;
		v.dispatch({
			changes: {
				from: 0,
				to: v.state.doc.length,
				insert: 'print("hello from", "Ada", 6 * 7)\n',
			},
		});
	});
	await waitText(intv, 'print("hello from", "Ada", 6 * 7)\n');
	await cand.getByRole('button', { name: 'Run', exact: true }).click();
	for (const p of [cand, intv]) {
		const out = p.getByRole('region', { name: 'Output' });
		await out.getByText('hello from Ada 42').waitFor({ timeout: WAIT });
		await out.locator('[data-verdict="OK"]').waitFor({ timeout: WAIT });
	}
	await shot(cand, 'room-candidate');
	await shot(intv, 'room-interviewer');
});

test('Ctrl-Enter runs', async () => {
	await cursorAt(intv, 0);
	await intv.keyboard.press('Control+Enter');
	await intv
		.getByRole('region', { name: 'Output' })
		.getByText(/Run #2/)
		.waitFor({ timeout: WAIT });
});

test('pasted text with Windows line ends arrives with "\\n" in both pages', async () => {
	await cursorAt(cand, 0);
	const before = await text(cand);
	await cand.evaluate(() => {
		const dt = new DataTransfer();
		dt.setData('text/plain', 'a = 1\r\nb = 2\rc = 3\r\n');
		document
			.querySelector('.cm-content')
			.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
	});
	const want = 'a = 1\nb = 2\nc = 3\n' + before;
	await waitText(cand, want, 'the candidate after the paste');
	await waitText(intv, want, 'the interviewer');
});

test('participants show both seats present', async () => {
	const list = cand.getByRole('region', { name: 'Participants' });
	await list.locator('li[data-seat="interviewer"][data-state="PRESENT"]').waitFor({ timeout: WAIT });
	await list.locator('li[data-seat="candidate"][data-state="PRESENT"]').waitFor({ timeout: WAIT });
	await intv.close();
	await list.locator('li[data-seat="interviewer"][data-state="DISCONNECTED"]').waitFor({ timeout: WAIT });
});

test('narrow window and dark theme', async () => {
	const narrow = await env.page({
		width: 400,
		height: 860,
		colorScheme: 'dark',
	});
	await openRoom(narrow, env.link(room, 'observer'));
	await narrow.getByRole('button', { name: 'Run', exact: true }).waitFor();
	const box = await narrow.locator('.cm-editor').boundingBox();
	assert.ok(box.width <= 400 && box.width > 300, `editor width ${box.width} in a 400 px window`);
	await shot(narrow, 'room-narrow-dark');
});
