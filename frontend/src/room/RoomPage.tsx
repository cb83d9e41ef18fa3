// RoomPage.tsx - the interview room: editor, problem, output, participants,
// and for the interviewer and observers notes and the activity feed.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useValue } from '../lib/observable';
import type { Member, Seat } from '../lib/protocol';
import { claims as readClaims, takeToken } from '../lib/token';
import { Countdown, MessagePage, PaneBoundary } from '../ui/common';
import { createEditor, type RoomEditor } from './editor';
import { OutputPane, SubmissionsPane } from './OutputPane';
import { ProblemPane } from './ProblemPane';
import { ActivityPane, NotesPane } from './StaffPanes';
import { SaveDisplay, saveKind, saveText } from './saving';
import { type RoomState, type SaveState, Session } from './session';
import { roomTitle } from './texts';

export function RoomPage(props: { room: string }) {
	const token = useMemo(() => takeToken(props.room, 'room'), [props.room]);
	const c = token ? readClaims(token) : null;
	if (!token || !c)
		return (
			<MessagePage title="This link is not valid" testId="invalid-link">
				<p>
					The room link is incomplete: it needs the part after <code>#token=</code>. Ask your interviewer for
					the link again.
				</p>
			</MessagePage>
		);
	if (c.room !== props.room)
		return (
			<MessagePage title="This link is not valid" testId="invalid-link">
				<p>The token in this link belongs to another room.</p>
			</MessagePage>
		);
	if (c.exp && c.exp * 1000 < Date.now())
		return (
			<MessagePage title="This link has expired" testId="expired">
				<p>
					The link stopped working on {new Date(c.exp * 1000).toLocaleString()}. Ask your interviewer for a
					new one.
				</p>
			</MessagePage>
		);
	return <Room room={props.room} token={token} claims={c} />;
}

