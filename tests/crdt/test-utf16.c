/*
 * test-utf16.c - UTF-16 positions, change lists, anchors and authorship.
 *
 * Three to five replicas edit in UTF-16 positions (crdt_insert16 /
 * crdt_delete16) with text of every kind (ASCII, accented Latin, CJK,
 * emoji, combining marks, newlines) and exchange per-edit updates in random
 * order with duplicates, plus catch-up updates of many operations.  Each
 * replica keeps a mirror: an array of UTF-16 units, each with the agent who
 * typed it, changed only by its own edits and by the change lists
 * crdt_apply_changes() returns, applied as CodeMirror applies a ChangeSpec
 * array (every position read in the text before the update).  After every
 * step the mirror must equal the document's text, authorship runs must name
 * the mirror's agents unit for unit (whole text and random ranges, in both
 * units), and every anchor taken so far, at any replica, must resolve where
 * a walk of the whole tree says its character is (or was).
 *
 * With --emit FILE the run (seed from TANDEM_SEED) is also written as JSON
 * lines for tests/crdt/wasm-utf16.mjs, which replays it through the wasm
 * build and requires the same updates, change lists, texts and authors.
 */
#include "testutil.h"

#define MAXREP	   5
#define MAXANCHORS 24

struct unit {
	uint16_t u;
	uint32_t agent;
};

struct mirror {
	struct unit *v;
	size_t len, cap;
};

struct msg {
	uint8_t *data;
	size_t len;
};

struct replica {
	struct crdt_doc *doc;
	uint32_t agent;
	struct mirror m;
	bool got[4096];
};

struct world {
	struct replica r[MAXREP];
	int n;
	struct msg msgs[4096];
	size_t nmsgs;
	struct crdt_anchor anchors[MAXANCHORS];
	int nanchors;
	struct tu_rng rng;
	FILE *emit;
	struct crdt_changes ch;
	struct crdt_authors au;
	size_t changes, pieces, anchor_checks;
};

/* ---- text of every kind ------------------------------------------------- */

static uint32_t rand_char(struct tu_rng *rng)
{
	static const uint32_t latin[] = { 0xE9, 0xE8, 0xF1, 0xFC, 0xE7, 0xC9, 0x153, 0xDF };
	static const uint32_t odd[] = { 0xFFFF, 0xFFFD, 0xE000, 0x10000, 0x10FFFF, 0x7FF, 0x800 };
	size_t k = tu_below(rng, 100);

	if (k < 40)
		return (uint32_t)('a' + tu_below(rng, 26));
	if (k < 48)
		return tu_chance(rng, 50) ? '\n' : ' ';
	if (k < 60)
		return latin[tu_below(rng, sizeof latin / sizeof latin[0])];
	if (k < 72)
		return (uint32_t)(0x4E00 + tu_below(rng, 0x5000)); /* CJK */
	if (k < 84)
		return (uint32_t)(tu_chance(rng, 50) ? 0x1F600 + tu_below(rng, 0x50)
						     : 0x1F900 + tu_below(rng, 0x100)); /* emoji */
	if (k < 96)
		return (uint32_t)(0x300 + tu_below(rng, 0x70)); /* combining marks */
	return odd[tu_below(rng, sizeof odd / sizeof odd[0])];
}

/* UTF-8 to UTF-16 units (valid input). */
static size_t to_utf16(const char *s, size_t n, uint16_t *out)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t k = 0;

	for (size_t i = 0; i < n;) {
		uint32_t cp;

		if (p[i] < 0x80) {
			cp = p[i++];
		} else if (p[i] < 0xE0) {
			cp = (uint32_t)(p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F);
			i += 2;
		} else if (p[i] < 0xF0) {
			cp = (uint32_t)(p[i] & 0x0F) << 12 | (uint32_t)(p[i + 1] & 0x3F) << 6 |
			     (p[i + 2] & 0x3F);
			i += 3;
		} else {
			cp = (uint32_t)(p[i] & 0x07) << 18 | (uint32_t)(p[i + 1] & 0x3F) << 12 |
			     (uint32_t)(p[i + 2] & 0x3F) << 6 | (p[i + 3] & 0x3F);
			i += 4;
		}
		if (cp >= 0x10000) {
			out[k++] = (uint16_t)(0xD800 + ((cp - 0x10000) >> 10));
			out[k++] = (uint16_t)(0xDC00 + ((cp - 0x10000) & 0x3FF));
		} else {
			out[k++] = (uint16_t)cp;
		}
	}
	return k;
}

