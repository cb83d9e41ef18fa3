// helpers.ts - what the unit tests share: the real wasm CRDT (from the meson
// build, as the app gets it) and a seeded random source.
import fs from 'node:fs';
import { loadCrdt, setCrdtSource, type TandemCrdt } from '../src/lib/crdt';
import { wasmPath } from '../vite.config';

export async function crdt(): Promise<TandemCrdt> {
	const file = wasmPath();
	if (!fs.existsSync(file))
		throw new Error(`no tandem-crdt.wasm at ${file}: build it (meson) or set TANDEM_CRDT_WASM`);
	setCrdtSource(new Uint8Array(fs.readFileSync(file)));
	return loadCrdt();
}

export const SEED = Number(process.env.TANDEM_SEED || Math.floor(Math.random() * 2 ** 31));

/** mulberry32 */
export function rng(seed: number) {
	let a = seed >>> 0;
	const next = (): number => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	return {
		next,
		int: (n: number): number => Math.floor(next() * n),
		pick: <T>(arr: readonly T[]): T => arr[Math.floor(next() * arr.length)]!,
	};
}
