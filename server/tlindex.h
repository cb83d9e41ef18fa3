/*
 * tlindex.h - the scrub index of a room's timeline: the version vector of
 * the document at any moment, without replaying anything.
 *
 * Boundary: memory and crdt_version arithmetic only; no I/O, no Redis, no
 * PostgreSQL, no clock.  timeline.c keeps one per loaded room and feeds it
 * every edit (its time, seq and the version entries of its authors after
 * it); tests/server/test-tlindex.c drives it alone.
 *
 * Shape: one mark per edit, 12 bytes (struct tl_mark), grouped in blocks
 * of TLINDEX_CP_EVERY marks; after every block the whole version vector is
 * kept as a checkpoint.  The version of a moment is a binary search over
 * the marks' times, one checkpoint copy and at most TLINDEX_CP_EVERY - 1
 * merges.  Marks' times never decrease (an edit stamped earlier than the
 * last mark is filed at the last mark's time).
 *
 * Appending is done in two steps, so that an edit the document has merged
 * always gets into the index: tlindex_reserve() finds what the mark needs
 * and makes room for it, and may fail; tlindex_put() then cannot.  The
 * caller merges the edit into its document in between.
 *
 * Errors are timeline.h's codes: TIMELINE_E_NOMEM and TIMELINE_E_LIMIT
 * (2^32 seqs, or 2^32 spilled entries, in one room).
 */
#ifndef TANDEM_TLINDEX_H
#define TANDEM_TLINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crdt.h"

#define TLINDEX_CP_EVERY 256

/*
 * One edit.  A busy room has one per keystroke, so a mark is 12 bytes,
 * most of it relative to its block (struct tl_block): its time in
 * milliseconds after the block's first mark's, its seq after the block's
 * first seq, and its version entry as an index into the agent table with
 * that agent's next seq.  A block whose next edit comes 2^32 ms (49 days)
 * or 2^16 events after its first is filled up with copies of its last
 * mark: a copy changes no answer.  An edit by several agents, or by an
 * agent the table has no room for, keeps its entries in ent[]: agent is
 * TLINDEX_MANY, ent[next].agent their number, and the entries follow it.
 */
struct tl_mark {
	uint32_t moff;	/* time: the block's at + moff */
	uint32_t next;	/* the agent's next seq, or the place of its entries in ent[] */
	uint16_t agent; /* index in agents[], or TLINDEX_MANY */
	uint16_t dseq;	/* seq: the block's seq + dseq */
};

struct tl_block {
	int64_t at;   /* time of the block's first mark */
	uint32_t seq; /* its seq (seqs stop at UINT32_MAX: TIMELINE_E_LIMIT) */
};

#define TLINDEX_MANY	   0xffffu
#define TLINDEX_AGENTS_CAP 256 /* agents the table names; more are rare, and go to ent[] */

/* Lives in caller memory; zeroed (tlindex_init()) it is empty. */
struct tlindex {
	struct tl_mark *mk;   /* times non-decreasing */
	struct tl_block *blk; /* blk[i / TLINDEX_CP_EVERY]: the base of mark i */
	size_t nmk, capmk, capblk;
	uint32_t *agents; /* the agents marks name, by index */
	size_t nagents, capagents;
	struct crdt_version_entry *ent;
	size_t nent, capent;
	struct crdt_version *cp; /* cp[k]: version after mark (k + 1) * TLINDEX_CP_EVERY - 1 */
	size_t ncp, capcp;
};

/* What tlindex_reserve() set aside for one mark (caller memory). */
struct tlindex_resv {
	int64_t at;		 /* the mark's time (never before the last mark's) */
	size_t pad;		 /* copies of the last mark that close its block first */
	bool cp;		 /* this mark completes a block */
	struct crdt_version cpv; /* the checkpoint then, prepared */
};

void tlindex_init(struct tlindex *ix);
/* Frees what ix holds; it is empty (and usable) after.  Accepts NULL. */
void tlindex_finish(struct tlindex *ix);
/* Marks held (copies included). */
size_t tlindex_len(const struct tlindex *ix);
/* Time of the last mark; 0 when empty. */
int64_t tlindex_last_at(const struct tlindex *ix);

/*
 * Makes room for a mark at time at and seq with entries ver/nver (borrowed
 * for the call); the mark put later may name a subset of those agents.
 * Changes nothing the index answers.  Returns 0 (then r must go to
 * tlindex_put() or tlindex_unreserve()), TIMELINE_E_NOMEM or _LIMIT.
 */
int tlindex_reserve(struct tlindex *ix, int64_t at, uint64_t seq,
		    const struct crdt_version_entry *ver, size_t nver, struct tlindex_resv *r);
/*
 * Appends the reserved mark for seq with entries ver/nver (at most those
 * reserved, and of the same agents); consumes r.  Cannot fail.
 */
void tlindex_put(struct tlindex *ix, uint64_t seq, const struct crdt_version_entry *ver,
		 size_t nver, struct tlindex_resv *r);
/* Drops a reservation not used.  Accepts one already consumed or zeroed. */
void tlindex_unreserve(struct tlindex_resv *r);
/* Both steps at once; 0, TIMELINE_E_NOMEM or _LIMIT. */
int tlindex_add(struct tlindex *ix, int64_t at, uint64_t seq, const struct crdt_version_entry *ver,
		size_t nver);

/*
 * The version vector at unix ms at_ms: the entries of every mark up to
 * at_ms, into ver (old contents replaced).  *seq is the last mark's seq at
 * or before at_ms (0: none, ver empty).  Returns 0 or TIMELINE_E_NOMEM.
 */
int tlindex_version_at(const struct tlindex *ix, int64_t at_ms, struct crdt_version *ver,
		       uint64_t *seq);

#endif
