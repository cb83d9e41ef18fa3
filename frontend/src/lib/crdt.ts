// crdt.ts - the one place the browser app loads the wasm CRDT.
//
// Everything else imports the types of crdt/wasm/crdt.d.ts and gets the
// loaded instance from loadCrdt().  The module's bytes come from the meson
// build through the `virtual:tandem-crdt-wasm` asset (vite.config.ts); tests
// under node pass the file's bytes to setCrdtSource().
import { TandemCrdt } from 'tandem-crdt';
import type { Anchor, Change, Doc, Update, Version } from 'tandem-crdt';

export type { Anchor, Change, Doc, TandemCrdt, Update, Version };

let source: Uint8Array | URL | string | null = null;
let loading: Promise<TandemCrdt> | null = null;

/** Where loadCrdt() takes the module from (tests: the bytes of the file). */
export function setCrdtSource(s: Uint8Array | URL | string): void {
	source = s;
	loading = null;
}

/** The wasm CRDT, loaded once per page. */
export function loadCrdt(): Promise<TandemCrdt> {
	if (!loading)
		loading = (async () => {
			const src = source ?? (await import('virtual:tandem-crdt-wasm')).default;
			return TandemCrdt.load(src);
		})();
	return loading;
}
