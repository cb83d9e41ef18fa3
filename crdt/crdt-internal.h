/*
 * crdt-internal.h - the document's insides, shared by the files of crdt/ and by tests.
 *
 * Other modules include only crdt.h.  Tests include this header to walk the
 * structure after every step (crdt__check).
 *
 * Local versions.  Every operation a document applies, local or remote, gets
 * the next number of the document's own clock, its local version (LV).  An
 * operation's global name (agent, seq) maps to its LV through the op log
 * (from a few sampled spans per agent), and back the same way.  Internally
 * everything refers to LVs: they are dense, so a run of characters is just
 * an LV range.
 *
 * Four structures hold a document:
 *  - the text arena: every inserted byte ever, in LV order (deleted text
 *    stays, so any earlier version can be read back);
 *  - the op log: run-length encoded operation spans in LV order (what was
 *    done, by whom), the source of every encoding;
 *  - the content tree: a B-tree of item runs in document order, tombstones
 *    included, whose inner nodes count visible and total characters;
 *  - the index: LV ranges to the leaf holding them, for remote operations.
 */
#ifndef TANDEM_CRDT_INTERNAL_H
#define TANDEM_CRDT_INTERNAL_H

#include "crdt.h"

typedef uint32_t crdt_lv;
#define LV_NONE UINT32_MAX

/* ---- allocation --------------------------------------------------------- */

void *crdt__alloc(const struct crdt_allocator *a, size_t size);
void *crdt__realloc(const struct crdt_allocator *a, void *p, size_t old_size, size_t new_size);
void crdt__free(const struct crdt_allocator *a, void *p, size_t size);
/* Grows *arr (elements of elem bytes, capacity *cap) to hold at least need. */
int crdt__grow_to(const struct crdt_allocator *a, void **arr, size_t *cap, size_t need, size_t elem,
		  int shift);
static inline int crdt__grow(const struct crdt_allocator *a, void **arr, size_t *cap, size_t need,
			     size_t elem)
{
	return need <= *cap ? 0 : crdt__grow_to(a, arr, cap, need, elem, 1);
}
/*
 * The same, by a quarter at a time: for a document's logs (op spans,
 * samples, text), which only grow and which a server holds hundreds of, so
 * their unused tails cost more than the extra copies (~11% of a log on
 * average instead of ~20%).  Not by less: under the load benchmark an
 * eighth left the server's peak 2-4 MB higher, in the holes that the
 * moving arrays leave in malloc's heap.
 */
static inline int crdt__grow_log(const struct crdt_allocator *a, void **arr, size_t *cap,
				 size_t need, size_t elem)
{
	return need <= *cap ? 0 : crdt__grow_to(a, arr, cap, need, elem, 2);
}

/* ---- varints ------------------------------------------------------------ */

int crdt__buf_reserve(struct crdt_buf *b, size_t extra);
int crdt__put_bytes(struct crdt_buf *b, const void *p, size_t n);
int crdt__put_varint(struct crdt_buf *b, uint64_t v);

/* Signed integers as varints: 0, -1, 1, -2, ... become 0, 1, 2, 3, ... */
static inline uint64_t crdt__zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t crdt__unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* A bounded reader: every get checks the remaining length. */
struct crdt__reader {
	const uint8_t *p;
	const uint8_t *end;
};
int crdt__get_varint(struct crdt__reader *r, uint64_t *v);
int crdt__get_u32(struct crdt__reader *r, uint32_t *v);
int crdt__get_bytes(struct crdt__reader *r, const uint8_t **p, size_t n);
/* Reads the format version (CRDT_EFORMAT when not ours) and the kind byte. */
int crdt__get_header(struct crdt__reader *r, uint8_t *kind);
/* Reads an agent table (count, then distinct ids); *ids is freed with a. */
int crdt__get_agent_table(const struct crdt_allocator *a, struct crdt__reader *r, uint32_t **ids,
			  uint32_t *n);

/* ---- UTF-8 -------------------------------------------------------------- */

