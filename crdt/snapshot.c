/*
 * snapshot.c - the stored form of a document (format 2), and its loader.
 *
 * A snapshot is what gets stored and what a client joining with nothing
 * receives: every operation with its full history, so any earlier version
 * can be read back.  Format 2 names each operation by where it happened
 * instead of by its origins, as diamond-types does, which is both smaller
 * and faster to load:
 *
 *   snapshot := 2 'S' agents nspans nlv nbytes acol ocol text
 *   agents   := count { agent-id }        local agent index order
 *   acol     := size { agent-index count } which agent made each span, as runs
 *   ocol     := size { op }               one op per op-log span, in LV order
 *   text     := 0 bytes[nbytes] | 1 size lz4-block   every inserted byte, in LV order
 *   op       := head [zigzag(diff)]
 *             | head(code 3) 0 ref ref                insert, origins given
 *             | head(code 3) 1|2 npieces { len zigzag(diff) }   delete in pieces
 *   head     := len * 8 + code * 2 + jump code 0 insert, 1 delete forwards,
 *                                        2 delete backwards, 3 escape
 *   ref      := 0 (none) | 1 + (lv - 1 - origin)
 *
 * Replaying the op log in LV order (a causal order) builds the document
 * with every character ever inserted in it, tombstones included: a
 * position is an offset in that whole sequence as it was when the span was
 * applied.  An insert of len characters at position P has, unless it is an
 * escape, the origins a local insert there would pick: left the character
 * at P - 1, right the one at P (none at either end); a remote insert whose
 * origins differ (it was concurrent with something between them) is an
 * escape naming its origins, and is placed by the merge rule (crdt.h).  A
 * delete's targets are the characters at positions Q .. Q+len-1, which
 * must be LV-consecutive; targets not adjacent in the document are
 * written as pieces.  Positions are coded as a difference from a cursor,
 * so that typing, backspacing and forward-deleting runs take no position
 * at all (jump 0): an insert starts at P and leaves the cursor at P + len;
 * a delete of Q .. Q+m-1 starts at Q forwards, at Q + m backwards, and
 * leaves the cursor at Q + m (a deleted character stays in the sequence,
 * and a local insert after a delete goes after its tombstones).  Seqs are
 * implicit (each agent's count so far), the text is one LZ4 block (raw
 * when that is not smaller), and the header's counts size the document
 * before anything is decoded.
 *
 * Loading builds a scratch document straight from the positions (no
 * origin look-ups, no LV index, which is made once at the end), validates
 * the text's UTF-8 once, and replaces the target document only when every
 * check passed.  Into a document that already has operations, the scratch
 * is turned into an update and merged as any update is.
 *
 * The encoder finds each span's position from the final document: with
 * the runs in document order and a Fenwick tree over them counting the
 * characters inserted so far, a span's position is the count before its
 * first run.  It never allocates more than a few arrays of the run count.
 */
#include <string.h>

#include "crdt-internal.h"
#include "crdt-lz4.h"

enum { OP_INS = 0, OP_DEL_FWD = 1, OP_DEL_BACK = 2, OP_ESCAPE = 3 };
enum { ESC_INS = 0, ESC_DEL_FWD = 1, ESC_DEL_BACK = 2 };
enum { TEXT_RAW = 0, TEXT_LZ4 = 1 };

/* An LZ4 block cannot expand more than this (a length byte of 255 per 255 bytes). */
#define LZ4_MAX_RATIO 255

/* ---- encoding ----------------------------------------------------------- */

/*
 * The encoder's view of the final document: its runs in document order
 * (lv, len), the same sorted by LV (byrun[k].leaf is a run's document
 * index), and a Fenwick tree over document order counting the characters
 * of the runs whose spans are already written.
 */
struct enc {
	const struct crdt_doc *doc;
	uint32_t *rlv, *rlen, *fw;
	struct ientry *bylv;
	size_t nruns, top, next; /* next: the first run of bylv not yet counted */
	uint32_t total;		 /* characters counted */
	int64_t cursor;
	struct crdt_buf agents, ops;
	uint32_t agent, agent_spans;
	uint32_t *pieces; /* a delete's pieces: position, length pairs */
	size_t cappieces;
};

static void fw_add(struct enc *e, size_t i, uint32_t v)
{
	for (i++; i <= e->nruns; i += i & (0 - i))
		e->fw[i] += v;
}

/* Characters counted in runs 0 .. i-1. */
static uint32_t fw_prefix(const struct enc *e, size_t i)
{
	uint32_t s = 0;

	for (; i; i -= i & (0 - i))
		s += e->fw[i];
	return s;
}

/* The run holding counted character number k (0-based; k < total). */
static size_t fw_find(const struct enc *e, uint32_t k)
{
	size_t pos = 0;

	k++;
	for (size_t step = e->top; step; step >>= 1)
		if (pos + step <= e->nruns && e->fw[pos + step] < k) {
			pos += step;
			k -= e->fw[pos];
		}
	return pos;
}

