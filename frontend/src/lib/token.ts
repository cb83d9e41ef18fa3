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
 * The value of `name` in the fragment (#name=...), after which the
 * fragment is removed with history.replaceState, kept in this tab's
 * sessionStorage under storeKey; or what that storage kept before.
 */
function takeFromFragment(name: string, storeKey: string): string | null {
	const frag = new URLSearchParams(location.hash.replace(/^#/, ''));
	const t = frag.get(name);
	if (t) {
		try {
			sessionStorage.setItem(storeKey, t);
		} catch {
			/* storage refused: the value lives only in this page */
		}
		history.replaceState(history.state, '', location.pathname + location.search);
		return t;
	}
	try {
		return sessionStorage.getItem(storeKey);
	} catch {
		return null;
	}
}

/**
 * The token for room on this page: from the fragment (#token=...), which is
 * then removed with history.replaceState, or from this tab's sessionStorage.
 */
export function takeToken(room: string, page: string): string | null {
	return takeFromFragment('token', key(room, page));
}

/** The admin key the dashboard remembered in this browser ("Remember"), if any. */
export function rememberedAdminKey(): string | null {
	try {
		const s = JSON.parse(localStorage.getItem('tandem.admin') ?? 'null') as { key?: string } | null;
		return s?.key || null;
	} catch {
		return null;
	}
}

/** A staff page's credential: a room token, or the admin key (which acts as the interviewer's). */
export interface Credential {
	token: string;
	admin: boolean;
}

/**
 * What opens a replay (or any staff page) of room: the fragment's token
 * (#token=, a room link) or admin key (#admin=, how the dashboard passes
 * the key it holds: a fragment never reaches the server or its logs), both
 * removed from the address bar and kept in this tab; else what this tab kept;
 * else the key the dashboard remembered in this browser.
 */
export function takeCredential(room: string, page: string): Credential | null {
	const adminKey = `tandem.admin.${page}.${room}`;
	if (new URLSearchParams(location.hash.replace(/^#/, '')).get('admin')) {
		const k = takeFromFragment('admin', adminKey);
		if (k) return { token: k, admin: true };
	}
	const t = takeToken(room, page);
	if (t) return { token: t, admin: false };
	const k = takeFromFragment('admin', adminKey) ?? rememberedAdminKey();
	return k ? { token: k, admin: true } : null;
}