/* UTF-16 units of the first n bytes of valid UTF-8 s. */
static size_t to_utf16_len(const char *s, size_t n)
{
	size_t units = 0;

	for (size_t i = 0; i < n; i++)
		units += ((s[i] & 0xC0) != 0x80) + ((uint8_t)s[i] >= 0xF0);
	return units;
}

static bool low_surrogate(uint16_t u)
{
	return u >= 0xDC00 && u < 0xE000;
}

/* ---- the mirror ----------------------------------------------------------- */

static void mirror_splice(struct mirror *m, size_t pos, size_t del, const char *ins, size_t nb,
			  uint32_t agent)
{
	uint16_t *u = malloc((nb ? nb : 1) * sizeof(*u));
	size_t n;

	TU_CHECK(u != NULL && pos + del <= m->len);
	n = to_utf16(ins, nb, u);
	if (m->len - del + n > m->cap) {
		m->cap = (m->len - del + n) * 2 + 16;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
		TU_CHECK(m->v != NULL);
	}
	memmove(m->v + pos + n, m->v + pos + del, (m->len - pos - del) * sizeof(*m->v));
	for (size_t k = 0; k < n; k++)
		m->v[pos + k] = (struct unit){ u[k], agent };
	m->len = m->len - del + n;
	free(u);
}

/* Applies a change list as CodeMirror does: positions in the old text, in order. */
static void mirror_apply(struct mirror *m, const struct crdt_changes *ch)
{
	struct mirror out = { 0 };
	size_t at = 0;

	out.cap = m->len + ch->text.len + 16;
	out.v = malloc(out.cap * sizeof(*out.v));
	TU_CHECK(out.v != NULL);
	for (size_t i = 0; i < ch->len; i++) {
		const struct crdt_change *c = &ch->v[i];
		uint16_t *u = malloc((c->ins_len ? c->ins_len : 1) * sizeof(*u));
		size_t n;

		TU_CHECK(u != NULL);
		if (c->from16 < at || c->to16 < c->from16 || c->to16 > m->len)
			TU_FAIL("change %zu [%zu, %zu) out of order or range (at %zu, length %zu)",
				i, c->from16, c->to16, at, m->len);
		if (c->to - c->from > c->to16 - c->from16 || (c->ins_len && !c->agent))
			TU_FAIL("change %zu: code points %zu..%zu vs units %zu..%zu, agent %u", i,
				c->from, c->to, c->from16, c->to16, c->agent);
		if (c->from16 > at)
			memcpy(out.v + out.len, m->v + at, (c->from16 - at) * sizeof(*out.v));
		out.len += c->from16 - at;
		n = to_utf16((const char *)ch->text.data + c->ins, c->ins_len, u);
		TU_EQ_SIZE(n, c->ins_len16);
		for (size_t k = 0; k < n; k++)
			out.v[out.len++] = (struct unit){ u[k], c->agent };
		at = c->to16;
		free(u);
	}
	if (m->len > at)
		memcpy(out.v + out.len, m->v + at, (m->len - at) * sizeof(*out.v));
	out.len += m->len - at;
	free(m->v);
	*m = out;
}