static int enc_init(struct enc *e, const struct crdt_doc *doc)
{
	const struct crdt_allocator *a = doc->alloc;
	struct ientry *tmp;
	size_t n = 0;

	memset(e, 0, sizeof(*e));
	e->doc = doc;
	e->agent = UINT32_MAX;
	crdt_buf_init(&e->agents, a);
	crdt_buf_init(&e->ops, a);
	for (const struct leaf *l = doc->first; l; l = l->next)
		e->nruns += l->h.n;
	if (!e->nruns)
		return 0;
	e->rlv = crdt__alloc(a, e->nruns * sizeof(*e->rlv));
	e->rlen = crdt__alloc(a, e->nruns * sizeof(*e->rlen));
	e->fw = crdt__alloc(a, (e->nruns + 1) * sizeof(*e->fw));
	e->bylv = crdt__alloc(a, e->nruns * sizeof(*e->bylv));
	tmp = crdt__alloc(a, e->nruns * sizeof(*tmp));
	if (!e->rlv || !e->rlen || !e->fw || !e->bylv || !tmp) {
		crdt__free(a, tmp, e->nruns * sizeof(*tmp));
		return CRDT_ENOMEM;
	}
	for (const struct leaf *l = doc->first; l; l = l->next)
		for (uint32_t i = 0; i < l->h.n; i++, n++) {
			e->rlv[n] = l->r[i].lv;
			e->rlen[n] = l->r[i].len;
			e->bylv[n].lv = l->r[i].lv;
			e->bylv[n].leaf = (uint32_t)n;
		}
	crdt__sort_by_lv(e->bylv, tmp, n);
	crdt__free(a, tmp, e->nruns * sizeof(*tmp));
	memset(e->fw, 0, (e->nruns + 1) * sizeof(*e->fw));
	for (e->top = 1; e->top * 2 <= e->nruns; e->top *= 2)
		;
	return 0;
}

static void enc_finish(struct enc *e)
{
	const struct crdt_allocator *a = e->doc->alloc;

	crdt__free(a, e->rlv, e->nruns * sizeof(*e->rlv));
	crdt__free(a, e->rlen, e->nruns * sizeof(*e->rlen));
	crdt__free(a, e->fw, (e->nruns + 1) * sizeof(*e->fw));
	crdt__free(a, e->bylv, e->nruns * sizeof(*e->bylv));
	crdt__free(a, e->pieces, e->cappieces * sizeof(*e->pieces));
	crdt_buf_finish(&e->agents);
	crdt_buf_finish(&e->ops);
}

static int put_head(struct enc *e, uint32_t len, int code, int64_t diff)
{
	int rc = crdt__put_varint(&e->ops, (uint64_t)len * 8 + (uint64_t)code * 2 + (diff != 0));

	if (!rc && diff)
		rc = crdt__put_varint(&e->ops, crdt__zigzag(diff));
	return rc;
}

static uint64_t ref(crdt_lv lv, crdt_lv origin)
{
	return origin == LV_NONE ? 0 : 1 + (uint64_t)(lv - 1 - origin);
}

static int put_insert(struct enc *e, const struct span *s, uint32_t len)
{
	crdt_lv left = LV_NONE, right = LV_NONE;
	uint32_t pos;
	int rc;

	/* The span's first character starts a run: the next one in LV order. */
	if (e->next >= e->nruns || e->bylv[e->next].lv != s->lv)
		return CRDT_EINVAL;
	pos = fw_prefix(e, e->bylv[e->next].leaf);

	/* Nothing counted lies between a counted run's characters: the neighbours end and start
	 * runs. */
	if (pos > 0) {
		size_t j = fw_find(e, pos - 1);

		left = e->rlv[j] + e->rlen[j] - 1;
	}
	if (pos < e->total)
		right = e->rlv[fw_find(e, pos)];
	while (e->next < e->nruns && e->bylv[e->next].lv - s->lv < len) {
		fw_add(e, e->bylv[e->next].leaf, e->rlen[e->bylv[e->next].leaf]);
		e->next++;
	}
	e->total += len;
	if (left == s->a && right == s->b) {
		rc = put_head(e, len, OP_INS, (int64_t)pos - e->cursor);
		e->cursor = (int64_t)pos + len;
		return rc;
	}
	rc = put_head(e, len, OP_ESCAPE, 0);
	if (!rc)
		rc = crdt__put_varint(&e->ops, ESC_INS);
	if (!rc)
		rc = crdt__put_varint(&e->ops, ref(s->lv, s->a));
	if (!rc)
		rc = crdt__put_varint(&e->ops, ref(s->lv, s->b));
	return rc;
}

