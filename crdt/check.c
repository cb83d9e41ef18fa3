/*
 * check.c - the invariant walk tests call after every step.
 *
 * crdt__check() recomputes everything the document caches (counts, the
 * leaf chain, the index, the agents' clocks) from first principles and
 * reports the first mismatch.  It is O(n) and never used by the library
 * itself.  It reads only; it must never repair anything.
 */
#include "crdt-internal.h"

#define FAIL() return -__LINE__

struct walk_state {
	const struct crdt_doc *doc;
	const struct leaf *prev_leaf;
	size_t runs;
	size_t leaves;
	int err;
};

static int check_run(const struct crdt_doc *doc, const struct leaf *l, const struct run *r)
{
	const struct span *s;
	uint32_t b0, b1;
	size_t cps;

	if (r->len == 0 || r->lv + (uint64_t)r->len > doc->next_lv)
		FAIL();
	s = &doc->ops[crdt__span_at(doc, r->lv)];
	if (s->kind != SPAN_INS || r->lv + r->len > s->lv + crdt__span_len(doc, s))
		FAIL();
	/* Its text, found through its span, is len whole characters. */
	crdt__run_bytes(doc, r, 0, r->len, &b0, &b1);
	if (b1 < b0 || b1 > doc->text_len || b1 - b0 != crdt__run_nbytes(doc, r))
		FAIL();
	if (crdt_utf8_check(doc->text + b0, b1 - b0, &cps) || cps != r->len)
		FAIL();
	/* Its ascii and bmp bits never claim what its text is not; its UTF-16 length is right. */
	if ((r->ascii && b1 - b0 != r->len) ||
	    crdt__run_u16(doc, r, r->len) != crdt__utf16_count(doc->text + b0, b1 - b0) ||
	    (r->bmp && crdt__run_u16(doc, r, r->len) != r->len))
		FAIL();
	if (crdt__index_get(doc, r->lv) != l || crdt__index_get(doc, r->lv + r->len - 1) != l)
		FAIL();
	return 0;
}

/* Returns the subtree's (visible, total) counts through vis/tot. */
static int check_node(struct walk_state *w, const struct node *n, const struct node *parent,
		      int depth, uint64_t *vis, uint64_t *tot, uint64_t *v16, uint64_t *vbytes)
{
	*vis = *tot = *v16 = 0;
	if (n->parent != parent)
		FAIL();
	if (n->leaf) {
		const struct leaf *l = (const struct leaf *)n;

		if (depth != w->doc->height)
			FAIL();
		if (n->n > LEAF_CAP || (n->n == 0 && parent))
			FAIL();
		if (l->prev != w->prev_leaf || (w->prev_leaf && w->prev_leaf->next != l))
			FAIL();
		if (n->id >= w->doc->nleaves || w->doc->leaves[n->id] != l)
			FAIL();
		w->leaves++;
		if (!w->prev_leaf && w->doc->first != l)
			FAIL();
		w->prev_leaf = l;
		for (uint32_t i = 0; i < n->n; i++) {
			int rc = check_run(w->doc, l, &l->r[i]);

			if (rc)
				return rc;
			*tot += l->r[i].len;
			if (!l->r[i].deleted) {
				*vis += l->r[i].len;
				*v16 += crdt__run_u16(w->doc, &l->r[i], l->r[i].len);
				*vbytes += crdt__run_nbytes(w->doc, &l->r[i]);
			}
			w->runs++;
		}
		return 0;
	}
	if (n->n < 1 || n->n > NODE_CAP)
		FAIL();
	for (int k = 0; k < n->n; k++) {
		const struct inner *p = (const struct inner *)n;
		uint64_t cv, ct, c16;
		int rc = check_node(w, p->child[k], n, depth + 1, &cv, &ct, &c16, vbytes);

		if (rc)
			return rc;
		if (cv != p->vis[k] || ct != p->tot[k] || c16 != p->vis16[k])
			FAIL();
		*vis += cv;
		*tot += ct;
		*v16 += c16;
	}
	return 0;
}

