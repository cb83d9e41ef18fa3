// The dashboard: the admin key (refused when wrong, not kept unless asked),
// creating a room and its links, the room list, opening a replay, closing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openRoom, shot, start, WAIT } from './harness.mjs';

let env, p;
before(async () => {
	env = await start();
	p = await env.page();
	p.allowed.push(/Failed to load resource.*(400|401|404)/);
});
after(async () => {
	await env?.stop();
});

test('a wrong admin key is refused', async () => {
	await p.goto(`${env.tandem.base}/dashboard`);
	await p.getByLabel('Admin key').fill('wrong');
	await p.getByRole('button', { name: 'Open dashboard' }).click();
	await p.getByRole('alert').getByText('The admin key was refused.').waitFor({ timeout: WAIT });
	await shot(p, 'dashboard-login');
});

test('create a room, copy its links, open it, see it listed, replay, close', async () => {
	await p.getByLabel('Admin key').fill(env.tandem.adminKey);
	await p.getByRole('button', { name: 'Open dashboard' }).click();
	const form = p.getByRole('region', { name: 'Create a room' });
	await form.waitFor({ timeout: WAIT });
	// Not remembered unless asked.
	assert.equal(await p.evaluate(() => localStorage.getItem('tandem.admin')), null);
	await form.getByLabel("Candidate's name").fill('Grace');
	await form.getByLabel("Interviewer's name").fill('Alan');
	await form.getByRole('button', { name: 'Create room' }).click();
	const created = p.getByRole('region', { name: 'New room' });
	const link = await created.getByLabel('candidate link').inputValue();
	assert.match(link, /#token=/);
	const id = new URL(link).searchParams.get('room') ?? new URL(link).pathname.split('/').pop();
	const row = p.locator(`tr[data-room="${id}"]`);
	await row.waitFor({ timeout: WAIT });
	// The candidate joins; the list shows her present after a refresh.
	const cand = await env.page();
	await openRoom(cand, link.replace(/^https?:\/\/[^/]+/, env.tandem.base));
	await p.getByRole('button', { name: 'Rooms' }).click();
	await p.reload();
	await p.getByLabel('Admin key').fill(env.tandem.adminKey);
	await p.getByLabel('Remember in this browser').check();
	await p.getByRole('button', { name: 'Open dashboard' }).click();
	await p.getByRole('region', { name: 'Create a room' }).waitFor({ timeout: WAIT });
	assert.notEqual(await p.evaluate(() => localStorage.getItem('tandem.admin')), null);
	// Rooms made before the reload were made in this page, whose tokens were
	// not kept: the row says so.  A new one, made while remembering, has actions.
	const form2 = p.getByRole('region', { name: 'Create a room' });
	await form2.getByLabel("Candidate's name").fill('Linus');
	await form2.getByRole('button', { name: 'Create room' }).click();
	const link2 = await p.getByRole('region', { name: 'New room' }).getByLabel('candidate link').inputValue();
	const id2 = new URL(link2).searchParams.get('room') ?? new URL(link2).pathname.split('/').pop();
	const row2 = p.locator(`tr[data-room="${id2}"]`);
	await row2.getByRole('link', { name: 'Replay' }).waitFor({ timeout: WAIT });
	await p.locator('tr[data-room]').nth(1).waitFor({ timeout: WAIT });
	await shot(p, 'dashboard');
	p.once('dialog', (d) => d.accept());
	await row2.getByRole('button', { name: 'Close' }).click();
	await row2.getByText('closed').waitFor({ timeout: WAIT });
	const href = await row2.getByRole('link', { name: 'Replay' }).getAttribute('href');
	const replay = await env.page();
	await replay.goto(env.tandem.base + href);
	await replay.getByRole('slider', { name: 'Timeline' }).waitFor({ timeout: WAIT });
});

test('problems page: upload a problem as JSON, see it listed, preview it with its hidden tests', async () => {
	await p.getByRole('button', { name: 'Problems' }).click();
	const bank = p.getByRole('region', { name: 'Problems' });
	await bank.waitFor({ timeout: WAIT });
	const id = `triple-${Date.now().toString(36)}`;
	const problem = {
		id,
		title: `Triple It ${id}`,
		difficulty: 'easy',
		tags: ['warm-up'],
		statement: 'Return `3 * n`.',
		signature: { kind: 'function', entry: 'triple' },
		starter: 'def triple(n):\n    ...\n',
		tests: { sample: [{ args: [1], expected: 3 }], hidden: [{ args: [424242], expected: 1272726 }] },
	};
	await bank.locator('input[type="file"]').setInputFiles({
		name: `${id}.json`,
		mimeType: 'application/json',
		buffer: Buffer.from(JSON.stringify(problem)),
	});
	await bank.getByRole('status').getByText(`${id}: revision 1`).waitFor({ timeout: WAIT });
	await bank.getByRole('button', { name: `Triple It ${id}` }).click();
	const preview = p.getByRole('region', { name: 'Preview' });
	await preview.getByText('424242').waitFor({ timeout: WAIT });
	// A bad upload names what is wrong.
	await bank.locator('input[type="file"]').setInputFiles({
		name: `${id}.json`,
		mimeType: 'application/json',
		buffer: Buffer.from(
			JSON.stringify({ ...problem, tests: { sample: [], hidden: [{ args: [1, 2], expected: 3 }] } }),
		),
	});
	await bank.getByRole('status').locator('.stderr li').first().waitFor({ timeout: WAIT });
	await shot(p, 'problems');
});