/* Byte offset of code point cp within n bytes of valid UTF-8. */
size_t crdt__utf8_skip(const char *s, size_t n, size_t cp);
/* UTF-16 units of n bytes of valid UTF-8 (a unit a character, two above U+FFFF). */
size_t crdt__utf16_count(const char *s, size_t n);

/* ---- the content tree --------------------------------------------------- */

/*
 * An item run: len characters with consecutive LVs lv .. lv+len-1, all
 * inserted by one operation span, all visible or all deleted.  Its origins
 * and its UTF-8 text are its op span's (crdt__run_ol(), crdt__run_orr(),
 * crdt__run_bytes()), so a run stores neither: a server holds a run per
 * keystroke typed at a new place, and 8 bytes a run is what it pays.
 *
 * Two bits say what its text is made of, so that the common cases need no
 * look at the text: ascii (a byte a character: byte lengths are len) and
 * bmp (no character above U+FFFF: UTF-16 lengths are len).  They may be
 * clear for a run that qualifies (a piece of a span that does not), never
 * set for one that does not.
 */
struct run {
	crdt_lv lv;
	uint32_t len : 29; /* <= RUN_MAX */
	uint32_t ascii : 1;
	uint32_t bmp : 1;
	uint32_t deleted : 1;
};

/* The longest run (an insert of more characters is refused: CRDT_ELIMIT). */
#define RUN_MAX 0x1fffffffu
/* The text arena's limit: byte offsets and UTF-16 counts fit in 32 bits. */
#define TEXT_MAX 0x7fffffffu

#define LEAF_CAP 32
#define NODE_CAP 16

/*
 * Tree nodes.  A node's counts describe the subtree below each child; the
 * document keeps the root's totals.  Leaves are chained in document order.
 */
struct node {
	uint16_t leaf;
	uint16_t n;
	uint32_t id; /* a leaf's number in doc->leaves (what the index stores) */
	struct node *parent;
};

struct inner {
	struct node h;
	uint32_t vis[NODE_CAP];
	uint32_t tot[NODE_CAP];
	struct node *child[NODE_CAP];
	/* Visible UTF-16 units; last, so that descents by vis touch what they did before. */
	uint32_t vis16[NODE_CAP];
};

struct leaf {
	struct node h;
	struct leaf *prev, *next;
	struct run r[LEAF_CAP];
};

/* A position in the tree: run i of leaf, character off within it. */
struct cursor {
	struct leaf *leaf;
	uint32_t i;
	uint32_t off;
};

/* ---- the op log --------------------------------------------------------- */

enum { SPAN_INS = 0, SPAN_DEL = 1 };

/*
 * An op span: len operations with LVs lv .. lv+len-1 by agent (index into
 * doc->agents) with seqs seq .. seq+len-1.  An insert span's character k
 * has left origin a (k == 0) or lv+k-1, right origin b, and its text is
 * nbytes bytes at byte in the arena.  A delete span's operation k deletes the character
 * a + k (dir > 0) or a - k (dir < 0).
 *
 * Spans tile LV space and their texts tile the arena, both in log order, so
 * len and nbytes are not stored: they run up to the next span's lv and byte
 * (the document's next_lv and text_len for the last), see crdt__span_len()
 * and crdt__span_nbytes().  A server holds a span per keystroke typed at a
 * new place; this keeps one at 24 bytes.
 */
struct span {
	crdt_lv lv;
	uint32_t agent : 29; /* < AGENTS_MAX */
	uint32_t kind : 1;
	signed int dir : 2;
	uint32_t seq;
	crdt_lv a;
	crdt_lv b;
	uint32_t byte; /* a delete's is where the arena ended when it was logged */
};

/* Agents a document can name: the index shares a word with kind and dir. */
#define AGENTS_MAX (1u << 29)

