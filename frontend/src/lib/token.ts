// token.ts - the room link's token: taken from the fragment, then removed
// from the address bar (it must not linger in history or be shared by a
// copied URL); kept in sessionStorage so a reload of the same tab works.

export interface Claims {
	room: string;
	role: 'interviewer' | 'candidate' | 'observer';
	name: string;
	exp: number;
	iat?: number;
}

/** The claims of a JWT, unverified (the server verifies; this only reads). */
export function claims(token: string): Claims | null {
	const part = token.split('.')[1];
	if (!part) return null;
	try {
		const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
		const json = decodeURIComponent(
			Array.from(atob(b64), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
		);
		const c = JSON.parse(json) as Partial<Claims>;
		if (typeof c.room !== 'string' || typeof c.role !== 'string') return null;
		return {
			room: c.room,
			role: c.role,
			name: typeof c.name === 'string' ? c.name : '',
			exp: typeof c.exp === 'number' ? c.exp : 0,
		};
	} catch {
		return null;
	}
}

const key = (room: string, page: string): string => `tandem.token.${page}.${room}`;

/**
 * The token for room on this page: from the fragment (#token=...), which is
 * then removed with history.replaceState, or from this tab's sessionStorage.
 */
export function takeToken(room: string, page: string): string | null {
	const frag = new URLSearchParams(location.hash.replace(/^#/, ''));
	const t = frag.get('token');
	if (t) {
		try {
			sessionStorage.setItem(key(room, page), t);
		} catch {
			/* storage refused: the token lives only in this page */
		}
		history.replaceState(history.state, '', location.pathname + location.search);
		return t;
	}
	try {
		return sessionStorage.getItem(key(room, page));
	} catch {
		return null;
	}
}