function Room(props: { room: string; token: string; claims: NonNullable<ReturnType<typeof readClaims>> }) {
	const session = useMemo(() => new Session(props.room, props.token, props.claims), [props.room, props.token]);
	const s = useValue(session.state);
	const [startError, setStartError] = useState<string | null>(null);
	const editorHost = useRef<HTMLDivElement>(null);
	const editor = useRef<RoomEditor | null>(null);

	const run = (): void => void session.run('script');
	const runTests = (): void => void session.run('tests');
	const submit = (): void => void session.run('submit');

	useEffect(() => {
		let dead = false;
		session
			.start()
			.then(() => {
				if (dead || !editorHost.current) return;
				editor.current = createEditor(editorHost.current, session, { run, submit });
			})
			.catch((e: unknown) => setStartError(String(e instanceof Error ? e.message : e)));
		const onUnload = (e: BeforeUnloadEvent): void => {
			if (session.saving.value.unacked > 0 || !session.saving.value.keptLocally) {
				e.preventDefault();
				e.returnValue = '';
			}
		};
		window.addEventListener('beforeunload', onUnload);
		return () => {
			dead = true;
			window.removeEventListener('beforeunload', onUnload);
			editor.current?.destroy();
			session.stop();
		};
	}, [session]);

	// The seat reports focus changes of the page (the interviewer sees them).
	useEffect(() => {
		if (props.claims.role !== 'candidate') return;
		const blur = (): void => void session.send({ t: 'event', kind: 'blur' });
		const focus = (): void => void session.send({ t: 'event', kind: 'focus' });
		window.addEventListener('blur', blur);
		window.addEventListener('focus', focus);
		return () => {
			window.removeEventListener('blur', blur);
			window.removeEventListener('focus', focus);
		};
	}, [session]);

	useEffect(() => {
		const onKey = (e: KeyboardEvent): void => {
			if (e.key !== 'Enter' || !(e.ctrlKey || e.metaKey)) return;
			if ((e.target as HTMLElement | null)?.closest?.('.cm-editor')) return;
			if ((e.target as HTMLElement | null)?.closest?.('textarea')) return;
			e.preventDefault();
			if (e.shiftKey) submit();
			else run();
		};
		window.addEventListener('keydown', onKey);
		return () => window.removeEventListener('keydown', onKey);
	}, [session]);

	useEffect(() => {
		editor.current?.setEditable(!s.fatal && s.seat !== 'observer' && s.agent > 0);
	}, [s.fatal, s.seat, s.agent]);

	// The tab says which interview it is: three of them open must be told apart.
	useEffect(() => {
		document.title = roomTitle(s.problem?.title, s.name, s.seat);
	}, [s.problem?.title, s.name, s.seat]);

	// A full-page state (fatal close, start failure, unreachable) covers the
	// room but never unmounts it: the editor lives in the host div, created
	// once after start(), and must still be there when the cover goes (the
	// seat taken back with "Use it here instead", the server reached).
	const cover = coverPage(s, session, startError);
	const staff = s.seat !== 'candidate';
	const canRun = s.conn === 'connected' && s.seat !== 'observer';
	const running = !!s.run && !s.run.result;
	return (
		<>
			{cover}
			<div class={`room ${staff ? 'staff' : 'candidate'}`} data-page="room" hidden={!!cover}>
				<header class="topbar">
					<span class="brand">Tandem</span>
					<span class="room-title">{s.problem?.title ?? 'Interview'}</span>
					<ConnIndicator s={s} />
					<SaveStatus session={session} seat={s.seat} />
					<div class="actions">
						{!canRun && s.seat !== 'observer' && (
							<span class="wait-note muted small" data-testid="wait-note">
								Run and Submit wait for the connection
							</span>
						)}
						<button type="button" onClick={run} disabled={!canRun || running} title="Run (Ctrl/Cmd-Enter)">
							Run
						</button>
						<button
							type="button"
							onClick={runTests}
							disabled={!canRun || running || !s.problem}
							title="Run the sample tests"
						>
							Run tests
						</button>
						<button
							type="button"
							class="primary"
							onClick={submit}
							disabled={!canRun || running || !s.problem}
							title="Submit (Ctrl/Cmd-Shift-Enter)"
						>
							Submit
						</button>
					</div>
				</header>
				{s.lastError && (
					<div class="toast" role="alert">
						{s.lastError}
						<button
							type="button"
							class="link"
							onClick={() => session.state.update({ lastError: null })}
							aria-label="Dismiss"
						>
							×
						</button>
					</div>
				)}
				<PaneBoundary name="Problem" reset={s.problem}>
					<ProblemPane s={s} session={session} />
				</PaneBoundary>
				<div class="editor-host" ref={editorHost} />
				<PaneBoundary name="Output" reset={s.run}>
					<OutputPane s={s} session={session} />
				</PaneBoundary>
				<aside class="side">
					<Participants
						members={s.members}
						observers={s.observers}
						me={s.seat}
						stale={s.conn !== 'connected'}
					/>
					<PaneBoundary name="Submissions" reset={s.submissions}>
						<SubmissionsPane subs={s.submissions} />
					</PaneBoundary>
					{staff && (
						<PaneBoundary name="Notes" reset={s.notes}>
							<NotesPane s={s} session={session} />
						</PaneBoundary>
					)}
					{staff && (
						<PaneBoundary name="Activity" reset={s.activity}>
							<ActivityPane s={s} />
						</PaneBoundary>
					)}
					{staff && (
						<p class="replay-link">
							<a
								href={`/replay/${encodeURIComponent(props.room)}#token=${props.token}`}
								target="_blank"
								rel="noopener"
							>
								Open replay
							</a>
						</p>
					)}
					{s.seat === 'interviewer' && (
						<p class="close-room">
							<button
								type="button"
								class="danger"
								onClick={() => {
									if (
										!window.confirm(
											'Close this room for everyone? The candidate can no longer edit or run code; the replay stays.',
										)
									)
										return;
									void session
										.closeRoom()
										.then((err) => err && session.state.update({ lastError: err }));
								}}
							>
								Close room
							</button>
						</p>
					)}
				</aside>
			</div>
		</>
	);
}

function coverPage(s: RoomState, session: Session, startError: string | null) {
	if (startError)
		return (
			<MessagePage title="The editor could not start" testId="start-failed">
				<p>{startError}</p>
			</MessagePage>
		);
	const fatal = fatalPage(s, session);
	if (fatal) return fatal;
	if (!s.everConnected && s.attempts >= 3 && session.doc && session.doc.length === 0 && s.agent === 0)
		return (
			<MessagePage title="Cannot reach the Tandem server" testId="unreachable">
				<p>
					The page cannot connect to the server. It keeps trying
					{s.retryAt ? (
						<>
							{' '}
							(next try in <Countdown until={s.retryAt} /> s)
						</>
					) : (
						''
					)}
					.
				</p>
				<p>Check your network connection; if it works, the server may be down.</p>
				<button type="button" onClick={() => session.retryNow()}>
					Try again now
				</button>
			</MessagePage>
		);
	return null;
}

