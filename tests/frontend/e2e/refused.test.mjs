// An update the server refuses for now (rate_limited) is not lost: the page
// sends what is unacknowledged again after retry_ms, and the peer ends with
// every character.
import { after, before, test } from 'node:test';
import { cursorAt, openRoom, start, waitSaved, waitText } from './harness.mjs';

let env, room, cand, intv;
before(async () => {
	env = await start({ args: ['--ops-per-s', '5'] });
	room = await env.tandem.createRoom({
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

test('typing faster than --ops-per-s loses nothing', async () => {
	await cursorAt(cand, 0);
	const text = 'fast typing 😀 世界 beyond the rate limit';
	// One update per keystroke, far more than 5 a second.
	await cand.keyboard.type(text);
	await waitText(intv, text, 'interviewer after the refused updates were resent');
	await waitSaved(cand);
});