/* The document's text and authorship are the mirror's. */
static void verify(struct world *w, struct replica *r)
{
	size_t n, n16, pos = 0;
	char *text = tu_text(r->doc, &n);
	uint16_t *u = malloc((n ? n : 1) * sizeof(*u));

	TU_CHECK_DOC(r->doc);
	TU_CHECK(u != NULL);
	n16 = to_utf16(text, n, u);
	TU_EQ_SIZE(n16, r->m.len);
	TU_EQ_SIZE(crdt_len16(r->doc), n16);
	for (size_t k = 0; k < n16; k++)
		if (u[k] != r->m.v[k].u)
			TU_FAIL("unit %zu: doc %04x, mirror %04x", k, u[k], r->m.v[k].u);

	/* Authorship of the whole text, unit for unit. */
	TU_OK(crdt_authors(r->doc, 0, SIZE_MAX, true, NULL, &w->au));
	for (size_t i = 0; i < w->au.len; i++) {
		const struct crdt_author_run *a = &w->au.v[i];

		TU_CHECK(a->len > 0 && a->len16 >= a->len);
		TU_CHECK(i == 0 || w->au.v[i - 1].agent != a->agent);
		for (size_t k = 0; k < a->len16; k++)
			if (r->m.v[pos + k].agent != a->agent)
				TU_FAIL("unit %zu typed by %u, authors say %u", pos + k,
					r->m.v[pos + k].agent, a->agent);
		pos += a->len16;
	}
	TU_EQ_SIZE(pos, n16);

	/* A random range, in UTF-16 units and then in code points: the same runs. */
	if (n16) {
		size_t a = tu_below(&w->rng, n16 + 1), b = a + tu_below(&w->rng, n16 - a + 1);
		size_t sum = 0, cpa, cpb;

		bool mid = (a < n16 && low_surrogate(u[a])) || (b < n16 && low_surrogate(u[b]));

		if (mid && a < b) {
			TU_ERR(crdt_authors(r->doc, a, b, true, NULL, &w->au), CRDT_ERANGE);
		} else if (!mid) {
			TU_OK(crdt_authors(r->doc, a, b, true, NULL, &w->au));
			for (size_t i = 0; i < w->au.len; i++) {
				for (size_t k = 0; k < w->au.v[i].len16; k++)
					TU_EQ_INT(r->m.v[a + sum + k].agent, w->au.v[i].agent);
				sum += w->au.v[i].len16;
			}
			TU_EQ_SIZE(sum, b - a);
			cpa = crdt_pos_from16(r->doc, a, NULL);
			cpb = crdt_pos_from16(r->doc, b, NULL);
			TU_EQ_SIZE(crdt_pos_to16(r->doc, cpa), a);
			TU_EQ_SIZE(crdt_pos_to16(r->doc, cpb), b);
			{
				size_t k = w->au.len, cps = 0;
				struct crdt_author_run *copy = malloc((k ? k : 1) * sizeof(*copy));

				TU_CHECK(copy != NULL);
				memcpy(copy, w->au.v, k * sizeof(*copy));
				TU_OK(crdt_authors(r->doc, cpa, cpb, false, NULL, &w->au));
				TU_EQ_SIZE(w->au.len, k);
				for (size_t i = 0; i < k; i++) {
					TU_EQ_INT(w->au.v[i].agent, copy[i].agent);
					TU_EQ_SIZE(w->au.v[i].len, copy[i].len);
					TU_EQ_SIZE(w->au.v[i].len16, copy[i].len16);
					cps += copy[i].len;
				}
				TU_EQ_SIZE(cps, cpb - cpa);
				free(copy);
			}
		}
	}
	free(u);
	free(text);
}

/* ---- anchors ------------------------------------------------------------- */

/* Where the anchor's character is, by walking every run from the start. */
static int brute_anchor(const struct crdt_doc *doc, const struct crdt_anchor *a, size_t *pos16)
{
	size_t count = 0;
	int ai;
	crdt_lv lv;

	if (a->edge) {
		*pos16 = a->assoc < 0 ? 0 : crdt_len16(doc);
		return 0;
	}
	ai = crdt__agent_find(doc, a->agent);
	if (ai < 0 || doc->agents[ai].next <= a->seq)
		return 1;
	lv = crdt__seq_to_lv(doc, (uint32_t)ai, a->seq, NULL, NULL);
	for (const struct leaf *l = doc->first; l; l = l->next) {
		for (uint32_t i = 0; i < l->h.n; i++) {
			const struct run *r = &l->r[i];
			uint32_t b0, b1;

			if (lv >= r->lv && lv < r->lv + r->len) {
				if (!r->deleted) {
					crdt__run_bytes(doc, r, 0, lv - r->lv + (a->assoc < 0), &b0,
							&b1);
					count += crdt__utf16_count(doc->text + b0, b1 - b0);
				}
				*pos16 = count;
				return 0;
			}
			if (!r->deleted) {
				crdt__run_bytes(doc, r, 0, r->len, &b0, &b1);
				count += crdt__utf16_count(doc->text + b0, b1 - b0);
			}
		}
	}
	TU_FAIL("anchor (%u, %u): LV %u not in the tree", a->agent, a->seq, lv);
}

