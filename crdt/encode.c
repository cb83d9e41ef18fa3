/*
 * encode.c - the wire formats, and reading the text at an earlier version.
 *
 * Format (after the version byte and the kind byte, all integers LEB128):
 *
 *   update  := 'U' agents ops
 *   agents  := count { agent-id }            agents named by table index below
 *   ops     := count { op }
 *   op      := head seq len body
 *   head    := table-index * 4 + code        code 0 insert, 1 delete forwards,
 *                                           2 delete backwards
 *   insert  := ref(left origin) ref(right origin) nbytes bytes
 *   delete  := table-index seq               the first character deleted;
 *                                           operation k deletes seq + k
 *                                           (forwards) or seq - k (backwards)
 *   ref     := 0 (none) | table-index + 1, seq
 *
 * An update lists operations in causal order, each agent's in seq order,
 * so a receiver that has everything before it applies it in one pass.
 * Snapshots ('S') have a denser format of their own: see snapshot.c.
 *
 * Decoding validates everything (bounds, UTF-8, code point counts, that no
 * operation depends on itself) into a temporary array before the document
 * is touched: malformed input never changes a document.
 */
#include <stdlib.h>
#include <string.h>

#include "crdt-internal.h"

enum { CODE_INS = 0, CODE_DEL_FWD = 1, CODE_DEL_BACK = 2 };

/* ---- encoding ----------------------------------------------------------- */

struct enc {
	const struct crdt_doc *doc;
	struct crdt_buf *out;
	uint32_t *table; /* local agent index -> table index, UINT32_MAX = unused */
	uint32_t ntable;
	uint32_t *order; /* table index -> local agent index */
};

static uint32_t table_idx(struct enc *e, uint32_t agent)
{
	if (e->table[agent] == UINT32_MAX) {
		e->table[agent] = e->ntable;
		e->order[e->ntable++] = agent;
	}
	return e->table[agent];
}

/* (local agent, seq) of an LV. */
static void lv_name(const struct crdt_doc *doc, crdt_lv lv, uint32_t *agent, uint32_t *seq)
{
	const struct span *s = &doc->ops[crdt__span_at(doc, lv)];

	*agent = s->agent;
	*seq = s->seq + (lv - s->lv);
}

static int put_ref(struct enc *e, crdt_lv lv, int emit)
{
	uint32_t agent, seq;
	int rc;

	if (lv == LV_NONE)
		return emit ? crdt__put_varint(e->out, 0) : 0;
	lv_name(e->doc, lv, &agent, &seq);
	if (!emit) {
		table_idx(e, agent);
		return 0;
	}
	rc = crdt__put_varint(e->out, (uint64_t)table_idx(e, agent) + 1);
	return rc ? rc : crdt__put_varint(e->out, seq);
}

/*
 * Walks the ops in [since, until); with emit == 0 it only fills the agent
 * table and counts ops, with emit == 1 it writes them.
 */
