/*
 * snapshot1.c - reading format-1 snapshots, which PostgreSQL still holds.
 *
 * Snapshots written before format 2 (snapshot.c) must stay readable; this
 * file reads them and nothing writes them any more.  Format 1 named every
 * operation's origins instead of its position:
 *
 *   snapshot := 1 'S' agents count { span } nbytes text
 *   span     := head [agent] body
 *   head     := len * 4 + code      code 0 insert, 1 delete forwards,
 *                                  2 delete backwards; head 3 (len 0) switches
 *                                  agent: a table index follows, then the head
 *   insert   := left right         left:  0 none | 1 + zigzag(ol - anchor)
 *                                  right: 0 none | 1 + zigzag(or - base)
 *   delete   := zigzag(target - anchor)
 *
 * Seqs are implicit (each agent's count so far), characters are named by
 * their LV within the snapshot, and each reference is a signed step from
 * the last character touched (the anchor) or, for a right origin, from the
 * left origin (base; 0 when there is none).  All inserted text follows the
 * spans in one block.
 *
 * Decoding turns a snapshot into ordinary remote operations (agent, seq),
 * so loading it is the path of any update, and as careful with its input.
 */
#include <string.h>

#include "crdt-internal.h"

enum { SN_INS = 0, SN_DEL_FWD = 1, SN_DEL_BACK = 2, SN_AGENT = 3 };

/*
 * Every step between two LVs fits in 33 bits of zigzag; anything larger is
 * malformed, and refusing it keeps the additions below free of overflow.
 */
#define STEP_MAX (1ull << 34)

/* Where the snapshot's own LV numbering puts each span. */
struct sspan {
	crdt_lv lv;
	uint32_t agent; /* table index */
	uint32_t seq;
	int kind;
};

static int name_lv(const struct sspan *sp, size_t n, crdt_lv lv, const uint32_t *ids,
		   uint32_t *agent, uint32_t *seq)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp[mid].lv <= lv)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return CRDT_EDECODE;
	*agent = ids[sp[lo - 1].agent];
	*seq = sp[lo - 1].seq + (lv - sp[lo - 1].lv);
	return 0;
}