static void check_anchors(struct world *w, const struct replica *r)
{
	for (int k = 0; k < w->nanchors; k++) {
		const struct crdt_anchor *a = &w->anchors[k];
		size_t want = 0, got = 0, cp = 0;
		int rw = brute_anchor(r->doc, a, &want);
		int rg = crdt_anchor_pos(r->doc, a, &cp, &got);

		TU_EQ_INT(rg, rw);
		if (rw == 0) {
			TU_EQ_SIZE(got, want);
			TU_EQ_SIZE(crdt_pos_to16(r->doc, cp), got);
		}
		w->anchor_checks++;
	}
}

static void take_anchor(struct world *w, struct replica *r)
{
	size_t len16 = r->m.len, pos16 = tu_below(&w->rng, len16 + 1), back = 0;
	int assoc = tu_chance(&w->rng, 50) ? 1 : -1, k;
	struct crdt_anchor a;

	if (pos16 < len16 && low_surrogate(r->m.v[pos16].u)) {
		TU_ERR(crdt_anchor_at16(r->doc, pos16, assoc, &a), CRDT_ERANGE);
		pos16--;
	}
	TU_OK(crdt_anchor_at16(r->doc, pos16, assoc, &a));
	TU_EQ_INT(crdt_anchor_pos(r->doc, &a, NULL, &back), 0);
	TU_EQ_SIZE(back, pos16);
	k = w->nanchors < MAXANCHORS ? w->nanchors++ : (int)tu_below(&w->rng, MAXANCHORS);
	w->anchors[k] = a;
	if (w->emit)
		fprintf(w->emit,
			"{\"r\":%d,\"anchor\":%zu,\"assoc\":%d,\"slot\":%d,\"got\":[%u,%u,%d]}\n",
			(int)(r - w->r), pos16, assoc, k, a.agent, a.seq, a.edge);
}

/* ---- the replay record for the wasm test ----------------------------------- */

static void emit_hex(FILE *f, const void *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", ((const uint8_t *)p)[i]);
	fputc('"', f);
}

static void emit_result(struct world *w, const struct replica *r)
{
	FILE *f = w->emit;
	size_t n;
	char *text;

	if (!f)
		return;
	text = tu_text(r->doc, &n);
	fputs(",\"text\":", f);
	emit_hex(f, text, n);
	TU_OK(crdt_authors(r->doc, 0, SIZE_MAX, true, NULL, &w->au));
	fputs(",\"authors\":[", f);
	for (size_t i = 0; i < w->au.len; i++)
		fprintf(f, "%s[%u,%zu]", i ? "," : "", w->au.v[i].agent, w->au.v[i].len16);
	fputs("],\"anchors\":[", f);
	for (int k = 0; k < w->nanchors; k++) {
		size_t p16 = 0;
		int rc = crdt_anchor_pos(r->doc, &w->anchors[k], NULL, &p16);

		if (rc == 0)
			fprintf(f, "%s%zu", k ? "," : "", p16);
		else
			fprintf(f, "%snull", k ? "," : "");
	}
	fputs("]}\n", f);
	free(text);
}

/* ---- steps ------------------------------------------------------------------ */

static void add_msg(struct world *w, int from, const struct crdt_buf *b)
{
	struct msg *m;

	TU_CHECK(w->nmsgs < 4096);
	m = &w->msgs[w->nmsgs];
	m->data = malloc(b->len ? b->len : 1);
	TU_CHECK(m->data != NULL);
	memcpy(m->data, b->data, b->len);
	m->len = b->len;
	w->r[from].got[w->nmsgs++] = true;
}

