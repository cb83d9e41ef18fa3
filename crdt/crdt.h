/*
 * crdt.h - Tandem's collaborative text type.
 *
 * Boundary: this module is pure C17 with libc's string functions only.  It
 * does no I/O, keeps no globals, and allocates only through the hook a
 * document is created with, so the same source builds natively for the
 * server and as WebAssembly for the browser.  It knows nothing of rooms,
 * sockets or storage: the server moves its encoded bytes around.
 *
 * The algorithm
 * -------------
 * A document is a sequence of characters (Unicode code points, stored as
 * UTF-8).  Every character ever inserted keeps its place forever; deleting
 * one only marks it as a tombstone, which is what lets any earlier version
 * be read back.  Each operation is named by (agent, seq): the agent id is
 * handed out per editing session by the server, seq counts that agent's
 * operations from 0 (an insert of n characters or a delete of n characters
 * uses n consecutive seqs).
 *
 * An inserted character records its left origin (the character it was typed
 * after, tombstones included) and its right origin (the next visible
 * character at that moment).  Remote insertions are placed with the
 * YjsMod / FugueMax rule (Gentle's reference-crdts; Weidner & Kleppmann,
 * "The Art of the Fugue", 2023): scan right from the left origin, skip
 * characters whose left origin lies further right, stop at the first one
 * whose left origin lies further left, and among characters sharing both
 * origins order by agent id.  We chose it over RGA (interleaves backward
 * typing) and plain YATA/Yjs (interleaves some backward runs) because
 * FugueMax is proven maximally non-interleaving in both directions, while
 * keeping Yjs' cheap (left, right) origin pair, which run-length encodes:
 * a run typed forwards by one agent is one item.
 *
 * Guarantees:
 *  - Convergence: replicas that have applied the same set of operations
 *    hold the same text, whatever the order of delivery.
 *  - Commutativity and idempotence: operations may arrive in any order and
 *    any number of times; an operation whose causal dependencies (its
 *    agent's earlier operations, its origins, the characters it deletes)
 *    have not arrived waits in a pending buffer and is applied when they do.
 *  - Non-interleaving: runs typed concurrently at the same place, forwards
 *    or backwards, end up one after the other, never mixed.
 *  - Intention: a local insert lands exactly at the position given; a
 *    delete removes exactly the characters visible in the given range.
 *
 * Representation: items are run-length encoded (an agent's consecutive
 * characters typed in order form one run) and kept in a B-tree whose inner
 * nodes count visible and total characters and visible UTF-16 units, so a
 * position in either unit is found in O(log n); an index from operation to
 * leaf finds the place of a remote operation's origins in O(log n).  See
 * crdt-internal.h.
 *
 * Units.  Positions and lengths count code points unless a function's name
 * ends in 16 (crdt_insert16, crdt_len16, crdt_anchor_at16) or its doc says
 * otherwise: those count UTF-16 units, as JavaScript strings and editors
 * do, and refuse a position inside a surrogate pair.  Change lists and
 * authorship runs carry both.  The server counts code points; the browser
 * (crdt/wasm/crdt.mjs) UTF-16 units.
 *
 * For an editor: crdt_apply_changes() turns an update into one change list
 * against the text before it (CodeMirror's ChangeSpec form); anchors
 * (crdt_anchor_at, crdt_anchor_pos) keep remote cursors on their
 * characters; crdt_authors() says who typed what, now or at a version.
 *
 * Wire formats (all integers are LEB128 varints; byte 0 is the format
 * version, byte 1 the kind):
 *  - 'U' update, version CRDT_FORMAT_VERSION (1): the operations a peer
 *    lacks, in causal order, with agents named once in a table and origins
 *    named as (agent, seq).  Made by crdt_encode_since() and
 *    crdt_encode_between(), applied by crdt_apply().
 *  - 'S' snapshot, version CRDT_SNAPSHOT_VERSION (2): a whole document with
 *    all its history (tombstones and their text included).  Operations are
 *    listed in the document's own order of application (LV order), each as
 *    the position where it happened in the sequence of every character
 *    inserted so far, coded as a step from where the previous one ended, so
 *    typing, backspace and forward-delete runs take one varint; origins are
 *    implicit (those a local insert at that position picks) except for the
 *    rare concurrent insert, written with its origins; all inserted text
 *    follows as one LZ4 block.  Made by crdt_encode_doc(); crdt_apply()
 *    loads it into an empty document in one pass (all or nothing) and
 *    merges it into a non-empty one.  See snapshot.c.  Snapshots of version
 *    1 (origins instead of positions, raw text; written before) are still
 *    read, never written.
 *  - 'V' version vector, version 1: crdt_version_encode()/_decode().
 * A reader tells them apart by the first two bytes: 0x01 'U', 0x02 'S'
 * (0x01 'S' is an old snapshot), 0x01 'V'.
 * Decoding never trusts its input: every length is checked, and malformed
 * or truncated input returns CRDT_EDECODE/CRDT_ETRUNCATED with the
 * document unchanged.
 */
