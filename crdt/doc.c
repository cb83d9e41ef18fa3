/*
 * doc.c - a document's life cycle, local edits and the merge of remote ones.
 *
 * Local edits turn positions into operations (choosing their origins);
 * remote operations are placed with the YjsMod/FugueMax rule described in
 * crdt.h.  Both reserve every byte they may need before changing anything,
 * so an allocation failure leaves the document as it was.  Operations that
 * arrive before their dependencies wait in the pending list.
 */
#include <stdlib.h>
#include <string.h>

#include "crdt-internal.h"

/* Upper bound on buffered remote operations and their text. */
#define PENDING_MAX_OPS	  100000
#define PENDING_MAX_BYTES (64u << 20)

struct crdt_doc *crdt_doc_create(const struct crdt_allocator *alloc)
{
	struct crdt_doc *doc = crdt__alloc(alloc, sizeof(*doc));

	if (!doc)
		return NULL;
	memset(doc, 0, sizeof(*doc));
	if (alloc) {
		doc->alloc_store = *alloc;
		doc->alloc = &doc->alloc_store;
	}
	if (crdt__tree_init(doc)) {
		crdt_doc_destroy(doc);
		return NULL;
	}
	return doc;
}

static void pending_free(struct crdt_doc *doc, struct rop *op)
{
	crdt__free(doc->alloc, (void *)op->text, op->nbytes);
	op->text = NULL;
}

void crdt_doc_destroy(struct crdt_doc *doc)
{
	const struct crdt_allocator *a;

	if (!doc)
		return;
	a = doc->alloc;
	crdt__tree_finish(doc);
	crdt__index_finish(doc);
	for (size_t i = 0; i < doc->npending; i++)
		pending_free(doc, &doc->pending[i]);
	crdt__free(a, doc->pending, doc->cappending * sizeof(*doc->pending));
	for (size_t i = 0; i < doc->nagents; i++)
		crdt__free(a, doc->agents[i].samples,
			   doc->agents[i].capsamples * sizeof(*doc->agents[i].samples));
	crdt__free(a, doc->agents, doc->capagents * sizeof(*doc->agents));
	crdt__free(a, doc->by_id, doc->capby_id * sizeof(*doc->by_id));
	crdt__free(a, doc->ops, doc->capops * sizeof(*doc->ops));
	crdt__free(a, doc->text, doc->text_cap);
	crdt__free(a, doc->ck, doc->capck * sizeof(*doc->ck));
	/* The hook lives inside doc: copy it out before the last free. */
	{
		struct crdt_allocator hook = doc->alloc_store;

		crdt__free(a ? &hook : NULL, doc, sizeof(*doc));
	}
}

void crdt_doc_observe(struct crdt_doc *doc, crdt_change_cb *cb, void *ud)
{
	doc->on_change = cb;
	doc->on_change_ud = ud;
}

size_t crdt_len(const struct crdt_doc *doc)
{
	return doc->vis_len;
}

size_t crdt_len_bytes(const struct crdt_doc *doc)
{
	return doc->vis_bytes;
}

size_t crdt_text(const struct crdt_doc *doc, char *buf, size_t cap)
{
	struct crdt__bpos hint = { LV_NONE, 0 };
	size_t n = 0;

	for (const struct leaf *l = doc->first; l && n < cap; l = l->next)
		for (uint32_t i = 0; i < l->h.n && n < cap; i++) {
			const struct run *r = &l->r[i];
			uint32_t b0, b1;
			size_t k;

			if (r->deleted)
				continue;
			crdt__run_bytes_near(doc, r, 0, r->len, &hint, &b0, &b1);
			k = b1 - b0 < cap - n ? b1 - b0 : cap - n;
			memcpy(buf + n, doc->text + b0, k);
			n += k;
		}
	return doc->vis_bytes;
}

size_t crdt_pending(const struct crdt_doc *doc)
{
	return doc->npending;
}

size_t crdt_op_count(const struct crdt_doc *doc)
{
	return doc->next_lv;
}

uint32_t crdt_doc_next(const struct crdt_doc *doc, uint32_t agent)
{
	int ai = crdt__agent_find(doc, agent);

	return ai >= 0 ? doc->agents[ai].next : 0;
}

