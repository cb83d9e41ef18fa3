// A reconnect's catch-up of many scattered edits: the page gives CodeMirror
// the changes far from what it draws, its cursor and its own edits merged
// into a few (frontend/src/lib/coalesce.ts); the text, the cursor and undo
// must end as if each change had been given on its own.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startPair, text, waitSaved, waitText } from './harness.mjs';

let env, cand, intv;
before(async () => {
	({ env, cand, intv } = await startPair());
});
after(async () => {
	await env?.stop();
});

test('catch-up of 200 scattered edits: text, the cursor off screen and undo stay right', async () => {
	// 400 lines, typed in by the interviewer's page.
	const lines = Array.from({ length: 400 }, (_, i) => `row_${i} = compute(items[${i}], 42)\n`).join('');
	await intv.evaluate((t) => window.tandem.view.dispatch({ changes: { from: 0, insert: t } }), lines);
	await waitText(cand, lines, 'candidate has the lines');

	// The candidate types on line 300, then scrolls to the top: the cursor
	// and the edit are far below the lines drawn.
	const at = lines.indexOf('row_300 ');
	await cand.evaluate((p) => {
		const v = window.tandem.view;
		v.focus();
		v.dispatch({ selection: { anchor: p } });
	}, at);
	// One input (one undo event): typed key by key, a loaded machine's pauses
	// past the history's 500 ms grouping split it, and undo took back a part.
	await cand.keyboard.insertText('mine = 1; ');
	await waitSaved(cand);
	await cand.evaluate(
		() =>
			new Promise((resolve) => {
				const v = window.tandem.view;
				v.scrollDOM.scrollTop = 0;
				requestAnimationFrame(() => requestAnimationFrame(resolve));
			}),
	);
	const below = await cand.evaluate(() => window.tandem.view.viewport.to);
	assert.ok(below < at, `the edit (at ${at}) is below the drawn lines (to ${below})`);
	await waitText(intv, await text(cand), 'interviewer has the edit');

	// The candidate goes offline; the interviewer makes 200 one-character
	// edits all over the text.
	await cand.evaluate(() => window.tandem.session.stop());
	await intv.evaluate(() => {
		const v = window.tandem.view;
		let seed = 11;
		for (let i = 0; i < 200; i++) {
			seed = (seed * 1103515245 + 12345) % 2147483648;
			const line = v.state.doc.line(1 + (seed % v.state.doc.lines));
			v.dispatch({ changes: { from: line.from, insert: 'x' } });
		}
	});
	await waitSaved(intv);
	const want = await text(intv);

	// Back online: the catch-up arrives as one transaction of few changes.
	await cand.evaluate(() => {
		const v = window.tandem.view;
		const dispatch = v.dispatch;
		window.catchUp = [];
		v.dispatch = (...args) => {
			const spec = args[0];
			if (spec && Array.isArray(spec.changes)) window.catchUp.push(spec.changes.length);
			return dispatch.apply(v, args);
		};
		window.tandem.session.reclaim();
	});
	await waitText(cand, want, 'candidate after the catch-up');
	const sizes = await cand.evaluate(() => window.catchUp);
	assert.ok(
		sizes.length >= 1 && Math.max(...sizes) < 200,
		`the 200 edits reached CodeMirror as fewer changes (${sizes.join(', ')})`,
	);

	// The cursor is still right after what the candidate typed.
	const before = await cand.evaluate(() => {
		const v = window.tandem.view;
		const head = v.state.selection.main.head;
		return v.state.doc.sliceString(head - 'mine = 1; '.length, head);
	});
	assert.equal(before, 'mine = 1; ');

	// Undo takes back the candidate's own edit only, in both pages.
	await cand.evaluate(() => window.tandem.view.focus());
	await cand.keyboard.press('Control+z');
	const undone = want.replace('mine = 1; ', '');
	await waitText(cand, undone, 'candidate after undo');
	await waitText(intv, undone, 'interviewer after the candidate undid');
});

test('a join shows the caught-up text before the page says connected, sends its cursor or reads the panes', async () => {
	// The interviewer's page goes offline; the candidate makes 50 edits.
	await intv.evaluate(() => window.tandem.session.stop());
	await cand.evaluate(() => {
		const v = window.tandem.view;
		for (let i = 0; i < 50; i++) v.dispatch({ changes: { from: (i * 37) % v.state.doc.length, insert: 'y' } });
	});
	await waitSaved(cand);
	const want = await text(cand);

	// What the join does besides the catch-up, each with the editor's length
	// at that moment: the page saying "connected", the cursor sent to the
	// peers, the submissions and the timeline read.
	await intv.evaluate(() => {
		const { view, session } = window.tandem;
		window.joinSteps = [];
		const step = (what) => window.joinSteps.push([what, view.state.doc.length]);
		session.state.subscribe((s) => {
			if (s.conn === 'connected') step('connected');
		});
		const send = session.send.bind(session);
		session.send = (msg) => (step(`send ${msg.t}`), send(msg));
		const fetch = window.fetch;
		window.fetch = (url, ...rest) => (
			step(`fetch ${String(url).split('?')[0].split('/').pop()}`),
			fetch(url, ...rest)
		);
		session.reclaim();
	});
	await waitText(intv, want, 'interviewer after the catch-up');
	await intv.waitForFunction(
		() =>
			['connected', 'send awareness', 'fetch submissions', 'fetch timeline'].every((w) =>
				window.joinSteps.some(([s]) => s === w),
			),
		null,
		{ timeout: 10000 },
	);
	const steps = await intv.evaluate(() => window.joinSteps);
	for (const [what, length] of steps)
		assert.equal(length, want.length, `${what} came after the catch-up (${JSON.stringify(steps)})`);
});