static int put_delete(struct enc *e, const struct span *s, uint32_t len)
{
	crdt_lv lo = s->dir > 0 ? s->a : s->a - (len - 1), t = lo, end = lo + len;
	size_t k = 0, hi = e->next, npieces = 0;
	int fwd = s->dir > 0, rc = 0;

	/* The counted run holding lo, then its successors in LV order. */
	while (k < hi) {
		size_t mid = k + (hi - k) / 2;

		if (e->bylv[mid].lv <= lo)
			k = mid + 1;
		else
			hi = mid;
	}
	if (k == 0)
		return CRDT_EINVAL;
	k--;
	while (t < end) {
		size_t j = e->bylv[k++].leaf;
		uint32_t m = e->rlv[j] + e->rlen[j] - t, pos;

		if (t < e->rlv[j] || t - e->rlv[j] >= e->rlen[j])
			return CRDT_EINVAL; /* a target that is no character: the log is broken */
		if (m > end - t)
			m = end - t;
		pos = fw_prefix(e, j) + (t - e->rlv[j]);
		if (npieces && e->pieces[2 * npieces - 2] + e->pieces[2 * npieces - 1] == pos) {
			e->pieces[2 * npieces - 1] += m;
		} else {
			rc = crdt__grow(e->doc->alloc, (void **)&e->pieces, &e->cappieces,
					2 * npieces + 2, sizeof(*e->pieces));
			if (rc)
				return rc;
			e->pieces[2 * npieces] = pos;
			e->pieces[2 * npieces + 1] = m;
			npieces++;
		}
		t += m;
	}
	if (npieces == 1) {
		int64_t start = fwd ? (int64_t)e->pieces[0] : (int64_t)e->pieces[0] + len;

		rc = put_head(e, len, fwd ? OP_DEL_FWD : OP_DEL_BACK, start - e->cursor);
		e->cursor = (int64_t)e->pieces[0] + len;
		return rc;
	}
	rc = put_head(e, len, OP_ESCAPE, 0);
	if (!rc)
		rc = crdt__put_varint(&e->ops, fwd ? ESC_DEL_FWD : ESC_DEL_BACK);
	if (!rc)
		rc = crdt__put_varint(&e->ops, npieces);
	for (size_t i = 0; i < npieces && !rc; i++) {
		uint32_t q = e->pieces[2 * i], m = e->pieces[2 * i + 1];
		int64_t start = fwd ? (int64_t)q : (int64_t)q + m;

		rc = crdt__put_varint(&e->ops, m);
		if (!rc)
			rc = crdt__put_varint(&e->ops, crdt__zigzag(start - e->cursor));
		e->cursor = (int64_t)q + m;
	}
	return rc;
}

static int put_agent_run(struct enc *e)
{
	int rc;

	if (!e->agent_spans)
		return 0;
	rc = crdt__put_varint(&e->agents, e->agent);
	return rc ? rc : crdt__put_varint(&e->agents, e->agent_spans);
}

int crdt_encode_doc(const struct crdt_doc *doc, struct crdt_buf *out)
{
	struct crdt_buf text;
	struct enc e;
	size_t start;
	int rc;

	if (!doc || !out)
		return CRDT_EINVAL;
	crdt_buf_init(&text, doc->alloc);
	rc = enc_init(&e, doc);
	for (size_t i = 0; i < doc->nops && !rc; i++) {
		const struct span *s = &doc->ops[i];
		uint32_t len = crdt__span_len(doc, s);

		if (s->agent != e.agent) {
			rc = put_agent_run(&e);
			e.agent = s->agent;
			e.agent_spans = 0;
		}
		e.agent_spans++;
		if (!rc)
			rc = s->kind == SPAN_INS ? put_insert(&e, s, len) : put_delete(&e, s, len);
	}
	if (!rc)
		rc = put_agent_run(&e);
	if (!rc)
		rc = crdt__lz4_compress(doc->alloc, (const uint8_t *)doc->text, doc->text_len,
					CRDT_LZ4_DEPTH, &text);
	start = out->len;
	if (!rc)
		rc = crdt__put_varint(out, CRDT_SNAPSHOT_VERSION);
	if (!rc)
		rc = crdt__put_bytes(out, "S", 1);
	if (!rc)
		rc = crdt__put_varint(out, doc->nagents);
	/* The table lists agents by local index, which the agent column uses directly. */
	for (size_t a = 0; a < doc->nagents && !rc; a++)
		rc = crdt__put_varint(out, doc->agents[a].id);
	if (!rc)
		rc = crdt__put_varint(out, doc->nops);
	if (!rc)
		rc = crdt__put_varint(out, doc->next_lv);
	if (!rc)
		rc = crdt__put_varint(out, doc->text_len);
	if (!rc)
		rc = crdt__put_varint(out, e.agents.len);
	if (!rc)
		rc = crdt__put_bytes(out, e.agents.data, e.agents.len);
	if (!rc)
		rc = crdt__put_varint(out, e.ops.len);
	if (!rc)
		rc = crdt__put_bytes(out, e.ops.data, e.ops.len);
	if (!rc && text.len < doc->text_len) {
		rc = crdt__put_varint(out, TEXT_LZ4);
		if (!rc)
			rc = crdt__put_varint(out, text.len);
		if (!rc)
			rc = crdt__put_bytes(out, text.data, text.len);
	} else if (!rc) {
		rc = crdt__put_varint(out, TEXT_RAW);
		if (!rc)
			rc = crdt__put_bytes(out, doc->text, doc->text_len);
	}
	if (rc)
		out->len = start;
	crdt_buf_finish(&text);
	enc_finish(&e);
	return rc;
}