#ifndef TANDEM_CRDT_H
#define TANDEM_CRDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CRDT_FORMAT_VERSION   1
#define CRDT_SNAPSHOT_VERSION 2

/*
 * Errors: every function that can fail returns 0 or one of these negative
 * codes.  The list is the single source for crdt_strerror().
 */
#define CRDT_ERRNO_MAP(X)                               \
	X(NOMEM, -1, "out of memory")                   \
	X(INVAL, -2, "invalid argument")                \
	X(UTF8, -3, "invalid UTF-8")                    \
	X(RANGE, -4, "position or length out of range") \
	X(DECODE, -5, "malformed encoding")             \
	X(TRUNCATED, -6, "truncated encoding")          \
	X(FORMAT, -7, "unsupported format version")     \
	X(LIMIT, -8, "limit exceeded")                  \
	X(SEQ, -9, "agent sequence number overflow")

enum crdt_err {
#define CRDT__ERR_ENUM(name, code, msg) CRDT_E##name = (code),
	CRDT_ERRNO_MAP(CRDT__ERR_ENUM)
#undef CRDT__ERR_ENUM
};

/* A static string describing err; "unknown error" for codes not listed. */
const char *crdt_strerror(int err);

/*
 * The allocation hook.  Every byte the module holds goes through it, so a
 * test can fail the Nth allocation and a caller can count live bytes.
 * realloc(ud, ptr, old_size, new_size) behaves like realloc() and also
 * receives the block's old size; new_size == 0 frees ptr (and returns
 * NULL).  A NULL hook means libc's malloc family.  The hook must outlive
 * every object made with it.
 */
struct crdt_allocator {
	void *(*realloc)(void *ud, void *ptr, size_t old_size, size_t new_size);
	void *ud;
};

/*
 * A growable byte buffer for encoded output.  Invariant: data is NULL
 * exactly when cap is 0.  Functions that write to a crdt_buf append to it.
 */
struct crdt_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	const struct crdt_allocator *alloc; /* borrowed; NULL = libc */
};

/* Initialises buf empty; alloc is borrowed and may be NULL. */
void crdt_buf_init(struct crdt_buf *buf, const struct crdt_allocator *alloc);
/* Frees buf's memory and leaves it empty; accepts NULL. */
void crdt_buf_finish(struct crdt_buf *buf);

/* ---- Version vectors ---------------------------------------------------- */

/*
 * What a replica has seen: for each agent, how many of its operations
 * (seqs 0 .. next-1).  Entries are kept sorted by agent; agents absent
 * have next == 0.
 */
struct crdt_version_entry {
	uint32_t agent;
	uint32_t next;
};

struct crdt_version {
	struct crdt_version_entry *v;
	size_t len;
	size_t cap;
	const struct crdt_allocator *alloc; /* borrowed; NULL = libc */
};

void crdt_version_init(struct crdt_version *ver, const struct crdt_allocator *alloc);
void crdt_version_finish(struct crdt_version *ver); /* accepts NULL */
/* ver[agent] = next (next == 0 removes the entry). */
int crdt_version_set(struct crdt_version *ver, uint32_t agent, uint32_t next);
/* Makes room for n more entries: the next n crdt_version_set() calls cannot fail. */
int crdt_version_reserve(struct crdt_version *ver, size_t n);
uint32_t crdt_version_get(const struct crdt_version *ver, uint32_t agent);
/* dst = src (dst's old contents are replaced). */
int crdt_version_copy(struct crdt_version *dst, const struct crdt_version *src);
/* True when a has seen everything b has. */
bool crdt_version_includes(const struct crdt_version *a, const struct crdt_version *b);
/* Appends the 'V' encoding of ver to out. */
int crdt_version_encode(const struct crdt_version *ver, struct crdt_buf *out);
/* Replaces ver's contents with the decoded vector; ver is unchanged on error. */
int crdt_version_decode(struct crdt_version *ver, const uint8_t *data, size_t len);

