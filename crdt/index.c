/*
 * index.c - from a character's local version to the leaf that holds it.
 *
 * Remote operations name characters, not positions, so the document must
 * find a character's run quickly.  The index is a sorted list of entries
 * "LVs from here up to the next entry live in this leaf", kept in blocks of
 * IBLOCK_CAP so that an update moves at most one block's worth of memory:
 * a two-level array, simpler than a second B-tree and as fast at this size.
 *
 * Only insert LVs are ever looked up; delete LVs fall inside whatever entry
 * precedes them and are never asked for.  Updates cannot fail: callers
 * reserve entries first (crdt__index_reserve).
 */
#include <string.h>

#include "crdt-internal.h"

int crdt__index_reserve(struct crdt_doc *doc, size_t entries)
{
	size_t blocks = entries / (IBLOCK_CAP / 2) + 2;
	int rc;

	rc = crdt__grow(doc->alloc, (void **)&doc->iblocks, &doc->capiblocks,
			doc->niblocks + blocks, sizeof(*doc->iblocks));
	if (rc)
		return rc;
	while ((size_t)doc->nspare_iblocks < blocks) {
		struct iblock *b = crdt__alloc(doc->alloc, sizeof(*b));

		if (!b)
			return CRDT_ENOMEM;
		b->spare = doc->spare_iblocks;
		doc->spare_iblocks = b;
		doc->nspare_iblocks++;
	}
	return 0;
}

void crdt__index_finish(struct crdt_doc *doc)
{
	for (size_t i = 0; i < doc->niblocks; i++)
		crdt__free(doc->alloc, doc->iblocks[i], sizeof(struct iblock));
	crdt__free(doc->alloc, doc->iblocks, doc->capiblocks * sizeof(*doc->iblocks));
	doc->iblocks = NULL;
	doc->niblocks = doc->capiblocks = 0;
	crdt__index_spares_release(doc);
}

void crdt__index_spares_release(struct crdt_doc *doc)
{
	while (doc->spare_iblocks) {
		struct iblock *b = doc->spare_iblocks;

		doc->spare_iblocks = b->spare;
		crdt__free(doc->alloc, b, sizeof(*b));
	}
	doc->nspare_iblocks = 0;
}

static struct iblock *block_new(struct crdt_doc *doc)
{
	struct iblock *b = doc->spare_iblocks;

	doc->spare_iblocks = b->spare;
	doc->nspare_iblocks--;
	b->n = 0;
	return b;
}

