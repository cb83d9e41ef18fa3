/*
 * tree.c - the content tree: item runs in document order.
 *
 * A B-tree whose leaves hold up to LEAF_CAP runs and whose inner nodes
 * count, per child, the visible and the total (tombstones included)
 * characters below it.  Positions are found by descending on either count
 * in O(log n); a run's position is found by walking up from its leaf.
 *
 * Nothing here may fail halfway: node allocations come from spares that the
 * caller reserved (crdt__reserve_nodes) before it started to mutate, and
 * index entries likewise (crdt__index_reserve).  This file never looks at
 * the op log or at agents, except to count the UTF-16 units of a run
 * holding characters above U+FFFF (crdt__run_u16).
 */
#include <string.h>

#include "crdt-internal.h"

static struct leaf *leaf_new(struct crdt_doc *doc)
{
	struct node *n = doc->spare_leaves;

	doc->spare_leaves = n->parent;
	doc->nspare_leaves--;
	memset(n, 0, sizeof(struct leaf));
	n->leaf = 1;
	n->id = (uint32_t)doc->nleaves;
	doc->leaves[doc->nleaves++] = (struct leaf *)n; /* room reserved with the spare */
	return (struct leaf *)n;
}

static struct inner *inner_new(struct crdt_doc *doc)
{
	struct node *n = doc->spare_inners;

	doc->spare_inners = n->parent;
	doc->nspare_inners--;
	memset(n, 0, sizeof(struct inner));
	return (struct inner *)n;
}

/*
 * Reserves what splits leaf splits may take: leaves, inner nodes, leaf ids
 * and index entries.  One piece of an edit needs one: it makes room in its
 * leaf at most twice (a run split at both ends, or split and then given a
 * new run beside it), and a leaf split leaves both halves with room for the
 * second.  What is reserved stays until the edit ends (crdt__spares_release),
 * so this is cheap to call again within it.
 */
int crdt__reserve_nodes(struct crdt_doc *doc, int splits)
{
	/* A leaf split splits at most every inner level above it, and adds a root. */
	int want_inners = splits * (doc->height + 1);
	int rc;

	if (doc->nleaves + (size_t)splits > LEAF_NONE)
		return CRDT_ELIMIT;
	/* A bulk load keeps no index until it ends, and usually has the nodes to spare. */
	if (doc->bulk && doc->nspare_leaves >= splits && doc->nspare_inners >= want_inners &&
	    doc->nleaves + (size_t)splits <= doc->capleaves)
		return 0;
	rc = crdt__grow(doc->alloc, (void **)&doc->leaves, &doc->capleaves,
			doc->nleaves + (size_t)splits, sizeof(*doc->leaves));
	if (rc)
		return rc;

	while (doc->nspare_leaves < splits) {
		struct node *n = crdt__alloc(doc->alloc, sizeof(struct leaf));

		if (!n)
			return CRDT_ENOMEM;
		n->parent = doc->spare_leaves;
		doc->spare_leaves = n;
		doc->nspare_leaves++;
	}
	while (doc->nspare_inners < want_inners) {
		struct node *n = crdt__alloc(doc->alloc, sizeof(struct inner));

		if (!n)
			return CRDT_ENOMEM;
		n->parent = doc->spare_inners;
		doc->spare_inners = n;
		doc->nspare_inners++;
	}
	return doc->bulk ? 0 : crdt__index_reserve(doc, (size_t)splits * (2 * LEAF_CAP + 4) + 4);
}

int crdt__tree_init(struct crdt_doc *doc)
{
	/*
	 * Just the root leaf: spares are reserved before each mutation, so a
	 * document nobody edits (an idle room) holds no more than this.
	 */
	struct node *n = crdt__alloc(doc->alloc, sizeof(struct leaf));

	if (!n)
		return CRDT_ENOMEM;
	/* A spare until leaf_new takes it (crdt_doc_destroy frees it if the grow fails). */
	n->parent = doc->spare_leaves;
	doc->spare_leaves = n;
	doc->nspare_leaves++;
	if (crdt__grow(doc->alloc, (void **)&doc->leaves, &doc->capleaves, 1, sizeof(*doc->leaves)))
		return CRDT_ENOMEM;
	doc->first = leaf_new(doc);
	doc->root = &doc->first->h;
	doc->height = 0;
	return 0;
}