/* ---- loading ------------------------------------------------------------ */

/* A loader's state: the scratch document, its columns, and what is left of them. */
struct dec {
	struct crdt_doc *d;
	struct crdt__reader acol, ocol;
	uint32_t nids;
	uint32_t agent;	     /* table index of the current agent run */
	uint64_t agent_left; /* spans left in it */
	size_t nbytes;	     /* the text's bytes, and code points */
	size_t ncps, cps_used;
	int64_t cursor;
	/*
	 * The leaf the last operation touched and the position its first
	 * character has (hint == NULL: unknown): the next operation is usually
	 * in the same leaf, found without descending from the root.  Leaves
	 * stay where they are and keep the left half when they split, so the
	 * hint stays true until something is inserted at or before its start.
	 *
	 * Within it, run hint_i starts at hint_ipos: the run before the one
	 * the last operation found, which that operation neither moved nor
	 * shifted (it changed only what lies at or after its cursor), so the
	 * next one, usually a few characters away, scans from there instead
	 * of from the leaf's start.  Only a leaf split can take that run away,
	 * and then hint_i is past the leaf's end.
	 */
	struct leaf *hint;
	size_t hint_pos;
	uint32_t hint_i;
	size_t hint_ipos;
};

/* The cursor at total position pos (crdt__find_tot, from the hint when it holds pos). */
static void find(struct dec *st, size_t pos, struct cursor *c)
{
	struct leaf *l = st->hint;
	size_t before;

	if (l && pos >= st->hint_pos) {
		uint32_t i = 0;
		size_t p = pos - st->hint_pos;

		if (st->hint_i < l->h.n && pos >= st->hint_ipos) {
			i = st->hint_i;
			p = pos - st->hint_ipos;
		}
		for (; i < l->h.n; i++) {
			if (p < l->r[i].len)
				break;
			p -= l->r[i].len;
		}
		/* The document's end is the last leaf's end (elsewhere it is the next leaf's
		 * start). */
		if (i < l->h.n || (p == 0 && !l->next)) {
			c->leaf = l;
			c->i = i;
			c->off = (uint32_t)p;
			goto found;
		}
	}
	crdt__find_tot(st->d, pos, c, NULL);
	before = c->off;
	for (uint32_t i = 0; i < c->i; i++)
		before += c->leaf->r[i].len;
	st->hint = c->leaf;
	st->hint_pos = pos - before;
found:
	if (c->i == 0) {
		st->hint_i = 0;
		st->hint_ipos = st->hint_pos;
	} else {
		st->hint_i = c->i - 1;
		st->hint_ipos = pos - c->off - c->leaf->r[c->i - 1].len;
	}
}

/* An insert of n characters at position pos: the hint moves, or is lost when unsure. */
static void hint_insert(struct dec *st, size_t pos, uint32_t n)
{
	if (pos < st->hint_pos) {
		st->hint_pos += n;
		st->hint_ipos += n;
	} else if (pos == st->hint_pos)
		st->hint = NULL; /* it may have joined the run before, in the leaf before */
}

int crdt__is_snapshot2(const uint8_t *data, size_t len)
{
	return len >= 2 && data[0] == CRDT_SNAPSHOT_VERSION && data[1] == 'S';
}

/* How many bytes len code points of the text take from where the arena ends. */
static int text_take(struct dec *st, uint32_t len, uint32_t *nbytes)
{
	struct crdt_doc *d = st->d;

	if (len > st->ncps - st->cps_used)
		return CRDT_EDECODE;
	st->cps_used += len;
	if (st->ncps == st->nbytes) {
		*nbytes = len;
	} else if (len == 1) {
		/* A keystroke: its lead byte says (the text is valid UTF-8). */
		uint8_t c = (uint8_t)d->text[d->text_len];

		*nbytes = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	} else {
		*nbytes = (uint32_t)crdt__utf8_skip(d->text + d->text_len, st->nbytes - d->text_len,
						    len);
	}
	return 0;
}

/* An insert at position pos whose origins are its neighbours there. */
static int load_insert(struct dec *st, uint32_t ai, uint32_t len, int64_t pos)
{
	struct crdt_doc *d = st->d;
	struct cursor c;
	struct span s;
	struct run r;
	uint32_t nbytes;
	size_t u16;
	int rc;

	if (pos < 0 || pos > (int64_t)d->tot_len)
		return CRDT_EDECODE;
	if (len > RUN_MAX)
		return CRDT_ELIMIT;
	rc = text_take(st, len, &nbytes);
	if (!rc)
		rc = crdt__log_reserve(d, ai, nbytes, len);
	if (!rc)
		rc = crdt__reserve_nodes(d, 1);
	if (rc)
		return rc;
	find(st, (size_t)pos, &c);
	s.b = c.i < c.leaf->h.n ? c.leaf->r[c.i].lv + c.off : LV_NONE;
	if (c.off > 0) {
		s.a = c.leaf->r[c.i].lv + c.off - 1;
	} else {
		struct leaf *pl;
		uint32_t pi;
		const struct run *p = crdt__run_before(&c, &pl, &pi);

		s.a = p ? p->lv + p->len - 1 : LV_NONE;
	}
	s.lv = d->next_lv;
	s.agent = ai;
	s.seq = d->agents[ai].next;
	s.kind = SPAN_INS;
	s.dir = 1;
	s.byte = (uint32_t)d->text_len;
	r.lv = s.lv;
	r.len = len;
	r.deleted = 0;
	u16 = crdt__run_kind(&r, d->text + d->text_len, nbytes, len);
	/* The text is in the arena already: the span just takes it. */
	d->text_len += nbytes;
	crdt__log_push(d, &s, len);
	hint_insert(st, (size_t)pos, len);
	crdt__split(d, &c);
	crdt__place_run(d, &c, &r, nbytes, u16);
	return 0;
}