/* ---- Documents ---------------------------------------------------------- */

struct crdt_doc;

/*
 * Called for every visible change a remote operation makes, in order, so an
 * editor can mirror the document without re-reading it: at code point pos,
 * del code points were removed and then the UTF-8 text ins (ins_len bytes,
 * borrowed for the call only) was inserted.  Never called for local edits.
 */
typedef void crdt_change_cb(void *ud, size_t pos, size_t del, const char *ins, size_t ins_len);

/* A new, empty document.  alloc is borrowed (NULL = libc).  NULL on OOM. */
struct crdt_doc *crdt_doc_create(const struct crdt_allocator *alloc);
/* Frees doc and everything it holds; accepts NULL. */
void crdt_doc_destroy(struct crdt_doc *doc);

/* Sets (or with cb == NULL clears) the change observer. */
void crdt_doc_observe(struct crdt_doc *doc, crdt_change_cb *cb, void *ud);

/* Visible length in code points, in UTF-8 bytes, and in UTF-16 units. */
size_t crdt_len(const struct crdt_doc *doc);
size_t crdt_len_bytes(const struct crdt_doc *doc);
size_t crdt_len16(const struct crdt_doc *doc);

/*
 * Copies the visible text as UTF-8 into buf (at most cap bytes, no
 * terminator) and returns its full byte length, so a caller can size buf
 * with a first call with cap == 0.
 */
size_t crdt_text(const struct crdt_doc *doc, char *buf, size_t cap);

/*
 * Local edits by agent.  pos and count are in code points.  The new
 * operations take the agent's next seqs.  Invalid UTF-8 is refused with
 * CRDT_EUTF8 and nothing changes; so is a range past the end (CRDT_ERANGE).
 */
int crdt_insert(struct crdt_doc *doc, uint32_t agent, size_t pos, const char *utf8, size_t nbytes);
int crdt_delete(struct crdt_doc *doc, uint32_t agent, size_t pos, size_t count);

/*
 * The same in UTF-16 units, as JavaScript and editors count: pos16 and
 * count16 in UTF-16 units of the visible text.  A position or range end
 * inside a surrogate pair is refused with CRDT_ERANGE, like one past the end.
 */
int crdt_insert16(struct crdt_doc *doc, uint32_t agent, size_t pos16, const char *utf8,
		  size_t nbytes);
int crdt_delete16(struct crdt_doc *doc, uint32_t agent, size_t pos16, size_t count16);

/*
 * Positions of the visible text, code points to UTF-16 units and back, in
 * O(log n) without copying the text.  Past the end clamps to the end; a
 * UTF-16 offset inside a surrogate pair rounds down (*mid, when not NULL,
 * is set then, else cleared).
 */
size_t crdt_pos_to16(const struct crdt_doc *doc, size_t pos);
size_t crdt_pos_from16(const struct crdt_doc *doc, size_t pos16, bool *mid);

/* The version the document is at (ver's old contents are replaced). */
int crdt_doc_version(const struct crdt_doc *doc, struct crdt_version *ver);
/*
 * One entry of it, without allocating: the agent's operations 0 .. next-1
 * are merged (0 for an agent the document has nothing of).
 */
uint32_t crdt_doc_next(const struct crdt_doc *doc, uint32_t agent);
/* How many operations arrived whose dependencies are still missing. */
size_t crdt_pending(const struct crdt_doc *doc);
/* Number of operations applied (the document's local clock). */
size_t crdt_op_count(const struct crdt_doc *doc);

/*
 * Appends to out an update holding exactly the operations doc has and
 * since lacks (since == NULL: all of them).
 */
int crdt_encode_since(const struct crdt_doc *doc, const struct crdt_version *since,
		      struct crdt_buf *out);

/*
 * Appends to out an update holding the operations that until has and since
 * lacks (since == NULL: from the start; until == NULL: everything doc has).
 * Operations in until that doc does not have are simply not included.
 */
