// crdt.mjs - the browser's (and node's) handle on Tandem's C text CRDT.
//
// A thin ES module, used as is (no build step), around tandem-crdt.wasm,
// which is crdt/*.c compiled for wasm32 plus crdt/wasm/exports.c.  It only
// converts between JavaScript values and linear memory: strings go in and
// out as UTF-8 through TextEncoder/TextDecoder, byte arrays are copied in and
// out, and every block allocated for a call is freed before the call returns.
// Documents live in wasm memory until doc.free() (a FinalizationRegistry
// frees forgotten ones eventually, but call free()).
//
// Positions and lengths are Unicode code points, like the C API; editors that
// count UTF-16 units convert with doc.utf16ToCp() / doc.cpToUtf16() or the
// string helpers crdt.utf16ToCp(str, n) / crdt.cpToUtf16(str, n).
// Versions and updates are opaque Uint8Arrays (the C encodings), so they can
// be sent over the wire as they are.
//
//   const crdt = await TandemCrdt.load(new URL('tandem-crdt.wasm', import.meta.url));
//   const doc = new crdt.Doc(agentId);
//   doc.insert(0, 'hello');
//   const update = doc.encodeSince(peerVersion);
//   other.applyUpdate(update);

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

// A failed C call: code is the negative crdt error code.
export class CrdtError extends Error {
	constructor(code, what, message) {
		super(`${what}: ${message} (${code})`);
		this.name = 'CrdtError';
		this.code = code;
	}
}

async function fetchBytes(source) {
	if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return source;
	if (source instanceof WebAssembly.Module) return source;
	const url = source instanceof URL ? source : new URL(String(source), globalThis.location?.href);
	if (url.protocol === 'file:') {
		// Node: fetch() does not read files.  The name is in a variable so that
		// browser bundlers (Vite) do not try to resolve a node builtin.
		const fsModule = 'node:fs/promises';
		const { readFile } = await import(/* @vite-ignore */ fsModule);
		return readFile(url);
	}
	const res = await fetch(url);
	if (!res.ok) throw new Error(`cannot load ${url}: HTTP ${res.status}`);
	return new Uint8Array(await res.arrayBuffer());
}

export class TandemCrdt {
	// Loads the module from bytes, a compiled WebAssembly.Module, or a URL
	// (string or URL; file: URLs work under node).  Returns an instance whose
	// .Doc class makes documents.
	static async load(source) {
		const bytes = await fetchBytes(source);
		const crdt = new TandemCrdt();
		const imports = {
			env: {
				tandem_change: (doc, pos, del, ins, insLen) =>
					crdt._change(doc, pos, del, ins, insLen),
			},
		};
		const { instance } =
			bytes instanceof WebAssembly.Module
				? { instance: await WebAssembly.instantiate(bytes, imports) }
				: await WebAssembly.instantiate(bytes, imports);
		crdt._init(instance);
		return crdt;
	}

