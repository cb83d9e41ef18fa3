// Notes and the activity feed: the interviewer's notes reach the observer
// and never the candidate's page; the candidate's pastes and focus losses
// reach the interviewer's activity feed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cursorAt, openRoom, shot, start, WAIT } from './harness.mjs';

let env, room, cand, intv, obs;
before(async () => {
	env = await start();
	room = await env.tandem.createRoom({
		names: { candidate: 'Ada', interviewer: 'Ivan', observer: 'Olga' },
	});
	cand = await env.page();
	intv = await env.page();
	obs = await env.page();
	await openRoom(cand, env.link(room, 'candidate'));
	await openRoom(intv, env.link(room, 'interviewer'));
	await openRoom(obs, env.link(room, 'observer'));
});
after(async () => {
	await env?.stop();
});

const SECRET = 'Zq7-private-note';

test('a note reaches the observer, rendered, and never the candidate', async () => {
	assert.equal(await cand.getByRole('region', { name: 'Notes' }).count(), 0);
	const notes = intv.getByRole('region', { name: 'Notes' });
	await notes.getByRole('textbox').fill(`**Strong** start. ${SECRET} <script>alert(1)</script>`);
	await notes.getByRole('button', { name: 'Add note' }).click();
	const seen = obs.getByRole('region', { name: 'Notes' });
	await seen.locator('strong', { hasText: 'Strong' }).waitFor({ timeout: WAIT });
	await seen.getByText(SECRET).waitFor({ timeout: WAIT });
	// Raw HTML stays text.
	assert.equal(await seen.locator('script').count(), 0);
	await intv.getByRole('region', { name: 'Notes' }).getByText(SECRET).waitFor({ timeout: WAIT });
	// The candidate's page, live and after a reload, has no trace of it.
	assert.doesNotMatch(await cand.content(), new RegExp(SECRET));
	await cand.reload();
	await cand.waitForSelector('[data-conn="connected"]', { timeout: WAIT });
	assert.doesNotMatch(await cand.content(), new RegExp(SECRET));
});

test("the candidate's paste and focus loss reach the activity feed", async () => {
	await cursorAt(cand, 0);
	const big = 'x = 1\n'.repeat(60);
	await cand.evaluate((t) => {
		const dt = new DataTransfer();
		dt.setData('text/plain', t);
		document.querySelector('.cm-content').dispatchEvent(
			new ClipboardEvent('paste', {
				clipboardData: dt,
				bubbles: true,
				cancelable: true,
			}),
		);
	}, big);
	await cand.evaluate(() => window.dispatchEvent(new Event('blur')));
	const feed = intv.getByRole('region', { name: 'Activity' });
	await feed.getByText(`Ada pasted ${big.length} characters (large paste)`).waitFor({ timeout: WAIT });
	await feed.getByText('Ada left the tab').waitFor({ timeout: WAIT });
	await obs.getByRole('region', { name: 'Activity' }).getByText('Ada left the tab').waitFor({ timeout: WAIT });
	assert.equal(await cand.getByRole('region', { name: 'Activity' }).count(), 0);
	await shot(intv, 'room-interviewer-notes');
});

test('a reload shows the earlier notes and flags; the candidate still sees no note', async () => {
	// Both staff pages reload (the interviewer's and a fresh observer's joining late).
	await intv.reload();
	await intv.waitForSelector('[data-conn="connected"]', { timeout: WAIT });
	const notes = intv.getByRole('region', { name: 'Notes' });
	await notes.getByText(SECRET).waitFor({ timeout: WAIT });
	await notes.locator('strong', { hasText: 'Strong' }).waitFor({ timeout: WAIT });
	const feed = intv.getByRole('region', { name: 'Activity' });
	await feed.getByText(/Ada pasted \d+ characters \(large paste\)/).waitFor({ timeout: WAIT });
	await feed.getByText('Ada left the tab').waitFor({ timeout: WAIT });
	assert.equal(await feed.locator('li.flag').count(), 1, 'the large paste is flagged once');
	assert.equal(await notes.locator('.note-list li').count(), 1, 'each note once');
	// A note added after the reload shows once, beside the earlier one.
	await notes.getByRole('textbox').fill('second note');
	await notes.getByRole('button', { name: 'Add note' }).click();
	await notes.getByText('second note').waitFor({ timeout: WAIT });
	const late = await env.page();
	await openRoom(late, env.link(room, 'observer'));
	const lateNotes = late.getByRole('region', { name: 'Notes' });
	await lateNotes.getByText('second note').waitFor({ timeout: WAIT });
	await lateNotes.getByText(SECRET).waitFor({ timeout: WAIT });
	assert.equal(await notes.locator('.note-list li').count(), 2);
	assert.equal(await lateNotes.locator('.note-list li').count(), 2);
	// The candidate's page, reloaded too, holds neither.
	await cand.reload();
	await cand.waitForSelector('[data-conn="connected"]', { timeout: WAIT });
	const html = await cand.content();
	assert.doesNotMatch(html, new RegExp(SECRET));
	assert.doesNotMatch(html, /second note/);
});