static void local_edit(struct world *w, int i)
{
	struct replica *r = &w->r[i];
	struct crdt_version before;
	struct crdt_buf b;
	size_t len16 = r->m.len;

	crdt_version_init(&before, NULL);
	crdt_buf_init(&b, NULL);
	TU_OK(crdt_doc_version(r->doc, &before));
	if (len16 == 0 || tu_chance(&w->rng, 65)) {
		size_t pos = tu_below(&w->rng, len16 + 1), nb = 0, nch = 1 + tu_below(&w->rng, 6);
		char s[32 * 4];

		if (tu_chance(&w->rng, 5))
			nch = 20 + tu_below(&w->rng, 12);
		for (size_t k = 0; k < nch; k++)
			nb += tu_utf8_put(rand_char(&w->rng), s + nb);
		if (pos < len16 && low_surrogate(r->m.v[pos].u)) {
			TU_ERR(crdt_insert16(r->doc, r->agent, pos, s, nb), CRDT_ERANGE);
			pos--;
		}
		TU_OK(crdt_insert16(r->doc, r->agent, pos, s, nb));
		mirror_splice(&r->m, pos, 0, s, nb, r->agent);
		if (w->emit) {
			fprintf(w->emit, "{\"r\":%d,\"agent\":%u,\"ins\":%zu,\"s\":", i, r->agent,
				pos);
			emit_hex(w->emit, s, nb);
		}
	} else {
		size_t pos = tu_below(&w->rng, len16);
		size_t n = 1 + tu_below(&w->rng, len16 - pos < 10 ? len16 - pos : 10);

		if (low_surrogate(r->m.v[pos].u)) {
			TU_ERR(crdt_delete16(r->doc, r->agent, pos, n), CRDT_ERANGE);
			pos--;
			n++;
		}
		if (pos + n < len16 && low_surrogate(r->m.v[pos + n].u)) {
			TU_ERR(crdt_delete16(r->doc, r->agent, pos, n), CRDT_ERANGE);
			n++;
		}
		TU_OK(crdt_delete16(r->doc, r->agent, pos, n));
		mirror_splice(&r->m, pos, n, NULL, 0, 0);
		if (w->emit)
			fprintf(w->emit, "{\"r\":%d,\"agent\":%u,\"del\":%zu,\"n\":%zu", i,
				r->agent, pos, n);
	}
	TU_OK(crdt_encode_since(r->doc, &before, &b));
	add_msg(w, i, &b);
	if (w->emit) {
		fputs(",\"update\":", w->emit);
		emit_hex(w->emit, b.data, b.len);
	}
	emit_result(w, r);
	verify(w, r);
	check_anchors(w, r);
	crdt_buf_finish(&b);
	crdt_version_finish(&before);
}

/* Applies bytes to replica i through its change list. */
static void apply(struct world *w, int i, const uint8_t *data, size_t len)
{
	struct replica *r = &w->r[i];

	TU_OK(crdt_apply_changes(r->doc, data, len, &w->ch));
	mirror_apply(&r->m, &w->ch);
	w->changes++;
	w->pieces += w->ch.len;
	if (w->emit) {
		fprintf(w->emit, "{\"r\":%d,\"apply\":", i);
		emit_hex(w->emit, data, len);
		fputs(",\"changes\":[", w->emit);
		for (size_t k = 0; k < w->ch.len; k++) {
			const struct crdt_change *c = &w->ch.v[k];

			fprintf(w->emit, "%s[%zu,%zu,", k ? "," : "", c->from16, c->to16);
			emit_hex(w->emit, w->ch.text.data + c->ins, c->ins_len);
			fprintf(w->emit, ",%u]", c->agent);
		}
		fputs("]", w->emit);
	}
	emit_result(w, r);
	verify(w, r);
	check_anchors(w, r);
}

static void deliver(struct world *w, int i, size_t m)
{
	apply(w, i, w->msgs[m].data, w->msgs[m].len);
	w->r[i].got[m] = true;
}

/* Replica j catches up with everything replica i has: one update of many operations. */
static void catch_up(struct world *w, int i, int j)
{
	struct crdt_version v;
	struct crdt_buf b;

	crdt_version_init(&v, NULL);
	crdt_buf_init(&b, NULL);
	TU_OK(crdt_doc_version(w->r[j].doc, &v));
	TU_OK(crdt_encode_since(w->r[i].doc, &v, &b));
	apply(w, j, b.data, b.len);
	crdt_buf_finish(&b);
	crdt_version_finish(&v);
}

