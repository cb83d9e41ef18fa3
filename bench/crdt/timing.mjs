// timing.mjs - what bench/crdt's runners share about timing a call.

/** The median of xs (not modified). */
export function median(xs) {
	const s = [...xs].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * A full GC, then a pause for the helper threads that sweep and free after
 * it: process.cpuUsage counts their CPU time, and on 2 cores they would
 * otherwise share the timed call's.  Needs node --expose-gc.
 */
export async function collect() {
	globalThis.gc();
	await new Promise((done) => setTimeout(done, 5));
}