function fatalPage(s: RoomState, session: Session) {
	if (!s.fatal) return null;
	switch (s.fatal.kind) {
		case 'closed':
			return (
				<MessagePage title="This interview has ended" testId="closed" kind="info">
					<p>
						The room was closed by the interviewer
						{s.seat === 'candidate' ? '. Thank you for taking part.' : '.'}
					</p>
					{s.seat !== 'candidate' && (
						<p>
							<a href={`/replay/${encodeURIComponent(session.room)}#token=${session.token}`}>
								Open the replay
							</a>
						</p>
					)}
				</MessagePage>
			);
		case 'expired':
			return (
				<MessagePage title="This link has expired" testId="expired">
					<p>Ask your interviewer for a new link.</p>
				</MessagePage>
			);
		case 'replaced':
			return (
				<MessagePage title="This seat is open in another tab" testId="seat-taken" kind="info">
					<p>Your seat was opened in another tab or window, which now has it. Your edits are safe.</p>
					<button type="button" onClick={() => session.reclaim()}>
						Use it here instead
					</button>
				</MessagePage>
			);
		case 'not_found':
			return (
				<MessagePage title="No such room" testId="not-found">
					<p>The link points to a room this server does not know.</p>
				</MessagePage>
			);
		case 'too_large':
			return (
				<MessagePage title="The document is too large" testId="too-large">
					<p>The server refused a message that was too large. Reload the page to try again.</p>
				</MessagePage>
			);
		default:
			return (
				<MessagePage title="This link is not valid" testId="invalid-link">
					<p>
						The server refused the link ({s.fatal.reason || 'bad token'}). It may have been revoked; ask
						your interviewer for a new one.
					</p>
				</MessagePage>
			);
	}
}

function ConnIndicator(props: { s: RoomState }) {
	const { conn, retryInMs } = props.s;
	const text =
		conn === 'connected'
			? 'Connected'
			: conn === 'connecting'
				? 'Connecting…'
				: conn === 'offline'
					? 'Offline'
					: `Reconnecting${retryInMs ? ` in ${Math.ceil(retryInMs / 1000)} s` : '…'}`;
	return (
		<span class={`conn conn-${conn}`} role="status" aria-live="polite" data-conn={conn}>
			<span class="dot" aria-hidden="true" />
			{text}
		</span>
	);
}

/**
 * Follows session.saving itself (a keystroke does not re-render the room):
 * the live state goes straight to the element's data attributes, and the
 * words re-render only when SaveDisplay (saving.ts) says they change.
 */
function SaveStatus(props: { session: Session; seat: Seat }) {
	const el = useRef<HTMLSpanElement>(null);
	const [words, setWords] = useState(() => {
		const s = props.session.saving.value;
		return { kind: saveKind(s), unacked: s.unacked };
	});
	useEffect(() => {
		const saving = props.session.saving;
		const display = new SaveDisplay(saving.value, (kind, unacked) => setWords({ kind, unacked }));
		let timer: ReturnType<typeof setTimeout> | undefined;
		const see = (s: SaveState): void => {
			el.current?.setAttribute('data-unacked', String(s.unacked));
			el.current?.setAttribute('data-kept', s.keptLocally ? '1' : '0');
			// One timer at a time (not one a keystroke): when it fires early
			// (the state changed since), see() asks for another.
			const wait = display.see(s);
			if (wait !== null && timer === undefined)
				timer = setTimeout(() => {
					timer = undefined;
					see(saving.value);
				}, wait);
		};
		see(saving.value);
		// One look a microtask, as a render would: the session makes a
		// keystroke's changes (unacknowledged, then not yet kept) one after
		// the other, and their first alone is not a state to show.
		let queued = false;
		const stop = saving.subscribe(() => {
			if (queued) return;
			queued = true;
			queueMicrotask(() => {
				queued = false;
				see(saving.value);
			});
		});
		return () => {
			stop();
			clearTimeout(timer);
		};
	}, [props.session]);
	if (props.seat === 'observer') return <span class="save">Read only</span>;
	const s = props.session.saving.value;
	return (
		<span
			ref={el}
			class="save"
			data-unacked={s.unacked}
			data-kept={s.keptLocally ? '1' : '0'}
			data-shown={words.kind}
		>
			{saveText(words.kind, words.unacked)}
		</span>
	);
}

function Participants(props: { members: Member[]; observers: number; me: string; stale: boolean }) {
	return (
		<section class={`pane participants ${props.stale ? 'stale' : ''}`} aria-label="Participants">
			<h2>Participants</h2>
			{props.stale && <p class="muted small">As last seen while connected.</p>}
			<ul>
				{props.members.map((m) => (
					<li key={m.seat} data-seat={m.seat} data-state={m.state}>
						<span class={`swatch seat-${m.seat}`} aria-hidden="true" />
						<span class="who">
							{m.name || m.seat}
							{m.seat === props.me ? ' (you)' : ''}
						</span>
						<span class="seat">{m.seat}</span>
						<span class={`state state-${m.state.toLowerCase()}`}>
							{(m.state as string) === 'NONE' ? 'NOT JOINED' : m.state}
						</span>
					</li>
				))}
			</ul>
			{props.observers > 0 && <p class="muted">{props.observers} observing</p>}
		</section>
	);
}