/*
 * From an agent's seq to its LV.  An agent's spans appear in the log in seq
 * order, with no gaps, so a seq is found by scanning the log forwards from
 * a nearby span of the agent.  The agent keeps a few of its spans' indices
 * as starting points (samples): its first span, then one when SAMPLE_SPANS
 * of its spans or SAMPLE_GAP spans of the log went by since the last, so a
 * look-up scans at most SAMPLE_GAP spans.  (One entry per span would cost a
 * server 8 bytes a keystroke: two people typing in turn make every
 * keystroke a span of its own.  A sample every 8 costs 0.5 bytes a
 * keystroke; every 16 saved 0.25 of them and made a server's merge ~5%
 * slower, the scans being most of a look-up's cache misses.)
 */
#define SAMPLE_SPANS 8
#define SAMPLE_GAP   32

struct agent {
	uint32_t id;
	uint32_t next;	   /* seqs 0 .. next-1 are applied */
	uint32_t since;	   /* the agent's spans logged after its last sample */
	uint32_t last;	   /* index of its newest span (valid when nsamples > 0) */
	uint32_t *samples; /* indices into doc->ops, increasing */
	size_t nsamples, capsamples;
};

/*
 * Checkpoints of the text arena, so that finding a character's bytes or
 * UTF-16 offset never walks more than CK_STEP characters of text.  Let B(lv)
 * be the arena bytes of the characters inserted by operations before lv,
 * and U(lv) their UTF-16 units (deletes add nothing to either).  The arena
 * holds inserted text in LV order, so character lv of an insert span starts
 * at byte B(lv), and U is a function of the arena offset alone.  ck[j]
 * holds B and U at LV j * CK_STEP, for every such LV up to next_lv: 8 bytes
 * every 64 operations.
 */
#define CK_SHIFT 6
#define CK_STEP	 (1u << CK_SHIFT)

struct ckpt {
	uint32_t byte;
	uint32_t u16;
};

/* ---- the LV -> leaf index ----------------------------------------------- */

/*
 * An entry says: LVs from lv up to the next entry's lv live in leaf (a
 * leaf's id, half the size of a pointer: a server's index has an entry for
 * nearly every keystroke typed at a new place).
 */
struct ientry {
	crdt_lv lv;
	uint32_t leaf;
};

#define LEAF_NONE UINT32_MAX

#define IBLOCK_CAP 64
struct iblock {
	uint32_t n;
	union {
		struct ientry e[IBLOCK_CAP];
		struct iblock *spare; /* next spare, while unused */
	};
};

/* ---- a decoded remote operation ----------------------------------------- */

struct rop {
	uint32_t agent; /* global agent id */
	uint32_t seq;
	uint32_t len;
	int8_t kind;
	int8_t dir;
	/* insert: origins; delete: first target (agent id, seq) */
	uint32_t a_agent, a_seq;
	uint32_t b_agent, b_seq;
	int a_none, b_none;
	const uint8_t *text; /* insert: UTF-8 bytes (borrowed or owned) */
	uint32_t nbytes;
};

/* ---- what an apply deleted ---------------------------------------------- */

/*
 * While crdt_apply_changes() runs: the characters that were visible before
 * the call (LVs below lv0) and that it deleted, as LV ranges [lo, hi).
 */
struct lvrange {
	crdt_lv lo, hi;
};

struct track {
	crdt_lv lv0;
	struct lvrange *v;
	size_t n, cap;
};

/* ---- the document ------------------------------------------------------- */

struct crdt_doc {
	struct crdt_allocator alloc_store;
	const struct crdt_allocator *alloc;

	/* text arena and its checkpoints */
	char *text;
	size_t text_len, text_cap;
	struct ckpt *ck;
	size_t nck, capck;

	/* op log */
	struct span *ops;
	size_t nops, capops;
	crdt_lv next_lv;

	/* agents, and their ids sorted for lookup */
	struct agent *agents;
	size_t nagents, capagents;
	uint32_t *by_id; /* agent indices sorted by id */
	size_t capby_id;

	/* content tree */
	struct node *root;
	int height; /* 0: root is a leaf */
	size_t vis_len, tot_len, vis_bytes, vis16_len;
	struct leaf *first;
	struct leaf **leaves; /* by id; leaves are never freed before the document */
	size_t nleaves, capleaves;

