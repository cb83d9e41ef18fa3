// StaffPanes.tsx - what only the interviewer and observers see: private
// notes (Markdown; the server never sends them to a candidate) and the
// activity feed of pastes and focus changes.
import { useState } from 'preact/hooks';
import type { EventIn, NoteIn } from '../lib/protocol';
import { clock, Markdown } from '../ui/common';
import type { RoomState, Session } from './session';

/** A paste this large (characters) is flagged. */
export const LARGE_PASTE = 200;

function who(f: NoteIn['from']): string {
	return typeof f === 'string' ? f : f.name || f.seat;
}

export function NotesPane(props: { s: RoomState; session: Session }) {
	const [text, setText] = useState('');
	const send = (): void => {
		if (!text.trim()) return;
		if (props.session.send({ t: 'note', text })) setText('');
	};
	return (
		<section class="pane notes" aria-label="Notes">
			<h2>Notes</h2>
			<p class="muted small">Private: the candidate never sees these.</p>
			<ul class="note-list">
				{props.s.notes.map((n, i) => (
					<li key={i}>
						<span class="muted small">
							{clock(n.at)} · {who(n.from)}
						</span>
						<Markdown src={n.text} />
					</li>
				))}
			</ul>
			<form
				onSubmit={(e) => {
					e.preventDefault();
					send();
				}}
			>
				<label class="sr-only" for="note-text">
					New note
				</label>
				<textarea
					id="note-text"
					rows={3}
					value={text}
					placeholder="Write a note (Markdown)"
					onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
					onKeyDown={(e) => {
						if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
							e.preventDefault();
							send();
						}
					}}
				/>
				<button type="submit" disabled={props.s.conn !== 'connected' || props.s.seat === 'candidate'}>
					Add note
				</button>
			</form>
		</section>
	);
}

export function ActivityPane(props: { s: RoomState }) {
	const items = props.s.activity;
	return (
		<section class="pane activity" aria-label="Activity">
			<h2>Activity</h2>
			{items.length === 0 && <p class="muted small">Pastes and focus changes of the candidate appear here.</p>}
			<ul class="feed">
				{[...items].reverse().map((e, i) => (
					<li key={i} class={e.kind === 'paste' && (e.size ?? 0) >= LARGE_PASTE ? 'flag' : ''}>
						<span class="muted small">{clock(e.at)}</span> {activityText(e)}
					</li>
				))}
			</ul>
		</section>
	);
}

export function activityText(e: Pick<EventIn, 'kind' | 'size' | 'from'>): string {
	const name = who(e.from);
	if (e.kind === 'paste')
		return `${name} pasted ${e.size ?? '?'} characters${(e.size ?? 0) >= LARGE_PASTE ? ' (large paste)' : ''}`;
	if (e.kind === 'blur') return `${name} left the tab`;
	return `${name} came back to the tab`;
}