/*
 * An insert with origins given: named as a remote operation and merged by
 * the merge rule, which needs the LV index from here on.
 */
static int load_insert_explicit(struct dec *st, uint32_t ai, uint32_t len, uint64_t lref,
				uint64_t rref)
{
	struct crdt_doc *d = st->d;
	crdt_lv lv = d->next_lv, origin[2];
	uint64_t refs[2] = { lref, rref };
	struct rop op;
	uint32_t nbytes;
	uint8_t *copy = NULL;
	int rc;

	memset(&op, 0, sizeof(op));
	for (int k = 0; k < 2; k++) {
		const struct span *os;

		if (!refs[k]) {
			origin[k] = LV_NONE;
			continue;
		}
		if (refs[k] > lv)
			return CRDT_EDECODE;
		origin[k] = lv - (crdt_lv)refs[k];
		os = &d->ops[crdt__span_at(d, origin[k])];
		if (os->kind != SPAN_INS)
			return CRDT_EDECODE;
		if (k == 0) {
			op.a_agent = d->agents[os->agent].id;
			op.a_seq = os->seq + (origin[k] - os->lv);
		} else {
			op.b_agent = d->agents[os->agent].id;
			op.b_seq = os->seq + (origin[k] - os->lv);
		}
	}
	rc = text_take(st, len, &nbytes);
	if (rc)
		return rc;
	if (d->bulk) {
		d->bulk = 0;
		crdt__recount(d);
		rc = crdt__index_rebuild(d);
		if (rc)
			return rc;
	}
	/* The merge copies the text to the arena's end, where it already is: give it a copy. */
	if (nbytes) {
		copy = crdt__alloc(d->alloc, nbytes);
		if (!copy)
			return CRDT_ENOMEM;
		memcpy(copy, d->text + d->text_len, nbytes);
	}
	op.agent = d->agents[ai].id;
	op.seq = d->agents[ai].next;
	op.len = len;
	op.kind = SPAN_INS;
	op.dir = 1;
	op.a_none = !lref;
	op.b_none = !rref;
	op.text = copy;
	op.nbytes = nbytes;
	st->hint = NULL; /* the merge rule places it, somewhere */
	rc = crdt__apply_rops(d, &op, 1, 0);
	crdt__free(d->alloc, copy, nbytes);
	if (!rc && (d->next_lv != lv + len || d->npending))
		rc = CRDT_EDECODE;
	return rc;
}

/*
 * Deletes the m characters at positions q .. q+m-1, which must be the LVs
 * from *expect on (LV_NONE: from whatever is there, which *expect gets).
 */
static int load_delete_piece(struct dec *st, int64_t q, uint32_t m, crdt_lv *expect)
{
	struct crdt_doc *d = st->d;

	if (q < 0 || q > (int64_t)d->tot_len || m > d->tot_len - (uint64_t)q)
		return CRDT_EDECODE;
	for (uint32_t done = 0; done < m;) {
		struct cursor c;
		struct run *r;
		uint32_t k;
		int rc = crdt__reserve_nodes(d, 1);

		if (rc)
			return rc;
		find(st, (size_t)q + done, &c);
		r = &c.leaf->r[c.i];
		k = r->len - c.off < m - done ? r->len - c.off : m - done;
		if (*expect == LV_NONE)
			*expect = r->lv + c.off;
		else if (r->lv + c.off != *expect)
			return CRDT_EDECODE;
		if (!r->deleted)
			crdt__delete_in_run(d, &c, k, 0);
		*expect += k;
		done += k;
	}
	return 0;
}