static void run_world(uint64_t seed, int nrep, int rounds, FILE *emit)
{
	struct world *w = calloc(1, sizeof(*w));

	TU_CHECK(w != NULL);
	tu_seed_report(seed);
	tu_rng_init(&w->rng, seed);
	w->n = nrep;
	w->emit = emit;
	crdt_changes_init(&w->ch, NULL);
	crdt_authors_init(&w->au, NULL);
	for (int i = 0; i < nrep; i++) {
		w->r[i].doc = crdt_doc_create(NULL);
		TU_CHECK(w->r[i].doc != NULL);
		w->r[i].agent = (uint32_t)(i * 7 + 1 + tu_below(&w->rng, 5));
	}
	if (emit)
		fprintf(emit, "{\"replicas\":%d}\n", nrep);
	for (int step = 0; step < rounds; step++) {
		int i = (int)tu_below(&w->rng, (size_t)nrep);
		size_t k = tu_below(&w->rng, 100);

		if (k < 45) {
			local_edit(w, i);
		} else if (k < 85 && w->nmsgs) {
			/* A random message, maybe one this replica has (a duplicate). */
			deliver(w, i, tu_below(&w->rng, w->nmsgs));
		} else if (k < 92) {
			take_anchor(w, &w->r[i]);
		} else {
			int j = (int)tu_below(&w->rng, (size_t)nrep);

			if (j != i)
				catch_up(w, i, j);
		}
	}
	/* Everything to everyone, then all agree. */
	for (int i = 0; i < nrep; i++)
		for (size_t m = 0; m < w->nmsgs; m++)
			if (!w->r[i].got[m])
				deliver(w, i, m);
	for (int i = 1; i < nrep; i++) {
		size_t n0, n1;
		char *t0 = tu_text(w->r[0].doc, &n0), *t1 = tu_text(w->r[i].doc, &n1);

		TU_EQ_SIZE(crdt_pending(w->r[i].doc), 0);
		TU_EQ_SIZE(crdt_pending(w->r[0].doc), 0);
		{
			struct crdt_version v0, v1;
			char s0[256], s1[256];

			crdt_version_init(&v0, NULL);
			crdt_version_init(&v1, NULL);
			TU_OK(crdt_doc_version(w->r[0].doc, &v0));
			TU_OK(crdt_doc_version(w->r[i].doc, &v1));
			if (!crdt_version_includes(&v0, &v1) || !crdt_version_includes(&v1, &v0))
				TU_FAIL("versions differ: %s vs %s", tu_version_str(&v0, s0, 256),
					tu_version_str(&v1, s1, 256));
			crdt_version_finish(&v0);
			crdt_version_finish(&v1);
		}
		TU_EQ_MEM(t0, n0, t1, n1);
		free(t0);
		free(t1);
	}
	printf("  seed %" PRIu64 ": %d replicas, %zu updates, %zu applied (%zu changes), %zu "
	       "anchor checks, final %zu units\n",
	       seed, nrep, w->nmsgs, w->changes, w->pieces, w->anchor_checks, w->r[0].m.len);
	for (int i = 0; i < nrep; i++) {
		crdt_doc_destroy(w->r[i].doc);
		free(w->r[i].m.v);
	}
	for (size_t m = 0; m < w->nmsgs; m++)
		free(w->msgs[m].data);
	crdt_changes_finish(&w->ch);
	crdt_authors_finish(&w->au);
	free(w);
}

/* ---- stories: what a person expects ------------------------------------------ */

static struct crdt_doc *doc_with(uint32_t agent, const char *s)
{
	struct crdt_doc *d = crdt_doc_create(NULL);

	TU_CHECK(d != NULL);
	TU_OK(crdt_insert(d, agent, 0, s, strlen(s)));
	return d;
}

static void sync_to(struct crdt_doc *from, struct crdt_doc *to, struct crdt_changes *ch)
{
	struct crdt_version v;
	struct crdt_buf b;

	crdt_version_init(&v, NULL);
	crdt_buf_init(&b, NULL);
	TU_OK(crdt_doc_version(to, &v));
	TU_OK(crdt_encode_since(from, &v, &b));
	TU_OK(crdt_apply_changes(to, b.data, b.len, ch));
	crdt_buf_finish(&b);
	crdt_version_finish(&v);
}

static size_t anchor16(const struct crdt_doc *d, const struct crdt_anchor *a)
{
	size_t p = SIZE_MAX;

	TU_EQ_INT(crdt_anchor_pos(d, a, NULL, &p), 0);
	return p;
}