	_init(instance) {
		const x = instance.exports;
		this.x = x;
		this.memory = x.memory;
		this._u8 = new Uint8Array(this.memory.buffer);
		this._scratch = 0;
		this._scratchCap = 0;
		this._ver = 0; // nextOf()'s version, made on first use
		this._docs = new Map(); // doc pointer -> Doc, for the change observer
		this._registry = new FinalizationRegistry((ptr) => x.tc_doc_destroy(ptr));
		const crdt = this;

		// A document.  agent is the id the server handed this editing session;
		// local edits are made as that agent (change it with doc.agent = n).
		this.Doc = class Doc {
			constructor(agent = 1) {
				this.agent = agent;
				this.ptr = x.tc_doc_create();
				if (!this.ptr) throw new CrdtError(-1, 'Doc', 'out of memory');
				this._listeners = [];
				crdt._registry.register(this, this.ptr, this);
			}

			// Frees the document's memory; the Doc must not be used afterwards.
			free() {
				if (!this.ptr) return;
				crdt._registry.unregister(this);
				crdt._docs.delete(this.ptr);
				x.tc_doc_destroy(this.ptr);
				this.ptr = 0;
			}

			_live() {
				if (!this.ptr) throw new Error('Doc used after free()');
				return this.ptr;
			}

			// Inserts str at code point pos.  Typing inserts a character at a
			// time, so the text goes through one reused scratch block rather
			// than a malloc/free per call.
			insert(pos, str) {
				const doc = this._live();
				const n = crdt._scratchString(str);
				crdt._check(x.tc_insert(doc, this.agent, pos, crdt._scratch, n), 'insert');
			}

			// Deletes count code points at pos.
			delete(pos, count) {
				crdt._check(x.tc_delete(this._live(), this.agent, pos, count), 'delete');
			}

			// The visible text.
			text() {
				const doc = this._live();
				const n = x.tc_len_bytes(doc);
				const p = crdt._alloc(n);
				try {
					x.tc_text(doc, p, n);
					return crdt._getString(p, n);
				} finally {
					x.tc_free(p);
				}
			}

			get length() {
				return x.tc_len(this._live());
			}

			get byteLength() {
				return x.tc_len_bytes(this._live());
			}

			// Ops received whose dependencies have not arrived yet.
			pending() {
				return x.tc_pending(this._live());
			}

			opCount() {
				return x.tc_op_count(this._live());
			}

			// How many operations of agent this document holds: its entry in
			// the version vector, read without building the vector in
			// JavaScript (nothing is allocated; a client checking a peer's
			// progress after every update would otherwise make garbage).
			nextOf(agent) {
				const doc = this._live();
				if (!crdt._ver) {
					crdt._ver = x.tc_version_create();
					if (!crdt._ver) throw new CrdtError(-1, 'nextOf', 'out of memory');
				}
				crdt._check(x.tc_doc_version(doc, crdt._ver), 'nextOf');
				return x.tc_version_get(crdt._ver, agent);
			}

			// The document's version vector, encoded (Uint8Array).
			version() {
				const doc = this._live();
				return crdt._withVersion(null, (v) => {
					crdt._check(x.tc_doc_version(doc, v), 'version');
					return crdt._withBuf((b) => x.tc_version_encode(v, b), 'version');
				});
			}

			// An update with every op this doc has and `since` (an encoded version,
			// or null for everything) lacks.
			encodeSince(since = null) {
				const doc = this._live();
				return crdt._withVersion(
					since,
					(v) => crdt._withBuf((b) => x.tc_encode_since(doc, v, b), 'encodeSince'),
					true,
				);
			}

			// An update with the ops `until` has and `since` lacks (null: from the
			// start / everything).
			encodeBetween(since, until) {
				const doc = this._live();
				return crdt._withVersion(
					since,
					(s) =>
						crdt._withVersion(
							until,
							(u) =>
								crdt._withBuf(
									(b) => x.tc_encode_between(doc, s, u, b),
									'encodeBetween',
								),
							true,
						),
					true,
				);
			}

			// A snapshot of the whole document with its history.
			encodeDoc() {
				const doc = this._live();
				return crdt._withBuf((b) => x.tc_encode_doc(doc, b), 'encodeDoc');
			}

			// Merges an update or snapshot (Uint8Array).  Remote changes are
			// reported to the onChange listeners during the call.
			applyUpdate(bytes) {
				const doc = this._live();
				const p = crdt._putBytes(bytes);
				try {
					crdt._check(x.tc_apply(doc, p, bytes.length), 'applyUpdate');
				} finally {
					x.tc_free(p);
				}
			}

			// The text as it was at an encoded version.
			textAt(version) {
				const doc = this._live();
				return crdt._withVersion(version, (v) => {
					const bytes = crdt._withBuf((b) => x.tc_text_at(doc, v, b), 'textAt');
					return decoder.decode(bytes);
				});
			}

			// cb({pos, del, text}) for every visible change a remote update makes
			// (positions in code points).  Returns a function that unsubscribes.
			// A listener must not edit the document.
			onChange(cb) {
				const doc = this._live();
				this._listeners.push(cb);
				if (this._listeners.length === 1) {
					crdt._docs.set(doc, this);
					x.tc_observe(doc, 1);
				}
				return () => {
					const i = this._listeners.indexOf(cb);
					if (i >= 0) this._listeners.splice(i, 1);
					if (this._listeners.length === 0 && this.ptr) {
						x.tc_observe(this.ptr, 0);
						crdt._docs.delete(this.ptr);
					}
				};
			}

			// UTF-16 offset in the current text -> code point offset, and back.
			utf16ToCp(u16) {
				return crdt._onText(this, (p, n) => x.tc_utf16_to_cp(p, n, u16));
			}

			cpToUtf16(cp) {
				return crdt._onText(this, (p, n) => x.tc_cp_to_utf16(p, n, cp));
			}
		};
	}