	/* spare nodes, reserved before a mutation so it cannot fail halfway */
	struct node *spare_leaves;
	struct node *spare_inners;
	int nspare_leaves, nspare_inners;

	/* index */
	struct iblock **iblocks;
	size_t niblocks, capiblocks;
	struct iblock *spare_iblocks;
	int nspare_iblocks;

	/* pending remote operations */
	struct rop *pending;
	size_t npending, cappending;
	size_t pending_bytes;
	size_t poisoned; /* pending ops dropped for naming deletes as characters */

	crdt_change_cb *on_change;
	void *on_change_ud;
	struct track *track; /* NULL but during crdt_apply_changes() */

	/*
	 * Set while the snapshot loader builds a scratch document: the index
	 * is not kept up to date (crdt__index_set does nothing) and is built
	 * once at the end (crdt__index_rebuild); deletes leave the visible
	 * counts (vis, vis16, vis_bytes) as they were, and only the total
	 * counts, which positions are found by, stay exact until
	 * crdt__recount() sets every count from the runs.
	 */
	int bulk;
};

/* The length and text bytes of span s, an element of doc->ops. */
static inline uint32_t crdt__span_len(const struct crdt_doc *doc, const struct span *s)
{
	return (s + 1 < doc->ops + doc->nops ? s[1].lv : doc->next_lv) - s->lv;
}

static inline uint32_t crdt__span_nbytes(const struct crdt_doc *doc, const struct span *s)
{
	return (uint32_t)((s + 1 < doc->ops + doc->nops ? s[1].byte : doc->text_len) - s->byte);
}

/* tree.c */
int crdt__tree_init(struct crdt_doc *doc);
void crdt__tree_finish(struct crdt_doc *doc);
int crdt__reserve_nodes(struct crdt_doc *doc, int splits);
void crdt__spares_release(struct crdt_doc *doc);
/* Sets every count of the tree and the document's totals from the runs (after a bulk load). */
void crdt__recount(struct crdt_doc *doc);
void crdt__find_vis(const struct crdt_doc *doc, size_t pos, struct cursor *c);
void crdt__find_tot(const struct crdt_doc *doc, size_t pos, struct cursor *c, size_t *vis_before);
size_t crdt__pos_tot(const struct crdt_doc *doc, const struct leaf *leaf, uint32_t i);
size_t crdt__pos_vis(const struct crdt_doc *doc, const struct leaf *leaf, uint32_t i);
int crdt__find_lv(const struct crdt_doc *doc, crdt_lv lv, struct cursor *c);
void crdt__split(struct crdt_doc *doc, struct cursor *c);
/* Inserts run r (u16 UTF-16 units of text) at c. */
void crdt__insert_run(struct crdt_doc *doc, struct cursor *c, const struct run *r, size_t u16);
void crdt__adjust(struct crdt_doc *doc, struct leaf *leaf, int32_t dvis, int32_t dtot,
		  int32_t dvis16);
/*
 * Visible UTF-16 positions: the cursor at visible UTF-16 offset pos16 (*mid
 * set when it falls inside a surrogate pair: the cursor is then at that
 * character), and the UTF-16 offset of run i of leaf.
 */
void crdt__find_vis16(const struct crdt_doc *doc, size_t pos16, struct cursor *c, int *mid);
size_t crdt__pos_vis16(const struct crdt_doc *doc, const struct leaf *leaf, uint32_t i);
/* All three positions of run i of leaf at once: total, visible, visible UTF-16. */
void crdt__pos_all(const struct crdt_doc *doc, const struct leaf *leaf, uint32_t i, size_t *tot,
		   size_t *vis, size_t *vis16);