int crdt__decode_snapshot(struct crdt_doc *doc, struct crdt__reader *r, struct rop **out,
			  size_t *nout)
{
	uint32_t *ids = NULL, *counts = NULL, nids = 0;
	struct sspan *sp = NULL;
	struct rop *ops = NULL;
	uint64_t nspans = 0, nb;
	uint32_t agent = UINT32_MAX;
	int64_t anchor = 0;
	crdt_lv lv = 0;
	const uint8_t *text;
	size_t tpos = 0;
	int rc;

	rc = crdt__get_agent_table(doc->alloc, r, &ids, &nids);
	if (rc)
		return rc;
	if (nids) {
		counts = crdt__alloc(doc->alloc, nids * sizeof(*counts));
		if (!counts) {
			rc = CRDT_ENOMEM;
			goto err;
		}
		memset(counts, 0, nids * sizeof(*counts));
	}
	rc = crdt__get_varint(r, &nspans);
	if (rc)
		goto err;
	/* A span takes at least two bytes. */
	if (nspans > (uint64_t)(r->end - r->p) / 2) {
		rc = CRDT_ETRUNCATED;
		goto err;
	}
	if (nspans) {
		sp = crdt__alloc(doc->alloc, nspans * sizeof(*sp));
		ops = crdt__alloc(doc->alloc, nspans * sizeof(*ops));
		if (!sp || !ops) {
			rc = CRDT_ENOMEM;
			goto err;
		}
	}
	for (uint64_t i = 0; i < nspans; i++) {
		struct rop *op = &ops[i];
		uint32_t head, len, code;

		rc = crdt__get_u32(r, &head);
		if (rc)
			goto err;
		if (head == SN_AGENT) {
			rc = crdt__get_u32(r, &agent);
			if (!rc)
				rc = crdt__get_u32(r, &head);
			if (rc)
				goto err;
			if (agent >= nids) {
				rc = CRDT_EDECODE;
				goto err;
			}
		}
		len = head / 4;
		code = head % 4;
		if (agent == UINT32_MAX || len == 0 || code == SN_AGENT ||
		    len > UINT32_MAX - counts[agent] || len >= LV_NONE - lv) {
			rc = CRDT_EDECODE;
			goto err;
		}
		memset(op, 0, sizeof(*op));
		op->agent = ids[agent];
		op->seq = counts[agent];
		op->len = len;
		sp[i].lv = lv;
		sp[i].agent = agent;
		sp[i].seq = counts[agent];
		sp[i].kind = code == SN_INS ? SPAN_INS : SPAN_DEL;
		if (code == SN_INS) {
			uint64_t lref, rref;
			int64_t ol = -1, orr;

			rc = crdt__get_varint(r, &lref);
			if (!rc)
				rc = crdt__get_varint(r, &rref);
			if (!rc && (lref > STEP_MAX || rref > STEP_MAX))
				rc = CRDT_EDECODE;
			if (rc)
				goto err;
			op->kind = SPAN_INS;
			op->dir = 1;
			op->a_none = lref == 0;
			op->b_none = rref == 0;
			if (lref) {
				ol = anchor + crdt__unzigzag(lref - 1);
				if (ol < 0 || ol >= (int64_t)lv) {
					rc = CRDT_EDECODE;
					goto err;
				}
				rc = name_lv(sp, (size_t)i, (crdt_lv)ol, ids, &op->a_agent,
					     &op->a_seq);
			}
			if (!rc && rref) {
				orr = (ol < 0 ? 0 : ol) + crdt__unzigzag(rref - 1);
				if (orr < 0 || orr >= (int64_t)lv) {
					rc = CRDT_EDECODE;
					goto err;
				}
				rc = name_lv(sp, (size_t)i, (crdt_lv)orr, ids, &op->b_agent,
					     &op->b_seq);
			}
			if (rc)
				goto err;
			anchor = (int64_t)lv + len - 1;
		} else {
			uint64_t t;
			int64_t target, lo;

			rc = crdt__get_varint(r, &t);
			if (!rc && t > STEP_MAX)
				rc = CRDT_EDECODE;
			if (rc)
				goto err;
			op->kind = SPAN_DEL;
			op->dir = code == SN_DEL_FWD ? 1 : -1;
			target = anchor + crdt__unzigzag(t);
			lo = op->dir > 0 ? target : target - (len - 1);
			if (lo < 0 || (op->dir > 0 ? target + len - 1 : target) >= (int64_t)lv) {
				rc = CRDT_EDECODE;
				goto err;
			}
			/* The targets must lie in one span of the snapshot to be named by one seq.
			 */
			{
				uint32_t a1, s1, a2, s2;

				rc = name_lv(sp, (size_t)i, (crdt_lv)lo, ids, &a1, &s1);
				if (!rc)
					rc = name_lv(sp, (size_t)i, (crdt_lv)(lo + len - 1), ids,
						     &a2, &s2);
				if (rc)
					goto err;
				if (a1 != a2 || s2 - s1 != len - 1) {
					rc = CRDT_EDECODE;
					goto err;
				}
				op->a_agent = a1;
				op->a_seq = op->dir > 0 ? s1 : s2;
			}
			anchor = op->dir > 0 ? target + len - 1 : lo;
		}
		counts[agent] += len;
		lv += len;
	}
	rc = crdt__get_varint(r, &nb);
	if (!rc)
		rc = crdt__get_bytes(r, &text, (size_t)nb);
	if (rc)
		goto err;
	if (r->p != r->end) {
		rc = CRDT_EDECODE;
		goto err;
	}
	if (crdt_utf8_check((const char *)text, (size_t)nb, NULL)) {
		rc = CRDT_EDECODE;
		goto err;
	}
	/* Hand each insert its code points from the text block, in order. */
	for (uint64_t i = 0; i < nspans; i++) {
		struct rop *op = &ops[i];
		size_t b;

		if (op->kind != SPAN_INS)
			continue;
		b = crdt__utf8_skip((const char *)text + tpos, (size_t)nb - tpos, op->len);
		if (b == (size_t)nb - tpos && b < op->len) {
			rc = CRDT_EDECODE;
			goto err;
		}
		op->text = text + tpos;
		op->nbytes = (uint32_t)b;
		tpos += b;
	}
	/* Every insert got its full count of code points, and nothing is left over. */
	for (uint64_t i = 0; i < nspans; i++) {
		size_t cps;

		if (ops[i].kind == SPAN_INS &&
		    (crdt_utf8_check((const char *)ops[i].text, ops[i].nbytes, &cps) ||
		     cps != ops[i].len)) {
			rc = CRDT_EDECODE;
			goto err;
		}
	}
	if (tpos != nb) {
		rc = CRDT_EDECODE;
		goto err;
	}
	crdt__free(doc->alloc, ids, nids * sizeof(*ids));
	crdt__free(doc->alloc, counts, nids * sizeof(*counts));
	crdt__free(doc->alloc, sp, nspans * sizeof(*sp));
	*out = ops;
	*nout = (size_t)nspans;
	return 0;
err:
	crdt__free(doc->alloc, ids, nids * sizeof(*ids));
	crdt__free(doc->alloc, counts, nids * sizeof(*counts));
	crdt__free(doc->alloc, sp, nspans * sizeof(*sp));
	crdt__free(doc->alloc, ops, nspans * sizeof(*ops));
	return rc;
}