static void test_stories(void)
{
	struct crdt_doc *a = doc_with(1, "hello world"), *b = crdt_doc_create(NULL);
	struct crdt_anchor before_w, after_o, on_r, start, end, unknown = { 99, 0, 1, false };
	struct crdt_changes ch;
	struct crdt_authors au;
	size_t p = 0;

	crdt_changes_init(&ch, NULL);
	crdt_authors_init(&au, NULL);
	TU_CHECK(b != NULL);
	sync_to(a, b, &ch);
	TU_EQ_SIZE(ch.len, 1);
	TU_EQ_SIZE(ch.v[0].from16, 0);
	TU_EQ_SIZE(ch.v[0].ins_len16, 11);
	TU_EQ_INT(ch.v[0].agent, 1);

	TU_OK(crdt_anchor_at16(a, 6, 1, &before_w)); /* names the 'w' */
	TU_OK(crdt_anchor_at16(a, 5, -1, &after_o)); /* names the 'o' of hello */
	TU_OK(crdt_anchor_at16(a, 9, 1, &on_r));     /* before the 'l' of world */
	TU_OK(crdt_anchor_at16(a, 0, -1, &start));
	TU_OK(crdt_anchor_at16(a, 11, 1, &end));
	TU_CHECK(start.edge && end.edge && !before_w.edge);
	TU_EQ_INT(crdt_anchor_pos(a, &unknown, NULL, &p), 1);

	/* Concurrently: b deletes "o w", a types "big " before the 'w'. */
	TU_OK(crdt_delete16(b, 2, 4, 3));
	TU_OK(crdt_insert16(a, 1, 6, "big ", 4));
	sync_to(a, b, &ch);
	/* b's text was "hellorld": a's words come in at 4, after "hell". */
	TU_EQ_SIZE(ch.len, 1);
	TU_EQ_SIZE(ch.v[0].from16, 4);
	TU_EQ_SIZE(ch.v[0].to16, 4);
	sync_to(b, a, &ch);
	/* a's text was "hello big world": "o " and "w" go, around "big ". */
	TU_EQ_SIZE(ch.len, 2);
	TU_EQ_SIZE(ch.v[0].from16, 4);
	TU_EQ_SIZE(ch.v[0].to16, 6);
	TU_EQ_SIZE(ch.v[1].from16, 10);
	TU_EQ_SIZE(ch.v[1].to16, 11);
	TU_EQ_TEXT(a, "hellbig orld", 12);
	TU_EQ_TEXT(b, "hellbig orld", 12);
	/* The 'w' is gone: its anchor sits where it was, after "big ". */
	TU_EQ_SIZE(anchor16(a, &before_w), 8);
	TU_EQ_SIZE(anchor16(b, &before_w), 8);
	/* The 'o' is gone: its anchor sits after "hell". */
	TU_EQ_SIZE(anchor16(a, &after_o), 4);
	TU_EQ_SIZE(anchor16(a, &on_r), 10);
	TU_EQ_SIZE(anchor16(b, &start), 0);
	TU_EQ_SIZE(anchor16(b, &end), 12);

	/* Typing at an anchor: assoc 1 stays before its character, -1 after its own. */
	{
		struct crdt_anchor r1, r2;

		TU_OK(crdt_anchor_at16(a, 8, 1, &r1));	/* before 'o' of orld */
		TU_OK(crdt_anchor_at16(a, 8, -1, &r2)); /* after the space of "big " */
		TU_OK(crdt_insert16(b, 2, 8, "\xF0\x9F\x98\x80", 4)); /* an emoji there */
		sync_to(b, a, &ch);
		TU_EQ_SIZE(anchor16(a, &r1), 10);
		TU_EQ_SIZE(anchor16(a, &r2), 8);
	}

	/* Authorship: "hell" 1, "big " 1 (one run), emoji 2, "orld" 1. */
	TU_OK(crdt_authors(a, 0, SIZE_MAX, true, NULL, &au));
	TU_EQ_SIZE(au.len, 3);
	TU_EQ_INT(au.v[0].agent, 1);
	TU_EQ_SIZE(au.v[0].len16, 8);
	TU_EQ_INT(au.v[1].agent, 2);
	TU_EQ_SIZE(au.v[1].len16, 2);
	TU_EQ_SIZE(au.v[1].len, 1);
	TU_EQ_SIZE(au.v[2].len16, 4);
	TU_ERR(crdt_authors(a, 9, 12, true, NULL, &au), CRDT_ERANGE); /* inside the pair */
	TU_ERR(crdt_authors(a, 15, 16, true, NULL, &au), CRDT_ERANGE);
	/* At an earlier version: "hello world", all by 1. */
	{
		struct crdt_version v;

		crdt_version_init(&v, NULL);
		TU_OK(crdt_version_set(&v, 1, 11));
		TU_OK(crdt_authors(a, 0, SIZE_MAX, true, &v, &au));
		TU_EQ_SIZE(au.len, 1);
		TU_EQ_SIZE(au.v[0].len16, 11);
		TU_OK(crdt_authors(a, 2, 5, false, &v, &au));
		TU_EQ_SIZE(au.len, 1);
		TU_EQ_SIZE(au.v[0].len, 3);
		TU_ERR(crdt_authors(a, 12, 13, false, &v, &au), CRDT_ERANGE);
		crdt_version_finish(&v);
	}

	/* Lone surrogates never get in (UTF-8 of U+D800), positions inside a pair are refused. */
	TU_ERR(crdt_insert16(a, 1, 0, "\xED\xA0\x80", 3), CRDT_EUTF8);
	TU_ERR(crdt_insert16(a, 1, 9, "x", 1), CRDT_ERANGE);
	TU_ERR(crdt_delete16(a, 1, 9, 1), CRDT_ERANGE);
	TU_ERR(crdt_delete16(a, 1, 8, 1), CRDT_ERANGE);
	TU_ERR(crdt_insert16(a, 1, 15, "x", 1), CRDT_ERANGE);
	TU_OK(crdt_delete16(a, 1, 8, 2));
	TU_EQ_TEXT(a, "hellbig orld", 12);

	/* A duplicate update changes nothing and says so. */
	{
		struct crdt_buf all;

		crdt_buf_init(&all, NULL);
		TU_OK(crdt_encode_since(b, NULL, &all));
		TU_OK(crdt_apply_changes(b, all.data, all.len, &ch));
		TU_EQ_SIZE(ch.len, 0);
		TU_ERR(crdt_apply_changes(b, all.data, all.len - 1, &ch), CRDT_ETRUNCATED);
		TU_EQ_SIZE(ch.len, 0);
		crdt_buf_finish(&all);
	}
	crdt_changes_finish(&ch);
	crdt_authors_finish(&au);
	crdt_doc_destroy(a);
	crdt_doc_destroy(b);
	printf("  stories: ok\n");
}