	// ---- helpers on plain strings and versions ------------------------------

	// UTF-16 offset u16 in str -> code point offset (inside a pair rounds down).
	utf16ToCp(str, u16) {
		const [p, n] = this._putString(str);
		try {
			return this.x.tc_utf16_to_cp(p, n, u16);
		} finally {
			this.x.tc_free(p);
		}
	}

	cpToUtf16(str, cp) {
		const [p, n] = this._putString(str);
		try {
			return this.x.tc_cp_to_utf16(p, n, cp);
		} finally {
			this.x.tc_free(p);
		}
	}

	// An encoded version from [[agent, next], ...].
	versionFromEntries(entries) {
		return this._withVersion(null, (v) => {
			for (const [agent, next] of entries)
				this._check(this.x.tc_version_set(v, agent, next), 'versionFromEntries');
			return this._withBuf((b) => this.x.tc_version_encode(v, b), 'versionFromEntries');
		});
	}

	// [[agent, next], ...] of an encoded version.
	versionEntries(version) {
		return this._withVersion(version, (v) => {
			const out = [];
			const n = this.x.tc_version_count(v);
			for (let i = 0; i < n; i++)
				out.push([this.x.tc_version_agent_at(v, i), this.x.tc_version_next_at(v, i)]);
			return out;
		});
	}

	// ---- linear memory --------------------------------------------------------

	// The current view of memory: growing memory detaches the old buffer,
	// which then has length 0.  Not from inside a call into the module (the
	// change observer): that one must not allocate.
	_view() {
		if (this._u8.byteLength === 0) this._u8 = new Uint8Array(this.memory.buffer);
		return this._u8;
	}

	// _view() between calls, and when memory grew since the last look, room
	// to grow into: half the memory's size again (at most 64 MiB) is
	// allocated and freed at once, and the allocator (wasi-libc's dlmalloc,
	// which never returns memory) serves what follows from that block.  Left
	// to itself it grows memory a few pages at a time, and V8 answers every
	// growth with garbage collection: under the load benchmark a process
	// holding 500 documents ran a mark-compact about once a second, and once
	// its memory passed ~60 MB, scavenges by the hundred for "external memory
	// pressure", each a pause in everything the page does; with room made
	// this way, two mark-compacts in 70 s.  Memory grows O(log n) times, and
	// is at most about 1.5 times what is in use.
	_mem() {
		if (this._u8.byteLength === 0) {
			const size = this.memory.buffer.byteLength;
			const p = this.x.tc_malloc(Math.min(size >>> 1, 64 << 20));
			if (p) this.x.tc_free(p);
			this._u8 = new Uint8Array(this.memory.buffer);
		}
		return this._u8;
	}