static void free_subtree(struct crdt_doc *doc, struct node *n)
{
	if (!n)
		return;
	if (n->leaf) {
		crdt__free(doc->alloc, n, sizeof(struct leaf));
		return;
	}
	for (int k = 0; k < n->n; k++)
		free_subtree(doc, ((struct inner *)n)->child[k]);
	crdt__free(doc->alloc, n, sizeof(struct inner));
}

void crdt__tree_finish(struct crdt_doc *doc)
{
	free_subtree(doc, doc->root);
	doc->root = NULL;
	crdt__free(doc->alloc, doc->leaves, doc->capleaves * sizeof(*doc->leaves));
	doc->leaves = NULL;
	doc->nleaves = doc->capleaves = 0;
	crdt__spares_release(doc);
}

/*
 * Gives the spares back (crdt_apply, at its end).  A server holds hundreds
 * of documents that each take a remote update now and then: spares kept
 * between updates would cost ~3.7 KB a document, while getting them again is
 * a few allocations that malloc serves from its per-size caches.  Local
 * edits keep them: one writer typing into one document is the case they
 * serve, and there the allocations would double the cost of a keystroke.
 */
void crdt__spares_release(struct crdt_doc *doc)
{
	while (doc->spare_leaves) {
		struct node *n = doc->spare_leaves;

		doc->spare_leaves = n->parent;
		crdt__free(doc->alloc, n, sizeof(struct leaf));
	}
	while (doc->spare_inners) {
		struct node *n = doc->spare_inners;

		doc->spare_inners = n->parent;
		crdt__free(doc->alloc, n, sizeof(struct inner));
	}
	doc->nspare_leaves = doc->nspare_inners = 0;
	crdt__index_spares_release(doc);
}

static int child_index(const struct inner *p, const struct node *c)
{
	for (int k = 0; k < p->h.n; k++)
		if (p->child[k] == c)
			return k;
	return -1;
}

void crdt__adjust(struct crdt_doc *doc, struct leaf *leaf, int32_t dvis, int32_t dtot,
		  int32_t dvis16)
{
	struct node *n = &leaf->h;

	while (n->parent) {
		struct inner *p = (struct inner *)n->parent;
		int k = child_index(p, n);

		p->vis[k] += (uint32_t)dvis;
		p->tot[k] += (uint32_t)dtot;
		p->vis16[k] += (uint32_t)dvis16;
		n = &p->h;
	}
	doc->vis_len += (size_t)(int64_t)dvis;
	doc->tot_len += (size_t)(int64_t)dtot;
	doc->vis16_len += (size_t)(int64_t)dvis16;
}

/* Sets the counts below n from its runs; adds n's own to the four totals. */
static void recount(struct crdt_doc *doc, struct node *n, uint32_t *vis, uint32_t *tot,
		    uint32_t *vis16, size_t *bytes)
{
	if (n->leaf) {
		const struct leaf *l = (const struct leaf *)n;

		for (uint32_t i = 0; i < n->n; i++) {
			const struct run *r = &l->r[i];

			*tot += r->len;
			if (r->deleted)
				continue;
			*vis += r->len;
			*vis16 += crdt__run_u16(doc, r, r->len);
			*bytes += crdt__run_nbytes(doc, r);
		}
		return;
	}
	struct inner *p = (struct inner *)n;

	for (int k = 0; k < p->h.n; k++) {
		p->vis[k] = p->tot[k] = p->vis16[k] = 0;
		recount(doc, p->child[k], &p->vis[k], &p->tot[k], &p->vis16[k], bytes);
		*vis += p->vis[k];
		*tot += p->tot[k];
		*vis16 += p->vis16[k];
	}
}

void crdt__recount(struct crdt_doc *doc)
{
	uint32_t vis = 0, tot = 0, vis16 = 0;
	size_t bytes = 0;

	recount(doc, doc->root, &vis, &tot, &vis16, &bytes);
	doc->vis_len = vis;
	doc->tot_len = tot;
	doc->vis16_len = vis16;
	doc->vis_bytes = bytes;
}