/* The block whose range holds lv: the last with e[0].lv <= lv (0 if none). */
static size_t block_of(const struct crdt_doc *doc, crdt_lv lv)
{
	size_t lo = 0, hi = doc->niblocks;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (doc->iblocks[mid]->e[0].lv <= lv)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Within block b: the last entry with lv <= lv, or -1. */
static int entry_of(const struct iblock *b, crdt_lv lv)
{
	int lo = 0, hi = (int)b->n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (b->e[mid].lv <= lv)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

struct leaf *crdt__index_get(const struct crdt_doc *doc, crdt_lv lv)
{
	const struct iblock *b;
	int j;

	if (!doc->niblocks)
		return NULL;
	b = doc->iblocks[block_of(doc, lv)];
	j = entry_of(b, lv);
	return j < 0 || b->e[j].leaf == LEAF_NONE ? NULL : doc->leaves[b->e[j].leaf];
}

/* Inserts entry e at position j of block bi, splitting a full block. */
static void entry_insert(struct crdt_doc *doc, size_t bi, int j, struct ientry e)
{
	struct iblock *b = doc->iblocks[bi];

	if (b->n == IBLOCK_CAP && bi + 1 == doc->niblocks && (uint32_t)j == b->n) {
		/*
		 * Appending past the end (new operations' LVs): a new block.  Halving
		 * here would leave every block but the last half empty for good,
		 * since later entries only ever go after them.
		 */
		b = block_new(doc);
		doc->iblocks[doc->niblocks++] = b;
		j = 0;
	} else if (b->n == IBLOCK_CAP && bi + 1 < doc->niblocks &&
		   doc->iblocks[bi + 1]->n < IBLOCK_CAP) {
		/* Full, with room next door: pass the last entry on (blocks stay full). */
		struct iblock *nb = doc->iblocks[bi + 1];

		memmove(nb->e + 1, nb->e, sizeof(nb->e[0]) * nb->n);
		nb->n++;
		if ((uint32_t)j == IBLOCK_CAP) {
			nb->e[0] = e;
			return;
		}
		nb->e[0] = b->e[IBLOCK_CAP - 1];
		b->n--;
	} else if (b->n == IBLOCK_CAP && bi > 0 && doc->iblocks[bi - 1]->n < IBLOCK_CAP) {
		struct iblock *pb = doc->iblocks[bi - 1];

		if (j == 0) {
			pb->e[pb->n++] = e;
			return;
		}
		pb->e[pb->n++] = b->e[0];
		memmove(b->e, b->e + 1, sizeof(b->e[0]) * (IBLOCK_CAP - 1));
		b->n--;
		j--;
	} else if (b->n == IBLOCK_CAP) {
		struct iblock *nb = block_new(doc);
		uint32_t half = IBLOCK_CAP / 2;

		nb->n = IBLOCK_CAP - half;
		memcpy(nb->e, b->e + half, sizeof(b->e[0]) * nb->n);
		b->n = half;
		memmove(doc->iblocks + bi + 2, doc->iblocks + bi + 1,
			sizeof(doc->iblocks[0]) * (doc->niblocks - bi - 1));
		doc->iblocks[bi + 1] = nb;
		doc->niblocks++;
		if ((uint32_t)j > half) {
			j -= (int)half;
			b = nb;
		}
	}
	memmove(b->e + j + 1, b->e + j, sizeof(b->e[0]) * (b->n - (uint32_t)j));
	b->e[j] = e;
	b->n++;
}

static void entry_remove(struct crdt_doc *doc, size_t bi, int j)
{
	struct iblock *b = doc->iblocks[bi];

	memmove(b->e + j, b->e + j + 1, sizeof(b->e[0]) * (b->n - (uint32_t)j - 1));
	b->n--;
	if (b->n == 0 && doc->niblocks > 1) {
		memmove(doc->iblocks + bi, doc->iblocks + bi + 1,
			sizeof(doc->iblocks[0]) * (doc->niblocks - bi - 1));
		doc->niblocks--;
		b->spare = doc->spare_iblocks;
		doc->spare_iblocks = b;
		doc->nspare_iblocks++;
	}
}

/* Makes an entry start exactly at lv (copying the leaf that held lv). */
static void boundary(struct crdt_doc *doc, crdt_lv lv)
{
	size_t bi = block_of(doc, lv);
	struct iblock *b = doc->iblocks[bi];
	int j = entry_of(b, lv);
	struct ientry e;

	if (j >= 0 && b->e[j].lv == lv)
		return;
	e.lv = lv;
	e.leaf = j >= 0 ? b->e[j].leaf : LEAF_NONE;
	entry_insert(doc, bi, j + 1, e);
}

void crdt__index_set(struct crdt_doc *doc, crdt_lv lo, crdt_lv hi, struct leaf *to)
{
	uint32_t leaf = to->h.id;
	size_t bi;
	struct iblock *b;
	int j;

	if (lo >= hi || doc->bulk)
		return;
	if (!doc->niblocks) {
		b = block_new(doc);
		doc->iblocks[0] = b;
		doc->niblocks = 1;
		b->n = 1;
		b->e[0].lv = lo;
		b->e[0].leaf = leaf;
		return;
	}
	/* Typing: new LVs past the last entry, which already names leaf. */
	b = doc->iblocks[doc->niblocks - 1];
	if (b->e[b->n - 1].leaf == leaf && b->e[b->n - 1].lv <= lo)
		return;
	/* The common case: the range already maps to leaf and no entry starts inside it. */
	bi = block_of(doc, lo);
	b = doc->iblocks[bi];
	j = entry_of(b, lo);
	if (j >= 0 && b->e[j].leaf == leaf) {
		crdt_lv next_start;

		if ((uint32_t)j + 1 < b->n)
			next_start = b->e[j + 1].lv;
		else if (bi + 1 < doc->niblocks)
			next_start = doc->iblocks[bi + 1]->e[0].lv;
		else
			next_start = LV_NONE;
		if (next_start >= hi)
			return;
	}

	/* Keep what follows hi mapped as before, unless nothing follows yet. */
	if (hi < doc->next_lv)
		boundary(doc, hi);
	boundary(doc, lo);

	/* Point every entry in [lo, hi) at leaf, dropping those made redundant. */
	bi = block_of(doc, lo);
	b = doc->iblocks[bi];
	j = entry_of(b, lo);
	b->e[j].leaf = leaf;
	for (;;) {
		size_t nbi = bi;
		int nj = j + 1;

		if ((uint32_t)nj >= doc->iblocks[nbi]->n) {
			nbi++;
			nj = 0;
		}
		if (nbi >= doc->niblocks || doc->iblocks[nbi]->e[nj].lv > hi)
			break;
		/* Removal only shifts what follows j; an emptied block is unlinked. */
		if (doc->iblocks[nbi]->e[nj].lv < hi || doc->iblocks[nbi]->e[nj].leaf == leaf) {
			entry_remove(doc, nbi, nj);
			continue;
		}
		break;
	}
	/* An entry equal to its predecessor is redundant. */
	{
		int pj = j - 1;
		size_t pbi = bi;

		if (pj < 0 && bi > 0) {
			pbi = bi - 1;
			pj = (int)doc->iblocks[pbi]->n - 1;
		}
		if (pj >= 0 && doc->iblocks[pbi]->e[pj].leaf == leaf)
			entry_remove(doc, bi, j);
	}
}

void crdt__sort_by_lv(struct ientry *e, struct ientry *tmp, size_t n)
{
	crdt_lv max = 0;

	if (n < 2)
		return;
	for (size_t i = 0; i < n; i++)
		if (e[i].lv > max)
			max = e[i].lv;
	/*
	 * Counting passes of 11 bits, least significant first, only as many as
	 * the largest LV has digits (two for a document of 4 million operations),
	 * and none over a digit that every entry shares.
	 */
	for (int shift = 0; shift < 32 && (shift == 0 || max >> shift); shift += 11) {
		size_t count[2048] = { 0 }, sum = 0;

		for (size_t i = 0; i < n; i++)
			count[(e[i].lv >> shift) & 2047]++;
		if (count[(e[0].lv >> shift) & 2047] == n)
			continue;
		for (size_t k = 0; k < 2048; k++) {
			size_t c = count[k];

			count[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(e[i].lv >> shift) & 2047]++] = e[i];
		memcpy(e, tmp, n * sizeof(*e));
	}
}

int crdt__index_rebuild(struct crdt_doc *doc)
{
	struct ientry *e = NULL, *tmp = NULL;
	size_t nruns = 0, n = 0, nblocks;
	int rc = CRDT_ENOMEM;

	crdt__index_finish(doc);
	for (const struct leaf *l = doc->first; l; l = l->next)
		nruns += l->h.n;
	if (!nruns)
		return 0;
	e = crdt__alloc(doc->alloc, nruns * sizeof(*e));
	tmp = crdt__alloc(doc->alloc, nruns * sizeof(*tmp));
	if (!e || !tmp)
		goto out;
	for (const struct leaf *l = doc->first; l; l = l->next)
		for (uint32_t i = 0; i < l->h.n; i++) {
			e[n].lv = l->r[i].lv;
			e[n++].leaf = l->h.id;
		}
	crdt__sort_by_lv(e, tmp, n);
	/* An entry only where the leaf changes, in LV order. */
	n = 0;
	for (size_t i = 0; i < nruns; i++)
		if (n == 0 || e[n - 1].leaf != e[i].leaf)
			e[n++] = e[i];
	/* Full blocks, as appending makes them. */
	nblocks = (n + IBLOCK_CAP - 1) / IBLOCK_CAP;
	if (crdt__grow(doc->alloc, (void **)&doc->iblocks, &doc->capiblocks, nblocks,
		       sizeof(*doc->iblocks)))
		goto out;
	for (size_t b = 0; b < nblocks; b++) {
		struct iblock *blk = crdt__alloc(doc->alloc, sizeof(*blk));
		size_t k = n - b * IBLOCK_CAP < IBLOCK_CAP ? n - b * IBLOCK_CAP : IBLOCK_CAP;

		if (!blk) {
			crdt__index_finish(doc);
			goto out;
		}
		blk->n = (uint32_t)k;
		memcpy(blk->e, e + b * IBLOCK_CAP, k * sizeof(*e));
		doc->iblocks[doc->niblocks++] = blk;
	}
	rc = 0;
out:
	crdt__free(doc->alloc, e, nruns * sizeof(*e));
	crdt__free(doc->alloc, tmp, nruns * sizeof(*tmp));
	return rc;
}
