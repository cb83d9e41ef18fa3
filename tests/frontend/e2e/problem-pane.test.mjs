// The Problem pane with the shipped problems: a design problem's samples
// (a call sequence, not an argument list) and a result_arg problem's
// (the argument changed in place, no return value) show without an error;
// a live switch shows the new statement in every seat.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openRoom, REPO, shot, start, WAIT } from './harness.mjs';

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