void crdt__find_vis(const struct crdt_doc *doc, size_t pos, struct cursor *c)
{
	const struct node *n = doc->root;

	while (!n->leaf) {
		const struct inner *p = (const struct inner *)n;
		int k = 0;

		while (k < p->h.n - 1 && pos >= p->vis[k])
			pos -= p->vis[k++];
		n = p->child[k];
	}
	c->leaf = (struct leaf *)n;
	for (uint32_t i = 0; i < n->n; i++) {
		const struct run *r = &c->leaf->r[i];

		if (r->deleted)
			continue;
		if (pos < r->len) {
			c->i = i;
			c->off = (uint32_t)pos;
			return;
		}
		pos -= r->len;
	}
	/* pos == the visible length: the end of the last leaf. */
	c->i = n->n;
	c->off = 0;
}

void crdt__find_tot(const struct crdt_doc *doc, size_t pos, struct cursor *c, size_t *vis_before)
{
	const struct node *n = doc->root;
	size_t vis = 0;

	while (!n->leaf) {
		const struct inner *p = (const struct inner *)n;
		int k = 0;

		while (k < p->h.n - 1 && pos >= p->tot[k]) {
			pos -= p->tot[k];
			vis += p->vis[k++];
		}
		n = p->child[k];
	}
	c->leaf = (struct leaf *)n;
	for (uint32_t i = 0; i < n->n; i++) {
		const struct run *r = &c->leaf->r[i];

		if (pos < r->len) {
			c->i = i;
			c->off = (uint32_t)pos;
			if (!r->deleted)
				vis += pos;
			if (vis_before)
				*vis_before = vis;
			return;
		}
		pos -= r->len;
		if (!r->deleted)
			vis += r->len;
	}
	c->i = n->n;
	c->off = 0;
	if (vis_before)
		*vis_before = vis;
}

void crdt__find_vis16(const struct crdt_doc *doc, size_t pos, struct cursor *c, int *mid)
{
	const struct node *n = doc->root;

	*mid = 0;
	while (!n->leaf) {
		const struct inner *p = (const struct inner *)n;
		int k = 0;

		while (k < p->h.n - 1 && pos >= p->vis16[k])
			pos -= p->vis16[k++];
		n = p->child[k];
	}
	c->leaf = (struct leaf *)n;
	for (uint32_t i = 0; i < n->n; i++) {
		const struct run *r = &c->leaf->r[i];
		uint32_t u;

		if (r->deleted)
			continue;
		u = crdt__run_u16(doc, r, r->len);
		if (pos < u) {
			c->i = i;
			c->off = crdt__run_cp_at(doc, r, (uint32_t)pos, mid);
			return;
		}
		pos -= u;
	}
	c->i = n->n;
	c->off = 0;
}

size_t crdt__pos_vis16(const struct crdt_doc *doc, const struct leaf *leaf, uint32_t i)
{
	const struct node *n = &leaf->h;
	size_t pos = 0;

	for (uint32_t j = 0; j < i; j++)
		if (!leaf->r[j].deleted)
			pos += crdt__run_u16(doc, &leaf->r[j], leaf->r[j].len);
	while (n->parent) {
		const struct inner *p = (const struct inner *)n->parent;

		for (int k = 0; p->child[k] != n; k++)
			pos += p->vis16[k];
		n = &p->h;
	}
	return pos;
}

/* Sum of a count over the runs before i in leaf, then over earlier subtrees. */
static size_t pos_of(const struct leaf *leaf, uint32_t i, int visible)
{
	const struct node *n = &leaf->h;
	size_t pos = 0;

	for (uint32_t j = 0; j < i; j++)
		if (!visible || !leaf->r[j].deleted)
			pos += leaf->r[j].len;
	while (n->parent) {
		const struct inner *p = (const struct inner *)n->parent;

		for (int k = 0; p->child[k] != n; k++)
			pos += visible ? p->vis[k] : p->tot[k];
		n = &p->h;
	}
	return pos;
}

void crdt__pos_all(const struct crdt_doc *doc, const struct leaf *leaf, uint32_t i, size_t *tot,
		   size_t *vis, size_t *vis16)
{
	const struct node *n = &leaf->h;
	size_t t = 0, v = 0, v16 = 0;

	for (uint32_t j = 0; j < i; j++) {
		const struct run *r = &leaf->r[j];

		t += r->len;
		if (!r->deleted) {
			v += r->len;
			v16 += crdt__run_u16(doc, r, r->len);
		}
	}
	while (n->parent) {
		const struct inner *p = (const struct inner *)n->parent;

		for (int k = 0; p->child[k] != n; k++) {
			t += p->tot[k];
			v += p->vis[k];
			v16 += p->vis16[k];
		}
		n = &p->h;
	}
	*tot = t;
	*vis = v;
	*vis16 = v16;
}

