// A room about a problem: the statement in the Problem region; Run tests
// and Submit show per-test verdicts in both pages; the candidate's page
// never holds a hidden test's arguments or expected value.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { openRoom, shot, start, waitText, WAIT } from '../e2e/harness.mjs';

let env, room, cand, intv;
const id = `twice-${crypto.randomBytes(3).toString('hex')}`;
// Values only the hidden tests hold.
const HIDDEN_ARG = 987654;
const HIDDEN_WANT = 1975308;

before(async () => {
	env = await start();
	const put = await env.tandem.api('PUT', `/api/problems/${id}`, {
		token: env.tandem.adminKey,
		body: {
			title: 'Twice',
			difficulty: 'easy',
			tags: ['warm-up'],
			statement: 'Return **twice** `n`.',
			signature: { kind: 'function', entry: 'twice' },
			starter: 'def twice(n):\n    ...\n',
			tests: {
				sample: [{ args: [2], expected: 4 }],
				hidden: [
					{ args: [HIDDEN_ARG], expected: HIDDEN_WANT },
					{ args: [-3], expected: -6 },
				],
			},
		},
	});
	assert.ok(put.status === 200 || put.status === 201, `PUT /api/problems: ${put.status} ${put.text}`);
	room = await env.tandem.createRoom({
		problem: id,
		names: { candidate: 'Ada', interviewer: 'Ivan' },
	});
	cand = await env.page();
	intv = await env.page();
	await openRoom(cand, env.link(room, 'candidate'));
	await openRoom(intv, env.link(room, 'interviewer'));
});
after(async () => {
	await env?.stop();
});

test('the problem pane shows the statement, the starter is in the editor', async () => {
	const pane = cand.getByRole('region', { name: 'Problem' });
	await pane.getByRole('heading', { name: 'Twice' }).waitFor({ timeout: WAIT });
	await pane.locator('strong', { hasText: 'twice' }).waitFor();
	await waitText(cand, 'def twice(n):\n    ...\n');
});

test('Submit: verdicts in both pages, hidden tests by name and verdict only', async () => {
	await cand.evaluate(() => {
		const v = window.tandem.view;
		v.dispatch({
			changes: {
				from: 0,
				to: v.state.doc.length,
				insert: 'def twice(n):\n    print("args", n)\n    return 2 * n\n',
			},
		});
	});
	await waitText(intv, 'def twice(n):\n    print("args", n)\n    return 2 * n\n');
	await cand.getByRole('button', { name: 'Run tests' }).click();
	await cand.getByRole('region', { name: 'Output' }).locator('[data-verdict="AC"]').waitFor({ timeout: WAIT });
	await cand.keyboard.press('Control+Shift+Enter');
	for (const p of [cand, intv]) {
		const out = p.getByRole('region', { name: 'Output' });
		await out.getByText(/Submission #/).waitFor({ timeout: WAIT });
		await out.locator('.run-head [data-verdict="AC"]').waitFor({ timeout: 20000 });
		await out.getByText('3/3 passed').waitFor({ timeout: WAIT });
		assert.equal(await out.locator('tr[data-hidden="1"]').count(), 2);
	}
	const html = await cand.content();
	assert.doesNotMatch(html, new RegExp(String(HIDDEN_ARG)), 'a hidden argument in the candidate page');
	assert.doesNotMatch(html, new RegExp(String(HIDDEN_WANT)), 'a hidden expected value in the candidate page');
	await shot(cand, 'room-submit');
});

test("a late joiner and a reload see the room's submissions so far", async () => {
	// After the Submit above: the interviewer reloads, an observer joins late,
	// the candidate reloads (and sees its own).
	const obs = await env.page();
	await intv.reload();
	await openRoom(obs, env.link(room, 'observer'));
	await cand.reload();
	for (const p of [intv, obs, cand]) {
		await p.waitForSelector('[data-conn="connected"]', { timeout: WAIT });
		const subs = p.getByRole('region', { name: 'Submissions' });
		await subs.locator('li[data-submission]').first().waitFor({ timeout: WAIT });
		const first = await subs.locator('li[data-submission]').first().textContent();
		assert.match(first, /AC 3\/3 passed/);
		assert.match(first, /candidate at /);
		const latest = await p.getByTestId('latest-submission').textContent();
		assert.match(latest, /Latest submission: AC 3\/3 passed/);
	}
	await shot(obs, 'room-late-observer-submissions');
});