static int walk(struct enc *e, const struct crdt_version *since, const struct crdt_version *until,
		int emit, uint64_t *count)
{
	const struct crdt_doc *doc = e->doc;
	crdt_lv first = LV_NONE, last = 0;
	int rc = 0;

	/*
	 * Only the LVs between the oldest op since lacks and the newest op until
	 * has can be wanted: find them through crdt__seq_to_lv instead of reading
	 * the whole log, so a small update from a long document stays cheap.
	 */
	for (size_t a = 0; a < doc->nagents; a++) {
		const struct agent *ag = &doc->agents[a];
		uint32_t lo = crdt_version_get(since, ag->id), hi = ag->next;

		if (until && crdt_version_get(until, ag->id) < hi)
			hi = crdt_version_get(until, ag->id);
		if (lo >= hi)
			continue;
		if (crdt__seq_to_lv(doc, (uint32_t)a, lo, NULL, NULL) < first)
			first = crdt__seq_to_lv(doc, (uint32_t)a, lo, NULL, NULL);
		if (crdt__seq_to_lv(doc, (uint32_t)a, hi - 1, NULL, NULL) > last)
			last = crdt__seq_to_lv(doc, (uint32_t)a, hi - 1, NULL, NULL);
	}
	if (first == LV_NONE)
		return 0;

	for (size_t i = crdt__span_at(doc, first); i < doc->nops && !rc; i++) {
		const struct span *s = &doc->ops[i];
		uint32_t id = doc->agents[s->agent].id;
		uint32_t len = crdt__span_len(doc, s);
		uint64_t lo = crdt_version_get(since, id), hi = (uint64_t)s->seq + len;
		uint32_t k0, k1;

		if (s->lv > last)
			break;
		if (until) {
			uint64_t u = crdt_version_get(until, id);

			if (u < hi)
				hi = u;
		}
		if (lo < s->seq)
			lo = s->seq;
		if (lo >= hi)
			continue;
		k0 = (uint32_t)(lo - s->seq);
		k1 = (uint32_t)(hi - s->seq);

		if (s->kind == SPAN_INS) {
			uint32_t b0, b1;
			crdt_lv ol = k0 ? s->lv + k0 - 1 : s->a;

			(*count)++;
			if (!emit) {
				table_idx(e, s->agent);
				put_ref(e, ol, 0);
				put_ref(e, s->b, 0);
				continue;
			}
			crdt__span_bytes(doc, s, k0, k1, &b0, &b1);
			rc = crdt__put_varint(e->out,
					      (uint64_t)table_idx(e, s->agent) * 4 + CODE_INS);
			if (!rc)
				rc = crdt__put_varint(e->out, lo);
			if (!rc)
				rc = crdt__put_varint(e->out, k1 - k0);
			if (!rc)
				rc = put_ref(e, ol, 1);
			if (!rc)
				rc = put_ref(e, s->b, 1);
			if (!rc)
				rc = crdt__put_varint(e->out, b1 - b0);
			if (!rc)
				rc = crdt__put_bytes(e->out, doc->text + b0, b1 - b0);
			continue;
		}

		/* A delete: split where the targets cross from one op span to another. */
		while (k0 < k1 && !rc) {
			crdt_lv t = s->dir > 0 ? s->a + k0 : s->a - k0;
			const struct span *ts = &doc->ops[crdt__span_at(doc, t)];
			uint32_t room =
				s->dir > 0 ? ts->lv + crdt__span_len(doc, ts) - t : t - ts->lv + 1;
			uint32_t n = k1 - k0 < room ? k1 - k0 : room;
			uint32_t tseq = ts->seq + (t - ts->lv);

			(*count)++;
			if (!emit) {
				table_idx(e, s->agent);
				table_idx(e, ts->agent);
			} else {
				int code = s->dir > 0 || n == 1 ? CODE_DEL_FWD : CODE_DEL_BACK;

				rc = crdt__put_varint(e->out,
						      (uint64_t)table_idx(e, s->agent) * 4 + code);
				if (!rc)
					rc = crdt__put_varint(e->out, (uint64_t)s->seq + k0);
				if (!rc)
					rc = crdt__put_varint(e->out, n);
				if (!rc)
					rc = crdt__put_varint(e->out, table_idx(e, ts->agent));
				if (!rc)
					rc = crdt__put_varint(e->out, tseq);
			}
			k0 += n;
		}
	}
	return rc;
}

static int encode_body(const struct crdt_doc *doc, const struct crdt_version *since,
		       const struct crdt_version *until, uint8_t kind, struct crdt_buf *out)
{
	struct enc e = { doc, out, NULL, 0, NULL };
	size_t start = out->len, tbytes = (doc->nagents ? doc->nagents : 1) * sizeof(uint32_t);
	uint64_t count = 0, dummy = 0;
	int rc;

	e.table = crdt__alloc(doc->alloc, tbytes);
	e.order = crdt__alloc(doc->alloc, tbytes);
	if (!e.table || !e.order) {
		rc = CRDT_ENOMEM;
		goto out;
	}
	memset(e.table, 0xff, tbytes);
	rc = walk(&e, since, until, 0, &count);
	if (rc)
		goto out;
	rc = crdt__put_varint(out, CRDT_FORMAT_VERSION);
	if (!rc)
		rc = crdt__put_bytes(out, &kind, 1);
	if (!rc)
		rc = crdt__put_varint(out, e.ntable);
	for (uint32_t i = 0; i < e.ntable && !rc; i++)
		rc = crdt__put_varint(out, doc->agents[e.order[i]].id);
	if (!rc)
		rc = crdt__put_varint(out, count);
	if (!rc)
		rc = walk(&e, since, until, 1, &dummy);
out:
	if (rc)
		out->len = start;
	crdt__free(doc->alloc, e.table, tbytes);
	crdt__free(doc->alloc, e.order, tbytes);
	return rc;
}

