// main.tsx - the single page's router: one bundle serves the room, the
// replay and the dashboard, chosen by the path (/room/ID, /replay/ID,
// /dashboard, /problems) or by the query of the links the server makes
// (/?room=ID#token=...).
import { render } from 'preact';
import { lazy, Suspense } from 'preact/compat';
import './styles.css';
import { RoomPage } from './room/RoomPage';
import { MessagePage } from './ui/common';

const ReplayPage = lazy(() => import('./replay/ReplayPage').then((m) => ({ default: m.ReplayPage })));
const Dashboard = lazy(() => import('./dashboard/Dashboard').then((m) => ({ default: m.Dashboard })));

export type Route =
	| { page: 'room'; id: string }
	| { page: 'replay'; id: string }
	| { page: 'dashboard' }
	| { page: 'problems' }
	| { page: 'home' }
	| { page: 'notfound' };

export function route(pathname: string, search: string): Route {
	const q = new URLSearchParams(search);
	const m = /^\/(room|replay)\/([^/]+)\/?$/.exec(pathname);
	if (m) return { page: m[1] as 'room' | 'replay', id: decodeURIComponent(m[2]!) };
	if (pathname === '/dashboard' || pathname === '/dashboard/') return { page: 'dashboard' };
	if (pathname === '/problems' || pathname === '/problems/') return { page: 'problems' };
	if (pathname === '/' || pathname === '/index.html') {
		if (q.get('room')) return { page: 'room', id: q.get('room')! };
		if (q.get('replay')) return { page: 'replay', id: q.get('replay')! };
		return { page: 'home' };
	}
	return { page: 'notfound' };
}

/** The tab's title before a page knows more (the room names its problem and seat). */
const TITLES: Record<Route['page'], string> = {
	room: 'Interview · Tandem',
	replay: 'Replay · Tandem',
	dashboard: 'Rooms · Tandem',
	problems: 'Problems · Tandem',
	home: 'Tandem',
	notfound: 'Not found · Tandem',
};

function App() {
	const r = route(location.pathname, location.search);
	document.title = TITLES[r.page];
	const loading = <div class="loading">Loading…</div>;
	switch (r.page) {
		case 'room':
			return <RoomPage room={r.id} />;
		case 'replay':
			return (
				<Suspense fallback={loading}>
					<ReplayPage room={r.id} />
				</Suspense>
			);
		case 'dashboard':
		case 'problems':
			return (
				<Suspense fallback={loading}>
					<Dashboard tab={r.page === 'problems' ? 'problems' : 'rooms'} />
				</Suspense>
			);
		case 'home':
			return (
				<MessagePage title="Tandem" kind="info" testId="home">
					<p>
						Pair-programming rooms for technical interviews. Open the link you were sent, or go to the{' '}
						<a href="/dashboard">dashboard</a> to create a room.
					</p>
				</MessagePage>
			);
		default:
			return (
				<MessagePage title="Page not found" testId="notfound">
					<p>
						Nothing lives at <code>{location.pathname}</code>. <a href="/dashboard">Dashboard</a>
					</p>
				</MessagePage>
			);
	}
}

render(<App />, document.getElementById('app')!);
