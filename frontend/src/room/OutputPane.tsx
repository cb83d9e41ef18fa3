// OutputPane.tsx - the run's streamed output, per-test verdicts (a hidden
// test shows its name, verdict, time and memory only: the server sends
// nothing else), and the complexity estimate with its measured points.
import type { ComplexityResult, RunTest, SubmissionSummary } from '../lib/protocol';
import { clock, fmtKb, fmtMs } from '../ui/common';
import { argsText } from './samples';
import type { RoomState, RunView, Session } from './session';

export function OutputPane(props: { s: RoomState; session: Session }) {
	const { run, complexity, problem, conn, seat } = props.s;
	return (
		<section class="pane output" aria-label="Output">
			<div class="output-head">
				<h2>Output</h2>
				{problem?.complexity && seat !== 'observer' && (
					<button
						type="button"
						class="small"
						disabled={conn !== 'connected' || complexity.running || (!!run && !run.result)}
						onClick={() => props.session.send({ t: 'complexity' })}
					>
						Estimate complexity
					</button>
				)}
			</div>
			{!run && !complexity.result && !complexity.running && (
				<p class="muted">Run your code (Ctrl/Cmd-Enter) to see its output here.</p>
			)}
			{!run && props.s.submissions?.[0] && (
				<p class="latest" data-testid="latest-submission">
					Latest submission: <SubmissionLine sub={props.s.submissions[0]} />
				</p>
			)}
			{complexity.running && (
				<p class="muted complexity-running">Estimating complexity: the code runs on growing inputs…</p>
			)}
			{complexity.result && <Complexity r={complexity.result} />}
			{run && <RunBlock run={run} />}
		</section>
	);
}

function RunBlock(props: { run: RunView }) {
	const { run } = props;
	const r = run.result;
	const label = run.mode === 'submit' ? 'Submission' : run.mode === 'tests' ? 'Tests' : 'Run';
	return (
		<div class="run" data-run={run.run} aria-live="polite">
			<p class="run-head">
				{label} #{run.run} by {run.by}
				{r ? (
					<span class={`verdict v-${r.verdict ?? 'none'}`} data-verdict={r.verdict ?? ''}>
						{r.verdict ?? r.code ?? '?'}
					</span>
				) : (
					<span class="muted"> running…</span>
				)}
				{r && r.passed !== undefined && (
					<span class="passed">
						{' '}
						{r.passed}/{r.total} passed
					</span>
				)}
				{r && r.cpu_ms !== undefined && <span class="muted"> · {fmtMs(r.cpu_ms)} CPU</span>}
				{r && r.mem_kb !== undefined && <span class="muted"> · {fmtKb(r.mem_kb)}</span>}
			</p>
			{run.output.length > 0 && (
				<pre class="stream" data-testid="run-output">
					{run.output.map((o, i) => (
						<span key={i} class={o.stream}>
							{o.data}
						</span>
					))}
				</pre>
			)}
			{run.output.length === 0 && r && run.mode === 'script' && (r.stdout || r.stderr) && (
				<pre class="stream" data-testid="run-output">
					<span class="stdout">{r.stdout}</span>
					<span class="stderr">{r.stderr}</span>
				</pre>
			)}
			{r?.compile_error && (
				<pre class="stream stderr">
					{r.compile_error.type}: {r.compile_error.message}
				</pre>
			)}
			{r?.message && <p class="stderr">{r.message}</p>}
			{run.tests.length > 0 && <Tests tests={run.tests} total={run.total} />}
		</div>
	);
}

function show(v: unknown): string {
	return JSON.stringify(v);
}

function Tests(props: { tests: RunTest[]; total: number | null }) {
	return (
		<table class="tests">
			<caption class="sr-only">Test results</caption>
			<thead>
				<tr>
					<th scope="col">Test</th>
					<th scope="col">Verdict</th>
					<th scope="col">Time</th>
					<th scope="col">Memory</th>
					<th scope="col">Details</th>
				</tr>
			</thead>
			<tbody>
				{props.tests.map((t) => (
					<tr key={t.index} data-hidden={t.hidden ? '1' : '0'}>
						<td>{t.name}</td>
						<td>
							<span class={`verdict v-${t.verdict}`}>{t.verdict}</span>
						</td>
						<td>{fmtMs(t.cpu_ms)}</td>
						<td>{fmtKb(t.mem_kb)}</td>
						<td class="details">
							{t.hidden ? (
								<span class="muted">hidden test</span>
							) : (
								<>
									{t.args && (
										<div>
											args: <code>{argsText(t.args)}</code>
										</div>
									)}
									{t.expected !== undefined && (
										<div>
											expected: <code>{show(t.expected)}</code>
										</div>
									)}
									{t.actual !== undefined && (
										<div>
											got: <code>{show(t.actual)}</code>
										</div>
									)}
									{t.error && (
										<div class="stderr">
											{t.error.type}: {t.error.message}
										</div>
									)}
									{t.stdout && <pre class="stream">{t.stdout}</pre>}
								</>
							)}
						</td>
					</tr>
				))}
			</tbody>
		</table>
	);
}

/** Below this confidence the fit is reported as inconclusive. */
export const CONFIDENT = 0.6;