size_t crdt__pos_tot(const struct crdt_doc *doc, const struct leaf *leaf, uint32_t i)
{
	(void)doc;
	return pos_of(leaf, i, 0);
}

size_t crdt__pos_vis(const struct crdt_doc *doc, const struct leaf *leaf, uint32_t i)
{
	(void)doc;
	return pos_of(leaf, i, 1);
}

int crdt__find_lv(const struct crdt_doc *doc, crdt_lv lv, struct cursor *c)
{
	struct leaf *leaf = crdt__index_get(doc, lv);

	if (!leaf)
		return CRDT_EINVAL;
	for (uint32_t i = 0; i < leaf->h.n; i++) {
		const struct run *r = &leaf->r[i];

		if (lv >= r->lv && lv - r->lv < r->len) {
			c->leaf = leaf;
			c->i = i;
			c->off = lv - r->lv;
			return 0;
		}
	}
	return CRDT_EINVAL;
}

static void inner_insert(struct crdt_doc *doc, struct inner *p, int k, struct node *c,
			 uint32_t cvis, uint32_t ctot, uint32_t c16);

/*
 * Hangs node q, just split off node p with q's counts, beside p: after p in
 * p's parent (whose entry for p loses q's counts), or under a new root.
 */
static void add_sibling(struct crdt_doc *doc, struct node *p, struct node *q, uint32_t qvis,
			uint32_t qtot, uint32_t q16)
{
	struct inner *root;

	if (p->parent) {
		struct inner *g = (struct inner *)p->parent;
		int k = child_index(g, p);

		g->vis[k] -= qvis;
		g->tot[k] -= qtot;
		g->vis16[k] -= q16;
		inner_insert(doc, g, k, q, qvis, qtot, q16);
		return;
	}
	root = inner_new(doc);
	root->h.n = 2;
	root->child[0] = p;
	root->child[1] = q;
	root->vis[0] = (uint32_t)doc->vis_len - qvis;
	root->tot[0] = (uint32_t)doc->tot_len - qtot;
	root->vis16[0] = (uint32_t)doc->vis16_len - q16;
	root->vis[1] = qvis;
	root->tot[1] = qtot;
	root->vis16[1] = q16;
	p->parent = &root->h;
	q->parent = &root->h;
	doc->root = &root->h;
	doc->height++;
}

/*
 * Inserts child c after child k of p.  c's characters are already counted
 * in p's entry in its parent (c was split off child k, whose counts the
 * caller lowered by cvis/ctot), so totals above p do not change, unless p
 * itself must split, which repeats the same step one level up.
 */
static void inner_insert(struct crdt_doc *doc, struct inner *p, int k, struct node *c,
			 uint32_t cvis, uint32_t ctot, uint32_t c16)
{
	struct inner *q = NULL;
	struct inner *dst = p;
	uint32_t qvis = 0, qtot = 0, q16 = 0;

	if (p->h.n == NODE_CAP) {
		int half = NODE_CAP / 2;

		q = inner_new(doc);
		q->h.n = (uint16_t)(NODE_CAP - half);
		memcpy(q->child, p->child + half, sizeof(q->child[0]) * q->h.n);
		memcpy(q->vis, p->vis + half, sizeof(q->vis[0]) * q->h.n);
		memcpy(q->tot, p->tot + half, sizeof(q->tot[0]) * q->h.n);
		memcpy(q->vis16, p->vis16 + half, sizeof(q->vis16[0]) * q->h.n);
		p->h.n = (uint16_t)half;
		for (int j = 0; j < q->h.n; j++)
			q->child[j]->parent = &q->h;
		if (k + 1 > half) {
			dst = q;
			k -= half;
		}
	}
	memmove(dst->child + k + 2, dst->child + k + 1, sizeof(dst->child[0]) * (dst->h.n - k - 1));
	memmove(dst->vis + k + 2, dst->vis + k + 1, sizeof(dst->vis[0]) * (dst->h.n - k - 1));
	memmove(dst->tot + k + 2, dst->tot + k + 1, sizeof(dst->tot[0]) * (dst->h.n - k - 1));
	memmove(dst->vis16 + k + 2, dst->vis16 + k + 1, sizeof(dst->vis16[0]) * (dst->h.n - k - 1));
	dst->child[k + 1] = c;
	dst->vis[k + 1] = cvis;
	dst->tot[k + 1] = ctot;
	dst->vis16[k + 1] = c16;
	dst->h.n++;
	c->parent = &dst->h;
	if (!q)
		return;

	for (int j = 0; j < q->h.n; j++) {
		qvis += q->vis[j];
		qtot += q->tot[j];
		q16 += q->vis16[j];
	}
	add_sibling(doc, &p->h, &q->h, qvis, qtot, q16);
}