int crdt__check(const struct crdt_doc *doc)
{
	struct walk_state w = { doc, NULL, 0, 0, 0 };
	uint64_t vis, tot, v16, vbytes = 0, ins = 0;
	crdt_lv lv = 0;
	int rc;

	rc = check_node(&w, doc->root, NULL, 0, &vis, &tot, &v16, &vbytes);
	if (rc)
		return rc;
	if ((w.prev_leaf && w.prev_leaf->next) || w.leaves != doc->nleaves)
		FAIL();
	if (vis != doc->vis_len || tot != doc->tot_len || vbytes != doc->vis_bytes ||
	    v16 != doc->vis16_len)
		FAIL();
	/* A checkpoint for every CK_STEP-th LV up to next_lv, each B and U of its LV. */
	if (doc->nops && doc->nck != (doc->next_lv >> CK_SHIFT) + 1)
		FAIL();
	for (size_t j = 0, i = 0; j < doc->nck; j++) {
		crdt_lv m = (crdt_lv)(j << CK_SHIFT);
		const struct span *s;
		size_t b;

		while (i + 1 < doc->nops && doc->ops[i + 1].lv <= m)
			i++;
		if (!doc->nops)
			break;
		s = &doc->ops[i];
		b = s->byte;
		if (s->kind == SPAN_INS && m >= s->lv)
			b += crdt__utf8_skip(doc->text + s->byte, crdt__span_nbytes(doc, s),
					     m - s->lv);
		if (m == doc->next_lv)
			b = doc->text_len;
		if (doc->ck[j].byte != b || doc->ck[j].u16 != crdt__utf16_count(doc->text, b))
			FAIL();
	}

	/* The op log tiles LV space; inserts account for every character. */
	for (size_t i = 0; i < doc->nops; i++) {
		const struct span *s = &doc->ops[i];

		if (s->lv != lv || s->lv >= doc->next_lv || s->agent >= doc->nagents)
			FAIL();
		/* Texts tile the arena: a delete's is empty. */
		if (s->byte > doc->text_len || (i + 1 < doc->nops && s[1].byte < s->byte) ||
		    (s->kind == SPAN_DEL && crdt__span_nbytes(doc, s) != 0))
			FAIL();
		if (s->kind == SPAN_INS)
			ins += crdt__span_len(doc, s);
		lv += crdt__span_len(doc, s);
	}
	if (lv != doc->next_lv || ins != tot)
		FAIL();

	/*
	 * Each agent's spans cover seqs 0 .. next-1 in log order; its samples
	 * are some of them, the first included, in order, never further apart
	 * than a look-up may scan.
	 */
	for (size_t a = 0; a < doc->nagents; a++) {
		const struct agent *ag = &doc->agents[a];
		uint32_t seq = 0;
		size_t j = 0, last = 0, own = 0;

		for (size_t i = 0; i < doc->nops; i++) {
			const struct span *s = &doc->ops[i];

			if (s->agent != a)
				continue;
			if (s->seq != seq)
				FAIL();
			seq += crdt__span_len(doc, s);
			if (j < ag->nsamples && ag->samples[j] == i) {
				j++;
				last = i;
				own = 0;
			} else if (j == 0 || ++own >= SAMPLE_SPANS || i - last >= SAMPLE_GAP) {
				FAIL();
			}
		}
		if (seq != ag->next || j != ag->nsamples)
			FAIL();
		if (a > 0 && doc->agents[doc->by_id[a - 1]].id >= doc->agents[doc->by_id[a]].id)
			FAIL();
	}
	/* The index: blocks of 1 .. IBLOCK_CAP entries, LVs strictly increasing throughout. */
	for (size_t b = 0, seen = 0; b < doc->niblocks; b++) {
		const struct iblock *ib = doc->iblocks[b];

		if (ib->n == 0 || ib->n > IBLOCK_CAP)
			FAIL();
		for (uint32_t j = 0; j < ib->n; j++) {
			if ((seen++ && ib->e[j].lv <= lv) ||
			    (ib->e[j].leaf != LEAF_NONE && ib->e[j].leaf >= doc->nleaves))
				FAIL();
			lv = ib->e[j].lv;
		}
	}
	for (size_t i = 0; i < doc->npending; i++)
		if (doc->pending[i].len == 0)
			FAIL();
	return 0;
}

size_t crdt__run_count(const struct crdt_doc *doc)
{
	size_t n = 0;

	for (const struct leaf *l = doc->first; l; l = l->next)
		n += l->h.n;
	return n;
}
