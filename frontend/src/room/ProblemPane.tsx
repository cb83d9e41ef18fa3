// ProblemPane.tsx - the room's problem: statement, samples, limits; the
// interviewer can switch it.
import { useEffect, useState } from 'preact/hooks';
import type { Problem } from '../lib/protocol';
import { Markdown } from '../ui/common';
import { sampleLines, statementHasExamples } from './samples';
import type { RoomState, Session } from './session';

export function ProblemPane(props: { s: RoomState; session: Session }) {
	const p = props.s.problem;
	return (
		<section class="pane problem" aria-label="Problem">
			{p ? (
				<ProblemView p={p} />
			) : (
				<p class="muted">No problem is set for this room: write and run any Python code.</p>
			)}
			{props.s.seat === 'interviewer' && (
				<SwitchProblem session={props.session} current={p?.id ?? ''} error={props.s.switchError} />
			)}
		</section>
	);
}

export function ProblemView(props: { p: Problem }) {
	const { p } = props;
	return (
		<article>
			<h2>{p.title}</h2>
			<p class="meta">
				<span class={`difficulty d-${p.difficulty}`}>{p.difficulty}</span>
				{p.tags.map((t) => (
					<span class="tag" key={t}>
						{t}
					</span>
				))}
			</p>
			<Markdown src={p.statement} />
			{p.samples.length > 0 && <Samples p={p} />}
			{p.limits && (
				<p class="limits muted">
					Limits: {p.limits.cpu_ms ? `${p.limits.cpu_ms} ms CPU` : ''}
					{p.limits.memory_mb ? `, ${p.limits.memory_mb} MB memory` : ''}. {p.hidden} hidden tests on Submit.
				</p>
			)}
		</article>
	);
}

interface BankEntry {
	id: string;
	title: string;
	difficulty: string;
	tags?: string[];
}

function SwitchProblem(props: { session: Session; current: string; error: string | null }) {
	const [id, setId] = useState('');
	const [bank, setBank] = useState<BankEntry[] | null>(null);
	const { room, token } = props.session;
	useEffect(() => {
		// The bank's summaries, for this room's interviewer (GET /api/rooms/:id/problems).
		let dead = false;
		fetch(`/api/rooms/${encodeURIComponent(room)}/problems`, { headers: { authorization: `Bearer ${token}` } })
			.then((r) => (r.ok ? (r.json() as Promise<{ problems?: BankEntry[] }>) : null))
			.then((j) => {
				if (!dead && j?.problems) setBank(j.problems);
			})
			.catch(() => {});
		return () => {
			dead = true;
		};
	}, [room, token]);
	return (
		<form
			class="switch-problem"
			onSubmit={(e) => {
				e.preventDefault();
				if (id.trim()) props.session.switchProblem(id.trim());
			}}
		>
			<label>
				Switch problem
				{bank ? (
					<select value={id} onChange={(e) => setId((e.target as HTMLSelectElement).value)}>
						<option value="">Choose a problem…</option>
						{bank.map((b) => (
							<option key={b.id} value={b.id} disabled={b.id === props.current}>
								{b.title} ({b.difficulty}){b.tags?.length ? ` · ${b.tags.join(', ')}` : ''} · {b.id}
							</option>
						))}
					</select>
				) : (
					<input
						value={id}
						placeholder={props.current || 'problem id, e.g. pair-sum'}
						aria-invalid={props.error ? 'true' : undefined}
						onInput={(e) => setId((e.target as HTMLInputElement).value)}
					/>
				)}
			</label>
			<button type="submit" disabled={!id.trim()}>
				Switch
			</button>
			{props.error && (
				<p class="field-error" role="alert" data-testid="switch-error">
					{props.error}
				</p>
			)}
			{!bank && (
				<p class="muted small">
					The problem list could not be read: type the problem's id (the dashboard lists them).
				</p>
			)}
		</form>
	);
}

function Samples(props: { p: Problem }) {
	const { p } = props;
	const list = p.samples.map((s) => (
		<pre class="sample" key={s.name} data-sample={s.name}>
			<code>{sampleLines(p, s).join('\n')}</code>
		</pre>
	));
	// The statement's own examples are usually the same tests: show them
	// once, with the samples folded away beneath.
	if (statementHasExamples(p.statement))
		return (
			<details class="samples">
				<summary>Sample tests ({p.samples.length}): what "Run tests" runs</summary>
				{list}
			</details>
		);
	return (
		<div class="samples">
			<h3>Sample tests</h3>
			{list}
		</div>
	);
}
