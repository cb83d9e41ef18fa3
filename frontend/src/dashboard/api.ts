// api.ts - the admin REST calls of the dashboard (docs/protocol.md).
import type { Member, Problem } from '../lib/protocol';

export interface RoomRow {
	id: string;
	problem: string;
	state: 'open' | 'closed';
	created: number;
	closed: number | null;
	presence: Array<Omit<Member, 'state'> & { state: Member['state'] | 'NONE' }> | null;
}

export interface CreatedRoom {
	id: string;
	problem: string;
	links: Record<'interviewer' | 'candidate' | 'observer', string>;
	tokens: Record<'interviewer' | 'candidate' | 'observer', string>;
}

export interface ProblemSummary {
	id: string;
	title: string;
	difficulty: string;
	tags: string[];
	samples: number;
	hidden: number;
	archived: boolean;
}

export type ProblemAdmin = Problem & { hidden_tests?: Array<{ name: string; args: unknown[]; expected: unknown }> };

export class ApiError extends Error {
	constructor(
		readonly status: number,
		message: string,
		readonly details: string[] = [],
	) {
		super(message);
	}
}

export async function api<T>(
	key: string,
	method: string,
	path: string,
	body?: unknown,
	contentType?: string,
): Promise<T> {
	const headers: Record<string, string> = { authorization: `Bearer ${key}` };
	let payload: BodyInit | undefined;
	if (body instanceof Blob || body instanceof ArrayBuffer) {
		payload = body;
		headers['content-type'] = contentType ?? 'application/octet-stream';
	} else if (body !== undefined) {
		payload = JSON.stringify(body);
		headers['content-type'] = 'application/json';
	}
	let res: Response;
	try {
		res = await fetch(path, { method, headers, body: payload });
	} catch {
		throw new ApiError(0, 'Cannot reach the Tandem server.');
	}
	const j = (await res.json().catch(() => ({}))) as T & { error?: string; errors?: string[] };
	if (!res.ok)
		throw new ApiError(
			res.status,
			res.status === 401
				? 'The admin key was refused.'
				: res.status === 404 && !j.error
					? 'This server does not offer that yet.'
					: (j.error ?? `HTTP ${res.status}`),
			j.errors ?? [],
		);
	return j;
}
