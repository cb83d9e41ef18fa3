// Dashboard.tsx - the interviewer's dashboard: rooms (list, create with a
// problem, copy the three links, close, open the replay) and the problem
// bank (list, preview, upload).  Everything goes through the admin REST API
// with the admin key, which stays in this browser only when asked
// ("Remember"); the seats' links of rooms created here are kept with it
// likewise (they cannot be asked for again).  The admin key closes and
// replays every room, wherever it was created.
import { useEffect, useState } from 'preact/hooks';
import { Markdown } from '../ui/common';
import { api, ApiError, type CreatedRoom, type ProblemAdmin, type ProblemSummary, type RoomRow } from './api';

const KEY = 'tandem.admin';

interface Saved {
	key: string;
	remember: boolean;
	rooms: Record<string, CreatedRoom>;
}

function loadSaved(): Saved {
	try {
		const s = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Saved | null;
		if (s?.key) return s;
	} catch {
		/* nothing kept */
	}
	return { key: '', remember: false, rooms: {} };
}

function store(s: Saved): void {
	try {
		if (s.remember) localStorage.setItem(KEY, JSON.stringify(s));
		else localStorage.removeItem(KEY);
	} catch {
		/* storage refused: the key lives in this page only */
	}
}

export function Dashboard(props: { tab: 'rooms' | 'problems' }) {
	const [saved, setSaved] = useState<Saved>(loadSaved);
	const [tab, setTab] = useState(props.tab);
	const update = (s: Saved): void => {
		setSaved(s);
		store(s);
	};
	if (!saved.key) return <KeyForm onKey={(key, remember) => update({ ...saved, key, remember })} />;
	const go = (t: 'rooms' | 'problems'): void => {
		setTab(t);
		history.replaceState(null, '', t === 'rooms' ? '/dashboard' : '/problems');
	};
	return (
		<div class="dashboard" data-page="dashboard">
			<header class="topbar">
				<span class="brand">Tandem</span>
				<nav class="tabs" aria-label="Dashboard">
					<button
						type="button"
						aria-current={tab === 'rooms' ? 'page' : undefined}
						onClick={() => go('rooms')}
					>
						Rooms
					</button>
					<button
						type="button"
						aria-current={tab === 'problems' ? 'page' : undefined}
						onClick={() => go('problems')}
					>
						Problems
					</button>
				</nav>
				<div class="actions">
					<span class="muted small">
						{saved.remember ? 'Admin key remembered in this browser' : 'Admin key kept for this page only'}
					</span>
					<button type="button" onClick={() => update({ key: '', remember: false, rooms: {} })}>
						Sign out
					</button>
				</div>
			</header>
			<main class="dash-main">
				{tab === 'rooms' ? <Rooms saved={saved} update={update} /> : <Problems adminKey={saved.key} />}
			</main>
		</div>
	);
}

function KeyForm(props: { onKey: (key: string, remember: boolean) => void }) {
	const [key, setKey] = useState('');
	const [remember, setRemember] = useState(false);
	const [err, setErr] = useState('');
	return (
		<main class="message-page" data-page="dashboard-login">
			<form
				class="message-card"
				onSubmit={(e) => {
					e.preventDefault();
					api<{ rooms: unknown[] }>(key, 'GET', '/api/rooms?limit=1')
						.then(() => props.onKey(key, remember))
						.catch((x: unknown) => setErr(x instanceof Error ? x.message : String(x)));
				}}
			>
				<div class="brand">Tandem</div>
				<h1>Interviewer dashboard</h1>
				<p>
					<label>
						Admin key
						<br />
						<input
							type="password"
							autocomplete="off"
							value={key}
							onInput={(e) => setKey((e.target as HTMLInputElement).value)}
							required
						/>
					</label>
				</p>
				<p>
					<label>
						<input
							type="checkbox"
							checked={remember}
							onChange={(e) => setRemember((e.target as HTMLInputElement).checked)}
						/>{' '}
						Remember in this browser
					</label>
				</p>
				{err && (
					<p class="stderr" role="alert">
						{err}
					</p>
				)}
				<button type="submit" class="primary">
					Open dashboard
				</button>
			</form>
		</main>
	);
}

