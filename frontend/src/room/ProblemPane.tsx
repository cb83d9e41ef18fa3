// ProblemPane.tsx - the room's problem: statement, samples, limits; the
// interviewer can switch it.
import { useState } from 'preact/hooks';
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
			{props.s.seat === 'interviewer' && <SwitchProblem session={props.session} current={p?.id ?? ''} />}
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

function SwitchProblem(props: { session: Session; current: string }) {
	const [id, setId] = useState('');
	return (
		<form
			class="switch-problem"
			onSubmit={(e) => {
				e.preventDefault();
				props.session.send({ t: 'problem', problem: id.trim() || null });
			}}
		>
			<label>
				Switch problem (id)
				<input
					value={id}
					placeholder={props.current || 'e.g. pair-sum'}
					onInput={(e) => setId((e.target as HTMLInputElement).value)}
				/>
			</label>
			<button type="submit">Switch</button>
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
