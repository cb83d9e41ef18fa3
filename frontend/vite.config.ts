// Vite configuration of Tandem's browser app.
//
// The CRDT is crdt/'s C code built to WebAssembly by meson: the wrapper
// crdt/wasm/crdt.mjs is imported from the source tree as `tandem-crdt`, and
// tandem-crdt.wasm is taken from the meson build (build-release/ unless
// TANDEM_CRDT_WASM or TANDEM_BUILD says otherwise) through the virtual module
// `virtual:tandem-crdt-wasm`, whose default export is the file's URL.  A build
// without it fails with a message saying how to make it.
//
// `npm run dev` proxies /api and /ws to a running tandem (TANDEM_URL,
// default http://127.0.0.1:8080).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

export function wasmPath(): string {
	if (process.env.TANDEM_CRDT_WASM) return path.resolve(process.env.TANDEM_CRDT_WASM);
	const build = process.env.TANDEM_BUILD ? path.resolve(process.env.TANDEM_BUILD) : path.join(repo, 'build-release');
	return path.join(build, 'crdt', 'wasm', 'tandem-crdt.wasm');
}

function tandemCrdtWasm(): Plugin {
	const id = 'virtual:tandem-crdt-wasm';
	const resolved = '\0' + id;
	const DEV_URL = '/@tandem/tandem-crdt.wasm';
	let serve = false;
	const read = (): Buffer => {
		const file = wasmPath();
		if (!fs.existsSync(file))
			throw new Error(
				`tandem-crdt.wasm not found at ${file}.\n` +
					'Build it first (meson setup build-release && meson compile -C build-release, ' +
					'which scripts/run does), or point TANDEM_CRDT_WASM at the file ' +
					'(or TANDEM_BUILD at a meson build directory).',
			);
		return fs.readFileSync(file);
	};
	return {
		name: 'tandem-crdt-wasm',
		configResolved(c) {
			serve = c.command === 'serve';
		},
		buildStart() {
			// Fail at once, before anything else is bundled.
			if (!serve) read();
		},
		resolveId(source) {
			return source === id ? resolved : null;
		},
		load(source) {
			if (source !== resolved) return null;
			if (serve) return `export default ${JSON.stringify(DEV_URL)};`;
			const ref = this.emitFile({ type: 'asset', name: 'tandem-crdt.wasm', source: read() });
			return `export default import.meta.ROLLUP_FILE_URL_${ref};`;
		},
		configureServer(server) {
			server.middlewares.use(DEV_URL, (_req, res) => {
				try {
					const bytes = read();
					res.setHeader('Content-Type', 'application/wasm');
					res.end(bytes);
				} catch (e) {
					res.statusCode = 500;
					res.end(String(e));
				}
			});
		},
	};
}

const target = process.env.TANDEM_URL || 'http://127.0.0.1:8080';

export default defineConfig({
	plugins: [tandemCrdtWasm()],
	resolve: {
		alias: { 'tandem-crdt': path.join(repo, 'crdt', 'wasm', 'crdt.mjs') },
	},
	build: {
		target: 'es2022',
		assetsInlineLimit: 0,
		sourcemap: false,
		reportCompressedSize: false,
	},
	server: {
		fs: { allow: [repo] },
		proxy: {
			'/api': { target, changeOrigin: false },
			'/ws': { target: target.replace(/^http/, 'ws'), ws: true },
		},
	},
	test: {
		include: ['tests/**/*.test.ts'],
		environment: 'node',
	},
});
