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

/* Byte offset of character k (k <= its length) of the UTF-8 text at byte from of the arena. */
static uint32_t arena_skip(const struct crdt_doc *doc, size_t from, uint32_t k)
{
	return (uint32_t)(from + crdt__utf8_skip(doc->text + from, doc->text_len - from, k));
}

/*
 * B(lv) (see struct ckpt) for lv in [s->lv, s->lv + its length] of insert
 * span s whose text is not ASCII: from the checkpoint at or before lv when
 * that lies inside the span, else from the span's start, which is then
 * fewer than CK_STEP characters back; or from the hint (a B already known
 * in the span) when that is nearer.
 */
static uint32_t span_byte(const struct crdt_doc *doc, const struct span *s, crdt_lv lv,
			  const struct crdt__bpos *hint)
{
	uint32_t j = lv >> CK_SHIFT;
	crdt_lv m = j << CK_SHIFT, from = s->lv;
	uint32_t b = s->byte;

	if (m > s->lv && j < doc->nck) {
		from = m;
		b = doc->ck[j].byte;
	}
	if (hint && hint->lv >= from && hint->lv <= lv && hint->lv != LV_NONE) {
		from = hint->lv;
		b = hint->byte;
	}
	return arena_skip(doc, b, lv - from);
}

/* U(lv), given B(lv) = byte. */
static uint32_t lv_u16(const struct crdt_doc *doc, crdt_lv lv, uint32_t byte)
{
	const struct ckpt *k = &doc->ck[lv >> CK_SHIFT];

	return k->u16 + (uint32_t)crdt__utf16_count(doc->text + k->byte, byte - k->byte);
}

void crdt__span_bytes(const struct crdt_doc *doc, const struct span *s, uint32_t k0, uint32_t k1,
		      uint32_t *b0, uint32_t *b1)
{
	crdt__span_bytes_near(doc, s, k0, k1, NULL, b0, b1);
}

void crdt__span_bytes_near(const struct crdt_doc *doc, const struct span *s, uint32_t k0,
			   uint32_t k1, struct crdt__bpos *hint, uint32_t *b0, uint32_t *b1)
{
	if (crdt__span_nbytes(doc, s) == crdt__span_len(doc, s)) {
		*b0 = s->byte + k0;
		*b1 = s->byte + k1;
		return;
	}
	*b0 = span_byte(doc, s, s->lv + k0, hint);
	*b1 = k1 - k0 < CK_STEP ? arena_skip(doc, *b0, k1 - k0)
				: span_byte(doc, s, s->lv + k1, NULL);
	/* Only a long span is worth remembering: a short one is scanned from its start. */
	if (hint && crdt__span_len(doc, s) >= CK_STEP) {
		hint->lv = s->lv + k1;
		hint->byte = *b1;
	}
}

void crdt__run_bytes(const struct crdt_doc *doc, const struct run *r, uint32_t off0, uint32_t off1,
		     uint32_t *b0, uint32_t *b1)
{
	crdt__run_bytes_near(doc, r, off0, off1, NULL, b0, b1);
}

void crdt__run_bytes_near(const struct crdt_doc *doc, const struct run *r, uint32_t off0,
			  uint32_t off1, struct crdt__bpos *hint, uint32_t *b0, uint32_t *b1)
{
	const struct span *s = &doc->ops[crdt__span_at(doc, r->lv)];
	uint32_t k = r->lv - s->lv;

	if (r->ascii) {
		*b0 = s->byte + k + off0;
		*b1 = s->byte + k + off1;
		return;
	}
	crdt__span_bytes_near(doc, s, k + off0, k + off1, hint, b0, b1);
}

uint32_t crdt__run_nbytes(const struct crdt_doc *doc, const struct run *r)
{
	uint32_t b0, b1;

	if (r->ascii)
		return r->len;
	crdt__run_bytes(doc, r, 0, r->len, &b0, &b1);
	return b1 - b0;
}

uint32_t crdt__run_u16_text(const struct crdt_doc *doc, const struct run *r, uint32_t off)
{
	const struct span *s;
	uint32_t b0, b1;

	if (r->bmp || off == 0)
		return off;
	s = &doc->ops[crdt__span_at(doc, r->lv)];
	b0 = span_byte(doc, s, r->lv, NULL);
	if (off < CK_STEP)
		return (uint32_t)crdt__utf16_count(doc->text + b0, arena_skip(doc, b0, off) - b0);
	b1 = span_byte(doc, s, r->lv + off, NULL);
	return lv_u16(doc, r->lv + off, b1) - lv_u16(doc, r->lv, b0);
}