int crdt_encode_between(const struct crdt_doc *doc, const struct crdt_version *since,
			const struct crdt_version *until, struct crdt_buf *out)
{
	if (!doc || !out)
		return CRDT_EINVAL;
	return encode_body(doc, since, until, 'U', out);
}

int crdt_encode_since(const struct crdt_doc *doc, const struct crdt_version *since,
		      struct crdt_buf *out)
{
	return crdt_encode_between(doc, since, NULL, out);
}

/* ---- decoding ----------------------------------------------------------- */

static int get_ref(struct crdt__reader *r, const uint32_t *ids, uint32_t n, uint32_t *agent,
		   uint32_t *seq, int *none)
{
	uint32_t t;
	int rc = crdt__get_u32(r, &t);

	if (rc)
		return rc;
	if (t == 0) {
		*none = 1;
		*agent = *seq = 0;
		return 0;
	}
	if (t > n)
		return CRDT_EDECODE;
	*none = 0;
	*agent = ids[t - 1];
	return crdt__get_u32(r, seq);
}

int crdt__decode_update(struct crdt_doc *doc, const uint8_t *data, size_t len, struct rop **out,
			size_t *nout)
{
	struct crdt__reader r = { data, data + len };
	uint32_t *ids = NULL, nids = 0;
	struct rop *ops = NULL;
	uint64_t nops = 0;
	uint8_t kind;
	int rc;

	*out = NULL;
	*nout = 0;
	rc = crdt__get_header(&r, &kind);
	if (rc)
		return rc;
	if (kind == 'S')
		return crdt__decode_snapshot(doc, &r, out, nout);
	if (kind != 'U')
		return CRDT_EDECODE;
	rc = crdt__get_agent_table(doc->alloc, &r, &ids, &nids);
	if (rc)
		return rc;
	rc = crdt__get_varint(&r, &nops);
	if (rc)
		goto err;
	/* Every op takes at least five bytes. */
	if (nops > (uint64_t)(r.end - r.p) / 5) {
		rc = CRDT_ETRUNCATED;
		goto err;
	}
	if (nops) {
		ops = crdt__alloc(doc->alloc, nops * sizeof(*ops));
		if (!ops) {
			rc = CRDT_ENOMEM;
			goto err;
		}
	}
	for (uint64_t i = 0; i < nops; i++) {
		struct rop *op = &ops[i];
		uint32_t head, t, code;
		uint64_t nb;

		memset(op, 0, sizeof(*op));
		rc = crdt__get_u32(&r, &head);
		if (!rc)
			rc = crdt__get_u32(&r, &op->seq);
		if (!rc)
			rc = crdt__get_u32(&r, &op->len);
		if (rc)
			goto err;
		t = head / 4;
		code = head % 4;
		if (t >= nids || code > CODE_DEL_BACK || op->len == 0 ||
		    op->seq > UINT32_MAX - op->len) {
			rc = CRDT_EDECODE;
			goto err;
		}
		op->agent = ids[t];
		if (code == CODE_INS) {
			size_t cps;

			op->kind = SPAN_INS;
			op->dir = 1;
			rc = get_ref(&r, ids, nids, &op->a_agent, &op->a_seq, &op->a_none);
			if (!rc)
				rc = get_ref(&r, ids, nids, &op->b_agent, &op->b_seq, &op->b_none);
			if (!rc)
				rc = crdt__get_varint(&r, &nb);
			if (!rc && nb > UINT32_MAX)
				rc = CRDT_EDECODE;
			if (!rc)
				rc = crdt__get_bytes(&r, &op->text, (size_t)nb);
			if (rc)
				goto err;
			op->nbytes = (uint32_t)nb;
			if (crdt_utf8_check((const char *)op->text, op->nbytes, &cps) ||
			    cps != op->len) {
				rc = CRDT_EDECODE;
				goto err;
			}
			/* An op cannot name itself or a later op of its own agent. */
			if ((!op->a_none && op->a_agent == op->agent && op->a_seq >= op->seq) ||
			    (!op->b_none && op->b_agent == op->agent && op->b_seq >= op->seq)) {
				rc = CRDT_EDECODE;
				goto err;
			}
		} else {
			uint32_t ta;

			op->kind = SPAN_DEL;
			op->dir = code == CODE_DEL_FWD ? 1 : -1;
			rc = crdt__get_u32(&r, &ta);
			if (!rc)
				rc = crdt__get_u32(&r, &op->a_seq);
			if (rc)
				goto err;
			if (ta >= nids) {
				rc = CRDT_EDECODE;
				goto err;
			}
			op->a_agent = ids[ta];
			if ((op->dir > 0 && op->a_seq > UINT32_MAX - (op->len - 1)) ||
			    (op->dir < 0 && op->a_seq < op->len - 1)) {
				rc = CRDT_EDECODE;
				goto err;
			}
			{
				uint32_t hi = op->dir > 0 ? op->a_seq + op->len - 1 : op->a_seq;

				if (op->a_agent == op->agent && hi >= op->seq) {
					rc = CRDT_EDECODE;
					goto err;
				}
			}
		}
	}
	if (r.p != r.end) {
		rc = CRDT_EDECODE;
		goto err;
	}
	crdt__free(doc->alloc, ids, nids * sizeof(*ids));
	*out = ops;
	*nout = (size_t)nops;
	return 0;
err:
	crdt__free(doc->alloc, ids, nids * sizeof(*ids));
	crdt__free(doc->alloc, ops, nops * sizeof(*ops));
	return rc;
}

