// Replay: after a session, the interviewer's replay scrubs to the middle and
// shows the text of that moment (checked against the server's own
// GET .../text?at= of the same moment), and the end shows the final text.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cursorAt, shot, startPair, WAIT, waitSaved, waitText } from './harness.mjs';

let env, room, cand, intv, t0;
before(async () => {
	t0 = Date.now();
	({ env, room, cand, intv } = await startPair());
});
after(async () => {
	await env?.stop();
});

const FIRST = 'def solve(xs):\n';
const SECOND = '    return sorted(xs)  # 世界 😀\n';

test('the session: two bursts of typing with a pause between, a run, a note', async () => {
	await cursorAt(cand, 0);
	// Typed without Enter's auto-indent, so the texts are exactly these.
	await cand.keyboard.type(FIRST.trimEnd());
	await cand.keyboard.insertText('\n');
	await waitSaved(cand);
	// A pause that dominates the session, so its middle falls in it: twice
	// what the room's creation and the first burst took (more on a loaded
	// machine), which the second burst and the note cannot outlast.
	await new Promise((r) => setTimeout(r, 2500 + 2 * (Date.now() - t0)));
	await cand.evaluate((t) => {
		const v = window.tandem.view;
		v.dispatch({ changes: { from: v.state.doc.length, insert: t } });
	}, SECOND);
	await waitText(intv, FIRST + SECOND);
	await waitSaved(cand);
	const notes = intv.getByRole('region', { name: 'Notes' });
	await notes.getByRole('textbox').fill('Sorted it quickly.');
	await notes.getByRole('button', { name: 'Add note' }).click();
	await intv.getByRole('region', { name: 'Notes' }).getByText('Sorted it quickly.').waitFor({ timeout: WAIT });
});

test('replay scrubs to the middle and shows that moment', async () => {
	const p = await env.page();
	await p.goto(`${env.tandem.base}/replay/${room.id}#token=${room.tokens.interviewer}`);
	const slider = p.getByRole('slider', { name: 'Timeline' });
	await slider.waitFor({ timeout: WAIT });
	assert.doesNotMatch(p.url(), /token/);
	// At the end: the final text.
	await p.waitForFunction((w) => window.tandemReplay?.view.state.doc.toString() === w, FIRST + SECOND, {
		timeout: WAIT,
	});
	const max = Number(await slider.getAttribute('max'));
	await slider.fill(String(Math.round(max / 2)));
	const at = await p.evaluate(() => window.tandemReplay.now());
	const shown = await p.evaluate(() => window.tandemReplay.view.state.doc.toString());
	const server = await env.tandem.api('GET', `/api/rooms/${room.id}/text?at=${Math.floor(at)}`, {
		token: room.tokens.interviewer,
	});
	assert.equal(server.status, 200, server.text);
	assert.equal(shown, server.json.text, `replay at ${at} shows what the server says was there`);
	assert.equal(shown, FIRST, 'the middle of the session is the pause after the first burst');
	// Authorship: the candidate typed all of it.
	assert.ok((await p.locator('.cm-content .author-candidate').count()) > 0);
	await p.getByRole('region', { name: 'Flags' }).waitFor();
	await slider.fill(String(max));
	await p.getByRole('region', { name: 'Notes' }).getByText('Sorted it quickly.').waitFor({ timeout: WAIT });
	await shot(p, 'replay');
});

test('a candidate cannot open the replay', async () => {
	const p = await env.page();
	p.allowed.push(/Failed to load resource.*403/);
	await p.goto(`${env.tandem.base}/replay/${room.id}#token=${room.tokens.candidate}`);
	await p.locator('[data-page="replay-error"]').waitFor({ timeout: WAIT });
});