/* index.c */
void crdt__index_finish(struct crdt_doc *doc);
void crdt__index_spares_release(struct crdt_doc *doc);
int crdt__index_reserve(struct crdt_doc *doc, size_t entries);
void crdt__index_set(struct crdt_doc *doc, crdt_lv lo, crdt_lv hi, struct leaf *leaf);
struct leaf *crdt__index_get(const struct crdt_doc *doc, crdt_lv lv);
/*
 * Replaces the index with one made from the tree in one pass (the snapshot
 * loader's, after a bulk build).  On CRDT_ENOMEM the index is empty.
 */
int crdt__index_rebuild(struct crdt_doc *doc);
/* Sorts n pairs by lv (a radix sort; tmp holds n more); equal lvs keep their order. */
void crdt__sort_by_lv(struct ientry *e, struct ientry *tmp, size_t n);

/* oplog.c */
int crdt__agent_index(struct crdt_doc *doc, uint32_t id, uint32_t *idx);
int crdt__agent_find(const struct crdt_doc *doc, uint32_t id);
/*
 * The LV of agent's seq (LV_NONE if the document lacks it); *up gets how
 * many LVs from it on lie in the same span (its own included), *down how
 * many up to it, *kind the span's kind (each may be NULL).  A range checked
 * within *up needs no other look-up.
 */
crdt_lv crdt__seq_to_lv_kind(const struct crdt_doc *doc, uint32_t agent, uint32_t seq, uint32_t *up,
			     uint32_t *down, int *kind);

static inline crdt_lv crdt__seq_to_lv(const struct crdt_doc *doc, uint32_t agent, uint32_t seq,
				      uint32_t *up, uint32_t *down)
{
	return crdt__seq_to_lv_kind(doc, agent, seq, up, down, NULL);
}
size_t crdt__span_at(const struct crdt_doc *doc, crdt_lv lv);
/*
 * The origins of run r's first character: the left one (its span's left
 * origin, or the character before it in the span), and the right one (its
 * span's, shared by every character of the span).
 */
crdt_lv crdt__run_ol(const struct crdt_doc *doc, const struct run *r);
crdt_lv crdt__run_orr(const struct crdt_doc *doc, const struct run *r);
/*
 * Where characters k0 .. k1 (k0 <= k1 <= its length) of span s lie in the
 * arena: from *b0 up to *b1 (a byte a character when the span is ASCII).
 */
void crdt__span_bytes(const struct crdt_doc *doc, const struct span *s, uint32_t k0, uint32_t k1,
		      uint32_t *b0, uint32_t *b1);
/* The same for characters off0 .. off1 of run r (off1 == r->len: to its end). */
void crdt__run_bytes(const struct crdt_doc *doc, const struct run *r, uint32_t off0, uint32_t off1,
		     uint32_t *b0, uint32_t *b1);
/*
 * The same, for a caller reading runs in text order: hint is where the last
 * piece ended (its LV and byte; lv LV_NONE at first), often a few
 * characters before this one, and is set to where this one ends.
 */
struct crdt__bpos {
	crdt_lv lv;
	uint32_t byte;
};
void crdt__span_bytes_near(const struct crdt_doc *doc, const struct span *s, uint32_t k0,
			   uint32_t k1, struct crdt__bpos *hint, uint32_t *b0, uint32_t *b1);
void crdt__run_bytes_near(const struct crdt_doc *doc, const struct run *r, uint32_t off0,
			  uint32_t off1, struct crdt__bpos *hint, uint32_t *b0, uint32_t *b1);
/* The run's text size in bytes. */
uint32_t crdt__run_nbytes(const struct crdt_doc *doc, const struct run *r);
/* UTF-16 units of characters 0 .. off-1 of run r (off == r->len: all of it). */
uint32_t crdt__run_u16_text(const struct crdt_doc *doc, const struct run *r, uint32_t off);
static inline uint32_t crdt__run_u16(const struct crdt_doc *doc, const struct run *r, uint32_t off)
{
	return r->bmp ? off : crdt__run_u16_text(doc, r, off);
}
/*
 * The character of run r at UTF-16 offset u16 within it (u16 < its UTF-16
 * length); *mid is set when u16 falls between the halves of a pair.
 */