int crdt_doc_version(const struct crdt_doc *doc, struct crdt_version *ver)
{
	int rc;

	ver->len = 0;
	rc = crdt__grow(ver->alloc, (void **)&ver->v, &ver->cap, doc->nagents ? doc->nagents : 1,
			sizeof(*ver->v));
	if (rc)
		return rc;
	for (size_t i = 0; i < doc->nagents; i++) {
		const struct agent *a = &doc->agents[doc->by_id[i]];

		if (a->next) {
			ver->v[ver->len].agent = a->id;
			ver->v[ver->len].next = a->next;
			ver->len++;
		}
	}
	return 0;
}

/* ---- helpers on runs ---------------------------------------------------- */

/* The run before cursor c in document order, or NULL at the very start. */
static struct run *run_before(const struct cursor *c, struct leaf **leaf, uint32_t *idx)
{
	struct leaf *l = c->leaf;
	uint32_t i = c->i;

	if (i == 0) {
		l = l->prev;
		if (!l)
			return NULL;
		i = l->h.n;
	}
	*leaf = l;
	*idx = i - 1;
	return &l->r[i - 1];
}

/* The cursor at the end of the document. */
static void cursor_end(const struct crdt_doc *doc, struct cursor *c)
{
	const struct node *n = doc->root;

	while (!n->leaf)
		n = ((const struct inner *)n)->child[n->n - 1];
	c->leaf = (struct leaf *)n;
	c->i = n->n;
	c->off = 0;
}

/*
 * Adjacent runs p and q (q right after p, one leaf) merge when q continues
 * p's characters in the same operation span and state.
 */
static int can_merge(const struct crdt_doc *doc, const struct run *p, const struct run *q)
{
	const struct span *s;

	/* q inside p's span: q's left origin is p's last character, their right ones equal. */
	if (p->deleted != q->deleted || p->lv + p->len != q->lv ||
	    (uint32_t)p->len + q->len > RUN_MAX)
		return 0;
	s = &doc->ops[crdt__span_at(doc, p->lv)];
	return q->lv + q->len <= s->lv + crdt__span_len(doc, s);
}

/* Appends run q to run p (can_merge said yes). */
static void run_extend(struct run *p, const struct run *q)
{
	p->len += q->len;
	if (!q->ascii)
		p->ascii = 0;
	if (!q->bmp)
		p->bmp = 0;
}

/* Merges run i of leaf with its neighbours where possible. */
static void merge_around(struct crdt_doc *doc, struct leaf *l, uint32_t i)
{
	if (i + 1 < l->h.n && can_merge(doc, &l->r[i], &l->r[i + 1])) {
		run_extend(&l->r[i], &l->r[i + 1]);
		memmove(l->r + i + 1, l->r + i + 2, sizeof(l->r[0]) * (l->h.n - i - 2));
		l->h.n--;
	}
	if (i > 0 && can_merge(doc, &l->r[i - 1], &l->r[i])) {
		run_extend(&l->r[i - 1], &l->r[i]);
		memmove(l->r + i, l->r + i + 1, sizeof(l->r[0]) * (l->h.n - i - 1));
		l->h.n--;
	}
}

/*
 * Places the freshly logged insert run r (nbytes of text, u16 UTF-16
 * units) at cursor c: extends the run before c when r continues it, else
 * inserts r there.  Returns nothing; all space was reserved.
 */
static void place_run(struct crdt_doc *doc, struct cursor *c, const struct run *r, size_t nbytes,
		      size_t u16)
{
	struct leaf *pl;
	uint32_t pi;
	struct run *p = run_before(c, &pl, &pi);

	/*
	 * p is in r's span when it starts at or after that span's start (r is
	 * the newest run, so its span is found at once, and p ends where r
	 * starts): no search of the log for p's.
	 */
	doc->vis_bytes += nbytes;
	if (p && !p->deleted && !r->deleted && p->lv + p->len == r->lv &&
	    (uint32_t)p->len + r->len <= RUN_MAX &&
	    p->lv >= doc->ops[crdt__span_at(doc, r->lv)].lv) {
		run_extend(p, r);
		crdt__index_set(doc, r->lv, r->lv + r->len, pl);
		crdt__adjust(doc, pl, (int32_t)r->len, (int32_t)r->len, (int32_t)u16);
		return;
	}
	crdt__insert_run(doc, c, r, u16);
}