/** How an estimate reads: a class only when the fit is confident enough. */
export function complexityWords(r: ComplexityResult): { head: string; note: string | null } {
	if (!r.class) return { head: `unknown (${r.verdict ?? 'no fit'})`, note: null };
	const cls = `${r.class}${r.alternative ? ` or ${r.alternative}` : ''}`;
	const pct = r.confidence !== undefined ? Math.round(r.confidence * 100) : null;
	if (r.confidence !== undefined && r.confidence < CONFIDENT)
		return {
			head: 'inconclusive',
			note: `the points fit ${cls} best, but only with ${pct}% confidence; the timings were too noisy to tell`,
		};
	return { head: cls, note: pct !== null ? `confidence ${pct}%` : null };
}

/** A log-log plot of CPU time against input size, its axes in n and ms, and the points as a table. */
function Complexity(props: { r: ComplexityResult }) {
	const { r } = props;
	const pts = r.points.filter((p) => p.n > 0 && p.cpu_ms > 0);
	const W = 300;
	const H = 150;
	const padL = 52;
	const padR = 12;
	const padT = 12;
	const padB = 34;
	let plot = null;
	if (pts.length >= 2) {
		const lx = pts.map((p) => Math.log(p.n));
		const ly = pts.map((p) => Math.log(p.cpu_ms));
		const [x0, x1] = [Math.min(...lx), Math.max(...lx)];
		const [y0, y1] = [Math.min(...ly), Math.max(...ly)];
		const sx = (v: number): number => padL + ((v - x0) / (x1 - x0 || 1)) * (W - padL - padR);
		const sy = (v: number): number => H - padB - ((v - y0) / (y1 - y0 || 1)) * (H - padT - padB);
		const path = pts.map((_, i) => `${i ? 'L' : 'M'}${sx(lx[i]!).toFixed(1)},${sy(ly[i]!).toFixed(1)}`).join(' ');
		const nMin = Math.min(...pts.map((p) => p.n));
		const nMax = Math.max(...pts.map((p) => p.n));
		const tMin = Math.min(...pts.map((p) => p.cpu_ms));
		const tMax = Math.max(...pts.map((p) => p.cpu_ms));
		plot = (
			<svg
				class="plot"
				width={W}
				height={H}
				role="img"
				aria-label={`CPU time in ms against n, log-log, ${pts.length} points`}
			>
				<line x1={padL} y1={H - padB} x2={W - padR} y2={H - padB} class="axis" />
				<line x1={padL} y1={padT} x2={padL} y2={H - padB} class="axis" />
				<path d={path} class="curve" />
				{pts.map((p, i) => (
					<circle key={p.n} cx={sx(lx[i]!)} cy={sy(ly[i]!)} r="3" class="pt">
						<title>
							n = {p.n}: {fmtMs(p.cpu_ms)}
						</title>
					</circle>
				))}
				<text x={padL} y={H - padB + 13} text-anchor="start" class="lbl tick" data-axis="x-min">
					{nMin}
				</text>
				<text x={W - padR} y={H - padB + 13} text-anchor="end" class="lbl tick" data-axis="x-max">
					{nMax}
				</text>
				<text x={(padL + W - padR) / 2} y={H - 4} text-anchor="middle" class="lbl">
					n (input size, log scale)
				</text>
				<text x={padL - 4} y={H - padB} text-anchor="end" class="lbl tick" data-axis="y-min">
					{fmtMs(tMin)}
				</text>
				<text x={padL - 4} y={padT + 8} text-anchor="end" class="lbl tick" data-axis="y-max">
					{fmtMs(tMax)}
				</text>
				<text x={4} y={(padT + H - padB) / 2} class="lbl">
					ms
				</text>
			</svg>
		);
	}
	const w = complexityWords(r);
	return (
		<div class="complexity" data-testid="complexity">
			<p>
				Estimated complexity: <strong data-class={w.head}>{w.head}</strong>
				{w.note && <span class="muted"> · {w.note}</span>}
			</p>
			{r.message && <p class="stderr">{r.message}</p>}
			{plot}
			{r.points.length > 0 && (
				<table class="tests points">
					<caption class="sr-only">Measured points</caption>
					<thead>
						<tr>
							<th scope="col">n</th>
							<th scope="col">CPU</th>
							<th scope="col">Memory</th>
						</tr>
					</thead>
					<tbody>
						{r.points.map((p) => (
							<tr key={p.n} data-n={p.n}>
								<td>{p.n}</td>
								<td>{fmtMs(p.cpu_ms)}</td>
								<td>{fmtKb(p.mem_kb)}</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
			{r.mem_growth_kb !== undefined && (
				<p class="muted small">Memory growth over the points: {fmtKb(r.mem_growth_kb)}</p>
			)}
		</div>
	);
}

function SubmissionLine(props: { sub: SubmissionSummary }) {
	const x = props.sub;
	return (
		<>
			<span class={`verdict v-${x.verdict ?? 'none'}`} data-verdict={x.verdict ?? ''}>
				{x.verdict ?? '?'}
			</span>{' '}
			<span class="passed">
				{x.passed}/{x.total} passed
			</span>
			<span class="muted">
				{' '}
				· {x.seat} at {clock(x.at)}
			</span>
		</>
	);
}

/** The room's submissions so far, newest first. */
export function SubmissionsPane(props: { subs: SubmissionSummary[] | null }) {
	const subs = props.subs;
	if (!subs || subs.length === 0) return null;
	return (
		<section class="pane submissions" aria-label="Submissions">
			<h2>Submissions</h2>
			<ol>
				{subs.map((x) => (
					<li key={x.id} data-submission={x.id}>
						<SubmissionLine sub={x} />
						{x.cpu_ms !== undefined && <span class="muted"> · {fmtMs(x.cpu_ms)}</span>}
					</li>
				))}
			</ol>
		</section>
	);
}
