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
// Positions and lengths are UTF-16 code units, as JavaScript strings and
// CodeMirror count them ('😀'.length === 2): insert, delete, length, the
// change lists applyUpdate returns, anchors and authorship.  The types of
// everything exported here are declared in crdt.d.ts beside this file.
// Versions and updates are opaque Uint8Arrays (the C encodings), so they can
// be sent over the wire as they are.
//
//   const crdt = await TandemCrdt.load(new URL('tandem-crdt.wasm', import.meta.url));
//   const doc = new crdt.Doc(agentId);
//   doc.insert(0, 'héllo 😀');
//   const update = doc.encodeSince(peerVersion);
//   const { changes } = other.applyUpdate(update); // CodeMirror ChangeSpec[]

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

const EINVAL = -2;
const EUTF8 = -3;

// A lone surrogate: TextEncoder would quietly turn it into U+FFFD.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed =
	typeof String.prototype.isWellFormed === 'function'
		? (str) => str.isWellFormed()
		: (str) => !loneSurrogate.test(str);

function isU32(v) {
	return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
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
		const imports = {};
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
		this._changes = 0; // applyUpdate()'s change list, made on first use
		this._authors = 0; // authors()' runs, made on first use
		this._anchor = 0; // three words for anchorAt(), made on first use
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
				x.tc_doc_destroy(this.ptr);
				this.ptr = 0;
			}

			_live() {
				if (!this.ptr) throw new Error('Doc used after free()');
				return this.ptr;
			}

			// Inserts str at UTF-16 offset pos.  Typing inserts a character at a
			// time, so the text goes through one reused scratch block rather
			// than a malloc/free per call.  A lone surrogate is refused (-3):
			// TextEncoder would store U+FFFD instead.
			insert(pos, str) {
				const doc = this._live();
				const n = crdt._scratchString(str, 'insert');
				crdt._check(x.tc_insert16(doc, this.agent, pos, crdt._scratch, n), 'insert');
			}

			// Deletes len UTF-16 units at pos.
			delete(pos, len) {
				crdt._check(x.tc_delete16(this._live(), this.agent, pos, len), 'delete');
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

			// Visible length in UTF-16 units (text().length).
			get length() {
				return x.tc_len16(this._live());
			}

			get codePoints() {
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
			// the version vector, read without allocating (a client checking a
			// peer's progress after every update would otherwise make garbage).
			next(agent) {
				return x.tc_doc_next(this._live(), agent) >>> 0;
			}

			nextOf(agent) {
				return this.next(agent);
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

			save() {
				return this.encodeDoc();
			}

			// Merges an update or snapshot (Uint8Array) and returns
			// {changes, pending}: changes turn the text before the call into the
			// text after it, CodeMirror ChangeSpecs with UTF-16 offsets into the
			// old text, sorted; an insert carries its agent.  The onChange
			// listeners then see the same changes one at a time.  On an error
			// after part of the update went in (-1, -8) the CrdtError carries
			// .changes for that part.
			applyUpdate(bytes) {
				const doc = this._live();
				const ch = crdt._changeList();
				const p = crdt._putBytes(bytes);
				let rc;
				try {
					rc = x.tc_apply_changes(doc, p, bytes.length, ch);
				} finally {
					x.tc_free(p);
				}
				const changes = crdt._readChanges(ch);
				if (this._listeners.length && changes.length) this._emit(changes);
				if (rc < 0) {
					try {
						crdt._check(rc, 'applyUpdate');
					} catch (e) {
						e.changes = changes;
						throw e;
					}
				}
				return { changes, pending: x.tc_pending(doc) };
			}

			_emit(changes) {
				let delta = 0;
				for (const c of changes) {
					const ev = { pos: c.from + delta, del: c.to - c.from, text: c.insert };
					if (c.agent !== undefined) ev.agent = c.agent;
					delta += c.insert.length - (c.to - c.from);
					for (const cb of this._listeners.slice()) cb(ev);
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

			// A stable anchor for UTF-16 offset pos: {agent, seq, assoc}, or
			// {agent: null, seq: null, assoc} for the start (assoc -1) or the
			// end (assoc 1).  assoc 1 names the character after pos, -1 the
			// one before.
			anchorAt(pos, assoc = 1) {
				const doc = this._live();
				const side = assoc < 0 ? -1 : 1;
				const out = crdt._anchorWords();
				crdt._check(x.tc_anchor_at16(doc, pos, side, out), 'anchorAt');
				const w = new Uint32Array(this._mem().buffer, out, 3);
				if (w[2]) return { agent: null, seq: null, assoc: side };
				return { agent: w[0], seq: w[1], assoc: side };
			}

			// The anchor's UTF-16 offset in the current text (where its character
			// was, if deleted), or null when the character is not known here yet.
			anchorPos(anchor) {
				const doc = this._live();
				const a = anchor;
				const bad = () => new CrdtError(EINVAL, 'anchorPos', 'not an anchor');
				if (!a || typeof a !== 'object' || (a.assoc !== 1 && a.assoc !== -1)) throw bad();
				let rc;
				if (a.agent === null && a.seq === null) {
					rc = x.tc_anchor_pos16(doc, 0, 0, a.assoc, 1);
				} else {
					if (!isU32(a.agent) || !isU32(a.seq)) throw bad();
					rc = x.tc_anchor_pos16(doc, a.agent, a.seq, a.assoc, 0);
				}
				if (rc === -1) return null;
				return crdt._check(rc, 'anchorPos');
			}

			// Who typed [from, to) (UTF-16 units; default the whole text), of the
			// current text or, with version, of the text at that version:
			// [{agent, len}], adjacent runs of one agent merged.
			authors(from = 0, to = 0xffffffff, version = null) {
				const doc = this._live();
				const au = crdt._authorList();
				crdt._withVersion(
					version,
					(v) => crdt._check(x.tc_authors(doc, from, Math.min(to, 0xffffffff), v, au), 'authors'),
					true,
				);
				const n = x.tc_authors_count(au);
				const base = x.tc_authors_data(au) >>> 2;
				const w = new Uint32Array(crdt._mem().buffer);
				const out = new Array(n);
				for (let i = 0; i < n; i++) out[i] = { agent: w[base + 3 * i], len: w[base + 3 * i + 2] };
				return out;
			}

			// cb({pos, del, text, agent?}) for every visible change a remote
			// update makes, one at a time, each relative to the text the last
			// one left (UTF-16 units), during applyUpdate.  Returns a function
			// that unsubscribes.  A listener must not edit the document.
			onChange(cb) {
				this._live();
				this._listeners.push(cb);
				return () => {
					const i = this._listeners.indexOf(cb);
					if (i >= 0) this._listeners.splice(i, 1);
				};
			}

			// UTF-16 offset in the current text -> code point offset (inside a
			// pair rounds down), and back; O(log n), no copy of the text.
			utf16ToCp(u16) {
				return x.tc_pos_from16(this._live(), u16);
			}

			cpToUtf16(cp) {
				return x.tc_pos_to16(this._live(), cp);
			}

			_mem() {
				return crdt._mem();
			}
		};
	}

	// A document loaded from a snapshot (or any update), editing as agent.
	loadDoc(bytes, agent = 1) {
		const doc = new this.Doc(agent);
		try {
			const p = this._putBytes(bytes);
			try {
				this._check(this.x.tc_apply(doc.ptr, p, bytes.length), 'loadDoc');
			} finally {
				this.x.tc_free(p);
			}
		} catch (e) {
			doc.free();
			throw e;
		}
		return doc;
	}

	// True when encoded version a has seen everything encoded version b has.
	versionIncludes(a, b) {
		return this._withVersion(a, (va) =>
			this._withVersion(b, (vb) => this.x.tc_version_includes(va, vb) !== 0),
		);
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

	// The current view of memory (growing memory detaches the old buffer,
	// which then has length 0), and when memory grew since the last look, room
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
	// dispose()) and returns its byte length.  Text that is not all ASCII is
	// checked for lone surrogates first (CrdtError -3, for what).
	_scratchString(str, what) {
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
		if (!wellFormed(str)) throw new CrdtError(EUTF8, what, 'text holds a lone surrogate');
		return encoder.encodeInto(str, mem.subarray(p, p + max)).written;
	}

	// Frees the scratch block and nextOf()'s version.  Documents are freed
	// with doc.free().
	dispose() {
		if (this._scratch) this.x.tc_free(this._scratch);
		this._scratch = 0;
		this._scratchCap = 0;
		if (this._changes) this.x.tc_changes_destroy(this._changes);
		this._changes = 0;
		if (this._authors) this.x.tc_authors_destroy(this._authors);
		this._authors = 0;
		if (this._anchor) this.x.tc_free(this._anchor);
		this._anchor = 0;
	}

	// The instance's change list, author list and anchor words (one each,
	// reused by every call, freed by dispose()).
	_changeList() {
		if (!this._changes) this._changes = this.x.tc_changes_create();
		if (!this._changes) throw new CrdtError(-1, 'applyUpdate', 'out of memory');
		return this._changes;
	}

	_authorList() {
		if (!this._authors) this._authors = this.x.tc_authors_create();
		if (!this._authors) throw new CrdtError(-1, 'authors', 'out of memory');
		return this._authors;
	}

	_anchorWords() {
		if (!this._anchor) this._anchor = this._alloc(12);
		return this._anchor;
	}

	// The change list ch as ChangeSpecs.  Each change's text is a slice of
	// the list's text, decoded once: its UTF-16 length is in the list.
	_readChanges(ch) {
		const x = this.x;
		const n = x.tc_changes_count(ch);
		if (n === 0) return [];
		const mem = this._mem();
		const base = x.tc_changes_data(ch) >>> 2;
		const w = new Uint32Array(mem.buffer);
		const tp = x.tc_changes_text(ch);
		const text = decoder.decode(mem.subarray(tp, tp + x.tc_changes_text_len(ch)));
		const out = new Array(n);
		let t = 0;
		for (let i = 0; i < n; i++) {
			const k = base + 8 * i;
			const len16 = w[k + 6];
			if (len16) {
				out[i] = { from: w[k + 2], to: w[k + 3], insert: text.slice(t, t + len16), agent: w[k + 7] };
				t += len16;
			} else {
				out[i] = { from: w[k + 2], to: w[k + 3], insert: '' };
			}
		}
		return out;
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
}

export default TandemCrdt;