/*
 * Marks [off, off+n) of run c->i deleted; returns its visible position when
 * want_pos (finding it costs a walk up the tree), else 0.
 */
static size_t delete_in_run(struct crdt_doc *doc, struct cursor *c, uint32_t n, int want_pos)
{
	struct cursor end;
	struct run *r;
	size_t vpos;

	crdt__split(doc, c);
	end = *c;
	end.off = n;
	crdt__split(doc, &end);
	/* The piece to delete is the run just before end. */
	c->leaf = end.leaf;
	c->i = end.i - 1;
	r = &c->leaf->r[c->i];
	vpos = want_pos ? crdt__pos_vis(doc, c->leaf, c->i) : 0;
	r->deleted = 1;
	/* A bulk load counts what is visible once, at its end (crdt__recount). */
	if (!doc->bulk) {
		crdt__adjust(doc, c->leaf, -(int32_t)r->len, 0,
			     -(int32_t)crdt__run_u16(doc, r, r->len));
		doc->vis_bytes -= crdt__run_nbytes(doc, r);
	}
	merge_around(doc, c->leaf, c->i);
	return vpos;
}

/* The same three for the snapshot loader, which builds a tree as local edits do. */
struct run *crdt__run_before(const struct cursor *c, struct leaf **leaf, uint32_t *idx)
{
	return run_before(c, leaf, idx);
}

void crdt__place_run(struct crdt_doc *doc, struct cursor *c, const struct run *r, size_t nbytes,
		     size_t u16)
{
	place_run(doc, c, r, nbytes, u16);
}

size_t crdt__delete_in_run(struct crdt_doc *doc, struct cursor *c, uint32_t n, int want_pos)
{
	return delete_in_run(doc, c, n, want_pos);
}

/* ---- local edits -------------------------------------------------------- */

int crdt_insert(struct crdt_doc *doc, uint32_t agent, size_t pos, const char *utf8, size_t nbytes)
{
	return crdt__insert(doc, agent, pos, false, utf8, nbytes);
}

int crdt__insert(struct crdt_doc *doc, uint32_t agent, size_t pos, bool utf16, const char *utf8,
		 size_t nbytes)
{
	struct cursor c;
	struct span s;
	struct run r;
	size_t cps, u16;
	uint32_t ai;
	bool at_end;
	int rc, mid = 0;

	if (!doc || (!utf8 && nbytes))
		return CRDT_EINVAL;
	rc = crdt_utf8_check(utf8, nbytes, &cps);
	if (rc)
		return rc;
	if (pos > (utf16 ? doc->vis16_len : doc->vis_len))
		return CRDT_ERANGE;
	/* Nothing visible above U+FFFF (most text): the units agree. */
	if (doc->vis16_len == doc->vis_len)
		utf16 = false;
	/* The point, found first: a UTF-16 one inside a pair is refused before anything changes. */
	at_end = pos == (utf16 ? doc->vis16_len : doc->vis_len);
	if (at_end)
		cursor_end(doc, &c);
	else if (utf16)
		crdt__find_vis16(doc, pos, &c, &mid);
	else
		crdt__find_vis(doc, pos, &c);
	if (mid)
		return CRDT_ERANGE;
	if (cps == 0)
		return 0;
	if (cps >= LV_NONE - doc->next_lv || nbytes > TEXT_MAX || cps > RUN_MAX)
		return CRDT_ELIMIT;
	rc = crdt__agent_index(doc, agent, &ai);
	if (rc)
		return rc;
	if (cps > UINT32_MAX - doc->agents[ai].next)
		return CRDT_ESEQ;
	rc = crdt__log_reserve(doc, ai, nbytes, cps);
	if (!rc)
		rc = crdt__reserve_nodes(doc, 1);
	if (rc)
		return rc;

	/*
	 * Origins: the character just before the insertion point (tombstones
	 * included) and the visible character at pos.  The point is just before
	 * that visible character, after any tombstones in front of it.  (The
	 * reservations above leave the tree, and so the cursor, as they were.)
	 */
	s.b = at_end ? LV_NONE : c.leaf->r[c.i].lv + c.off;
	if (c.off > 0) {
		s.a = c.leaf->r[c.i].lv + c.off - 1;
	} else {
		struct leaf *pl;
		uint32_t pi;
		const struct run *p = run_before(&c, &pl, &pi);

		s.a = p ? p->lv + p->len - 1 : LV_NONE;
	}

	r.lv = doc->next_lv;
	r.len = (uint32_t)cps;
	r.deleted = 0;
	u16 = crdt__run_kind(&r, utf8, nbytes, cps);
	s.byte = (uint32_t)doc->text_len;
	memcpy(doc->text + doc->text_len, utf8, nbytes);
	doc->text_len += nbytes;

	s.lv = r.lv;
	s.agent = ai;
	s.seq = doc->agents[ai].next;
	s.kind = SPAN_INS;
	s.dir = 1;
	crdt__log_push(doc, &s, r.len);

	crdt__split(doc, &c);
	place_run(doc, &c, &r, nbytes, u16);
	return 0;
}