int crdt_apply(struct crdt_doc *doc, const uint8_t *data, size_t len)
{
	struct rop *ops;
	size_t n;
	int rc;

	if (!doc || (!data && len))
		return CRDT_EINVAL;
	if (crdt__is_snapshot2(data, len))
		return crdt__apply_snapshot2(doc, data, len);
	rc = crdt__decode_update(doc, data, len, &ops, &n);
	if (rc)
		return rc;
	rc = crdt__validate_rops(doc, ops, n);
	if (!rc)
		rc = crdt__apply_rops(doc, ops, n, 0);
	crdt__free(doc->alloc, ops, n * sizeof(*ops));
	crdt__spares_release(doc);
	return rc;
}

/* ---- reading an earlier version ----------------------------------------- */

struct ival {
	crdt_lv lo, hi; /* [lo, hi) */
};

static int ival_cmp(const void *a, const void *b)
{
	const struct ival *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

int crdt__walk_at(const struct crdt_doc *doc, const struct crdt_version *at, crdt__piece_fn *fn,
		  void *ud)
{
	struct ival *dels = NULL;
	size_t ndels = 0, capdels = 0, m = 0;
	int rc = 0;

	/* The deletes in at, as merged LV intervals. */
	for (size_t i = 0; i < doc->nops; i++) {
		const struct span *s = &doc->ops[i];
		uint32_t v, k;

		if (s->kind != SPAN_DEL)
			continue;
		v = crdt_version_get(at, doc->agents[s->agent].id);
		if (v <= s->seq)
			continue;
		k = v - s->seq;
		if (k > crdt__span_len(doc, s))
			k = crdt__span_len(doc, s);
		rc = crdt__grow(doc->alloc, (void **)&dels, &capdels, ndels + 1, sizeof(*dels));
		if (rc)
			goto out;
		if (s->dir > 0) {
			dels[ndels].lo = s->a;
			dels[ndels].hi = s->a + k;
		} else {
			dels[ndels].lo = s->a - (k - 1);
			dels[ndels].hi = s->a + 1;
		}
		ndels++;
	}
	if (ndels) {
		qsort(dels, ndels, sizeof(*dels), ival_cmp);
		for (size_t i = 1; i < ndels; i++) {
			if (dels[i].lo <= dels[m].hi) {
				if (dels[i].hi > dels[m].hi)
					dels[m].hi = dels[i].hi;
			} else {
				dels[++m] = dels[i];
			}
		}
		ndels = m + 1;
	}

	for (const struct leaf *l = doc->first; l && !rc; l = l->next) {
		for (uint32_t i = 0; i < l->h.n && !rc; i++) {
			const struct run *r = &l->r[i];
			const struct span *s = &doc->ops[crdt__span_at(doc, r->lv)];
			uint32_t seq0 = s->seq + (r->lv - s->lv);
			uint32_t v = crdt_version_get(at, doc->agents[s->agent].id);
			uint32_t in = v <= seq0 ? 0 : (v - seq0 < r->len ? v - seq0 : r->len);
			crdt_lv lv = r->lv, end = r->lv + in;
			size_t lo = 0, hi = ndels;

			/* The first delete interval that ends after lv. */
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (dels[mid].hi <= lv)
					lo = mid + 1;
				else
					hi = mid;
			}
			while (lv < end && !rc) {
				crdt_lv stop = end;

				if (lo < ndels && dels[lo].lo <= lv) {
					lv = dels[lo].hi < end ? dels[lo].hi : end;
					lo++;
					continue;
				}
				if (lo < ndels && dels[lo].lo < stop)
					stop = dels[lo].lo;
				rc = fn(ud, r, lv - r->lv, stop - r->lv);
				lv = stop;
			}
		}
	}
out:
	crdt__free(doc->alloc, dels, capdels * sizeof(*dels));
	return rc < 0 ? rc : 0;
}

