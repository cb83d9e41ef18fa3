/*
 * tlindex.c - the scrub index (see tlindex.h for its shape).
 *
 * It exists apart from timeline.c so it can be read and tested without
 * Redis or PostgreSQL.  It must never do I/O, and never leave a reserved
 * mark unable to be put: whatever can fail happens in tlindex_reserve().
 */
#include <stdlib.h>
#include <string.h>

#include "timeline.h"
#include "tlindex.h"

/*
 * Grows *arr (of *cap elements of size elem) by a quarter to hold need; 0
 * or -1.  The index only grows, and a server holds one per room: a smaller
 * unused tail is worth the extra copies (not smaller still: see
 * crdt__grow_log).
 */
static int grow_quarter(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *n;

	while (ncap < need)
		ncap += ncap / 4 > 16 ? ncap / 4 : 16;
	if (ncap == *cap)
		return 0;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return -1;
	*arr = n;
	*cap = ncap;
	return 0;
}

static int64_t mark_at(const struct tlindex *ix, size_t i)
{
	return ix->blk[i / TLINDEX_CP_EVERY].at + ix->mk[i].moff;
}

static uint64_t mark_seq(const struct tlindex *ix, size_t i)
{
	return ix->blk[i / TLINDEX_CP_EVERY].seq + ix->mk[i].dseq;
}

/*
 * Appending a mark is done in two steps, so that an edit the document has
 * merged always gets into the index: tlindex_reserve() finds what the mark
 * needs and makes room for it, and may fail; tlindex_put() then cannot.  The
 * room's server merges the edit in between (timeline_reserve()).  They use
 * the fields at, pad, cp and cpv of struct timeline_resv.
 */

/* v = the entry-wise maximum of v and e[0..n). */
static int merge_entries(struct crdt_version *v, const struct crdt_version_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (crdt_version_get(v, e[i].agent) < e[i].next &&
		    crdt_version_set(v, e[i].agent, e[i].next))
			return TIMELINE_E_NOMEM;
	return 0;
}

/* The index of agent in the room's table; TLINDEX_MANY if it has none. */
static uint16_t agent_slot(const struct tlindex *ix, uint32_t agent)
{
	for (size_t k = 0; k < ix->nagents; k++)
		if (ix->agents[k] == agent)
			return (uint16_t)k;
	return TLINDEX_MANY;
}

/*
 * Makes room for a mark at (time) and seq with entries ver/nver; the mark
 * put later may name a subset of those agents (an author whose operations
 * all wait for others is left out).  Changes nothing the index answers.
 */
int tlindex_reserve(struct tlindex *ix, int64_t at, uint64_t seq,
		    const struct crdt_version_entry *ver, size_t nver, struct tlindex_resv *r)
{
	size_t n;
	bool spill;
	uint64_t s;

	r->pad = 0;
	r->cp = false;
	crdt_version_init(&r->cpv, NULL);
	if (seq > UINT32_MAX || ix->nent + nver + 1 > UINT32_MAX)
		return TIMELINE_E_LIMIT;
	if (ix->nmk) {
		size_t last = ix->nmk - 1;
		const struct tl_block *b = &ix->blk[last / TLINDEX_CP_EVERY];
		int64_t last_at = mark_at(ix, last);

		/* Scrubbing searches by time: keep the marks' times non-decreasing. */
		if (at < last_at)
			at = last_at;
		if (at - b->at > UINT32_MAX || seq - b->seq > UINT16_MAX)
			r->pad = (TLINDEX_CP_EVERY - ix->nmk % TLINDEX_CP_EVERY) % TLINDEX_CP_EVERY;
	}
	r->at = at;
	n = ix->nmk + r->pad + 1;
	r->cp = n / TLINDEX_CP_EVERY > ix->nmk / TLINDEX_CP_EVERY;
	/* Several agents, or one the full table does not name, go to ent[]. */
	spill = nver != 1 ||
		(ix->nagents == TLINDEX_AGENTS_CAP && agent_slot(ix, ver[0].agent) == TLINDEX_MANY);
	if (grow_quarter((void **)&ix->mk, &ix->capmk, n, sizeof(*ix->mk)) ||
	    grow_quarter((void **)&ix->blk, &ix->capblk, (n - 1) / TLINDEX_CP_EVERY + 1,
			 sizeof(*ix->blk)) ||
	    (ix->nagents < TLINDEX_AGENTS_CAP &&
	     grow_quarter((void **)&ix->agents, &ix->capagents, ix->nagents + 1,
			  sizeof(*ix->agents))) ||
	    (spill &&
	     grow_quarter((void **)&ix->ent, &ix->capent, ix->nent + nver + 1, sizeof(*ix->ent))) ||
	    (r->cp && grow_quarter((void **)&ix->cp, &ix->capcp, ix->ncp + 1, sizeof(*ix->cp))))
		return TIMELINE_E_NOMEM;
	if (r->cp && (tlindex_version_at(ix, INT64_MAX, &r->cpv, &s) ||
		      crdt_version_reserve(&r->cpv, nver))) {
		crdt_version_finish(&r->cpv);
		return TIMELINE_E_NOMEM;
	}
	return 0;
}

/* Drops a reservation not used. */
void tlindex_unreserve(struct tlindex_resv *r)
{
	crdt_version_finish(&r->cpv);
}