static int load_delete(struct dec *st, uint32_t ai, uint32_t len, int fwd, uint64_t npieces,
		       int64_t diff)
{
	struct crdt_doc *d = st->d;
	crdt_lv next = LV_NONE, lo;
	uint64_t left = len;
	struct span s;
	int rc = crdt__log_reserve(d, ai, 0, len);

	for (uint64_t i = 0; i < npieces && !rc; i++) {
		uint64_t m = len, zz;

		if (npieces > 1) {
			/* Each piece has its own length and position. */
			rc = crdt__get_varint(&st->ocol, &m);
			if (!rc)
				rc = crdt__get_varint(&st->ocol, &zz);
			if (rc)
				return rc;
			if (zz > UINT32_MAX * 4ull)
				return CRDT_EDECODE;
			diff = crdt__unzigzag(zz);
		}
		if (m == 0 || m > left)
			return CRDT_EDECODE;
		{
			int64_t start = st->cursor + diff;
			int64_t q = fwd ? start : start - (int64_t)m;

			rc = load_delete_piece(st, q, (uint32_t)m, &next);
			st->cursor = q + (int64_t)m;
		}
		left -= m;
	}
	if (rc)
		return rc;
	if (left)
		return CRDT_EDECODE;
	lo = next - len;
	s.lv = d->next_lv;
	s.agent = ai;
	s.seq = d->agents[ai].next;
	s.kind = SPAN_DEL;
	s.dir = fwd ? 1 : -1;
	s.a = fwd ? lo : lo + (len - 1);
	s.b = 0;
	s.byte = (uint32_t)d->text_len;
	crdt__log_push(d, &s, len);
	return 0;
}

static int load_span(struct dec *st)
{
	struct crdt_doc *d = st->d;
	uint64_t head, len, zz = 0, sub;
	int code, rc;
	int64_t diff = 0;

	if (!st->agent_left) {
		rc = crdt__get_u32(&st->acol, &st->agent);
		if (!rc)
			rc = crdt__get_varint(&st->acol, &st->agent_left);
		if (rc)
			return rc;
		if (st->agent >= st->nids || st->agent_left == 0)
			return CRDT_EDECODE;
	}
	st->agent_left--;
	rc = crdt__get_varint(&st->ocol, &head);
	if (rc)
		return rc;
	len = head >> 3;
	code = (int)(head >> 1) & 3;
	if (len == 0 || len >= LV_NONE - d->next_lv || len > UINT32_MAX - d->agents[st->agent].next)
		return CRDT_EDECODE;
	if (head & 1) {
		rc = crdt__get_varint(&st->ocol, &zz);
		/* Positions are below 2^32: a larger step is malformed (and cannot overflow). */
		if (!rc && (zz > UINT32_MAX * 4ull || code == OP_ESCAPE))
			rc = CRDT_EDECODE;
		if (rc)
			return rc;
		diff = crdt__unzigzag(zz);
	}
	switch (code) {
	case OP_INS:
		rc = load_insert(st, st->agent, (uint32_t)len, st->cursor + diff);
		st->cursor += diff + (int64_t)len;
		return rc;
	case OP_DEL_FWD:
	case OP_DEL_BACK:
		return load_delete(st, st->agent, (uint32_t)len, code == OP_DEL_FWD, 1, diff);
	default:
		break;
	}
	rc = crdt__get_varint(&st->ocol, &sub);
	if (rc)
		return rc;
	if (sub == ESC_INS) {
		uint64_t lref, rref;

		rc = crdt__get_varint(&st->ocol, &lref);
		if (!rc)
			rc = crdt__get_varint(&st->ocol, &rref);
		return rc ? rc : load_insert_explicit(st, st->agent, (uint32_t)len, lref, rref);
	}
	if (sub == ESC_DEL_FWD || sub == ESC_DEL_BACK) {
		uint64_t npieces;

		rc = crdt__get_varint(&st->ocol, &npieces);
		if (rc)
			return rc;
		if (npieces < 2 || npieces > len)
			return CRDT_EDECODE;
		return load_delete(st, st->agent, (uint32_t)len, sub == ESC_DEL_FWD, npieces, 0);
	}
	return CRDT_EDECODE;
}

/* Reads a column: its size, then that many bytes, as a reader of its own. */
static int get_column(struct crdt__reader *r, struct crdt__reader *col)
{
	const uint8_t *p;
	uint64_t n;
	int rc = crdt__get_varint(r, &n);

	if (!rc && n > (uint64_t)(r->end - r->p))
		rc = CRDT_ETRUNCATED;
	if (!rc)
		rc = crdt__get_bytes(r, &p, (size_t)n);
	if (rc)
		return rc;
	col->p = p;
	col->end = p + n;
	return 0;
}

/* A format-2 snapshot's header, its two columns and its text (raw or LZ4 bytes). */
struct head {
	uint32_t *ids, nids; /* the agent table (the caller frees it, also on failure) */
	uint64_t nspans, nlv, nbytes, mode, zlen;
	struct crdt__reader acol, ocol;
	const uint8_t *text;
};

/*
 * Reads all of a snapshot after its version and kind bytes (r at them) into
 * *h, the loader's and crdt__snapshot2_info()'s one reading of it: every
 * count is checked against what the input can hold before anything is
 * sized by it, and nothing may follow the text.
 */
