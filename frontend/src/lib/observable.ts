// observable.ts - a value that Preact components follow (useValue).
import { useEffect, useState } from 'preact/hooks';

export class Observable<T> {
	private subs = new Set<(v: T) => void>();
	constructor(private v: T) {}
	get value(): T {
		return this.v;
	}
	set(v: T): void {
		this.v = v;
		for (const s of [...this.subs]) s(v);
	}
	/** Sets the fields of patch; followers hear of it only when one of them changed. */
	update(patch: Partial<T>): void {
		let changed = false;
		for (const k in patch) if (!Object.is(patch[k], this.v[k])) changed = true;
		if (changed) this.set({ ...this.v, ...patch });
	}
	subscribe(fn: (v: T) => void): () => void {
		this.subs.add(fn);
		return () => this.subs.delete(fn);
	}
}

export function useValue<T>(o: Observable<T>): T {
	const [v, setV] = useState(o.value);
	useEffect(() => {
		setV(o.value);
		return o.subscribe(setV);
	}, [o]);
	return v;
}
