/*
 * positions.c - UTF-16 positions and cursor anchors.
 *
 * The document counts code points; browsers and editors count UTF-16
 * units.  The tree keeps both counts (crdt-internal.h), so every conversion
 * here is a descent or a walk up the tree, O(log n), with no copy of the
 * text.  Anchors name a character by the operation that inserted it, so
 * they survive any edit made around them, here or at a peer.
 *
 * Nothing here changes a document except through crdt_insert() and
 * crdt_delete(): a UTF-16 edit is a code point edit at the converted place.
 */
#include "crdt-internal.h"

size_t crdt_len16(const struct crdt_doc *doc)
{
	return doc->vis16_len;
}

/*
 * While no visible character lies above U+FFFF (most text), the two units
 * agree: the conversions below are then free.
 */
static bool all_bmp(const struct crdt_doc *doc)
{
	return doc->vis16_len == doc->vis_len;
}

size_t crdt_pos_to16(const struct crdt_doc *doc, size_t pos)
{
	struct cursor c;

	if (pos >= doc->vis_len)
		return doc->vis16_len;
	if (all_bmp(doc))
		return pos;
	crdt__find_vis(doc, pos, &c);
	return crdt__pos_vis16(doc, c.leaf, c.i) + crdt__run_u16(doc, &c.leaf->r[c.i], c.off);
}

size_t crdt_pos_from16(const struct crdt_doc *doc, size_t pos16, bool *mid)
{
	struct cursor c;
	int m;

	if (mid)
		*mid = false;
	if (pos16 >= doc->vis16_len)
		return doc->vis_len;
	if (all_bmp(doc))
		return pos16;
	crdt__find_vis16(doc, pos16, &c, &m);
	if (mid)
		*mid = m;
	return crdt__pos_vis(doc, c.leaf, c.i) + c.off;
}

/* The code point position of UTF-16 position pos16: CRDT_ERANGE past the end or inside a pair. */
static int from16(const struct crdt_doc *doc, size_t pos16, size_t *pos)
{
	bool mid;

	if (pos16 > doc->vis16_len)
		return CRDT_ERANGE;
	*pos = crdt_pos_from16(doc, pos16, &mid);
	return mid ? CRDT_ERANGE : 0;
}

int crdt_insert16(struct crdt_doc *doc, uint32_t agent, size_t pos16, const char *utf8,
		  size_t nbytes)
{
	return crdt__insert(doc, agent, pos16, true, utf8, nbytes);
}

int crdt_delete16(struct crdt_doc *doc, uint32_t agent, size_t pos16, size_t count16)
{
	size_t pos, end;
	int rc;

	if (!doc)
		return CRDT_EINVAL;
	if (pos16 > doc->vis16_len || count16 > doc->vis16_len - pos16)
		return CRDT_ERANGE;
	rc = from16(doc, pos16, &pos);
	if (!rc)
		rc = from16(doc, pos16 + count16, &end);
	return rc ? rc : crdt_delete(doc, agent, pos, end - pos);
}

/* ---- anchors ------------------------------------------------------------ */

int crdt_anchor_at(const struct crdt_doc *doc, size_t pos, int assoc, struct crdt_anchor *out)
{
	const struct span *s;
	struct cursor c;
	crdt_lv lv;

	if (!doc || !out)
		return CRDT_EINVAL;
	if (pos > doc->vis_len)
		return CRDT_ERANGE;
	out->assoc = assoc < 0 ? -1 : 1;
	out->agent = out->seq = 0;
	out->edge = assoc < 0 ? pos == 0 : pos == doc->vis_len;
	if (out->edge)
		return 0;
	crdt__find_vis(doc, assoc < 0 ? pos - 1 : pos, &c);
	lv = c.leaf->r[c.i].lv + c.off;
	s = &doc->ops[crdt__span_at(doc, lv)];
	out->agent = doc->agents[s->agent].id;
	out->seq = s->seq + (lv - s->lv);
	return 0;
}

int crdt_anchor_at16(const struct crdt_doc *doc, size_t pos16, int assoc, struct crdt_anchor *out)
{
	size_t pos;
	int rc;

	if (!doc || !out)
		return CRDT_EINVAL;
	rc = from16(doc, pos16, &pos);
	return rc ? rc : crdt_anchor_at(doc, pos, assoc, out);
}

int crdt_anchor_pos(const struct crdt_doc *doc, const struct crdt_anchor *a, size_t *pos,
		    size_t *pos16)
{
	const struct run *r;
	struct cursor c;
	size_t p, p16;
	crdt_lv lv;
	int ai, kind;

	if (!doc || !a)
		return CRDT_EINVAL;
	if (a->edge) {
		p = a->assoc < 0 ? 0 : doc->vis_len;
		p16 = a->assoc < 0 ? 0 : doc->vis16_len;
		goto out;
	}
	ai = crdt__agent_find(doc, a->agent);
	if (ai < 0)
		return 1;
	lv = crdt__seq_to_lv_kind(doc, (uint32_t)ai, a->seq, NULL, NULL, &kind);
	if (lv == LV_NONE)
		return 1;
	if (kind != SPAN_INS || crdt__find_lv(doc, lv, &c))
		return CRDT_EINVAL;
	r = &c.leaf->r[c.i];
	p = crdt__pos_vis(doc, c.leaf, c.i);
	p16 = crdt__pos_vis16(doc, c.leaf, c.i);
	if (!r->deleted) {
		/* Before the character, or after it for assoc -1. */
		uint32_t k = c.off + (a->assoc < 0);

		p += k;
		p16 += crdt__run_u16(doc, r, k);
	}
out:
	if (pos)
		*pos = p;
	if (pos16)
		*pos16 = p16;
	return 0;
}