static int get_head(const struct crdt_allocator *alloc, struct crdt__reader *r, struct head *h)
{
	int rc;

	memset(h, 0, sizeof(*h));
	rc = crdt__get_agent_table(alloc, r, &h->ids, &h->nids);
	if (!rc)
		rc = crdt__get_varint(r, &h->nspans);
	if (!rc)
		rc = crdt__get_varint(r, &h->nlv);
	if (!rc)
		rc = crdt__get_varint(r, &h->nbytes);
	if (!rc)
		rc = get_column(r, &h->acol);
	if (!rc)
		rc = get_column(r, &h->ocol);
	if (!rc)
		rc = crdt__get_varint(r, &h->mode);
	if (!rc && h->mode == TEXT_LZ4)
		rc = crdt__get_varint(r, &h->zlen);
	if (!rc && h->zlen > (uint64_t)(r->end - r->p))
		rc = CRDT_ETRUNCATED;
	if (!rc && (h->nlv >= LV_NONE || h->nspans > h->nlv || h->nbytes > TEXT_MAX ||
		    h->mode > TEXT_LZ4 || h->nspans > (uint64_t)(h->ocol.end - h->ocol.p) ||
		    (h->mode == TEXT_LZ4 && h->nbytes > h->zlen * LZ4_MAX_RATIO)))
		rc = CRDT_EDECODE;
	if (!rc)
		rc = crdt__get_bytes(r, &h->text,
				     (size_t)(h->mode == TEXT_LZ4 ? h->zlen : h->nbytes));
	if (!rc && r->p != r->end)
		rc = CRDT_EDECODE;
	return rc;
}

/* Builds a new document from a format-2 snapshot into *out, or fails and makes nothing. */
static int load(const struct crdt_allocator *alloc, const uint8_t *data, size_t len,
		struct crdt_doc **out)
{
	/* The version and the kind, which the caller checked (crdt__is_snapshot2). */
	struct crdt__reader r = { data + 2, data + len };
	struct dec st;
	struct head h;
	int rc;

	memset(&st, 0, sizeof(st));
	*out = NULL;
	rc = get_head(alloc, &r, &h);
	if (rc)
		goto out;
	st.nids = h.nids;
	st.acol = h.acol;
	st.ocol = h.ocol;

	st.d = crdt_doc_create(alloc);
	if (!st.d) {
		rc = CRDT_ENOMEM;
		goto out;
	}
	if (h.nbytes) {
		st.d->text = crdt__alloc(alloc, (size_t)h.nbytes);
		if (!st.d->text) {
			rc = CRDT_ENOMEM;
			goto out;
		}
		st.d->text_cap = (size_t)h.nbytes;
		if (h.mode == TEXT_RAW)
			memcpy(st.d->text, h.text, (size_t)h.nbytes);
		else
			rc = crdt__lz4_decompress(h.text, (size_t)h.zlen, (uint8_t *)st.d->text,
						  (size_t)h.nbytes);
	} else if (h.mode == TEXT_LZ4) {
		uint8_t none;

		rc = crdt__lz4_decompress(h.text, (size_t)h.zlen, &none, 0);
	}
	if (!rc && crdt_utf8_check(st.d->text, (size_t)h.nbytes, &st.ncps))
		rc = CRDT_EDECODE;
	if (rc)
		goto out;
	st.nbytes = (size_t)h.nbytes;
	/* Agents get local indices in table order, which the agent column names. */
	for (uint32_t i = 0; i < h.nids && !rc; i++) {
		uint32_t idx;

		rc = crdt__agent_index(st.d, h.ids[i], &idx);
		if (!rc && idx != i)
			rc = CRDT_EDECODE;
	}
	if (!rc && h.nspans) {
		st.d->ops = crdt__alloc(alloc, (size_t)h.nspans * sizeof(*st.d->ops));
		if (!st.d->ops)
			rc = CRDT_ENOMEM;
		else
			st.d->capops = (size_t)h.nspans;
	}
	st.d->bulk = 1;
	for (uint64_t i = 0; i < h.nspans && !rc; i++)
		rc = load_span(&st);
	if (rc)
		goto out;
	if (st.agent_left || st.acol.p != st.acol.end || st.ocol.p != st.ocol.end ||
	    st.d->next_lv != h.nlv || st.d->text_len != h.nbytes) {
		rc = CRDT_EDECODE;
		goto out;
	}
	if (st.d->bulk) {
		st.d->bulk = 0;
		crdt__recount(st.d);
		rc = crdt__index_rebuild(st.d);
		if (rc)
			goto out;
	}
	crdt__spares_release(st.d);
	*out = st.d;
	st.d = NULL;
out:
	crdt_doc_destroy(st.d);
	crdt__free(alloc, h.ids, h.nids * sizeof(*h.ids));
	return rc;
}

/* Tells the observer about the whole visible text of a document just loaded. */
static void announce(struct crdt_doc *doc)
{
	size_t pos = 0;

	for (const struct leaf *l = doc->first; l; l = l->next)
		for (uint32_t i = 0; i < l->h.n; i++) {
			const struct run *r = &l->r[i];
			uint32_t b0, b1;

			if (r->deleted)
				continue;
			crdt__run_bytes(doc, r, 0, r->len, &b0, &b1);
			doc->on_change(doc->on_change_ud, pos, 0, doc->text + b0, b1 - b0);
			pos += r->len;
		}
}