/* Splits a full leaf in two; returns the new right half. */
static struct leaf *leaf_split(struct crdt_doc *doc, struct leaf *l)
{
	struct leaf *nl = leaf_new(doc);
	int half = LEAF_CAP / 2;
	uint32_t mvis = 0, mtot = 0, m16 = 0;

	nl->h.n = (uint16_t)(l->h.n - half);
	memcpy(nl->r, l->r + half, sizeof(l->r[0]) * nl->h.n);
	l->h.n = (uint16_t)half;
	for (int j = 0; j < nl->h.n; j++) {
		const struct run *r = &nl->r[j];

		mtot += r->len;
		if (!r->deleted) {
			mvis += r->len;
			m16 += crdt__run_u16(doc, r, r->len);
		}
		crdt__index_set(doc, r->lv, r->lv + r->len, nl);
	}
	nl->prev = l;
	nl->next = l->next;
	if (l->next)
		l->next->prev = nl;
	l->next = nl;
	add_sibling(doc, &l->h, &nl->h, mvis, mtot, m16);
	return nl;
}

/*
 * Puts the new run r at run index c->i of c->leaf, splitting the leaf first
 * when full (every count is exact then), without counting r; on return c
 * points at r.
 */
static void leaf_put(struct crdt_doc *doc, struct cursor *c, const struct run *r)
{
	struct leaf *l = c->leaf;
	uint32_t i = c->i;

	if (l->h.n == LEAF_CAP) {
		struct leaf *nl = leaf_split(doc, l);

		if (i > l->h.n) {
			i -= l->h.n;
			l = nl;
		}
	}
	memmove(l->r + i + 1, l->r + i, sizeof(l->r[0]) * (l->h.n - i));
	l->r[i] = *r;
	l->h.n++;
	c->leaf = l;
	c->i = i;
	c->off = 0;
}

void crdt__split(struct crdt_doc *doc, struct cursor *c)
{
	struct run *r, second;
	struct leaf *l;

	if (c->i >= c->leaf->h.n || c->off == 0)
		return;
	if (c->off >= c->leaf->r[c->i].len) {
		c->i++;
		c->off = 0;
		return;
	}
	/*
	 * Make room first, while every count is still exact; then both halves
	 * stay in one leaf, so no count and no index entry changes.
	 */
	l = c->leaf;
	if (l->h.n == LEAF_CAP) {
		struct leaf *nl = leaf_split(doc, l);

		if (c->i >= l->h.n) {
			c->i -= l->h.n;
			c->leaf = nl;
		}
	}
	l = c->leaf;
	r = &l->r[c->i];
	second = *r;
	second.lv = r->lv + c->off;
	second.len = r->len - c->off;
	r->len = c->off;
	memmove(l->r + c->i + 2, l->r + c->i + 1, sizeof(l->r[0]) * (l->h.n - c->i - 1));
	l->r[c->i + 1] = second;
	l->h.n++;
	c->i++;
	c->off = 0;
}

void crdt__insert_run(struct crdt_doc *doc, struct cursor *c, const struct run *r, size_t u16)
{
	leaf_put(doc, c, r);
	crdt__index_set(doc, r->lv, r->lv + r->len, c->leaf);
	crdt__adjust(doc, c->leaf, r->deleted ? 0 : (int32_t)r->len, (int32_t)r->len,
		     r->deleted ? 0 : (int32_t)u16);
}
