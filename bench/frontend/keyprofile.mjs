// keyprofile.mjs - where a local keystroke's time goes on the room page with
// a 100,000-character document (issue 17's "local keystroke handling").
//
// Builds the room app (vite, from frontend/, unminified so a CPU profile
// names CodeMirror's functions), serves it with tandem, opens page A and a
// peer B, fills the document to 100,000 characters, then A types
// KEYPROF_KEYS (60) characters at 10 a second twice:
//   1. under a Chromium trace: for each keystroke, the main thread's CPU
//      time (each event's thread time, tdur, less its children's) from its
//      keydown to the next keydown, by phase: the key's tasks (script, style
//      and layout forced inside script, GC) and the frame and other tasks
//      after it (animation frame script, style, layout, paint and
//      compositing, timers, messages);
//   2. under the V8 sampling profiler (CDP Profiler, 100 us): script time by
//      function, inclusive, per keystroke on average, for the functions
//      named in GROUPS (CodeMirror's phases, our extensions).
// KEYPROF_DROP=a,b builds the app with those editor extensions removed
// (names as in frontend/src/room/editor.ts: lineNumbers,
// highlightActiveLineGutter, highlightActiveLine, history, drawSelection,
// indentOnInput, bracketMatching, syntaxHighlighting, python, crdtLines,
// peerCursors, cursorListener (the awareness timer's update listener), and
// localEdits (binding.ts)), or saveStatus (the room's save indicator,
// RoomPage.tsx, drawn once and not following the session), to measure one extension's share by its absence.
// KEYPROF_SAVE=prefix keeps the trace and the profile (prefix.trace.json,
// prefix.cpuprofile).  Needs the release build (build-release/, or
// TANDEM_BUILD) and Redis and PostgreSQL as bench/frontend/run does.
// Prints a table and writes keyprofile-<variant>.json.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const FRONTEND = path.join(REPO, 'frontend');
process.env.TANDEM_BUILD ||= path.join(REPO, 'build-release');
const { Tandem } = await import(pathToFileURL(path.join(REPO, 'tests/server/e2e/harness.mjs')));
const { chromium } = await import(pathToFileURL(path.join(FRONTEND, 'node_modules/playwright-core/index.mjs')));
const vite = await import(pathToFileURL(path.join(FRONTEND, 'node_modules/vite/dist/node/index.js')));

const KEYS = Number(process.env.KEYPROF_KEYS || 60);
const BIG = 100000;
const DROP = (process.env.KEYPROF_DROP || '').split(',').filter(Boolean);
const VARIANT = DROP.length ? `no-${DROP.join('-')}` : 'all';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const log = (m) => console.error(`keyprofile (${VARIANT}): ${m}`);

// ---- the build, with extensions dropped ------------------------------------------------

