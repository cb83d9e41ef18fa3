// ReplayPage.tsx - a room's session played back: the text of any moment
// (the wasm CRDT at the version of that moment), who typed what, a slider
// to scrub, play at 1x-32x with idle stretches skipped, a track per
// participant with markers, the run results of that moment, and a summary
// of flags.
import { EditorState } from '@codemirror/state';
import { EditorView, lineNumbers } from '@codemirror/view';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { loadCrdt } from '../lib/crdt';
import { claims as readClaims, takeCredential } from '../lib/token';
import { LARGE_PASTE, activityText } from '../room/StaffPanes';
import { clock, duration, fmtKb, fmtMs, Markdown, MessagePage } from '../ui/common';
import { Clock, fetchTimeline, HttpError, Replay, type TimelineEvent } from './timeline';
import { replayView, seekTo } from './view';

const SPEEDS = [1, 2, 4, 8, 16, 32];
const SEATS = ['interviewer', 'candidate'] as const;

export function ReplayPage(props: { room: string }) {
	// A room link's token, or the admin key the dashboard passes (#admin=).
	const cred = useMemo(() => takeCredential(props.room, 'replay'), [props.room]);
	const token = cred?.token ?? null;
	const c = token && !cred?.admin ? readClaims(token) : null;
	const [replay, setReplay] = useState<Replay | null>(null);
	const [error, setError] = useState<{ status: number; msg: string } | null>(null);
	const [loaded, setLoaded] = useState(0);

	useEffect(() => {
		if (!token) return;
		let dead = false;
		(async () => {
			const crdt = await loadCrdt();
			const events = await fetchTimeline(props.room, token, (n) => !dead && setLoaded(n));
			if (!dead) setReplay(new Replay(crdt, events));
		})().catch((e: unknown) => {
			if (!dead)
				setError({
					status: e instanceof HttpError ? e.status : 0,
					msg: e instanceof Error ? e.message : String(e),
				});
		});
		return () => {
			dead = true;
		};
	}, [props.room, token]);

	if (!token || (!c && !cred?.admin))
		return (
			<MessagePage title="This replay link is not valid" testId="invalid-link">
				<p>
					A replay link needs an interviewer's or observer's token after <code>#token=</code>.
				</p>
			</MessagePage>
		);
	if (error)
		return (
			<MessagePage
				title={
					error.status === 403
						? 'Replays are for interviewers'
						: error.status === 0
							? 'Cannot reach the Tandem server'
							: 'The replay could not load'
				}
				testId={error.status === 0 ? 'unreachable' : 'replay-error'}
			>
				<p>{error.status === 403 ? 'This link does not give access to the session’s timeline.' : error.msg}</p>
			</MessagePage>
		);
	if (!replay) return <div class="loading">Loading the timeline… {loaded ? `${loaded} events` : ''}</div>;
	return <Player replay={replay} room={props.room} />;
}

