/*
 * authors.c - who typed which part of the text.
 *
 * Every run of the tree lies inside one operation span, so it has one
 * author: the visible text, read run by run, is already a list of
 * (agent, length) pieces, and adjacent pieces by one agent merge.  The
 * current text is read from the tree (starting with a descent to `from`);
 * the text at a past version through the same walk crdt_text_at() uses.
 * This file only reads.
 */
#include <string.h>

#include "crdt-internal.h"

void crdt_authors_init(struct crdt_authors *au, const struct crdt_allocator *alloc)
{
	memset(au, 0, sizeof(*au));
	au->alloc = alloc;
}

void crdt_authors_finish(struct crdt_authors *au)
{
	if (!au)
		return;
	crdt__free(au->alloc, au->v, au->cap * sizeof(*au->v));
	au->v = NULL;
	au->len = au->cap = 0;
}

/* The walk: the part of the text being read, in one unit, and where it is. */
struct walk {
	const struct crdt_doc *doc;
	struct crdt_authors *au;
	size_t from, to, pos; /* pos: where the next piece starts */
	bool utf16;
};

static int push(struct walk *w, uint32_t agent, size_t len, size_t len16)
{
	struct crdt_authors *au = w->au;
	int rc;

	if (au->len && au->v[au->len - 1].agent == agent) {
		au->v[au->len - 1].len += len;
		au->v[au->len - 1].len16 += len16;
		return 0;
	}
	rc = crdt__grow(au->alloc, (void **)&au->v, &au->cap, au->len + 1, sizeof(*au->v));
	if (rc)
		return rc;
	au->v[au->len++] = (struct crdt_author_run){ agent, len, len16 };
	return 0;
}

/* The character offset in run r of the UTF-16 offset u16 (from the run's start). */
static int cp_of(const struct crdt_doc *doc, const struct run *r, uint32_t u16, uint32_t *off)
{
	int mid = 0;

	*off = u16 >= crdt__run_u16(doc, r, r->len) ? r->len : crdt__run_cp_at(doc, r, u16, &mid);
	return mid ? CRDT_ERANGE : 0;
}

/* Takes what of characters off0 .. off1-1 of run r lies in [from, to). */
static int piece(void *ud, const struct run *r, uint32_t off0, uint32_t off1)
{
	struct walk *w = ud;
	const struct crdt_doc *doc = w->doc;
	const struct span *s;
	uint32_t u0 = crdt__run_u16(doc, r, off0), u1 = crdt__run_u16(doc, r, off1);
	size_t len = w->utf16 ? u1 - u0 : off1 - off0;
	size_t lo = w->pos > w->from ? w->pos : w->from;
	size_t hi = w->pos + len < w->to ? w->pos + len : w->to;
	uint32_t a = off0, b = off1;
	int rc = 0;

	if (lo < hi) {
		if (w->utf16) {
			rc = cp_of(doc, r, u0 + (uint32_t)(lo - w->pos), &a);
			if (!rc)
				rc = cp_of(doc, r, u0 + (uint32_t)(hi - w->pos), &b);
		} else {
			a = off0 + (uint32_t)(lo - w->pos);
			b = off0 + (uint32_t)(hi - w->pos);
		}
		if (rc)
			return rc;
		s = &doc->ops[crdt__span_at(doc, r->lv)];
		rc = push(w, doc->agents[s->agent].id, b - a,
			  crdt__run_u16(doc, r, b) - crdt__run_u16(doc, r, a));
		if (rc)
			return rc;
	}
	w->pos += len;
	return w->pos >= w->to;
}

int crdt_authors(const struct crdt_doc *doc, size_t from, size_t to, bool utf16,
		 const struct crdt_version *at, struct crdt_authors *au)
{
	struct walk w = { doc, au, from, to, 0, utf16 };
	struct cursor c;
	size_t total;
	int rc = 0, mid = 0;

	if (!doc || !au)
		return CRDT_EINVAL;
	au->len = 0;
	total = utf16 ? doc->vis16_len : doc->vis_len;
	if (at) {
		rc = from > to ? CRDT_ERANGE : crdt__walk_at(doc, at, piece, &w);
		if (!rc && w.pos < from)
			rc = CRDT_ERANGE;
		if (rc)
			au->len = 0;
		return rc;
	}
	if (from > total)
		return CRDT_ERANGE;
	if (to > total)
		w.to = to = total;
	if (from >= to)
		return 0;
	/* Start at from's run: the walk's position there is from less the run's part before it. */
	if (utf16) {
		crdt__find_vis16(doc, from, &c, &mid);
		if (mid)
			return CRDT_ERANGE;
		w.pos = from - crdt__run_u16(doc, &c.leaf->r[c.i], c.off);
	} else {
		crdt__find_vis(doc, from, &c);
		w.pos = from - c.off;
	}
	for (const struct leaf *l = c.leaf; l && !rc; l = l->next) {
		for (uint32_t i = l == c.leaf ? c.i : 0; i < l->h.n && !rc; i++)
			if (!l->r[i].deleted)
				rc = piece(&w, &l->r[i], 0, l->r[i].len);
	}
	if (rc < 0)
		au->len = 0;
	return rc < 0 ? rc : 0;
}
