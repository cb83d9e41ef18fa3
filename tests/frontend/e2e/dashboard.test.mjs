// The dashboard: the admin key (refused when wrong, not kept unless asked),
// creating a room and its links, the room list, opening a replay, closing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { openRoom, REPO, shot, start, WAIT } from './harness.mjs';

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

test('a room made elsewhere: the admin key replays and closes it, and never travels in a request URL', async () => {
	// Made through the API: this browser holds none of its tokens.
	const other = await env.tandem.createRoom({ names: { candidate: 'Barbara' } });
	const cand = await env.page();
	await openRoom(cand, env.link(other, 'candidate'));
	await cand.keyboard.type('print("from elsewhere")');
	await cand.waitForSelector('.save[data-unacked="0"]', { timeout: WAIT });
	await p.getByRole('button', { name: 'Rooms' }).click();
	await p.reload();
	// Remembered in the previous test: the dashboard opens without the form.
	const row = p.locator(`tr[data-room="${other.id}"]`);
	await row.waitFor({ timeout: WAIT });
	await row.getByText('links not kept here').waitFor({ timeout: WAIT });
	const href = await row.getByRole('link', { name: 'Replay' }).getAttribute('href');
	assert.match(href, /^\/replay\/[^#?]+#admin=/, 'the key rides in the fragment');
	const replay = await env.page();
	const urls = [];
	replay.on('request', (r) => urls.push(r.url()));
	await replay.goto(env.tandem.base + href);
	await replay.getByRole('slider', { name: 'Timeline' }).waitFor({ timeout: WAIT });
	assert.ok(!replay.url().includes('admin='), `the address bar keeps no key: ${replay.url()}`);
	assert.ok(urls.length > 0);
	for (const u of urls) assert.ok(!u.includes(env.tandem.adminKey), `a request URL holds the key: ${u}`);
	// Closing it: a dismissed confirm changes nothing, an accepted one closes it for the candidate too.
	p.once('dialog', (d) => d.dismiss());
	await row.getByRole('button', { name: 'Close' }).click();
	assert.equal(await cand.locator('[data-page="closed"]').count(), 0);
	p.once('dialog', (d) => d.accept());
	await row.getByRole('button', { name: 'Close' }).click();
	await row.getByText('closed').waitFor({ timeout: WAIT });
	await cand.locator('[data-page="closed"]').waitFor({ timeout: WAIT });
	assert.equal(await row.getByRole('button', { name: 'Close' }).count(), 0);
	// Still replayable after the close.
	const again = await env.page();
	await again.goto(env.tandem.base + href);
	await again.getByRole('slider', { name: 'Timeline' }).waitFor({ timeout: WAIT });
	await again.waitForFunction(() => window.tandemReplay?.replay.events.some((e) => e.kind === 'close'), null, {
		timeout: WAIT,
	});
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

test('problems page: upload a Py-Katas YAML file, see it listed; a broken one shows its line', async () => {
	const bank = p.getByRole('region', { name: 'Problems' });
	const kata = fs.readFileSync(path.join(REPO, 'problems', 'katas', 'run-length.yaml'), 'utf8');
	const title = /^title:\s*"?([^"\n]+)"?$/m.exec(kata)[1];
	await bank.locator('input[type="file"]').setInputFiles({
		name: 'run-length.yaml',
		mimeType: 'application/yaml',
		buffer: Buffer.from(kata),
	});
	await bank
		.getByRole('status')
		.getByText(/^run-length: revision \d+/)
		.waitFor({ timeout: WAIT });
	await bank.getByRole('button', { name: title }).waitFor({ timeout: WAIT });
	// Line 2 breaks the YAML (a flow sequence never closed): the error names the file and the line.
	const broken = kata.split('\n');
	broken[1] = 'title: [Run, Length: x: y';
	await bank.locator('input[type="file"]').setInputFiles({
		name: 'run-length.yaml',
		mimeType: 'application/yaml',
		buffer: Buffer.from(broken.join('\n')),
	});
	const err = bank.getByRole('status').locator('.stderr li').first();
	await err.waitFor({ timeout: WAIT });
	assert.match(await err.textContent(), /^upload\/run-length\.yaml:2: bad YAML/);
	await shot(p, 'problems-kata-error');
});
