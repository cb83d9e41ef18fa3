// The Problem pane with the shipped problems: a design problem's samples
// (a call sequence, not an argument list) and a result_arg problem's
// (the argument changed in place, no return value) show without an error;
// a live switch shows the new statement in every seat.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cursorAt, openRoom, REPO, shot, start, WAIT, waitSaved } from './harness.mjs';

let env;

/** Stores a shipped problem folder through PUT /api/problems/:id (a tar body). */
async function putShipped(id) {
	const tar = execFileSync('tar', ['-C', path.join(REPO, 'problems'), '-cf', '-', id]);
	const res = await fetch(`${env.tandem.base}/api/problems/${id}`, {
		method: 'PUT',
		headers: { authorization: `Bearer ${env.tandem.adminKey}`, 'content-type': 'application/x-tar' },
		body: tar,
	});
	assert.ok(res.status === 200 || res.status === 201, `PUT ${id}: ${res.status} ${await res.text()}`);
}

before(async () => {
	env = await start();
	await putShipped('lru-cache');
	await putShipped('move-zeros');
});
after(async () => {
	await env?.stop();
});

test('a design problem shows its samples as call sequences', async () => {
	const room = await env.tandem.createRoom({ problem: 'lru-cache' });
	const p = await env.page();
	await openRoom(p, env.link(room, 'candidate'));
	const pane = p.getByRole('region', { name: 'Problem' });
	await pane.getByRole('heading', { name: 'Least Recently Used Cache' }).waitFor({ timeout: WAIT });
	// The statement has its own example, so the samples are folded away.
	await pane.getByText(/Sample tests \(2\)/).click();
	const first = await pane.locator('pre.sample').first().textContent();
	assert.match(first, /^LRUCache\(2\)\n/);
	assert.match(first, /\nget\(1\) → 1\n/);
	assert.match(first, /\nput\(1, 1\)\n/);
	assert.equal(await p.locator('[data-pane-failed]').count(), 0);
	// Its test results show the calls too (the starter fails them: no crash).
	await p.getByRole('button', { name: 'Run tests' }).click();
	const out = p.getByRole('region', { name: 'Output' });
	await out.locator('.run-head [data-verdict]').waitFor({ timeout: 20000 });
	await out.locator('table.tests tbody tr').first().waitFor({ timeout: WAIT });
	assert.match(await out.locator('table.tests').textContent(), /LRUCache\(2\), put\(1, 1\)/);
	assert.equal(await p.locator('[data-pane-failed]').count(), 0);
	await shot(p, 'room-design-problem');
});

test('a result_arg problem shows the argument afterwards, not a return value', async () => {
	const room = await env.tandem.createRoom({ problem: 'move-zeros' });
	const p = await env.page();
	await openRoom(p, env.link(room, 'candidate'));
	const pane = p.getByRole('region', { name: 'Problem' });
	await pane.getByRole('heading', { name: 'Zeros to the Back' }).waitFor({ timeout: WAIT });
	// The statement's examples are shown once: the samples are folded.
	assert.equal(await pane.locator('details.samples[open]').count(), 0);
	await pane.getByText(/Sample tests \(/).click();
	const all = (await pane.locator('pre.sample').allTextContents()).join('\n');
	assert.match(all, /move_zeros\(\[0,1,0,3,12\]\)\nnums afterwards: \[1,3,12,0,0\]/);
	assert.doesNotMatch(all, /→/);
});

test('switching a live room to a design problem updates every seat', async () => {
	const room = await env.tandem.createRoom({ problem: 'move-zeros' });
	const cand = await env.page();
	const intv = await env.page();
	await openRoom(cand, env.link(room, 'candidate'));
	await openRoom(intv, env.link(room, 'interviewer'));
	await intv.evaluate(() => window.tandem.session.send({ t: 'problem', problem: 'lru-cache' }));
	for (const p of [cand, intv]) {
		const pane = p.getByRole('region', { name: 'Problem' });
		await pane.getByRole('heading', { name: 'Least Recently Used Cache' }).waitFor({ timeout: WAIT });
		assert.equal(await pane.getByRole('heading', { name: 'Zeros to the Back' }).count(), 0);
	}
});

test('the complexity estimate: on top of Output, axes in n and ms, the points listed, gone when the code changes', async () => {
	const room = await env.tandem.createRoom({ problem: 'move-zeros' });
	const p = await env.page();
	await openRoom(p, env.link(room, 'candidate'));
	const code =
		'def move_zeros(nums):\n    w = 0\n    for x in nums:\n        if x:\n            nums[w] = x\n            w += 1\n    for i in range(w, len(nums)):\n        nums[i] = 0\n';
	await p.evaluate((c) => {
		const v = window.tandem.view;
		v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: c } });
	}, code);
	await waitSaved(p);
	const out = p.getByRole('region', { name: 'Output' });
	// A run first, so that the estimate must show above its result.
	await p.getByRole('button', { name: 'Run tests' }).click();
	await out.locator('.run-head [data-verdict]').waitFor({ timeout: 20000 });
	await out.getByRole('button', { name: 'Estimate complexity' }).click();
	const c = out.getByTestId('complexity');
	await c.waitFor({ timeout: 30000 });
	// It comes before the run's result.
	assert.ok(
		await out.evaluate((el) => {
			const cx = el.querySelector('[data-testid="complexity"]');
			const run = el.querySelector('.run');
			return !!cx && !!run && !!(cx.compareDocumentPosition(run) & Node.DOCUMENT_POSITION_FOLLOWING);
		}),
		'the estimate is above the run',
	);
	const head = await c.locator('strong').textContent();
	assert.match(head, /^(O\(.*\)|inconclusive|unknown.*)$/);
	if (head.startsWith('O(')) assert.match(await c.textContent(), /confidence \d+%/);
	const rows = await c.locator('tr[data-n]').count();
	assert.ok(rows >= 2, `points listed: ${rows}`);
	if (await c.locator('svg.plot').count()) {
		const svg = await c.locator('svg.plot').textContent();
		assert.match(svg, /n \(input size/);
		assert.match(svg, /ms/);
		assert.equal(
			await c.locator('[data-axis="x-max"]').textContent(),
			await c.locator('tr[data-n]').last().getAttribute('data-n'),
		);
	}
	await shot(p, 'room-complexity');
	// Editing the code ends the estimate.
	await cursorAt(p, 0);
	await p.keyboard.type('# changed\n');
	await c.waitFor({ state: 'detached', timeout: WAIT });
});