int crdt_delete(struct crdt_doc *doc, uint32_t agent, size_t pos, size_t count)
{
	struct cursor c;
	size_t pieces = 0, left;
	uint32_t ai;
	int rc;

	if (!doc)
		return CRDT_EINVAL;
	if (pos > doc->vis_len || count > doc->vis_len - pos)
		return CRDT_ERANGE;
	if (count == 0)
		return 0;
	if (count >= LV_NONE - doc->next_lv)
		return CRDT_ELIMIT;
	rc = crdt__agent_index(doc, agent, &ai);
	if (rc)
		return rc;
	if (count > UINT32_MAX - doc->agents[ai].next)
		return CRDT_ESEQ;

	/* Count the runs the range touches: each becomes one delete span at most. */
	crdt__find_vis(doc, pos, &c);
	left = count;
	{
		const struct leaf *l = c.leaf;
		uint32_t i = c.i, off = c.off;

		while (left) {
			if (i >= l->h.n) {
				l = l->next;
				i = 0;
				continue;
			}
			if (!l->r[i].deleted) {
				size_t take = l->r[i].len - off;

				left -= take < left ? take : left;
				pieces++;
			}
			i++;
			off = 0;
		}
	}
	rc = crdt__grow_log(doc->alloc, (void **)&doc->ops, &doc->capops, doc->nops + pieces,
			    sizeof(*doc->ops));
	if (!rc)
		rc = crdt__grow_log(doc->alloc, (void **)&doc->agents[ai].samples,
				    &doc->agents[ai].capsamples, doc->agents[ai].nsamples + pieces,
				    sizeof(*doc->agents[ai].samples));
	if (!rc)
		rc = crdt__ck_reserve(doc, count);
	if (rc)
		return rc;
	rc = crdt__reserve_nodes(doc, 1);
	if (rc)
		return rc;

	left = count;
	while (left) {
		struct span s;
		struct run *r;
		uint32_t n;

		crdt__find_vis(doc, pos, &c);
		r = &c.leaf->r[c.i];
		n = r->len - c.off;
		if (n > left)
			n = (uint32_t)left;
		s.lv = doc->next_lv;
		s.agent = ai;
		s.seq = doc->agents[ai].next;
		s.a = r->lv + c.off;
		s.b = 0;
		s.byte = (uint32_t)doc->text_len;
		s.kind = SPAN_DEL;
		s.dir = 1;
		delete_in_run(doc, &c, n, 0);
		crdt__log_push(doc, &s, n);
		left -= n;
		/*
		 * Top the spares up for the next piece (cheap when this one used
		 * none).  A failure leaves the pieces done so far, each complete.
		 */
		if (left) {
			rc = crdt__reserve_nodes(doc, 1);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* ---- remote operations -------------------------------------------------- */

/* Does the document have (agent id, seq)? */
static int known(const struct crdt_doc *doc, uint32_t id, uint32_t seq)
{
	int ai = crdt__agent_find(doc, id);

	return ai >= 0 && doc->agents[ai].next > seq;
}

/* Are the known seqs [lo, hi] of local agent ai all operations of this kind? */
static int known_of_kind(const struct crdt_doc *doc, uint32_t ai, uint32_t lo, uint32_t hi,
			 int kind)
{
	while (lo <= hi) {
		uint32_t up, m;
		int k;
		crdt_lv lv = crdt__seq_to_lv_kind(doc, ai, lo, &up, NULL, &k);

		m = hi - lo + 1 < up ? hi - lo + 1 : up;
		if (lv == LV_NONE || k != kind)
			return 0;
		if (lo + (uint64_t)m > hi)
			break;
		lo += m;
	}
	return 1;
}

static int64_t full_pos(const struct crdt_doc *doc, crdt_lv lv)
{
	struct cursor c;

	if (crdt__find_lv(doc, lv, &c))
		return -2;
	return (int64_t)crdt__pos_tot(doc, c.leaf, c.i) + c.off;
}

static uint32_t agent_id_of(const struct crdt_doc *doc, crdt_lv lv)
{
	return doc->agents[doc->ops[crdt__span_at(doc, lv)].agent].id;
}

/* Integrates a remote insert whose dependencies are all present. */
static int integrate(struct crdt_doc *doc, const struct rop *op, uint32_t ai, uint32_t skip)
{
	const char *text = (const char *)op->text;
	uint32_t nbytes = op->nbytes, len = op->len - skip;
	crdt_lv ol = LV_NONE, orr = LV_NONE;
	int kl = SPAN_INS, kr = SPAN_INS;
	int64_t left, right, i, dest;
	int scanning = 0;
	struct cursor c;
	struct span s;
	struct run r;
	size_t vis_before, u16;
	int rc;

	if (skip) {
		size_t b = crdt__utf8_skip(text, nbytes, skip);

		text += b;
		nbytes -= (uint32_t)b;
		ol = crdt__seq_to_lv_kind(doc, ai, op->seq + skip - 1, NULL, NULL, &kl);
	} else if (!op->a_none) {
		ol = crdt__seq_to_lv_kind(doc, (uint32_t)crdt__agent_find(doc, op->a_agent),
					  op->a_seq, NULL, NULL, &kl);
	}
	if (!op->b_none)
		orr = crdt__seq_to_lv_kind(doc, (uint32_t)crdt__agent_find(doc, op->b_agent),
					   op->b_seq, NULL, NULL, &kr);
	if ((ol != LV_NONE && kl != SPAN_INS) || (orr != LV_NONE && kr != SPAN_INS))
		return CRDT_EDECODE;
	if (len >= LV_NONE - doc->next_lv || len > RUN_MAX)
		return CRDT_ELIMIT;
	rc = crdt__log_reserve(doc, ai, nbytes, len);
	if (!rc)
		rc = crdt__reserve_nodes(doc, 1);
	if (rc)
		return rc;

	left = ol == LV_NONE ? -1 : full_pos(doc, ol);
	right = orr == LV_NONE ? (int64_t)doc->tot_len : full_pos(doc, orr);
	if (left < -1 || right < 0)
		return CRDT_EDECODE;
	/*
	 * A right origin left of the left origin cannot come from an honest
	 * peer, but it is harmless: every replica sees the two in the same
	 * order, so the scan below stops at once everywhere and the insert
	 * lands right after its left origin.
	 */

	/* The YjsMod / FugueMax scan (see crdt.h), one run at a time. */
	i = left + 1;
	dest = i;
	if (i < right)
		crdt__find_tot(doc, (size_t)i, &c, NULL);
	for (;;) {
		const struct run *o;
		int64_t oleft, step;

		if (!scanning)
			dest = i;
		if (i >= (int64_t)doc->tot_len || i >= right)
			break;
		if (c.i >= c.leaf->h.n) {
			c.leaf = c.leaf->next;
			c.i = 0;
			c.off = 0;
		}
		o = &c.leaf->r[c.i];
		if (c.off > 0) {
			oleft = i - 1;
		} else {
			crdt_lv o_ol = crdt__run_ol(doc, o);

			oleft = o_ol == LV_NONE ? -1 : full_pos(doc, o_ol);
		}
		if (oleft < left)
			break;
		if (oleft == left) {
			crdt_lv o_orr = crdt__run_orr(doc, o);
			int64_t oright =
				o_orr == LV_NONE ? (int64_t)doc->tot_len : full_pos(doc, o_orr);

			if (oright < right) {
				scanning = 1;
			} else if (oright == right) {
				if (op->agent < agent_id_of(doc, o->lv + c.off))
					break;
				scanning = 0;
			} else {
				scanning = 0;
			}
		}
		/* The rest of this run has its left origin inside the run: skip it. */
		step = (int64_t)(o->len - c.off);
		if (right - i < step)
			step = right - i;
		i += step;
		c.off += (uint32_t)step;
		if (c.off >= o->len) {
			c.i++;
			c.off = 0;
		}
	}

	crdt__find_tot(doc, (size_t)dest, &c, &vis_before);
	r.lv = doc->next_lv;
	r.len = len;
	r.deleted = 0;
	u16 = crdt__run_kind(&r, text, nbytes, len);
	s.byte = (uint32_t)doc->text_len;
	memcpy(doc->text + doc->text_len, text, nbytes);
	doc->text_len += nbytes;

	s.lv = r.lv;
	s.agent = ai;
	s.seq = op->seq + skip;
	s.a = ol;
	s.b = orr;
	s.kind = SPAN_INS;
	s.dir = 1;
	crdt__log_push(doc, &s, len);
	crdt__split(doc, &c);
	place_run(doc, &c, &r, nbytes, u16);
	if (doc->on_change)
		doc->on_change(doc->on_change_ud, vis_before, 0, text, nbytes);
	return 0;
}

/* Notes that the characters [lo, lo+n) were deleted (those of them older than the apply). */
static int track_delete(struct track *t, const struct crdt_allocator *a, crdt_lv lo, uint32_t n)
{
	int rc = crdt__grow(a, (void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v));

	if (rc)
		return rc;
	t->v[t->n].lo = lo;
	t->v[t->n].hi = lo + n < t->lv0 ? lo + n : t->lv0;
	t->n++;
	return 0;
}

/*
 * Applies a remote delete whose targets are all present.  The targets are
 * split where their LVs are not contiguous; each piece is logged as a span.
 */
static int remote_delete(struct crdt_doc *doc, const struct rop *op, uint32_t ai, uint32_t skip)
{
	uint32_t tai = (uint32_t)crdt__agent_find(doc, op->a_agent);
	uint32_t seq = op->seq + skip, n = op->len - skip;
	uint32_t tseq = op->dir > 0 ? op->a_seq + skip : op->a_seq - skip;
	int rc;

	/* Validate first: every target must be an inserted character. */
	{
		uint32_t lo = op->dir > 0 ? tseq : tseq - (n - 1), left = n;

		while (left) {
			uint32_t run;
			int k;
			crdt_lv lv = crdt__seq_to_lv_kind(doc, tai, lo, &run, NULL, &k);

			if (lv == LV_NONE || k != SPAN_INS)
				return CRDT_EDECODE;
			if (run > left)
				run = left;
			lo += run;
			left -= run;
		}
	}
	if (n >= LV_NONE - doc->next_lv)
		return CRDT_ELIMIT;

	while (n) {
		uint32_t up, down, m;
		crdt_lv lv = crdt__seq_to_lv(doc, tai, tseq, &up, &down);
		struct span s;

		/* Forwards a piece runs up its op span; backwards, down to the span's start. */
		m = op->dir > 0 ? up : down;
		if (m > n)
			m = n;
		rc = crdt__log_reserve(doc, ai, 0, m);
		if (!rc)
			rc = crdt__reserve_nodes(doc, 1);
		if (rc)
			return rc;

		/* Mark LVs deleted: [lv, lv+m) forwards, or [lv-m+1, lv] backwards. */
		{
			crdt_lv first = op->dir > 0 ? lv : lv - (m - 1);
			uint32_t left = m;

			while (left) {
				struct cursor c;
				struct run *r;
				uint32_t k;

				if (crdt__find_lv(doc, first, &c))
					return CRDT_EDECODE;
				r = &c.leaf->r[c.i];
				k = r->len - c.off;
				if (k > left)
					k = left;
				if (!r->deleted) {
					size_t vpos;

					if (doc->track && first < doc->track->lv0) {
						rc = track_delete(doc->track, doc->alloc, first, k);
						if (rc)
							return rc;
					}
					vpos = delete_in_run(doc, &c, k, doc->on_change != NULL);

					if (doc->on_change)
						doc->on_change(doc->on_change_ud, vpos, k, NULL, 0);
					rc = crdt__reserve_nodes(doc, 1);
					if (rc)
						return rc;
				}
				first += k;
				left -= k;
			}
		}
		s.lv = doc->next_lv;
		s.agent = ai;
		s.seq = seq;
		s.a = lv;
		s.b = 0;
		s.byte = (uint32_t)doc->text_len;
		s.kind = SPAN_DEL;
		s.dir = op->dir > 0 ? 1 : -1;
		crdt__log_push(doc, &s, m);
		seq += m;
		n -= m;
		tseq = op->dir > 0 ? tseq + m : tseq - m;
	}
	return 0;
}

/* 1: applied or already known; 0: waits for dependencies; < 0: error. */
static int apply_one(struct crdt_doc *doc, const struct rop *op)
{
	int found = crdt__agent_find(doc, op->agent);
	uint32_t next = found >= 0 ? doc->agents[found].next : 0;
	uint32_t skip, ai;
	int rc;

	if (op->seq + (uint64_t)op->len <= next)
		return 1;
	if (op->seq > next)
		return 0;
	skip = next - op->seq;
	if (op->kind == SPAN_INS) {
		if (skip == 0 && !op->a_none && !known(doc, op->a_agent, op->a_seq))
			return 0;
		if (!op->b_none && !known(doc, op->b_agent, op->b_seq))
			return 0;
	} else {
		uint32_t tseq = op->dir > 0 ? op->a_seq + skip : op->a_seq - skip;
		uint32_t hi = op->dir > 0 ? tseq + (op->len - skip - 1) : tseq;

		if (!known(doc, op->a_agent, hi))
			return 0;
	}
	rc = crdt__agent_index(doc, op->agent, &ai);
	if (rc)
		return rc;
	rc = op->kind == SPAN_INS ? integrate(doc, op, ai, skip) : remote_delete(doc, op, ai, skip);
	return rc ? rc : 1;
}

static int pending_push(struct crdt_doc *doc, const struct rop *op, int owned)
{
	struct rop *p;
	int rc;

	/* A resend of an op that is already waiting adds nothing. */
	for (size_t i = 0; i < doc->npending; i++) {
		const struct rop *q = &doc->pending[i];

		if (q->agent == op->agent && q->kind == op->kind && q->seq <= op->seq &&
		    op->seq + (uint64_t)op->len <= q->seq + (uint64_t)q->len)
			return 0;
	}
	if (doc->npending >= PENDING_MAX_OPS || op->nbytes > PENDING_MAX_BYTES - doc->pending_bytes)
		return CRDT_ELIMIT;
	rc = crdt__grow(doc->alloc, (void **)&doc->pending, &doc->cappending, doc->npending + 1,
			sizeof(*doc->pending));
	if (rc)
		return rc;
	p = &doc->pending[doc->npending];
	*p = *op;
	if (!owned && op->nbytes) {
		uint8_t *t = crdt__alloc(doc->alloc, op->nbytes);

		if (!t)
			return CRDT_ENOMEM;
		memcpy(t, op->text, op->nbytes);
		p->text = t;
	} else if (!owned) {
		p->text = NULL;
	}
	doc->pending_bytes += op->nbytes;
	doc->npending++;
	return 0;
}

/* Retries pending operations until none makes progress. */
static int drain_pending(struct crdt_doc *doc)
{
	int progress = 1;

	while (progress && doc->npending) {
		progress = 0;
		for (size_t i = 0; i < doc->npending;) {
			int rc = apply_one(doc, &doc->pending[i]);

			if (rc == 0) {
				i++;
				continue;
			}
			if (rc == CRDT_ENOMEM)
				return rc;
			/*
			 * Applied, known already, or poisoned (it named a delete as
			 * a character, which no honest peer does): drop it.  The
			 * poison came with an earlier call, so this one succeeds.
			 */
			if (rc < 0)
				doc->poisoned++;
			doc->pending_bytes -= doc->pending[i].nbytes;
			pending_free(doc, &doc->pending[i]);
			doc->pending[i] = doc->pending[--doc->npending];
			progress = 1;
		}
	}
	return 0;
}

int crdt__apply_rops(struct crdt_doc *doc, struct rop *ops, size_t n, int owned)
{
	int err = 0, applied = 0;

	for (size_t i = 0; i < n; i++) {
		int rc = apply_one(doc, &ops[i]);

		if (rc == 0) {
			rc = pending_push(doc, &ops[i], owned);
			if (rc)
				return rc;
			continue;
		}
		if (rc == CRDT_ENOMEM)
			return rc;
		if (rc < 0) {
			err = rc;
			continue;
		}
		applied = 1;
	}
	if (applied && doc->npending) {
		int rc = drain_pending(doc);

		if (rc)
			err = rc;
	}
	return err;
}

/* ---- validation before a batch touches the document --------------------- */

struct bkey {
	uint32_t agent, seq, len;
	int kind;
};

static int bkey_cmp(const void *a, const void *b)
{
	const struct bkey *x = a, *y = b;

	if (x->agent != y->agent)
		return x->agent < y->agent ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Are the seqs [lo, hi] of agent id all inserts, as far as the document and
 * the batch know?  Seqs neither knows are fine: those ops will wait.
 */
static int range_is_inserts(const struct crdt_doc *doc, const struct bkey *keys, size_t n,
			    uint32_t id, uint32_t lo, uint32_t hi)
{
	int ai = crdt__agent_find(doc, id);
	uint32_t next = ai >= 0 ? doc->agents[ai].next : 0;
	size_t a = 0, b = n;

	while (lo <= hi && lo < next) {
		uint32_t up, m;
		int k;
		crdt_lv lv = crdt__seq_to_lv_kind(doc, (uint32_t)ai, lo, &up, NULL, &k);

		m = hi - lo + 1 < up ? hi - lo + 1 : up;
		if (lv == LV_NONE || k != SPAN_INS)
			return 0;
		if (lo + (uint64_t)m > hi)
			return 1;
		lo += m;
	}
	/* The last batch op of this agent starting at or before lo, then onwards. */
	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (keys[mid].agent < id || (keys[mid].agent == id && keys[mid].seq <= lo))
			a = mid + 1;
		else
			b = mid;
	}
	if (a > 0)
		a--;
	for (; a < n && keys[a].agent <= id; a++) {
		const struct bkey *k = &keys[a];

		if (k->agent != id || k->seq + (uint64_t)k->len <= lo)
			continue;
		if (k->seq > hi)
			break;
		if (k->kind != SPAN_INS)
			return 0;
	}
	return 1;
}

int crdt__validate_rops(struct crdt_doc *doc, const struct rop *ops, size_t n)
{
	struct bkey *keys;
	int rc = 0;

	if (!n)
		return 0;
	keys = crdt__alloc(doc->alloc, n * sizeof(*keys));
	if (!keys)
		return CRDT_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		keys[i].agent = ops[i].agent;
		keys[i].seq = ops[i].seq;
		keys[i].len = ops[i].len;
		keys[i].kind = ops[i].kind;
	}
	/* One peer's update comes sorted already (its own ops in seq order): skip the sort then. */
	for (size_t i = 1; i < n; i++) {
		if (bkey_cmp(&keys[i - 1], &keys[i]) > 0) {
			qsort(keys, n, sizeof(*keys), bkey_cmp);
			break;
		}
	}
	/* One batch cannot say two things about the same operation. */
	for (size_t i = 1; i < n && !rc; i++)
		if (keys[i].agent == keys[i - 1].agent &&
		    keys[i - 1].seq + (uint64_t)keys[i - 1].len > keys[i].seq)
			rc = CRDT_EDECODE;
	for (size_t i = 0; i < n && !rc; i++) {
		const struct rop *op = &ops[i];
		int ai = crdt__agent_find(doc, op->agent);

		/* A resent op the document already has must be what it was. */
		if (ai >= 0 && doc->agents[ai].next > op->seq) {
			uint32_t last = op->seq + op->len - 1;

			if (last >= doc->agents[ai].next)
				last = doc->agents[ai].next - 1;
			if (!known_of_kind(doc, (uint32_t)ai, op->seq, last, op->kind)) {
				rc = CRDT_EDECODE;
				break;
			}
		}
		if (op->kind == SPAN_INS) {
			if ((!op->a_none &&
			     !range_is_inserts(doc, keys, n, op->a_agent, op->a_seq, op->a_seq)) ||
			    (!op->b_none &&
			     !range_is_inserts(doc, keys, n, op->b_agent, op->b_seq, op->b_seq)))
				rc = CRDT_EDECODE;
		} else {
			uint32_t lo = op->dir > 0 ? op->a_seq : op->a_seq - (op->len - 1);

			if (!range_is_inserts(doc, keys, n, op->a_agent, lo, lo + (op->len - 1)))
				rc = CRDT_EDECODE;
		}
	}
	crdt__free(doc->alloc, keys, n * sizeof(*keys));
	return rc;
}