	// Writes str as UTF-8 into the scratch block (grown as needed; the one
	// allocation that outlives a call, reused by every insert and freed by
	// dispose()) and returns its byte length.
	_scratchString(str) {
		const max = str.length * 3;
		if (max > this._scratchCap) {
			const cap = Math.max(256, max * 2);
			const p = this._alloc(cap);
			if (this._scratch) this.x.tc_free(this._scratch);
			this._scratch = p;
			this._scratchCap = cap;
		}
		const mem = this._mem();
		const p = this._scratch;
		if (str.length <= 32) {
			// Short ASCII (a keystroke) without a subarray and encodeInto.
			let i = 0;
			for (; i < str.length; i++) {
				const c = str.charCodeAt(i);
				if (c >= 0x80) break;
				mem[p + i] = c;
			}
			if (i === str.length) return i;
		}
		return encoder.encodeInto(str, mem.subarray(p, p + max)).written;
	}

	// Frees the scratch block and nextOf()'s version.  Documents are freed
	// with doc.free().
	dispose() {
		if (this._scratch) this.x.tc_free(this._scratch);
		this._scratch = 0;
		this._scratchCap = 0;
		if (this._ver) this.x.tc_version_destroy(this._ver);
		this._ver = 0;
	}

	_alloc(n) {
		const p = this.x.tc_malloc(n);
		if (!p) throw new CrdtError(-1, 'malloc', 'out of memory');
		return p;
	}

	// Copies str as UTF-8 into a new block; returns [pointer, byte length].
	// The caller frees the pointer.
	_putString(str) {
		const max = str.length * 3;
		const p = this._alloc(max);
		const { written } = encoder.encodeInto(str, this._mem().subarray(p, p + max));
		return [p, written];
	}

	_putBytes(bytes) {
		const p = this._alloc(bytes.length);
		this._mem().set(bytes, p);
		return p;
	}

	_getString(p, n) {
		return decoder.decode(this._mem().subarray(p, p + n));
	}

	// Runs fn(pointer, length) on a copy of doc's text in wasm memory.
	_onText(doc, fn) {
		const n = this.x.tc_len_bytes(doc._live());
		const p = this._alloc(n);
		try {
			this.x.tc_text(doc.ptr, p, n);
			return fn(p, n);
		} finally {
			this.x.tc_free(p);
		}
	}

	// Runs fn(versionPointer) with a version decoded from bytes (an empty
	// version when bytes is null, or a null pointer when nullable is set).
	_withVersion(bytes, fn, nullable = false) {
		if ((bytes === null || bytes === undefined) && nullable) return fn(0);
		const v = this.x.tc_version_create();
		if (!v) throw new CrdtError(-1, 'version', 'out of memory');
		try {
			if (bytes) {
				const p = this._putBytes(bytes);
				try {
					this._check(this.x.tc_version_decode(v, p, bytes.length), 'version');
				} finally {
					this.x.tc_free(p);
				}
			}
			return fn(v);
		} finally {
			this.x.tc_version_destroy(v);
		}
	}

	// Runs fill(bufPointer) and returns a copy of what it appended.
	_withBuf(fill, what) {
		const b = this.x.tc_buf_create();
		if (!b) throw new CrdtError(-1, what, 'out of memory');
		try {
			this._check(fill(b), what);
			const p = this.x.tc_buf_data(b);
			const n = this.x.tc_buf_len(b);
			return this._mem().slice(p, p + n);
		} finally {
			this.x.tc_buf_destroy(b);
		}
	}

	_check(rc, what) {
		if (rc < 0) {
			const p = this.x.tc_strerror(rc);
			const mem = this._mem();
			let end = p;
			while (mem[end] !== 0) end++;
			throw new CrdtError(rc, what, decoder.decode(mem.subarray(p, end)));
		}
		return rc;
	}

	_change(docPtr, pos, del, ins, insLen) {
		const doc = this._docs.get(docPtr);
		if (!doc) return;
		const text = decoder.decode(this._view().subarray(ins, ins + insLen));
		for (const cb of doc._listeners.slice()) cb({ pos, del, text });
	}
}

export default TandemCrdt;