/*
 * A long paste of non-ASCII text: its checkpoints are found one from the
 * last (crdt__check verifies every one), and positions deep inside it
 * convert both ways.
 */
static void test_long_paste(void)
{
	struct crdt_doc *d = crdt_doc_create(NULL), *e = crdt_doc_create(NULL);
	char *s = malloc(20000 * 4);
	size_t n = 0, units = 0;
	struct crdt_buf snap;

	TU_CHECK(d && e && s);
	for (int i = 0; i < 20000; i++) {
		uint32_t cp = i % 50 == 20   ? 0xE9
			      : i % 997 == 5 ? 0x1F600
					     : (uint32_t)('a' + i % 26);

		n += tu_utf8_put(cp, s + n);
		units += cp >= 0x10000 ? 2 : 1;
	}
	TU_OK(crdt_insert(d, 1, 0, s, n));
	TU_CHECK_DOC(d);
	TU_EQ_SIZE(crdt_len16(d), units);
	for (size_t k = 0; k <= 20000; k += 1237) {
		size_t u = crdt_pos_to16(d, k);

		TU_EQ_SIZE(crdt_pos_from16(d, u, NULL), k);
		TU_EQ_SIZE(u, to_utf16_len(s, crdt_cp_to_byte(s, n, k)));
	}
	crdt_buf_init(&snap, NULL);
	TU_OK(crdt_encode_doc(d, &snap));
	TU_OK(crdt_apply(e, snap.data, snap.len));
	TU_CHECK_DOC(e);
	TU_EQ_TEXT(e, s, n);
	crdt_buf_finish(&snap);
	crdt_doc_destroy(d);
	crdt_doc_destroy(e);
	free(s);
	printf("  long paste: ok\n");
}

int main(int argc, char **argv)
{
	uint64_t seed = tu_seed("test-utf16");

	if (argc == 3 && !strcmp(argv[1], "--emit")) {
		FILE *f = fopen(argv[2], "w");

		TU_CHECK(f != NULL);
		run_world(seed, 4, 400, f);
		TU_CHECK(fclose(f) == 0);
		return 0;
	}
	test_stories();
	test_long_paste();
	for (uint64_t i = 0; i < 6; i++)
		run_world(seed + i, 3 + (int)(i % 3), 300, NULL);
	run_world(seed + 100, 5, 1500, NULL);
	printf("test-utf16: ok\n");
	return 0;
}