/* Puts mark i's fields in place (room made); a completed block gets its checkpoint. */
static void mark_put(struct tlindex *ix, struct tlindex_resv *r, int64_t at, uint64_t seq,
		     uint32_t next, uint16_t agent)
{
	size_t i = ix->nmk++;
	struct tl_block *b = &ix->blk[i / TLINDEX_CP_EVERY];

	if (i % TLINDEX_CP_EVERY == 0) {
		b->at = at;
		b->seq = (uint32_t)seq;
	}
	ix->mk[i] = (struct tl_mark){ .moff = (uint32_t)(at - b->at),
				      .next = next,
				      .agent = agent,
				      .dseq = (uint16_t)(seq - b->seq) };
	if (ix->nmk % TLINDEX_CP_EVERY == 0) {
		ix->cp[ix->ncp++] = r->cpv; /* moved */
		crdt_version_init(&r->cpv, NULL);
	}
}

/*
 * Appends the reserved mark for seq with entries ver/nver (at most those
 * reserved, and of the same agents); consumes r.  Cannot fail.
 */
void tlindex_put(struct tlindex *ix, uint64_t seq, const struct crdt_version_entry *ver,
		 size_t nver, struct tlindex_resv *r)
{
	uint16_t slot = TLINDEX_MANY;
	uint32_t next;

	if (r->pad) {
		/* The block's base cannot reach this mark: fill it with copies of its last. */
		struct tl_mark copy = ix->mk[ix->nmk - 1];
		int64_t last_at = mark_at(ix, ix->nmk - 1);
		uint64_t last_seq = mark_seq(ix, ix->nmk - 1);

		for (size_t k = 0; k < r->pad; k++)
			mark_put(ix, r, last_at, last_seq, copy.next, copy.agent);
	}
	if (r->cp && !r->pad) /* this mark completes the block: its checkpoint has it too */
		(void)merge_entries(&r->cpv, ver, nver); /* room reserved: cannot fail */
	if (nver == 1) {
		slot = agent_slot(ix, ver[0].agent);
		if (slot == TLINDEX_MANY && ix->nagents < TLINDEX_AGENTS_CAP) {
			slot = (uint16_t)ix->nagents;
			ix->agents[ix->nagents++] = ver[0].agent;
		}
	}
	if (slot != TLINDEX_MANY) {
		next = ver[0].next;
	} else {
		next = (uint32_t)ix->nent;
		ix->ent[ix->nent++] = (struct crdt_version_entry){ .agent = (uint32_t)nver };
		memcpy(ix->ent + ix->nent, ver, nver * sizeof(*ver));
		ix->nent += nver;
	}
	mark_put(ix, r, r->at, seq, next, slot);
	tlindex_unreserve(r);
}

int tlindex_add(struct tlindex *ix, int64_t at, uint64_t seq, const struct crdt_version_entry *ver,
		size_t nver)
{
	struct tlindex_resv r;
	int rc = tlindex_reserve(ix, at, seq, ver, nver, &r);

	if (rc == 0)
		tlindex_put(ix, seq, ver, nver, &r);
	return rc;
}

int tlindex_version_at(const struct tlindex *ix, int64_t at_ms, struct crdt_version *ver,
		       uint64_t *seq)
{
	size_t lo = 0, hi = ix->nmk, last, from = 0, k;
	struct crdt_version empty;

	/* The first mark later than at_ms. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mark_at(ix, mid) <= at_ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	crdt_version_init(&empty, NULL);
	if (crdt_version_copy(ver, &empty))
		return TIMELINE_E_NOMEM;
	*seq = 0;
	if (lo == 0)
		return 0;
	last = lo - 1;
	/* The checkpoint after mark (k + 1) * TLINDEX_CP_EVERY - 1, the last one not after last. */
	k = (last + 1) / TLINDEX_CP_EVERY;
	if (k > ix->ncp)
		k = ix->ncp;
	if (k > 0) {
		if (crdt_version_copy(ver, &ix->cp[k - 1]))
			return TIMELINE_E_NOMEM;
		from = k * TLINDEX_CP_EVERY;
	}
	for (size_t i = from; i <= last; i++) {
		const struct tl_mark *m = &ix->mk[i];
		struct crdt_version_entry one;
		int rc;

		if (m->agent == TLINDEX_MANY) {
			rc = merge_entries(ver, ix->ent + m->next + 1, ix->ent[m->next].agent);
		} else {
			one = (struct crdt_version_entry){ .agent = ix->agents[m->agent],
							   .next = m->next };
			rc = merge_entries(ver, &one, 1);
		}
		if (rc)
			return TIMELINE_E_NOMEM;
	}
	*seq = mark_seq(ix, last);
	return 0;
}

void tlindex_init(struct tlindex *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void tlindex_finish(struct tlindex *ix)
{
	if (!ix)
		return;
	for (size_t k = 0; k < ix->ncp; k++)
		crdt_version_finish(&ix->cp[k]);
	free(ix->cp);
	free(ix->mk);
	free(ix->blk);
	free(ix->agents);
	free(ix->ent);
	tlindex_init(ix);
}

size_t tlindex_len(const struct tlindex *ix)
{
	return ix->nmk;
}

int64_t tlindex_last_at(const struct tlindex *ix)
{
	return ix->nmk ? mark_at(ix, ix->nmk - 1) : 0;
}
