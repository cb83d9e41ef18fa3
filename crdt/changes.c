/*
 * changes.c - one change list for everything an update did to the text.
 *
 * An editor mirroring the document wants a remote update as one edit of
 * the text it shows: replacements of ranges of the text before the update,
 * sorted, as CodeMirror's ChangeSpec arrays are.  Applying operations one at
 * a time and reporting each against the text the last one left would make
 * the editor compose them (0.74 ms a keystroke, seconds after a reconnect).
 * Instead the document itself says what changed, once the update is in:
 * the characters inserted by the update that are still visible, and the
 * characters that were visible before it and that it deleted (noted during
 * the apply, struct track).  Both are found in the tree, sorted by their
 * place in it (tombstones included, so the order is total), and read off
 * against running counts of what was inserted and deleted before each.
 *
 * This file only reads the document, after crdt_apply() changed it.
 */
#include <stdlib.h>
#include <string.h>

#include "crdt-internal.h"

void crdt_changes_init(struct crdt_changes *ch, const struct crdt_allocator *alloc)
{
	memset(ch, 0, sizeof(*ch));
	ch->alloc = alloc;
	crdt_buf_init(&ch->text, alloc);
}

void crdt_changes_finish(struct crdt_changes *ch)
{
	if (!ch)
		return;
	crdt__free(ch->alloc, ch->v, ch->cap * sizeof(*ch->v));
	crdt_buf_finish(&ch->text);
	ch->v = NULL;
	ch->len = ch->cap = 0;
}

/*
 * Characters [lv, lv+n) of one run (characters off .. off+n-1 of run i of
 * leaf), inserted (ins) or deleted by the update, and where that run is:
 * tot counts every character before it, vis and vis16 the visible ones.
 */
struct piece {
	size_t tot, vis, vis16;
	const struct leaf *leaf;
	uint32_t i, off, n;
	int ins;
};

struct pieces {
	struct piece *v;
	size_t n, cap;
};

static int piece_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return x->tot < y->tot ? -1 : x->tot > y->tot;
}

/*
 * Adds the characters [lo, hi) as pieces, a piece a run: of those that are
 * visible when ins, of those that are deleted otherwise.
 */
static int add_pieces(const struct crdt_doc *doc, struct pieces *ps, crdt_lv lo, crdt_lv hi,
		      int ins)
{
	while (lo < hi) {
		struct cursor c;
		const struct run *r;
		uint32_t k;
		int rc;

		if (crdt__find_lv(doc, lo, &c))
			return CRDT_EINVAL;
		r = &c.leaf->r[c.i];
		k = r->len - c.off;
		if (k > hi - lo)
			k = hi - lo;
		if (ins == !r->deleted) {
			rc = crdt__grow(doc->alloc, (void **)&ps->v, &ps->cap, ps->n + 1,
					sizeof(*ps->v));
			if (rc)
				return rc;
			struct piece *p = &ps->v[ps->n++];

			crdt__pos_all(doc, c.leaf, c.i, &p->tot, &p->vis, &p->vis16);
			p->tot += c.off;
			p->leaf = c.leaf;
			p->i = c.i;
			p->off = c.off;
			p->n = k;
			p->ins = ins;
		}
		lo += k;
	}
	return 0;
}

static int collect(const struct crdt_doc *doc, const struct track *t, struct pieces *ps)
{
	int rc = 0;

	for (size_t i = 0; i < t->n && !rc; i++)
		rc = add_pieces(doc, ps, t->v[i].lo, t->v[i].hi, 0);
	if (rc || t->lv0 >= doc->next_lv)
		return rc;
	for (size_t i = crdt__span_at(doc, t->lv0); i < doc->nops && !rc; i++) {
		const struct span *s = &doc->ops[i];
		crdt_lv lo = s->lv > t->lv0 ? s->lv : t->lv0;

		if (s->kind == SPAN_INS)
			rc = add_pieces(doc, ps, lo, s->lv + crdt__span_len(doc, s), 1);
	}
	return rc;
}

/* Turns the sorted pieces into changes of the text before the update. */
static int emit(const struct crdt_doc *doc, const struct pieces *ps, struct crdt_changes *ch)
{
	size_t ins = 0, ins16 = 0, del = 0, del16 = 0;

	for (size_t i = 0; i < ps->n; i++) {
		const struct piece *p = &ps->v[i];
		struct crdt_change *last = ch->len ? &ch->v[ch->len - 1] : NULL;
		const struct run *r = &p->leaf->r[p->i];
		size_t from, from16;
		uint32_t n16, u0, agent = 0;
		int rc;

		u0 = crdt__run_u16(doc, r, p->off);
		n16 = crdt__run_u16(doc, r, p->off + p->n) - u0;
		/* Before the update: what is visible before the piece now, less ours, plus ours
		 * deleted. */
		from = p->vis + (p->ins ? p->off : 0) - ins + del;
		from16 = p->vis16 + (p->ins ? u0 : 0) - ins16 + del16;
		if (p->ins) {
			const struct span *s = &doc->ops[crdt__span_at(doc, r->lv)];
			uint32_t b0, b1;

			agent = doc->agents[s->agent].id;
			crdt__run_bytes(doc, r, p->off, p->off + p->n, &b0, &b1);
			rc = crdt__put_bytes(&ch->text, doc->text + b0, b1 - b0);
			if (rc)
				return rc;
			ins += p->n;
			ins16 += n16;
			/* Text typed by the same agent (or by anyone after a bare deletion) joins
			 * the last change. */
			if (last && last->to16 == from16 &&
			    (!last->ins_len || last->agent == agent)) {
				last->ins_len += b1 - b0;
				last->ins_len16 += n16;
				last->agent = agent;
				continue;
			}
			rc = crdt__grow(ch->alloc, (void **)&ch->v, &ch->cap, ch->len + 1,
					sizeof(*ch->v));
			if (rc)
				return rc;
			ch->v[ch->len++] = (struct crdt_change){
				from,	 from, from16, from16, ch->text.len - (b1 - b0),
				b1 - b0, n16,  agent
			};
			continue;
		}
		del += p->n;
		del16 += n16;
		if (last && last->to16 == from16) {
			last->to += p->n;
			last->to16 += n16;
			continue;
		}
		rc = crdt__grow(ch->alloc, (void **)&ch->v, &ch->cap, ch->len + 1, sizeof(*ch->v));
		if (rc)
			return rc;
		ch->v[ch->len++] =
			(struct crdt_change){ from,	    from + p->n, from16, from16 + n16,
					      ch->text.len, 0,		 0,	 0 };
	}
	return 0;
}

int crdt_apply_changes(struct crdt_doc *doc, const uint8_t *data, size_t len,
		       struct crdt_changes *ch)
{
	struct track t = { 0 };
	struct pieces ps = { 0 };
	int rc, crc;

	if (!doc || !ch)
		return CRDT_EINVAL;
	ch->len = 0;
	ch->text.len = 0;
	t.lv0 = doc->next_lv;
	doc->track = &t;
	rc = crdt_apply(doc, data, len);
	doc->track = NULL;
	crc = collect(doc, &t, &ps);
	if (!crc && ps.n) {
		qsort(ps.v, ps.n, sizeof(*ps.v), piece_cmp);
		crc = emit(doc, &ps, ch);
	}
	crdt__free(doc->alloc, t.v, t.cap * sizeof(*t.v));
	crdt__free(doc->alloc, ps.v, ps.cap * sizeof(*ps.v));
	if (crc) {
		ch->len = 0;
		ch->text.len = 0;
		return crc;
	}
	return rc;
}
