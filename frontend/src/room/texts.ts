// texts.ts - what the room says in words: its tab title and the sentences
// for the server's error codes (docs/protocol.md "Errors and closing").

export const NOT_CONNECTED =
	'Not connected: Run and Submit wait for the connection to come back (your edits are kept on this device).';

export function errorText(code: string, message?: string, retryMs?: number): string {
	const wait = retryMs ? `try again in ${Math.max(1, Math.ceil(retryMs / 1000))} s` : 'wait a moment';
	const known: Record<string, string> = {
		run_in_progress: 'A run is already in progress.',
		rate_limited: `Too many requests (runs are limited per minute); ${wait}.`,
		judge_busy: 'The judge is busy; try again shortly.',
		judge_down: 'Running code is unavailable on this server right now.',
		no_problem: 'This room has no problem to test against.',
		no_generator: 'This problem has no input generator for a complexity estimate.',
		forbidden: 'Your seat may not do that.',
		doc_too_large: 'The document is too large.',
		not_implemented: 'This server does not support that yet.',
	};
	return known[code] ?? `${code}${message ? `: ${message}` : ''}`;
}

/** The tab's title: "Zeros to the Back · Zoë (candidate) · Tandem". */
export function roomTitle(problem: string | undefined, name: string, seat: string): string {
	const who = name ? `${name} (${seat})` : seat;
	return [problem ?? 'Interview', who, 'Tandem'].join(' · ');
}