function Player(props: { replay: Replay; room: string }) {
	const { replay } = props;
	const [skipIdle, setSkipIdle] = useState(true);
	const times = useMemo(() => replay.events.map((e) => e.at), [replay]);
	const clk = useMemo(() => new Clock(times, skipIdle), [times, skipIdle]);
	const [real, setReal] = useState(replay.end);
	const [playing, setPlaying] = useState(false);
	const [speed, setSpeed] = useState(8);
	const host = useRef<HTMLDivElement>(null);
	const view = useRef<EditorView | null>(null);
	const realRef = useRef(real);
	realRef.current = real;

	// A layout effect, so the view exists when the seek's below first runs.
	useLayoutEffect(() => {
		view.current = new EditorView({
			parent: host.current!,
			state: EditorState.create({
				doc: '',
				extensions: [
					lineNumbers(),
					EditorState.readOnly.of(true),
					EditorView.editable.of(false),
					replayView(replay),
					EditorView.contentAttributes.of({ 'aria-label': 'Code at this moment' }),
				],
			}),
		});
		// A handle for the end-to-end tests and the benchmark.
		(window as unknown as { tandemReplay?: unknown }).tandemReplay = {
			view: view.current,
			replay,
			now: () => realRef.current,
			seek: (t: number) => setReal(t),
		};
		return () => view.current?.destroy();
	}, [replay]);

	// The text of the moment: the view is moved by the changes since the
	// moment it showed, in the same task as the render (a layout effect), so
	// the next frame shows it.
	const k = replay.editAt(real);
	useLayoutEffect(() => {
		const v = view.current;
		if (v) v.dispatch(seekTo(replay, v.state, k, v.viewport));
	}, [replay, k]);

	// Playback: the slider's clock advances speed times real time.
	useEffect(() => {
		if (!playing) return;
		let last = performance.now();
		let raf = 0;
		const tick = (now: number): void => {
			const dt = (now - last) * speed;
			last = now;
			setReal((r) => {
				const next = clk.toReal(clk.toVirt(r) + dt);
				if (next >= replay.end) {
					setPlaying(false);
					return replay.end;
				}
				return next;
			});
			raf = requestAnimationFrame(tick);
		};
		raf = requestAnimationFrame(tick);
		return () => cancelAnimationFrame(raf);
	}, [playing, speed, clk]);

	const virt = clk.toVirt(real);
	const pct = (t: number): string => `${clk.length ? (clk.toVirt(t) / clk.length) * 100 : 0}%`;
	const run = replay.runAt(real);
	const notes = useMemo(() => replay.events.filter((e) => e.kind === 'note'), [replay]).filter((e) => e.at <= real);
	const flags = useMemo(() => summary(replay.events), [replay]);
	// The tracks depend on the clock only: not redrawn on every scrub.
	const tracks = useMemo(
		() =>
			SEATS.map((seat) => (
				<div class="track" key={seat}>
					<span class={`track-name seat-${seat}`}>{seat}</span>
					<div class="track-line">
						{markersOf(replay.events, seat, clk).map((e) => (
							<button
								type="button"
								key={e.seq}
								class={`marker m-${e.kind.replace('.', '-')} ${e.kind === 'paste' && Number(e.payload.size) >= LARGE_PASTE ? 'flag' : ''}`}
								style={{ left: pct(e.at) }}
								title={`${clock(e.at)} ${markerText(e)}`}
								aria-label={`${markerText(e)} at ${clock(e.at)}`}
								tabIndex={e.kind === 'edit' ? -1 : 0}
								onClick={() => (setPlaying(false), setReal(e.at))}
							/>
						))}
					</div>
				</div>
			)),
		[replay, clk],
	);

	return (
		<div class="replay" data-page="replay">
			<header class="topbar">
				<span class="brand">Tandem</span>
				<span class="room-title">Replay</span>
				<span class="muted small">
					{new Date(replay.start).toLocaleString()} · {duration(replay.end - replay.start)} ·{' '}
					{replay.events.length} events
				</span>
			</header>
			<div class="replay-controls">
				<button
					type="button"
					onClick={() => (real >= replay.end && setReal(replay.start), setPlaying(!playing))}
					aria-pressed={playing}
				>
					{playing ? 'Pause' : 'Play'}
				</button>
				<label>
					Speed{' '}
					<select value={speed} onChange={(e) => setSpeed(Number((e.target as HTMLSelectElement).value))}>
						{SPEEDS.map((s) => (
							<option value={s} key={s}>
								{s}x
							</option>
						))}
					</select>
				</label>
				<label>
					<input
						type="checkbox"
						checked={skipIdle}
						onChange={(e) => setSkipIdle((e.target as HTMLInputElement).checked)}
					/>{' '}
					Skip idle
				</label>
				<span class="time" aria-live="off">
					{duration(real - replay.start)} / {duration(replay.end - replay.start)} · {clock(real)}
				</span>
			</div>
			<div class="timeline-box">
				<input
					type="range"
					class="slider"
					aria-label="Timeline"
					aria-valuetext={`${duration(real - replay.start)} into the session`}
					min={0}
					max={Math.max(1, Math.round(clk.length))}
					step={1}
					value={Math.round(virt)}
					onInput={(e) => {
						setPlaying(false);
						setReal(clk.toReal(Number((e.target as HTMLInputElement).value)));
					}}
				/>
				{tracks}
			</div>
			<div class="replay-main">
				<div class="editor-host" ref={host} />
				<aside class="replay-side">
					<section class="pane" aria-label="Flags">
						<h2>Flags</h2>
						<ul class="flags">
							<li>
								{flags.pastes} pastes ({flags.largePastes} large)
							</li>
							<li>{flags.blurs === 1 ? 'left the tab once' : `left the tab ${flags.blurs} times`}</li>
							<li>
								{flags.runs} runs, {flags.submits} submissions
							</li>
						</ul>
						<p class="legend small">
							<span class="author author-interviewer">interviewer</span>{' '}
							<span class="author author-candidate">candidate</span>{' '}
							<span class="author author-server">starter</span>
						</p>
					</section>
					<section class="pane" aria-label="Output">
						<h2>Result at this moment</h2>
						{run ? (
							<div>
								<p>
									{run.mode === 'submit' ? 'Submission' : run.mode === 'tests' ? 'Tests' : 'Run'} #
									{run.run} by {run.by} at {clock(run.at)}{' '}
									{run.result ? (
										<span class={`verdict v-${run.result.verdict}`}>
											{run.result.verdict ?? run.result.code}
										</span>
									) : (
										<span class="muted">running</span>
									)}
									{run.result?.passed !== undefined && ` ${run.result.passed}/${run.result.total}`}
								</p>
								{run.result?.stdout && <pre class="stream">{run.result.stdout}</pre>}
								{run.result?.stderr && <pre class="stream stderr">{run.result.stderr}</pre>}
								{run.tests.length > 0 && (
									<ul class="flags">
										{run.tests.map((t) => (
											<li key={t.index}>
												{t.name}: <span class={`verdict v-${t.verdict}`}>{t.verdict}</span>{' '}
												{fmtMs(t.cpu_ms)} {fmtKb(t.mem_kb)}
											</li>
										))}
									</ul>
								)}
							</div>
						) : (
							<p class="muted">No run yet at this moment.</p>
						)}
					</section>
					<section class="pane" aria-label="Notes">
						<h2>Notes</h2>
						{notes.length === 0 && <p class="muted small">No notes yet at this moment.</p>}
						{notes.map((n) => (
							<div key={n.seq}>
								<span class="muted small">
									{clock(n.at)} · {String(n.payload.name ?? n.actor)}
								</span>
								<Markdown src={String(n.payload.text ?? '')} />
							</div>
						))}
					</section>
				</aside>
			</div>
		</div>
	);
}

