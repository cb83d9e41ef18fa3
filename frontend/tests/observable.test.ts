// Observable.update tells its followers only of a real change: the room
// page follows the session's state, and a keystroke that changes nothing
// it shows must not re-render it.
import { describe, expect, it } from 'vitest';
import { Observable } from '../src/lib/observable';

describe('Observable.update', () => {
	it('notifies when a field changes, and not when the patch changes nothing', () => {
		const o = new Observable({ a: 1, b: 'x', c: null as string | null });
		const seen: Array<{ a: number; b: string }> = [];
		o.subscribe((v) => seen.push(v));
		o.update({ a: 1 });
		o.update({ a: 1, c: null });
		expect(seen.length).toBe(0);
		o.update({ a: 2 });
		expect(seen.length).toBe(1);
		expect(o.value).toEqual({ a: 2, b: 'x', c: null });
		const before = o.value;
		o.update({ b: 'x' });
		expect(o.value).toBe(before);
	});
});