test('the interviewer: the bank as a list from the room token, a vanished problem says so by the field, Close room with a confirm', async () => {
	// A problem that will be archived while the list still shows it.
	const doomed = `doomed-${Date.now().toString(36)}`;
	const put = await fetch(`${env.tandem.base}/api/problems/${doomed}`, {
		method: 'PUT',
		headers: { authorization: `Bearer ${env.tandem.adminKey}`, 'content-type': 'application/json' },
		body: JSON.stringify({
			title: 'Doomed',
			difficulty: 'hard',
			tags: ['gone'],
			statement: 'Soon archived.',
			signature: { kind: 'function', entry: 'f' },
			starter: 'def f(x):\n    ...\n',
			tests: { sample: [{ args: [1], expected: 1 }], hidden: [{ args: [2], expected: 2 }] },
		}),
	});
	assert.equal(put.status, 201, await put.text());
	const room = await env.tandem.createRoom({ problem: 'move-zeros' });
	const cand = await env.page();
	const intv = await env.page();
	await openRoom(cand, env.link(room, 'candidate'));
	await openRoom(intv, env.link(room, 'interviewer'));
	// No admin key in this browser: the interviewer's token lists the bank.
	assert.equal(await intv.evaluate(() => localStorage.getItem('tandem.admin')), null);
	const pane = intv.getByRole('region', { name: 'Problem' });
	const select = pane.getByRole('combobox');
	await select.locator('option[value="lru-cache"]').waitFor({ state: 'attached', timeout: WAIT });
	assert.match(
		await select.locator('option[value="lru-cache"]').textContent(),
		/Least Recently Used Cache \(medium\)/,
	);
	assert.match(await select.locator(`option[value="${doomed}"]`).textContent(), /Doomed \(hard\) · gone/);
	assert.equal(
		await cand.getByRole('region', { name: 'Problem' }).getByRole('combobox').count(),
		0,
		'no picker for the candidate',
	);
	// Archived meanwhile: the switch is refused, and the field says so.
	const del = await fetch(`${env.tandem.base}/api/problems/${doomed}`, {
		method: 'DELETE',
		headers: { authorization: `Bearer ${env.tandem.adminKey}` },
	});
	assert.equal(del.status, 200, await del.text());
	await select.selectOption(doomed);
	await pane.getByRole('button', { name: 'Switch' }).click();
	const err = intv.getByTestId('switch-error');
	await err.waitFor({ timeout: WAIT });
	assert.match(await err.textContent(), new RegExp(`No problem with id '${doomed}'`));
	await shot(intv, 'room-switch-bad-id');
	await select.selectOption('lru-cache');
	await pane.getByRole('button', { name: 'Switch' }).click();
	await cand
		.getByRole('region', { name: 'Problem' })
		.getByRole('heading', { name: 'Least Recently Used Cache' })
		.waitFor({ timeout: WAIT });
	assert.equal(await intv.getByTestId('switch-error').count(), 0);
	// Close room: a dismissed confirm changes nothing, an accepted one closes it for everyone.
	intv.once('dialog', (d) => d.dismiss());
	await intv.getByRole('button', { name: 'Close room' }).click();
	assert.equal(await intv.locator('[data-page="closed"]').count(), 0);
	intv.once('dialog', (d) => d.accept());
	await intv.getByRole('button', { name: 'Close room' }).click();
	await intv.locator('[data-page="closed"]').waitFor({ timeout: WAIT });
	await cand.locator('[data-page="closed"]').waitFor({ timeout: WAIT });
});

test('a narrow window: the problem comes first, in a box that leaves the editor near the top', async () => {
	const room = await env.tandem.createRoom({ problem: 'move-zeros' });
	const p = await env.page({ width: 420, height: 800 });
	await openRoom(p, env.link(room, 'candidate'));
	const pane = p.getByRole('region', { name: 'Problem' });
	await pane.getByRole('heading', { name: 'Zeros to the Back' }).waitFor({ timeout: WAIT });
	const problem = await pane.boundingBox();
	const editor = await p.locator('.editor-host').boundingBox();
	assert.ok(problem.y < editor.y, `problem at ${problem.y}, editor at ${editor.y}`);
	assert.ok(editor.y < 800 * 0.75, `the editor starts at ${editor.y} px`);
	await shot(p, 'room-narrow-420');
});
