// protocol.ts - the tandem.v1 messages the browser app sends and receives.
//
// docs/protocol.md is the specification; tests/protocol.test.ts checks that
// every message type named here is in its table of messages and the other
// way round, and that the close codes and error codes agree, so this file
// cannot drift from it silently.

export const SUBPROTOCOL = 'tandem.v1';

/** Every message type of docs/protocol.md's "Seats" table. */
export const MESSAGE_TYPES = [
	'join',
	'welcome',
	'presence',
	'awareness',
	'ack',
	'run',
	'run.started',
	'run.output',
	'run.result',
	'note',
	'event',
	'problem',
	'run.test',
	'submit',
	'complexity',
	'complexity.started',
	'complexity.result',
	'error',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Close codes of docs/protocol.md. */
export const CLOSE = {
	GOING_AWAY: 1001,
	BAD_DATA: 1007,
	POLICY: 1008,
	TOO_BIG: 1009,
	JOIN_TIMEOUT: 4001,
	ROOM_CLOSED: 4002,
	REPLACED: 4008,
	TOO_SLOW: 4009,
} as const;

export const ERROR_CODES = [
	'bad_request',
	'unknown_type',
	'forbidden',
	'rate_limited',
	'doc_too_large',
	'bad_update',
	'judge_busy',
	'judge_down',
	'run_in_progress',
	'no_problem',
	'unknown_problem',
	'no_generator',
	'not_implemented',
	'already_joined',
	'overloaded',
	'room_full',
	'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type Seat = 'interviewer' | 'candidate' | 'observer';
export type PresenceState = 'PRESENT' | 'DISCONNECTED' | 'LEFT' | 'COMPLETED';
/** {"<agent>": next} */
export type VersionJson = Record<string, number>;

export interface Member {
	seat: Seat;
	name: string;
	state: PresenceState;
	since: number;
}

export interface Welcome {
	t: 'welcome';
	id?: number;
	seat: Seat;
	agent: number;
	room: string;
	name: string;
	problem: string;
	version: VersionJson;
	presence: Member[];
	limits: { max_frame: number; max_doc: number; ops_per_s: number; runs_per_min: number };
}

export interface Presence {
	t: 'presence';
	members: Member[];
	observers: number;
}

export interface Ack {
	t: 'ack';
	version: VersionJson;
}

/** A CRDT anchor (crdt.d.ts) as JSON. */
export interface AnchorJson {
	agent: number | null;
	seq: number | null;
	assoc: -1 | 1;
}

export interface AwarenessOut {
	t: 'awareness';
	cursor: { anchor: AnchorJson; head: AnchorJson } | null;
	name: string;
	colour: string;
}

export interface AwarenessIn extends AwarenessOut {
	from: { seat: Seat; agent: number; name: string };
}

export type RunMode = 'script' | 'tests' | 'submit';

export interface RunStarted {
	t: 'run.started';
	run: number;
	by: Seat;
	mode?: RunMode;
	problem?: string;
	revision?: number;
	total?: number;
}

export interface RunOutput {
	t: 'run.output';
	run: number;
	stream: 'stdout' | 'stderr';
	data: string;
}

export interface TestError {
	type: string;
	message: string;
	traceback?: string;
}

export interface RunTest {
	t: 'run.test';
	run: number;
	index: number;
	name: string;
	hidden: boolean;
	verdict: string;
	cpu_ms: number;
	mem_kb: number;
	args?: unknown[] | { calls: string[]; args: unknown[][] };
	expected?: unknown;
	actual?: unknown;
	stdout?: string;
	stderr?: string;
	error?: TestError | null;
}

export interface RunResult {
	t: 'run.result';
	run: number;
	mode?: RunMode;
	verdict: string | null;
	code?: string;
	retry_ms?: number;
	message?: string;
	exit_code?: number;
	signal?: number;
	stdout?: string;
	stderr?: string;
	cpu_ms?: number;
	wall_ms?: number;
	mem_kb?: number;
	truncated?: boolean;
	accepted?: boolean;
	passed?: number;
	total?: number;
	max_cpu_ms?: number;
	budget_exceeded?: boolean;
	compile_error?: TestError | null;
	submission?: string | null;
}

export interface Sample {
	name: string;
	/** The arguments; a design problem's is {"calls": [...], "args": [[...]...]}. */
	args: unknown[] | { calls: string[]; args: unknown[][] };
	expected: unknown;
}

export interface Problem {
	id: string;
	revision: number;
	title: string;
	difficulty: string;
	tags: string[];
	statement: string;
	signature?: { kind: string; entry: string; params: string[]; result_arg?: number };
	starter?: string;
	limits?: { cpu_ms?: number; memory_mb?: number; output_kb?: number; submit_cpu_ms?: number };
	compare?: string;
	samples: Sample[];
	hidden: number;
	complexity: boolean;
}

/** A submission summary of GET /api/rooms/:id/submissions. */
export interface SubmissionSummary {
	id: string;
	problem: string;
	revision: number;
	seat: Seat;
	agent?: number;
	at: number;
	language?: string;
	verdict: string | null;
	accepted: boolean;
	passed: number;
	total: number;
	cpu_ms?: number;
	mem_kb?: number;
}

export interface ProblemMsg {
	t: 'problem';
	id?: number;
	by: Seat | null;
	reason: 'join' | 'change';
	problem: Problem | null;
}

export interface ComplexityStarted {
	t: 'complexity.started';
	run: number;
	by: Seat;
}

export interface ComplexityResult {
	t: 'complexity.result';
	run: number;
	class: string | null;
	confidence?: number;
	alternative?: string | null;
	points: Array<{ n: number; cpu_ms: number; mem_kb?: number }>;
	mem_growth_kb?: number;
	wall_ms?: number;
	verdict?: string;
	message?: string;
}

export interface NoteIn {
	t: 'note';
	text: string;
	from: { seat: Seat; name: string; agent?: number } | string;
	at: number;
}

export interface EventIn {
	t: 'event';
	kind: 'paste' | 'focus' | 'blur';
	size?: number;
	from: { seat: Seat; name: string; agent?: number } | string;
	at: number;
}

export interface ErrorMsg {
	t: 'error';
	code: ErrorCode | string;
	message?: string;
	id?: number;
	retry_ms?: number;
}

export type ServerMessage =
	| Welcome
	| Presence
	| Ack
	| AwarenessIn
	| RunStarted
	| RunOutput
	| RunTest
	| RunResult
	| ProblemMsg
	| ComplexityStarted
	| ComplexityResult
	| NoteIn
	| EventIn
	| ErrorMsg;

/** Merges acks: the per-agent maximum. */
export function versionMax(a: VersionJson, b: VersionJson): VersionJson {
	const out: VersionJson = { ...a };
	for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? 0, v);
	return out;
}