uint32_t crdt__run_cp_at(const struct crdt_doc *doc, const struct run *r, uint32_t u16, int *mid);
/*
 * Sets r's ascii and bmp bits (see struct run) for its text, nbytes of
 * valid UTF-8 holding cps characters, and returns the text's UTF-16 units.
 */
size_t crdt__run_kind_text(struct run *r, const char *text, size_t nbytes, size_t cps);
static inline size_t crdt__run_kind(struct run *r, const char *text, size_t nbytes, size_t cps)
{
	if (nbytes != cps)
		return crdt__run_kind_text(r, text, nbytes, cps);
	r->ascii = 1;
	r->bmp = 1;
	return cps;
}
/*
 * Reserves room to log one more span of lvs operations by agent with
 * text_bytes of text (the arena, the op log, the agent's samples and the
 * checkpoints).
 */
int crdt__log_reserve(struct crdt_doc *doc, uint32_t agent, size_t text_bytes, size_t lvs);
/* Room for checkpoints up to LV next_lv + lvs. */
int crdt__ck_reserve(struct crdt_doc *doc, size_t lvs);
/*
 * Logs the len operations of s, whose text (if any) the arena already ends
 * with (s->byte is where it starts, or the arena's end for a delete).
 */
void crdt__log_push(struct crdt_doc *doc, const struct span *s, uint32_t len);

/* encode.c */
/*
 * Calls fn for every piece of text visible at version at, in text order:
 * characters off0 .. off1-1 of run r.  fn returns 0 to go on, 1 to stop, or
 * an error, which the walk returns.
 */
typedef int crdt__piece_fn(void *ud, const struct run *r, uint32_t off0, uint32_t off1);
int crdt__walk_at(const struct crdt_doc *doc, const struct crdt_version *at, crdt__piece_fn *fn,
		  void *ud);
int crdt__decode_update(struct crdt_doc *doc, const uint8_t *data, size_t len, struct rop **ops,
			size_t *nops);

/* snapshot.c */
/* Decodes a format-1 snapshot (after its header) into remote operations. */
int crdt__decode_snapshot(struct crdt_doc *doc, struct crdt__reader *r, struct rop **ops,
			  size_t *nops);
/* Is data a format-2 snapshot (which crdt_apply and crdt_update_info hand over)? */
int crdt__is_snapshot2(const uint8_t *data, size_t len);
int crdt__apply_snapshot2(struct crdt_doc *doc, const uint8_t *data, size_t len);
int crdt__snapshot2_info(const uint8_t *data, size_t len, struct crdt_update_info *info,
			 const struct crdt_allocator *alloc);

/* doc.c */
/* The run before cursor c in document order (its leaf and index too), or NULL at the start. */
struct run *crdt__run_before(const struct cursor *c, struct leaf **leaf, uint32_t *idx);
/*
 * Places the freshly logged insert run r (nbytes of text, u16 UTF-16 units)
 * at cursor c, on the run before it when r continues it; the nodes were
 * reserved.
 */
void crdt__place_run(struct crdt_doc *doc, struct cursor *c, const struct run *r, size_t nbytes,
		     size_t u16);
/*
 * Marks n characters from cursor c deleted (within its run), merging the
 * piece with its neighbours; returns its visible position when want_pos.
 */
size_t crdt__delete_in_run(struct crdt_doc *doc, struct cursor *c, uint32_t n, int want_pos);
/* crdt_insert() at pos in code points, or in UTF-16 units when utf16 is set. */
int crdt__insert(struct crdt_doc *doc, uint32_t agent, size_t pos, bool utf16, const char *utf8,
		 size_t nbytes);
int crdt__validate_rops(struct crdt_doc *doc, const struct rop *ops, size_t n);
int crdt__apply_rops(struct crdt_doc *doc, struct rop *ops, size_t n, int owned);

int crdt__check(const struct crdt_doc *doc);
size_t crdt__run_count(const struct crdt_doc *doc);

#endif /* TANDEM_CRDT_INTERNAL_H */