/*
 * Moves src's contents into dst (which keeps its allocator, its observer and
 * the change tracking of a crdt_apply_changes() in progress) and destroys src.
 */
static void take(struct crdt_doc *dst, struct crdt_doc *src)
{
	struct crdt_doc old = *dst;

	*dst = *src;
	dst->alloc_store = old.alloc_store;
	dst->alloc = old.alloc ? &dst->alloc_store : NULL;
	dst->on_change = old.on_change;
	dst->on_change_ud = old.on_change_ud;
	dst->track = old.track;
	*src = old;
	src->alloc = old.alloc ? &src->alloc_store : NULL;
	crdt_doc_destroy(src);
}

/* The operations of a format-2 snapshot as an update ('U') from the empty version. */
static int as_update(const struct crdt_allocator *alloc, const uint8_t *data, size_t len,
		     struct crdt_buf *out)
{
	struct crdt_doc *scratch;
	int rc = load(alloc, data, len, &scratch);

	if (rc)
		return rc;
	rc = crdt_encode_since(scratch, NULL, out);
	crdt_doc_destroy(scratch);
	return rc;
}

int crdt__apply_snapshot2(struct crdt_doc *doc, const uint8_t *data, size_t len)
{
	struct crdt_doc *scratch;
	struct crdt_buf u;
	int rc;

	if (doc->next_lv || doc->npending) {
		crdt_buf_init(&u, doc->alloc);
		rc = as_update(doc->alloc, data, len, &u);
		if (!rc)
			rc = crdt_apply(doc, u.data, u.len);
		crdt_buf_finish(&u);
		return rc;
	}
	rc = load(doc->alloc, data, len, &scratch);
	if (rc)
		return rc;
	take(doc, scratch);
	if (doc->on_change)
		announce(doc);
	return 0;
}

/*
 * What a format-2 snapshot holds, read from its header and columns without
 * building the document or decompressing its text: a server asks this
 * before deciding whether the document may grow that much, and a few bytes
 * of LZ4 may stand for 255 times as much text.  Everything it reads is
 * checked as the loader checks it; what only the load can check (positions,
 * UTF-8, the decompressed size) is left to crdt_apply().
 */
int crdt__snapshot2_info(const uint8_t *data, size_t len, struct crdt_update_info *info,
			 const struct crdt_allocator *alloc)
{
	struct crdt__reader r = { data + 2, data + len }, acol, ocol;
	uint64_t nspans, nlv, lvs = 0, left = 0;
	uint32_t *ids, agent = 0;
	struct head h;
	int rc;

	rc = get_head(alloc, &r, &h);
	ids = h.ids;
	nspans = h.nspans;
	nlv = h.nlv;
	acol = h.acol;
	ocol = h.ocol;
	info->nops = (size_t)nspans;
	info->ins_bytes = (size_t)h.nbytes;
	for (uint64_t i = 0; i < nspans && !rc; i++) {
		uint64_t head, n, sub, k;
		size_t a;

		if (!left) {
			rc = crdt__get_u32(&acol, &agent);
			if (!rc)
				rc = crdt__get_varint(&acol, &left);
			if (!rc && (agent >= h.nids || !left))
				rc = CRDT_EDECODE;
			for (a = 0; !rc && a < info->nauthors && a < 8; a++)
				if (info->authors[a] == ids[agent])
					break;
			if (!rc && a < 8 && a == info->nauthors)
				info->authors[info->nauthors++] = ids[agent];
			else if (!rc && a == 8)
				info->nauthors = 9;
		}
		if (!rc)
			rc = crdt__get_varint(&ocol, &head);
		if (rc)
			break;
		left--;
		n = head >> 3;
		lvs += n;
		if (n == 0 || lvs > nlv)
			rc = CRDT_EDECODE;
		else if (head & 1)
			rc = crdt__get_varint(&ocol, &k);
		if (rc || ((head >> 1) & 3) != OP_ESCAPE) {
			if (!rc && ((head >> 1) & 3) != OP_INS)
				info->del_count += (size_t)n;
			continue;
		}
		rc = crdt__get_varint(&ocol, &sub);
		if (!rc && (head & 1 || sub > ESC_DEL_BACK))
			rc = CRDT_EDECODE;
		if (!rc && sub == ESC_INS) {
			rc = crdt__get_varint(&ocol, &k);
			if (!rc)
				rc = crdt__get_varint(&ocol, &k);
		} else if (!rc) {
			info->del_count += (size_t)n;
			rc = crdt__get_varint(&ocol, &k);
			if (!rc && (k < 2 || k > n))
				rc = CRDT_EDECODE;
			for (uint64_t j = 2 * k; j > 0 && !rc; j--)
				rc = crdt__get_varint(&ocol, &sub);
		}
	}
	if (!rc && (left || lvs != nlv || acol.p != acol.end || ocol.p != ocol.end))
		rc = CRDT_EDECODE;
	crdt__free(alloc, ids, h.nids * sizeof(*ids));
	if (rc)
		memset(info, 0, sizeof(*info));
	return rc;
}