uint32_t crdt__run_cp_at(const struct crdt_doc *doc, const struct run *r, uint32_t u16, int *mid)
{
	const struct span *s;
	const uint8_t *t;
	crdt_lv lv = r->lv, end = r->lv + r->len;
	uint32_t b, u, target;
	size_t lo, hi;

	*mid = 0;
	if (r->bmp)
		return u16;
	s = &doc->ops[crdt__span_at(doc, r->lv)];
	b = span_byte(doc, s, lv, NULL);
	u = lv_u16(doc, lv, b);
	target = u + u16;
	/* The last checkpoint inside the run not past the target, then character by character. */
	lo = (lv >> CK_SHIFT) + 1;
	hi = ((end - 1) >> CK_SHIFT) + 1;
	if (hi > doc->nck)
		hi = doc->nck;
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (doc->ck[m].u16 <= target)
			lo = m + 1;
		else
			hi = m;
	}
	if (lo - 1 > lv >> CK_SHIFT) {
		lv = (crdt_lv)((lo - 1) << CK_SHIFT);
		b = doc->ck[lo - 1].byte;
		u = doc->ck[lo - 1].u16;
	}
	t = (const uint8_t *)doc->text;
	while (lv < end) {
		uint32_t w = t[b] >= 0xf0 ? 2 : 1;

		if (u + w > target)
			break;
		u += w;
		b += t[b] < 0x80 ? 1 : t[b] < 0xe0 ? 2 : t[b] < 0xf0 ? 3 : 4;
		lv++;
	}
	*mid = u < target;
	return lv - r->lv;
}

size_t crdt__run_kind_text(struct run *r, const char *text, size_t nbytes, size_t cps)
{
	size_t u16 = nbytes == cps ? cps : crdt__utf16_count(text, nbytes);

	r->ascii = nbytes == cps;
	r->bmp = u16 == cps;
	return u16;
}

int crdt__ck_reserve(struct crdt_doc *doc, size_t lvs)
{
	return crdt__grow_log(doc->alloc, (void **)&doc->ck, &doc->capck,
			      ((doc->next_lv + lvs) >> CK_SHIFT) + 1, sizeof(*doc->ck));
}

int crdt__log_reserve(struct crdt_doc *doc, uint32_t agent, size_t text_bytes, size_t lvs)
{
	struct agent *a = &doc->agents[agent];
	int rc;

	/* Usually everything has room already (a snapshot load sizes the log from its header). */
	if (doc->nops < doc->capops && a->nsamples < a->capsamples &&
	    ((doc->next_lv + lvs) >> CK_SHIFT) < doc->capck &&
	    text_bytes <= TEXT_MAX - doc->text_len && doc->text_len + text_bytes <= doc->text_cap)
		return 0;
	rc = crdt__grow_log(doc->alloc, (void **)&doc->ops, &doc->capops, doc->nops + 1,
			    sizeof(*doc->ops));
	if (!rc)
		rc = crdt__grow_log(doc->alloc, (void **)&a->samples, &a->capsamples,
				    a->nsamples + 1, sizeof(*a->samples));
	if (!rc)
		rc = crdt__ck_reserve(doc, lvs);
	if (!rc && text_bytes) {
		if (text_bytes > TEXT_MAX - doc->text_len)
			return CRDT_ELIMIT;
		rc = crdt__grow_log(doc->alloc, (void **)&doc->text, &doc->text_cap,
				    doc->text_len + text_bytes, 1);
	}
	return rc;
}

/*
 * Adds the checkpoints that logging s (len operations, its text at the end
 * of the arena) passes.  Each one's U is the last one's plus the units of
 * the text between them: at most CK_STEP characters.
 */
/* Kept out of line: inlined, it costs every keystroke's log_push register spills. */
__attribute__((noinline)) static void ck_add(struct crdt_doc *doc, const struct span *s,
					     uint32_t len)
{
	uint32_t nbytes = (uint32_t)doc->text_len - s->byte;
	crdt_lv m;

	if (doc->nck == 0) {
		doc->ck[0].byte = 0;
		doc->ck[0].u16 = 0;
		doc->nck = 1;
	}
	for (m = (crdt_lv)(doc->nck << CK_SHIFT); m <= s->lv + len; m += CK_STEP) {
		const struct ckpt *last = &doc->ck[doc->nck - 1];
		uint32_t b = s->byte;

		/* From the last checkpoint when it lies in this span: a long paste is read once. */
		if (s->kind == SPAN_INS && nbytes == len)
			b = s->byte + (m - s->lv);
		else if (s->kind == SPAN_INS && m - CK_STEP >= s->lv)
			b = arena_skip(doc, last->byte, CK_STEP);
		else if (s->kind == SPAN_INS)
			b = arena_skip(doc, s->byte, m - s->lv);
		doc->ck[doc->nck].byte = b;
		doc->ck[doc->nck].u16 = last->u16 + (uint32_t)crdt__utf16_count(
							    doc->text + last->byte, b - last->byte);
		doc->nck++;
	}
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

	/* A checkpoint is passed once every CK_STEP operations. */
	if (s->lv + len >= (doc->nck << CK_SHIFT))
		ck_add(doc, s, len);

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