function Copy(props: { text: string; label: string }) {
	const [done, setDone] = useState(false);
	return (
		<button
			type="button"
			class="small"
			onClick={() =>
				void navigator.clipboard
					?.writeText(props.text)
					.then(() => setDone(true))
					.catch(() => setDone(false))
			}
		>
			{done ? 'Copied' : props.label}
		</button>
	);
}

function Rooms(props: { saved: Saved; update: (s: Saved) => void }) {
	const { saved } = props;
	const [rooms, setRooms] = useState<RoomRow[]>([]);
	const [next, setNext] = useState<string | null>(null);
	const [err, setErr] = useState('');
	const [created, setCreated] = useState<CreatedRoom | null>(null);
	const load = (after: string | null): void => {
		api<{ rooms: RoomRow[]; next: string | null }>(
			saved.key,
			'GET',
			`/api/rooms?limit=20${after ? `&after=${encodeURIComponent(after)}` : ''}`,
		)
			.then((r) => {
				setRooms((old) => (after ? [...old, ...r.rooms] : r.rooms));
				setNext(r.next);
			})
			.catch((e: unknown) => setErr(String(e instanceof Error ? e.message : e)));
	};
	useEffect(() => load(null), [saved.key]);

	const close = (id: string): void => {
		if (!confirm('Close this room? Its links stop working; the replay stays.')) return;
		setErr('');
		api<{ closed: boolean }>(saved.key, 'POST', `/api/rooms/${encodeURIComponent(id)}/close`)
			.then(() => load(null))
			.catch((e: unknown) => setErr(`Closing failed: ${e instanceof Error ? e.message : String(e)}`));
	};
	// The replay page takes the admin key from the fragment, which never
	// reaches the server; a room made here opens with its interviewer token.
	const replayHref = (id: string): string =>
		`/replay/${encodeURIComponent(id)}#${
			saved.rooms[id] ? `token=${saved.rooms[id].tokens.interviewer}` : `admin=${encodeURIComponent(saved.key)}`
		}`;

	return (
		<>
			<CreateRoom
				adminKey={saved.key}
				onCreated={(r) => {
					setCreated(r);
					props.update({ ...saved, rooms: { ...saved.rooms, [r.id]: r } });
					load(null);
				}}
			/>
			{created && (
				<section class="pane created" aria-label="New room">
					<h2>Room created</h2>
					<table class="links">
						<tbody>
							{(['candidate', 'interviewer', 'observer'] as const).map((seat) => (
								<tr key={seat}>
									<th scope="row">{seat}</th>
									<td>
										<input readOnly value={created.links[seat]} aria-label={`${seat} link`} />
									</td>
									<td>
										<Copy text={created.links[seat]} label="Copy link" />
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</section>
			)}
			<section class="pane" aria-label="Rooms">
				<h2>Rooms</h2>
				{err && (
					<p class="stderr" role="alert">
						{err}
					</p>
				)}
				<table class="rooms">
					<thead>
						<tr>
							<th scope="col">Created</th>
							<th scope="col">Problem</th>
							<th scope="col">State</th>
							<th scope="col">People</th>
							<th scope="col">Actions</th>
						</tr>
					</thead>
					<tbody>
						{rooms.map((r) => {
							const mine = saved.rooms[r.id];
							return (
								<tr key={r.id} data-room={r.id}>
									<td>{new Date(r.created).toLocaleString()}</td>
									<td>{r.problem || <span class="muted">none</span>}</td>
									<td>{r.state}</td>
									<td>
										{(r.presence ?? [])
											.filter((m) => m.state !== 'NONE')
											.map((m) => (
												<span key={m.seat} class={`person state-${m.state.toLowerCase()}`}>
													{m.name || m.seat} ({m.state.toLowerCase()}){' '}
												</span>
											))}
									</td>
									<td>
										<div class="row-actions">
											{mine && r.state === 'open' && (
												<>
													<Copy text={mine.links.candidate} label="Candidate link" />
													<Copy text={mine.links.interviewer} label="Interviewer link" />
												</>
											)}
											<a href={replayHref(r.id)} target="_blank" rel="noopener">
												Replay
											</a>
											{r.state === 'open' && (
												<button type="button" class="small" onClick={() => close(r.id)}>
													Close
												</button>
											)}
											{!mine && r.state === 'open' && (
												<span
													class="muted small"
													title="Its links were not kept in this browser: they are shown once, when the room is created"
												>
													links not kept here
												</span>
											)}
										</div>
									</td>
								</tr>
							);
						})}
					</tbody>
				</table>
				{rooms.length === 0 && !err && <p class="muted">No rooms yet.</p>}
				{next && (
					<button type="button" onClick={() => load(next)}>
						Load more
					</button>
				)}
			</section>
		</>
	);
}

function CreateRoom(props: { adminKey: string; onCreated: (r: CreatedRoom) => void }) {
	// undefined while loading, null when the server has no problem bank.
	const [problems, setProblems] = useState<ProblemSummary[] | null | undefined>(undefined);
	const [problem, setProblem] = useState('');
	const [candidate, setCandidate] = useState('');
	const [interviewer, setInterviewer] = useState('');
	const [hours, setHours] = useState('');
	const [err, setErr] = useState('');
	useEffect(() => {
		api<{ problems: ProblemSummary[] }>(props.adminKey, 'GET', '/api/problems')
			.then((r) => setProblems(r.problems))
			.catch(() => setProblems(null));
	}, [props.adminKey]);
	return (
		<section class="pane" aria-label="Create a room">
			<h2>New interview</h2>
			<form
				class="create-room"
				onSubmit={(e) => {
					e.preventDefault();
					setErr('');
					const names: Record<string, string> = {};
					if (candidate) names.candidate = candidate;
					if (interviewer) names.interviewer = interviewer;
					const body: Record<string, unknown> = { names };
					if (problem) body.problem = problem;
					if (hours) body.ttl_s = Math.round(Number(hours) * 3600);
					api<CreatedRoom>(props.adminKey, 'POST', '/api/rooms', body)
						.then(props.onCreated)
						.catch((x: unknown) => setErr(x instanceof Error ? x.message : String(x)));
				}}
			>
				<label>
					Problem
					{problems === undefined ? (
						<select disabled>
							<option>Loading problems…</option>
						</select>
					) : problems ? (
						<select value={problem} onChange={(e) => setProblem((e.target as HTMLSelectElement).value)}>
							<option value="">No problem (free coding)</option>
							{problems
								.filter((p) => !p.archived)
								.map((p) => (
									<option value={p.id} key={p.id}>
										{p.title} · {p.difficulty}
										{p.tags.length ? ` · ${p.tags.join(', ')}` : ''}
									</option>
								))}
						</select>
					) : (
						<input
							value={problem}
							placeholder="problem id (optional)"
							onInput={(e) => setProblem((e.target as HTMLInputElement).value)}
						/>
					)}
				</label>
				<label>
					Candidate's name
					<input value={candidate} onInput={(e) => setCandidate((e.target as HTMLInputElement).value)} />
				</label>
				<label>
					Interviewer's name
					<input value={interviewer} onInput={(e) => setInterviewer((e.target as HTMLInputElement).value)} />
				</label>
				<label>
					Links valid for (hours)
					<input
						type="number"
						min="1"
						max="720"
						value={hours}
						placeholder="168"
						onInput={(e) => setHours((e.target as HTMLInputElement).value)}
					/>
				</label>
				<button type="submit" class="primary">
					Create room
				</button>
			</form>
			{err && (
				<p class="stderr" role="alert">
					{err}
				</p>
			)}
		</section>
	);
}

/**
 * The id a Py-Katas file will be stored under: its top-level `id:` made
 * [a-z0-9-] as the server's kata loader does ('_' becomes '-', lower case).
 * The server checks it against the path, and says so when they differ.
 */
export function kataId(text: string): string | null {
	const m = /^id:[ \t]*(["']?)([A-Za-z0-9_-]{1,64})\1[ \t]*(#.*)?$/m.exec(text);
	return m ? m[2]!.replace(/_/g, '-').toLowerCase() : null;
}

function Problems(props: { adminKey: string }) {
	const [list, setList] = useState<ProblemSummary[]>([]);
	const [err, setErr] = useState('');
	const [open, setOpen] = useState<ProblemAdmin | null>(null);
	const [upload, setUpload] = useState<{ msg: string; errors: string[] } | null>(null);
	const load = (): void => {
		api<{ problems: ProblemSummary[] }>(props.adminKey, 'GET', '/api/problems')
			.then((r) => setList(r.problems))
			.catch((e: unknown) => setErr(e instanceof Error ? e.message : String(e)));
	};
	useEffect(load, [props.adminKey]);
	const onFile = async (f: File): Promise<void> => {
		setUpload(null);
		const tar = /\.tar$/i.test(f.name);
		const json = /\.json$/i.test(f.name);
		const yaml = /\.ya?ml$/i.test(f.name);
		if (!tar && !json && !yaml) {
			setUpload({
				msg: 'Upload a problem folder as a .tar file (tar cf pair-sum.tar pair-sum/), the problem as .json, or a Py-Katas .yaml file.',
				errors: [],
			});
			return;
		}
		let id = f.name.replace(/\.(tar|json|ya?ml)$/i, '');
		let body: Blob | unknown = f;
		try {
			if (json) {
				body = JSON.parse(await f.text()) as { id?: string };
				id = (body as { id?: string }).id ?? id;
			}
		} catch (e) {
			setUpload({ msg: `${f.name} is not JSON: ${e instanceof Error ? e.message : String(e)}`, errors: [] });
			return;
		}
		if (yaml) id = kataId(await f.text()) ?? kataId(`id: ${id}`) ?? id;
		try {
			const r = await api<{ id: string; revision: number; changed: boolean }>(
				props.adminKey,
				'PUT',
				`/api/problems/${encodeURIComponent(id)}`,
				body,
				tar ? 'application/x-tar' : yaml ? 'application/yaml' : undefined,
			);
			setUpload({ msg: `${r.id}: revision ${r.revision}${r.changed ? '' : ' (unchanged)'}`, errors: [] });
			load();
		} catch (e) {
			const errors = e instanceof ApiError ? e.details : [];
			setUpload({
				msg: errors.length
					? `${f.name} was not stored: fix these and upload it again.`
					: e instanceof Error
						? e.message
						: String(e),
				errors,
			});
		}
	};
	return (
		<div class="problems-page">
			<section class="pane" aria-label="Problems">
				<h2>Problem bank</h2>
				{err && (
					<p class="stderr" role="alert">
						{err}
					</p>
				)}
				<ul class="problem-list">
					{list.map((p) => (
						<li key={p.id}>
							<button
								type="button"
								class="link"
								onClick={() =>
									void api<ProblemAdmin>(
										props.adminKey,
										'GET',
										`/api/problems/${encodeURIComponent(p.id)}`,
									)
										.then(setOpen)
										.catch((e: unknown) => setErr(String(e)))
								}
							>
								{p.title}
							</button>{' '}
							<span class={`difficulty d-${p.difficulty}`}>{p.difficulty}</span>{' '}
							<span class="muted small">
								{p.tags.join(', ')} · {p.samples} samples, {p.hidden} hidden
							</span>
						</li>
					))}
				</ul>
				<h3>Upload</h3>
				<label>
					A problem folder as .tar, .json, or a Py-Katas .yaml{' '}
					<input
						type="file"
						accept=".tar,.json,.yaml,.yml"
						onChange={(e) =>
							void (
								(e.target as HTMLInputElement).files?.[0] &&
								onFile((e.target as HTMLInputElement).files![0]!)
							)
						}
					/>
				</label>
				{upload && (
					<div role="status">
						<p>{upload.msg}</p>
						{upload.errors.length > 0 && (
							<ul class="stderr">
								{upload.errors.map((x) => (
									<li key={x}>{x}</li>
								))}
							</ul>
						)}
					</div>
				)}
			</section>
			{open && (
				<section class="pane preview" aria-label="Preview">
					<h2>{open.title}</h2>
					<p class="meta">
						<span class={`difficulty d-${open.difficulty}`}>{open.difficulty}</span>
						{open.tags.map((t) => (
							<span class="tag" key={t}>
								{t}
							</span>
						))}
					</p>
					<Markdown src={open.statement} />
					{open.starter && <pre>{open.starter}</pre>}
					<h3>Hidden tests (admin only)</h3>
					<ul class="small">
						{(open.hidden_tests ?? []).map((t) => (
							<li key={t.name}>
								{t.name}: <code>{JSON.stringify(t.args)}</code> →{' '}
								<code>{JSON.stringify(t.expected)}</code>
							</li>
						))}
					</ul>
				</section>
			)}
		</div>
	);
}