int crdt_encode_between(const struct crdt_doc *doc, const struct crdt_version *since,
			const struct crdt_version *until, struct crdt_buf *out);

/*
 * Appends to out a snapshot of the whole document with its history (format
 * 2).  The same document always gives the same bytes, natively and in wasm.
 */
int crdt_encode_doc(const struct crdt_doc *doc, struct crdt_buf *out);

/*
 * Merges an update or a snapshot.  Operations already known are ignored;
 * those whose dependencies are missing are kept pending until they arrive.
 * Input that is malformed, truncated, of another format version, or that
 * names a deletion as a character, is refused (CRDT_EDECODE,
 * CRDT_ETRUNCATED, CRDT_EFORMAT) with the document unchanged.  On
 * CRDT_ENOMEM, or CRDT_ELIMIT when too much is pending, the document stays
 * consistent and holds a causal prefix of the update; applying the same
 * bytes again later completes it, so nothing is lost.  A snapshot loaded
 * into an empty document (no operations, none pending) is all or nothing:
 * on any error the document is still empty; the observer then hears the
 * whole text as insertions at increasing positions.  data is borrowed for
 * the call only.  The document keeps nothing for the next update (local
 * edits keep a few spare nodes, ~4 KB, for the next keystroke).
 */
int crdt_apply(struct crdt_doc *doc, const uint8_t *data, size_t len);

/*
 * A change list: what one crdt_apply_changes() did to the visible text, as
 * replacements of ranges of the text before the call, sorted and not
 * overlapping (CodeMirror's ChangeSpec array): replacing each [from, to)
 * of the old text by its inserted text, all positions read in the old
 * text, gives the new text.  Pure insertions may share a position; they
 * apply in order.  A change's inserted text is typed by one agent: pieces by
 * different agents are separate changes.
 */
struct crdt_change {
	size_t from, to;     /* code points of the old text */
	size_t from16, to16; /* the same in UTF-16 units */
	size_t ins;	     /* inserted text: bytes ins .. ins+ins_len-1 of the list's text */
	size_t ins_len;	     /* UTF-8 bytes (0: a pure deletion) */
	size_t ins_len16;    /* UTF-16 units */
	uint32_t agent;	     /* who typed the inserted text (0 when there is none) */
};

struct crdt_changes {
	struct crdt_change *v;
	size_t len, cap;
	struct crdt_buf text;		    /* the inserted texts, UTF-8, one after another */
	const struct crdt_allocator *alloc; /* borrowed; NULL = libc */
};

void crdt_changes_init(struct crdt_changes *ch, const struct crdt_allocator *alloc);
void crdt_changes_finish(struct crdt_changes *ch); /* accepts NULL */

/*
 * crdt_apply(), reporting in ch (its old contents replaced) every visible
 * change the call made, operations that waited in the pending buffer and
 * were applied now included.  The list is filled whatever crdt_apply()
 * returns, so it describes the document as it is after a partial apply;
 * only when filling it fails for want of memory does this return
 * CRDT_ENOMEM with ch empty, and a caller mirroring the text must then read
 * it again.  O((k log k) + k log n) for k pieces of text changed.
 */
int crdt_apply_changes(struct crdt_doc *doc, const uint8_t *data, size_t len,
		       struct crdt_changes *ch);

/*
 * What an update or snapshot holds, read without applying it, so a server
 * can check who wrote it and how large it is before merging it.
 */
struct crdt_update_info {
	size_t nops;	     /* operation spans */
	size_t ins_bytes;    /* UTF-8 bytes of inserted text */
	size_t del_count;    /* characters deleted */
	size_t nauthors;     /* distinct authoring agents; 9 means "more than 8" */
	uint32_t authors[8]; /* the first 8 of them, in order of appearance */
};

/*
 * Decodes data (an update or a snapshot) far enough to fill *info, with
 * the same validation as crdt_apply(), except that a format-2 snapshot is
 * read from its header and columns only (cheap whatever text it expands
 * to; its positions, text and UTF-8 are checked when it is applied).  For a
 * snapshot, nops counts op-log spans.  alloc is borrowed (NULL = libc).
 */
int crdt_update_info(const uint8_t *data, size_t len, struct crdt_update_info *info,
		     const struct crdt_allocator *alloc);