struct text_at {
	const struct crdt_doc *doc;
	struct crdt_buf *out;
	struct crdt__bpos hint;
};

static int text_piece(void *ud, const struct run *r, uint32_t off0, uint32_t off1)
{
	struct text_at *t = ud;
	uint32_t b0, b1;

	crdt__run_bytes_near(t->doc, r, off0, off1, &t->hint, &b0, &b1);
	return crdt__put_bytes(t->out, t->doc->text + b0, b1 - b0);
}

int crdt_text_at(const struct crdt_doc *doc, const struct crdt_version *at, struct crdt_buf *out)
{
	struct text_at t = { doc, out, { LV_NONE, 0 } };
	size_t start;
	int rc;

	if (!doc || !at || !out)
		return CRDT_EINVAL;
	start = out->len;
	rc = crdt__walk_at(doc, at, text_piece, &t);
	if (rc)
		out->len = start;
	return rc;
}

int crdt_update_info(const uint8_t *data, size_t len, struct crdt_update_info *info,
		     const struct crdt_allocator *alloc)
{
	struct crdt_doc tmp;
	struct rop *ops;
	size_t n;
	int rc;

	if (!info || (!data && len))
		return CRDT_EINVAL;
	memset(info, 0, sizeof(*info));
	if (crdt__is_snapshot2(data, len))
		return crdt__snapshot2_info(data, len, info, alloc);
	/* Decoding only needs an allocator from the document. */
	memset(&tmp, 0, sizeof(tmp));
	tmp.alloc = alloc;
	rc = crdt__decode_update(&tmp, data, len, &ops, &n);
	if (rc)
		return rc;
	info->nops = n;
	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (ops[i].kind == SPAN_INS)
			info->ins_bytes += ops[i].nbytes;
		else
			info->del_count += ops[i].len;
		for (k = 0; k < info->nauthors && k < 8; k++)
			if (info->authors[k] == ops[i].agent)
				break;
		if (k < 8 && k == info->nauthors)
			info->authors[info->nauthors++] = ops[i].agent;
		else if (k == 8)
			info->nauthors = 9; /* saturates: "more than eight" */
	}
	crdt__free(alloc, ops, n * sizeof(*ops));
	return 0;
}
