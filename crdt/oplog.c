/*
 * oplog.c - agents and the operation log.
 *
 * The op log says what was done, by whom, in the order this document
 * applied it (LV order, which is always a causal order).  Every encoding is
 * made from it, and reading an earlier version asks it which deletes had
 * happened.  Consecutive operations that chain (typing forwards, deleting
 * forwards or backspacing) merge into one span, which is what keeps a long
 * session small.
 *
 * Appends cannot fail: callers reserve first (crdt__log_reserve).
 */
#include <string.h>

#include "crdt-internal.h"

int crdt__agent_find(const struct crdt_doc *doc, uint32_t id)
{
	size_t lo = 0, hi = doc->nagents;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t mid_id = doc->agents[doc->by_id[mid]].id;

		if (mid_id == id)
			return (int)doc->by_id[mid];
		if (mid_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int crdt__agent_index(struct crdt_doc *doc, uint32_t id, uint32_t *idx)
{
	int found = crdt__agent_find(doc, id);
	size_t pos;
	struct agent *a;
	int rc;

	if (found >= 0) {
		*idx = (uint32_t)found;
		return 0;
	}
	if (doc->nagents >= AGENTS_MAX)
		return CRDT_ELIMIT;
	rc = crdt__grow(doc->alloc, (void **)&doc->agents, &doc->capagents, doc->nagents + 1,
			sizeof(*doc->agents));
	if (!rc)
		rc = crdt__grow(doc->alloc, (void **)&doc->by_id, &doc->capby_id, doc->nagents + 1,
				sizeof(*doc->by_id));
	if (rc)
		return rc;
	a = &doc->agents[doc->nagents];
	memset(a, 0, sizeof(*a));
	a->id = id;
	for (pos = 0; pos < doc->nagents && doc->agents[doc->by_id[pos]].id < id; pos++)
		;
	memmove(doc->by_id + pos + 1, doc->by_id + pos, (doc->nagents - pos) * sizeof(*doc->by_id));
	doc->by_id[pos] = (uint32_t)doc->nagents;
	*idx = (uint32_t)doc->nagents;
	doc->nagents++;
	return 0;
}

crdt_lv crdt__seq_to_lv_kind(const struct crdt_doc *doc, uint32_t agent, uint32_t seq, uint32_t *up,
			     uint32_t *down, int *kind)
{
	const struct agent *a = &doc->agents[agent];
	size_t from, lo = 0, hi = a->nsamples;

	if (seq >= a->next || a->nsamples == 0)
		return LV_NONE;
	if (seq >= doc->ops[a->last].seq) {
		/* Its newest span (typing: the origin is the character just typed). */
		from = a->last;
	} else {
		/* The last sample not after seq; the span holding seq is at most SAMPLE_GAP on. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (doc->ops[a->samples[mid]].seq <= seq)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			return LV_NONE;
		from = a->samples[lo - 1];
	}
	for (size_t i = from; i < doc->nops; i++) {
		const struct span *s = &doc->ops[i];
		uint32_t len, off = seq - s->seq;

		if (s->agent != agent)
			continue;
		len = crdt__span_len(doc, s);
		if (off >= len)
			continue;
		if (up)
			*up = len - off;
		if (down)
			*down = off + 1;
		if (kind)
			*kind = s->kind;
		return s->lv + off;
	}
	return LV_NONE;
}

size_t crdt__span_at(const struct crdt_doc *doc, crdt_lv lv)
{
	size_t lo = 0, hi = doc->nops;

	/* The newest span is the one asked for most often. */
	if (hi && doc->ops[hi - 1].lv <= lv)
		return hi - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (doc->ops[mid].lv <= lv)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

crdt_lv crdt__run_ol(const struct crdt_doc *doc, const struct run *r)
{
	const struct span *s = &doc->ops[crdt__span_at(doc, r->lv)];

	return r->lv == s->lv ? s->a : r->lv - 1;
}

crdt_lv crdt__run_orr(const struct crdt_doc *doc, const struct run *r)
{
	return doc->ops[crdt__span_at(doc, r->lv)].b;
}

void crdt__span_bytes(const struct crdt_doc *doc, const struct span *s, uint32_t k0, uint32_t k1,
		      uint32_t *b0, uint32_t *b1)
{
	uint32_t nbytes = crdt__span_nbytes(doc, s);
	const char *t = doc->text + s->byte;
	size_t o0 = k0, o1 = k1;

	if (nbytes != crdt__span_len(doc, s)) {
		o0 = crdt__utf8_skip(t, nbytes, k0);
		o1 = o0 + crdt__utf8_skip(t + o0, nbytes - o0, k1 - k0);
	}
	*b0 = s->byte + (uint32_t)o0;
	*b1 = s->byte + (uint32_t)o1;
}

void crdt__run_bytes(const struct crdt_doc *doc, const struct run *r, uint32_t off0, uint32_t off1,
		     uint32_t *b0, uint32_t *b1)
{
	const struct span *s = &doc->ops[crdt__span_at(doc, r->lv)];
	uint32_t k = r->lv - s->lv;

	crdt__span_bytes(doc, s, k + off0, k + off1, b0, b1);
}

uint32_t crdt__run_nbytes(const struct crdt_doc *doc, const struct run *r)
{
	uint32_t b0, b1;

	/*
	 * A byte for every character in the tree: all text is ASCII (while an
	 * insert's text is in the arena and its run not yet in the tree, the
	 * arena is longer, and the span is asked).
	 */
	if (doc->text_len == doc->tot_len)
		return r->len;
	crdt__run_bytes(doc, r, 0, r->len, &b0, &b1);
	return b1 - b0;
}

int crdt__log_reserve(struct crdt_doc *doc, uint32_t agent, size_t text_bytes)
{
	struct agent *a = &doc->agents[agent];
	int rc;

	rc = crdt__grow_log(doc->alloc, (void **)&doc->ops, &doc->capops, doc->nops + 1,
			    sizeof(*doc->ops));
	if (!rc)
		rc = crdt__grow_log(doc->alloc, (void **)&a->samples, &a->capsamples,
				    a->nsamples + 1, sizeof(*a->samples));
	if (!rc && text_bytes) {
		if (text_bytes > TEXT_MAX - doc->text_len)
			return CRDT_ELIMIT;
		rc = crdt__grow_log(doc->alloc, (void **)&doc->text, &doc->text_cap,
				    doc->text_len + text_bytes, 1);
	}
	return rc;
}

/* Can span s (len operations) continue span l (llen, the last in the log)? */
static int chains(const struct span *l, uint32_t llen, const struct span *s, uint32_t len)
{
	if (l->agent != s->agent || l->kind != s->kind || l->lv + llen != s->lv ||
	    l->seq + llen != s->seq)
		return 0;
	if (s->kind == SPAN_INS)
		return s->a == s->lv - 1 && s->b == l->b;
	if ((l->dir > 0 || llen == 1) && (s->dir > 0 || len == 1) && s->a == l->a + llen)
		return 1;
	if ((l->dir < 0 || llen == 1) && (s->dir < 0 || len == 1) && l->a >= llen &&
	    s->a == l->a - llen)
		return -1;
	return 0;
}

void crdt__log_push(struct crdt_doc *doc, const struct span *s, uint32_t len)
{
	struct agent *a = &doc->agents[s->agent];
	struct span *l = doc->nops ? &doc->ops[doc->nops - 1] : NULL;
	int c = l ? chains(l, crdt__span_len(doc, l), s, len) : 0;

	/* A continued span just ends later (its length and bytes are implied). */
	if (c) {
		if (l->kind == SPAN_DEL)
			l->dir = c;
	} else {
		size_t i = doc->nops++;

		doc->ops[i] = *s;
		a->last = (uint32_t)i;
		if (a->nsamples == 0 || a->since + 1 >= SAMPLE_SPANS ||
		    i - a->samples[a->nsamples - 1] >= SAMPLE_GAP) {
			a->samples[a->nsamples++] = (uint32_t)i;
			a->since = 0;
		} else {
			a->since++;
		}
	}
	a->next = s->seq + len;
	doc->next_lv = s->lv + len;
}