/*
 * Writes to out (appending) the text as it was at version at: the
 * characters inserted by operations in at, less those deleted by
 * operations in at.  at should be a version some replica really had (one
 * closed under causality); the document is not modified.
 */
int crdt_text_at(const struct crdt_doc *doc, const struct crdt_version *at, struct crdt_buf *out);

/* ---- Cursor anchors ------------------------------------------------------ */

/*
 * A position that survives concurrent edits: it names a character by the
 * operation that inserted it, (agent, seq), and a side of it.  assoc 1:
 * just before the character; -1: just after it.  edge set: no character,
 * the start of the text (assoc -1) or its end (assoc 1).  Plain values, to
 * be copied and sent as they are.
 */
struct crdt_anchor {
	uint32_t agent;
	uint32_t seq;
	int assoc; /* 1 or -1 */
	bool edge;
};

/*
 * The anchor of visible position pos (code points; crdt_anchor_at16: UTF-16
 * units).  assoc >= 0 names the character after pos, assoc < 0 the one
 * before (as CodeMirror's and Yjs' assoc do); with no character there (the
 * end, or the start) the anchor is that edge.  CRDT_ERANGE past the end or
 * inside a surrogate pair.  O(log n).
 */
int crdt_anchor_at(const struct crdt_doc *doc, size_t pos, int assoc, struct crdt_anchor *out);
int crdt_anchor_at16(const struct crdt_doc *doc, size_t pos16, int assoc, struct crdt_anchor *out);

/*
 * Where an anchor is in the current visible text, in code points (*pos)
 * and UTF-16 units (*pos16), either may be NULL: beside its character on
 * its side, or, when the character is deleted, where it was (after the
 * visible characters before it).  Returns 0, or 1 when the document does
 * not know the character (yet), or CRDT_EINVAL when (agent, seq) names a
 * deletion.  O(log n).
 */
int crdt_anchor_pos(const struct crdt_doc *doc, const struct crdt_anchor *a, size_t *pos,
		    size_t *pos16);

/* ---- Authorship ---------------------------------------------------------- */

/* A stretch of visible text typed by one agent. */
struct crdt_author_run {
	uint32_t agent;
	size_t len;   /* code points */
	size_t len16; /* UTF-16 units */
};

struct crdt_authors {
	struct crdt_author_run *v;
	size_t len, cap;
	const struct crdt_allocator *alloc; /* borrowed; NULL = libc */
};

void crdt_authors_init(struct crdt_authors *au, const struct crdt_allocator *alloc);
void crdt_authors_finish(struct crdt_authors *au); /* accepts NULL */

/*
 * Who typed [from, to) of the visible text (units: code points, or UTF-16
 * when utf16 is set; to is clamped to the end), as runs in text order,
 * adjacent runs of one agent merged: au's old contents are replaced.  With
 * at non-NULL, of the text as it was at version at (from and to count in
 * that text), as crdt_text_at() reads it.  CRDT_ERANGE when from is past
 * the end or from/to split a surrogate pair.  O(runs + log n) for the
 * current text; O(runs of the document + deletes logged) at a version.
 */
int crdt_authors(const struct crdt_doc *doc, size_t from, size_t to, bool utf16,
		 const struct crdt_version *at, struct crdt_authors *au);

/* ---- UTF-8 / UTF-16 helpers --------------------------------------------- */

/*
 * Validates UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
 * Returns 0 and sets *cps (if non-NULL) to the code point count, or
 * CRDT_EUTF8.
 */
int crdt_utf8_check(const char *s, size_t nbytes, size_t *cps);
/*
 * Converts offsets within valid UTF-8 text s: a UTF-16 offset (what
 * browsers use) to a code point offset and back.  An offset inside a
 * surrogate pair rounds down; offsets past the end clamp to the end.
 */
size_t crdt_utf16_to_cp(const char *s, size_t nbytes, size_t u16);
size_t crdt_cp_to_utf16(const char *s, size_t nbytes, size_t cp);
/* Byte offset of code point cp in valid UTF-8 s (clamped to nbytes). */
size_t crdt_cp_to_byte(const char *s, size_t nbytes, size_t cp);

#ifdef __cplusplus
}
#endif

#endif /* TANDEM_CRDT_H */