/** The source edit removing one extension; each must match exactly once. */
function dropper(name) {
	if (name === 'localEdits') return { file: 'src/lib/binding.ts', re: /^\t\tlocalEdits,\n/m };
	if (name === 'saveStatus')
		return { file: 'src/room/RoomPage.tsx', re: /saving\.subscribe\(/, to: '((f) => () => true)(' };
	if (name === 'cursorListener')
		return {
			file: 'src/room/editor.ts',
			re: /^\t{4}EditorView\.updateListener\.of\(\(u\) => \{\n[^]*?^\t{4}\}\),\n/m,
		};
	return { file: 'src/room/editor.ts', re: new RegExp(`^\\t{4}${name}(\\(.*\\))?,\\n`, 'm') };
}

async function buildApp() {
	const outDir = path.join(HERE, 'keyprofile-dist', VARIANT);
	const edits = DROP.map(dropper);
	const plugin = {
		name: 'keyprofile-drop',
		enforce: 'pre',
		transform(code, id) {
			let out = code;
			for (const [i, e] of edits.entries()) {
				if (!id.endsWith(e.file)) continue;
				if (!e.re.test(out)) throw new Error(`keyprofile: cannot drop ${DROP[i]}: not found in ${e.file}`);
				out = out.replace(e.re, e.to ?? '');
			}
			return out === code ? null : out;
		},
	};
	await vite.build({
		root: FRONTEND,
		configFile: path.join(FRONTEND, 'vite.config.ts'),
		logLevel: 'warn',
		plugins: [plugin],
		build: { outDir, emptyOutDir: true, minify: false },
	});
	return outDir;
}

// ---- the trace's phases ----------------------------------------------------------------

const KEY_EVENTS = new Set(['keydown', 'keypress', 'beforeinput', 'input', 'textInput', 'textupdate', 'keyup']);
const SCRIPT = new Set([
	'FunctionCall',
	'EventDispatch',
	'FireAnimationFrame',
	'TimerFire',
	'RunMicrotasks',
	'v8.callFunction',
	'V8.Execute',
	'v8.run',
	'EvaluateScript',
	'HandlePostMessage',
	'FireIdleCallback',
]);
const STYLE = new Set(['UpdateLayoutTree', 'RecalculateStyles', 'ScheduleStyleRecalculation']);
const LAYOUT = new Set(['Layout', 'UpdateLayout']);
const PAINT = new Set([
	'PrePaint',
	'Paint',
	'Layerize',
	'Commit',
	'UpdateLayer',
	'UpdateLayerTree',
	'CompositeLayers',
	'PaintImage',
	'RasterTask',
	'IntersectionObserverController::computeIntersections',
	'HitTest',
]);
const isGc = (n) => /GC|Scavenge|MarkCompact|Sweep/i.test(n);

/** One category for an event, given whether a script event encloses it. */
function category(e, inScript, inKey) {
	const n = e.name;
	const where = inKey ? 'key' : 'after';
	if (isGc(n)) return `${where}: GC`;
	if (STYLE.has(n)) return inScript ? `${where}: style forced by script` : `${where}: style`;
	if (LAYOUT.has(n)) return inScript ? `${where}: layout forced by script` : `${where}: layout`;
	if (PAINT.has(n)) return `${where}: paint, layers, commit`;
	if (SCRIPT.has(n) || inScript) return `${where}: script`;
	return `${where}: other`;
}

/** Per keystroke: CPU ms by category, and the key's tasks' CPU and wall. */
function phases(events) {
	const downs = events.filter((e) => e.name === 'EventDispatch' && e.args?.data?.type === 'keydown');
	if (!downs.length) throw new Error('keyprofile: no keydown in the trace');
	const { pid, tid } = downs[0];
	const main = events
		.filter((e) => e.pid === pid && e.tid === tid && e.ph === 'X' && e.dur !== undefined)
		.sort((x, y) => x.ts - y.ts || y.dur - x.dur);
	const keyTs = downs.map((e) => e.ts).sort((x, y) => x - y);
	const tasks = main.filter((e) => e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask');
	const keyTasks = new Set();
	for (const d of main.filter((e) => e.name === 'EventDispatch' && KEY_EVENTS.has(e.args?.data?.type))) {
		const t = tasks.find((k) => k.ts <= d.ts && d.ts <= k.ts + k.dur);
		if (t) keyTasks.add(t);
	}
	const per = keyTs.map(() => ({ cats: {}, keyCpu: 0, keyWall: 0, gcCpu: 0 }));
	const keyOf = (ts) => {
		let i = keyTs.length - 1;
		while (i > 0 && keyTs[i] > ts) i--;
		return keyTs[i] <= ts ? i : -1;
	};
	// Walk the task trees: each event's own thread time (less its children's).
	const cpu = (e) => (e.tdur ?? e.dur) / 1000;
	const stack = [];
	for (const e of main) {
		while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) stack.pop();
		const parent = stack.at(-1);
		if (parent) parent.childCpu = (parent.childCpu ?? 0) + cpu(e);
		e.inScript = !!parent && (parent.inScript || SCRIPT.has(parent.name));
		e.task = parent ? parent.task : e;
		stack.push(e);
	}
	for (const e of main) {
		const i = keyOf(e.task.ts);
		if (i < 0) continue;
		const self = Math.max(0, cpu(e) - (e.childCpu ?? 0));
		const c = category(e, e.inScript, keyTasks.has(e.task));
		per[i].cats[c] = (per[i].cats[c] ?? 0) + self;
		if (isGc(e.name)) per[i].gcCpu += self;
		if (e === e.task && keyTasks.has(e)) {
			per[i].keyCpu += cpu(e);
			per[i].keyWall += e.dur / 1000;
		}
	}
	return per;
}

// ---- the profile's functions -------------------------------------------------------------

// Inclusive script time of these functions (a sample counts once for each
// group one of its frames matches; "…" rows are within the row above).  Names are CodeMirror's own (the build
// is not minified) and ours.
const GROUPS = {
	"CodeMirror: the key's DOM change read and dispatched (applyDOMChange)": /^applyDOMChange$/,
	'… state: the new EditorState, its fields and facets (applyTransaction)': /^applyTransaction$/,
	'… … language: the Python parse (Parse.advance)': /^advance$/,
	"… view: the view plugins' updates (updatePlugins)": /^updatePlugins$/,
	'… view: the DOM update (DocView.updateInner)': /^updateInner$/,
	'view: measuring (EditorView.measure: frame and scroll)': /^measure$/,
	'… on a scroll event (DOMObserver.onScroll)': /^onScroll$/,
	'highlighter (highlightTree)': /^highlightTree$/,
	'gutters (lineNumbers, active line gutter)': /^(syncGutters|updateGutters)$/,
	'layers (drawSelection)': /^(forRange|getBase)$/,
	bracketMatching: /^(matchBrackets|matchingNodes|matchPlainBrackets)$/,
	'ours: Binding.local and Session.local (CRDT, encode, send)': /^local$/,
	'ours: peerCursors (build)': /^(build|peerRange)$/,
	'ours: the save indicator (SaveStatus, SaveDisplay.see)': /^(SaveStatus|see)$/,
	"ours: the cursor's awareness message (sendCursor, a timer)": /^sendCursor$/,
	'ours: the replica write (ReplicaWriter.write, IndexedDB)': /^write$/,
	'(garbage collector)': /^\(garbage collector\)$/,
};

function profileGroups(profile, keys) {
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const parent = new Map();
	for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	const dt = profile.timeDeltas;
	const incl = {};
	const self = new Map();
	let total = 0;
	for (let i = 0; i < profile.samples.length; i++) {
		const ms = (dt[i + 1] ?? dt[i] ?? 0) / 1000;
		let id = profile.samples[i];
		const leaf = byId.get(id).callFrame.functionName || '(anonymous)';
		if (leaf === '(idle)' || leaf === '(program)') continue;
		total += ms;
		const key = `${leaf} ${path.basename(byId.get(id).callFrame.url || '')}:${byId.get(id).callFrame.lineNumber}`;
		self.set(key, (self.get(key) ?? 0) + ms);
		const hit = new Set();
		while (id !== undefined) {
			const f = byId.get(id).callFrame.functionName;
			for (const [g, re] of Object.entries(GROUPS)) if (re.test(f)) hit.add(g);
			id = parent.get(id);
		}
		for (const g of hit) incl[g] = (incl[g] ?? 0) + ms;
	}
	const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
	const perKey = (ms) => ms / keys;
	return {
		total: perKey(total),
		groups: Object.fromEntries(Object.entries(incl).map(([g, ms]) => [g, perKey(ms)])),
		topSelf: top.map(([k, ms]) => [k, perKey(ms)]),
	};
}

// ---- the run -------------------------------------------------------------------------------

// Each pass types on a line of its own, which starts with KEYPROF_PREFIX
// (0) characters: a line growing past the editor's width scrolls it
// sideways on every key, and CodeMirror measures the view on each scroll.
const PREFIX = Number(process.env.KEYPROF_PREFIX || 0);

async function typeKeys(a, n, chars) {
	await a.evaluate((prefix) => {
		const v = window.tandem.view;
		const end = v.state.doc.length;
		const insert = `\n${'x'.repeat(prefix)}`;
		v.dispatch({
			changes: { from: end, insert },
			selection: { anchor: end + insert.length },
			scrollIntoView: true,
		});
	}, PREFIX);
	await sleep(300);
	const start = Date.now();
	for (let i = 0; i < n; i++) {
		await a.keyboard.type(chars[i % chars.length]);
		await sleep(Math.max(0, start + (i + 1) * 100 - Date.now()));
	}
	await sleep(300);
}

log('building the app');
const dist = await buildApp();
const t = await Tandem.start({ args: ['--static', dist] });
const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	args: ['--no-sandbox', '--disable-gpu'],
});
try {
	const r = await t.createRoom({ names: { candidate: 'A', interviewer: 'B' } });
	const pages = [];
	for (const link of [r.links.candidate, r.links.interviewer]) {
		const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
		const p = await ctx.newPage();
		p.on('pageerror', (e) => console.error(`page error: ${e.message}`));
		await p.goto(link.replace(/^https?:\/\/[^/]+/, t.base));
		await p.waitForFunction(() => !!(window.tandem?.view && document.querySelector('[data-conn="connected"]')));
		pages.push(p);
	}
	const [a, b] = pages;
	log('filling to 100,000 characters');
	await a.evaluate((n) => {
		const v = window.tandem.view;
		const line = 'value = compute(items[i], 42)  # filler\n';
		v.dispatch({
			changes: { from: v.state.doc.length, insert: line.repeat(Math.ceil(n / line.length)).slice(0, n) },
		});
	}, BIG);
	await b.waitForFunction((n) => window.tandem.view.state.doc.length >= n, BIG, { timeout: 60000 });
	// B's cursor in A's view (near the end, drawn), A's at the end.
	await b.evaluate(() => {
		const v = window.tandem.view;
		v.focus();
		v.dispatch({ selection: { anchor: v.state.doc.length - 200 }, scrollIntoView: true });
	});
	await a.evaluate(() => {
		const v = window.tandem.view;
		v.focus();
		v.dispatch({ selection: { anchor: v.state.doc.length }, scrollIntoView: true });
	});
	await sleep(500);
	log('warming up');
	await typeKeys(a, 20, 'uvwxyz');

	// Scroll events on A's page while it types: CodeMirror measures the
	// view again on each one.
	await a.evaluate(() => {
		window.__scrolls = [];
		const name = (t) => (t === document ? 'document' : `${t.tagName}.${t.className}`);
		document.addEventListener(
			'scroll',
			(e) =>
				window.__scrolls.push([
					name(e.target),
					e.target.scrollTop ?? window.scrollY,
					e.target.scrollLeft ?? window.scrollX,
				]),
			true,
		);
	});
	log(`typing ${KEYS} keys, traced`);
	await browser.startTracing(a, {
		categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink_gc'],
	});
	await typeKeys(a, KEYS, 'abcdefghij');
	const raw = await browser.stopTracing();
	if (process.env.KEYPROF_SAVE) fs.writeFileSync(`${process.env.KEYPROF_SAVE}.trace.json`, raw);
	const per = phases(JSON.parse(raw.toString()).traceEvents);
	const scrolls = await a.evaluate(() => window.__scrolls);
	const geometry = await a.evaluate(() => {
		const v = window.tandem.view;
		const gutters = v.dom.querySelector('.cm-gutters');
		const width = v.scrollDOM.clientWidth - (gutters ? gutters.offsetWidth : 0);
		return { width: Math.round(width), columns: Math.floor(width / v.defaultCharacterWidth) };
	});

	log(`typing ${KEYS} keys, profiled`);
	const cdp = await a.context().newCDPSession(a);
	await cdp.send('Profiler.enable');
	await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
	await cdp.send('Profiler.start');
	await typeKeys(a, KEYS, 'klmnopqrst');
	const { profile } = await cdp.send('Profiler.stop');
	await cdp.detach();
	if (process.env.KEYPROF_SAVE) fs.writeFileSync(`${process.env.KEYPROF_SAVE}.cpuprofile`, JSON.stringify(profile));
	const prof = profileGroups(profile, KEYS);

	const cats = [...new Set(per.flatMap((k) => Object.keys(k.cats)))].sort();
	const rows = [
		['key tasks, CPU (what bench.mjs traces)', per.map((k) => k.keyCpu)],
		['key tasks, wall', per.map((k) => k.keyWall)],
		['keydown to next keydown, CPU of all tasks', per.map((k) => Object.values(k.cats).reduce((s, x) => s + x, 0))],
		['… GC in it', per.map((k) => k.gcCpu)],
		...cats.map((c) => [`… ${c}`, per.map((k) => k.cats[c] ?? 0)]),
	];
	const fmt = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');
	const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
	const out = [
		`## keyprofile ${VARIANT}: ${per.length} keystrokes on ${BIG} characters, load average ${load}`,
		'',
		`Scroll events on A's page while it typed: ${scrolls.length} (first: ${JSON.stringify(scrolls.slice(0, 4))});`,
		`the editor shows ${geometry.columns} columns (${geometry.width} px), each line starting with ${PREFIX} characters.`,
		'',
		'| phase (trace, main thread CPU) | p50 | p99 | mean (ms) |',
		'|---|---|---|---|',
		...rows.map(
			([n, xs]) =>
				`| ${n} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 99))} | ${fmt(xs.reduce((s, x) => s + x, 0) / xs.length)} |`,
		),
		'',
		`| script by function (profile, inclusive, ms a keystroke; all script ${fmt(prof.total)}) | ms |`,
		'|---|---|',
		...Object.keys(GROUPS).map((g) => `| ${g} | ${fmt(prof.groups[g] ?? 0)} |`),
		'',
		'| function, self (ms a keystroke) | ms |',
		'|---|---|',
		...prof.topSelf.map(([f, ms]) => `| ${f} | ${fmt(ms)} |`),
	];
	console.log(out.join('\n'));
	fs.writeFileSync(
		path.join(HERE, `keyprofile-${VARIANT}.json`),
		JSON.stringify({ variant: VARIANT, load, per, profile: prof }, null, 1),
	);
} finally {
	await browser.close();
	await t.stop();
}