/**
 * The events of a seat's track: edits thinned to one per 0.5 % of the
 * timeline (a long session has tens of thousands), everything else as is.
 */
function markersOf(events: TimelineEvent[], seat: string, clk: Clock): TimelineEvent[] {
	const out: TimelineEvent[] = [];
	let lastBucket = -1;
	for (const e of events) {
		if (e.actor !== seat || e.kind === 'presence' || e.kind === 'join' || e.kind === 'leave') continue;
		if (e.kind === 'edit') {
			const bucket = Math.round((clk.toVirt(e.at) / (clk.length || 1)) * 200);
			if (bucket === lastBucket) continue;
			lastBucket = bucket;
		}
		out.push(e);
	}
	return out;
}

function markerText(e: TimelineEvent): string {
	const who = String(e.payload.name ?? e.actor ?? '');
	switch (e.kind) {
		case 'paste':
		case 'blur':
		case 'focus':
			return activityText({ kind: e.kind, size: Number(e.payload.size), from: who });
		case 'run':
			return `${who} ran the code (${String(e.payload.mode ?? 'script')})`;
		case 'submission':
			return `${who} submitted`;
		case 'note':
			return `note by ${who}`;
		case 'edit':
			return `edit by ${who}`;
		default:
			return e.kind;
	}
}

function summary(events: TimelineEvent[]) {
	let pastes = 0;
	let largePastes = 0;
	let blurs = 0;
	let runs = 0;
	let submits = 0;
	for (const e of events) {
		if (e.kind === 'paste') {
			pastes++;
			if (Number(e.payload.size) >= LARGE_PASTE) largePastes++;
		} else if (e.kind === 'blur') blurs++;
		else if (e.kind === 'run') {
			runs++;
			if (e.payload.mode === 'submit') submits++;
		}
	}
	return { pastes, largePastes, blurs, runs, submits };
}
