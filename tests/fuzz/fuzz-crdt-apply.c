/*
 * fuzz-crdt-apply.c - libFuzzer target for the merge path.
 *
 * The input is a program for two or three replicas: local inserts and
 * deletes (with characters of every UTF-8 length), per-edit updates
 * delivered to any replica in any order and any number of times, catch-up
 * updates from a replica's current or an old version, snapshot merges, and
 * reads at earlier versions.  Edits are made in code points or in UTF-16
 * units (crdt_insert16/crdt_delete16, whose positions inside a surrogate
 * pair must be refused).  The decoder target covers garbage; this one
 * covers valid traffic in orders no hand-written test thinks of.  After
 * every step crdt__check must pass and every replica's text must equal two
 * mirrors kept only from local edits and what an editor is told: one in
 * code points from the change observer, one in UTF-16 units from the change
 * lists crdt_apply_changes() returns; authorship runs must add up to the
 * text and an anchor taken anywhere must resolve where it was taken.  After
 * a final full exchange all replicas must hold the same text and version
 * with nothing pending.  Anything else calls abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt.h"
#include "crdt-internal.h"
#include "fuzz.h"

#define MAXREP 3
#define MAXMSG 128
#define MAXOLD 8

/* The program's input, read a byte at a time (zeros once exhausted). */
struct prog {
	const uint8_t *p, *end;
};

static unsigned next(struct prog *g)
{
	return g->p < g->end ? *g->p++ : 0;
}

/*
 * What an editor would hold: the text kept up to date only from local
 * edits and the change observer's callbacks, as code points.
 */
struct mirror {
	uint32_t *cp;
	size_t len, cap;
};

static void mirror_insert(struct mirror *m, size_t pos, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	REQUIRE(pos <= m->len);
	if (n == 0)
		return; /* a deletion: ins is NULL */
	REQUIRE(crdt_utf8_check(s, n, NULL) == 0);
	while (i < n) {
		uint32_t c = u[i];
		size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		if (l > 1)
			c &= 0xFFu >> (l + 1);
		for (size_t j = 1; j < l; j++)
			c = (c << 6) | (u[i + j] & 0x3F);
		if (m->len == m->cap) {
			m->cap = m->cap * 2 + 64;
			m->cp = realloc(m->cp, m->cap * sizeof *m->cp);
			REQUIRE(m->cp != NULL);
		}
		memmove(m->cp + pos + 1, m->cp + pos, (m->len - pos) * sizeof *m->cp);
		m->cp[pos++] = c;
		m->len++;
		i += l;
	}
}

/* The UTF-16 units of n bytes of valid UTF-8, into out (room for n). */
static size_t utf16_of(const char *s, size_t n, uint16_t *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t k = 0;

	for (size_t i = 0; i < n;) {
		uint32_t c = u[i];
		size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		if (l > 1)
			c &= 0xFFu >> (l + 1);
		for (size_t j = 1; j < l; j++)
			c = (c << 6) | (u[i + j] & 0x3F);
		if (c >= 0x10000) {
			out[k++] = (uint16_t)(0xD800 + ((c - 0x10000) >> 10));
			out[k++] = (uint16_t)(0xDC00 + ((c - 0x10000) & 0x3FF));
		} else {
			out[k++] = (uint16_t)c;
		}
		i += l;
	}
	return k;
}

/* The editor's text in UTF-16 units, kept from local edits and change lists. */
struct mirror16 {
	uint16_t *u;
	size_t len, cap;
};

static void m16_splice(struct mirror16 *m, size_t pos, size_t del, const char *ins, size_t n)
{
	uint16_t tmp[256];
	size_t k;

	REQUIRE(pos + del <= m->len && n <= sizeof tmp / sizeof tmp[0]);
	k = utf16_of(ins, n, tmp);
	if (m->len - del + k > m->cap) {
		m->cap = (m->len - del + k) * 2 + 64;
		m->u = realloc(m->u, m->cap * sizeof *m->u);
		REQUIRE(m->u != NULL);
	}
	if (m->len == 0 && k == 0)
		return;
	memmove(m->u + pos + k, m->u + pos + del, (m->len - pos - del) * sizeof *m->u);
	memcpy(m->u + pos, tmp, k * sizeof *m->u);
	m->len = m->len - del + k;
}

/* Applies a change list as CodeMirror does: every position in the old text. */
static void m16_apply(struct mirror16 *m, const struct crdt_changes *ch)
{
	uint16_t *out = malloc((m->len + ch->text.len + 1) * sizeof *out);
	size_t n = 0, at = 0;

	REQUIRE(out != NULL);
	for (size_t i = 0; i < ch->len; i++) {
		const struct crdt_change *c = &ch->v[i];

		REQUIRE(c->from16 >= at && c->to16 >= c->from16 && c->to16 <= m->len);
		if (c->from16 > at)
			memcpy(out + n, m->u + at, (c->from16 - at) * sizeof *out);
		n += c->from16 - at;
		REQUIRE(utf16_of((const char *)ch->text.data + c->ins, c->ins_len, out + n) ==
			c->ins_len16);
		n += c->ins_len16;
		at = c->to16;
	}
	if (m->len > at)
		memcpy(out + n, m->u + at, (m->len - at) * sizeof *out);
	n += m->len - at;
	free(m->u);
	m->u = out;
	m->len = m->cap = n;
}

static bool mid_pair(const struct mirror16 *m, size_t pos)
{
	return pos < m->len && m->u[pos] >= 0xDC00 && m->u[pos] < 0xE000;
}

static void mirror_delete(struct mirror *m, size_t pos, size_t n)
{
	REQUIRE(pos + n <= m->len);
	if (n == 0)
		return;
	memmove(m->cp + pos, m->cp + pos + n, (m->len - pos - n) * sizeof *m->cp);
	m->len -= n;
}

static void on_change(void *ud, size_t pos, size_t del, const char *ins, size_t ins_len)
{
	mirror_delete(ud, pos, del);
	mirror_insert(ud, pos, ins, ins_len);
}

/* The document's text must be the mirror's. */
static void mirror_check(const struct mirror *m, const struct crdt_doc *doc)
{
	size_t n = crdt_text(doc, NULL, 0), k = 0;
	unsigned char *t = malloc(n + 1);

	REQUIRE(t != NULL);
	REQUIRE(crdt_text(doc, (char *)t, n) == n);
	REQUIRE(crdt_len(doc) == m->len);
	for (size_t i = 0; i < m->len; i++) {
		uint32_t c = t[k];
		size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		REQUIRE(k + l <= n);
		if (l > 1)
			c &= 0xFFu >> (l + 1);
		for (size_t j = 1; j < l; j++)
			c = (c << 6) | (t[k + j] & 0x3F);
		REQUIRE(c == m->cp[i]);
		k += l;
	}
	REQUIRE(k == n);
	free(t);
}

/* The UTF-16 mirror too, and authorship adds up. */
static void mirror16_check(const struct mirror16 *m, const struct crdt_doc *doc,
			   struct crdt_authors *au)
{
	size_t n = crdt_text(doc, NULL, 0), sum = 0;
	char *t = malloc(n + 1);
	uint16_t *u = malloc((n + 1) * sizeof *u);

	REQUIRE(t != NULL && u != NULL);
	crdt_text(doc, t, n);
	REQUIRE(utf16_of(t, n, u) == m->len && crdt_len16(doc) == m->len);
	REQUIRE(m->len == 0 || memcmp(u, m->u, m->len * sizeof *u) == 0);
	REQUIRE(crdt_authors(doc, 0, SIZE_MAX, true, NULL, au) == 0);
	for (size_t i = 0; i < au->len; i++)
		sum += au->v[i].len16;
	REQUIRE(sum == m->len);
	free(t);
	free(u);
}

struct world {
	struct crdt_doc *doc[MAXREP];
	struct mirror mirror[MAXREP];
	struct mirror16 m16[MAXREP];
	struct crdt_changes ch;
	struct crdt_authors au;
	uint32_t agent[MAXREP];
	int n;
	struct crdt_buf msg[MAXMSG];
	size_t nmsg;
	struct crdt_version old[MAXOLD]; /* versions some replica once had */
	size_t nold;
};

static const char *const pieces[] = { "a",
				      "b",
				      "xyz",
				      " ",
				      "\n",
				      "\xC3\xA9",
				      "\xE2\x82\xAC",
				      "\xF0\x9F\x98\x80",
				      "\xF4\x8F\xBF\xBF",
				      "\xEF\xBF\xBF",
				      "hello",
				      "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80",
				      "\xE4\xB8\xAD\xE6\x96\x87",
				      "e\xCC\x81",
				      "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD" };

static void check(const struct crdt_doc *doc)
{
	int rc = crdt__check(doc);

	if (rc != 0) {
		fprintf(stderr, "crdt__check = %d\n", rc);
		abort();
	}
}

static void edit(struct world *w, struct prog *g, int r, bool insert)
{
	struct crdt_doc *doc = w->doc[r];
	struct crdt_version before, after;
	size_t len = crdt_len(doc);

	if (!insert && len == 0)
		return;
	crdt_version_init(&before, NULL);
	crdt_version_init(&after, NULL);
	REQUIRE(crdt_doc_version(doc, &before) == 0);
	if (insert) {
		char text[64];
		size_t n = 0, count = 1 + next(g) % 3;
		size_t pos = next(g) % (len + 1);
		bool in16 = next(g) & 1;
		for (size_t k = 0; k < count; k++) {
			const char *pc = pieces[next(g) % (sizeof pieces / sizeof pieces[0])];
			memcpy(text + n, pc, strlen(pc));
			n += strlen(pc);
		}
		if (in16) {
			/* The same edit in UTF-16 units: inside a pair it is refused. */
			size_t pos16 = next(g) % (w->m16[r].len + 1);
			if (mid_pair(&w->m16[r], pos16)) {
				REQUIRE(crdt_insert16(doc, w->agent[r], pos16, text, n) ==
					CRDT_ERANGE);
				pos16--;
			}
			pos = crdt_pos_from16(doc, pos16, NULL);
			REQUIRE(crdt_pos_to16(doc, pos) == pos16);
			REQUIRE(crdt_insert16(doc, w->agent[r], pos16, text, n) == 0);
			m16_splice(&w->m16[r], pos16, 0, text, n);
		} else {
			REQUIRE(crdt_insert(doc, w->agent[r], pos, text, n) == 0);
			m16_splice(&w->m16[r], crdt_pos_to16(doc, pos), 0, text, n);
		}
		mirror_insert(&w->mirror[r], pos, text, n);
	} else {
		size_t pos = next(g) % len;
		size_t max = len - pos < 16 ? len - pos : 16;
		size_t count = 1 + next(g) % max;
		size_t p16 = crdt_pos_to16(doc, pos), e16 = crdt_pos_to16(doc, pos + count);
		if (next(g) & 1) {
			REQUIRE(crdt_delete16(doc, w->agent[r], p16, e16 - p16) == 0);
		} else {
			if (mid_pair(&w->m16[r], e16 - 1))
				REQUIRE(crdt_delete16(doc, w->agent[r], p16, e16 - p16 - 1) ==
					CRDT_ERANGE);
			REQUIRE(crdt_delete(doc, w->agent[r], pos, count) == 0);
		}
		mirror_delete(&w->mirror[r], pos, count);
		m16_splice(&w->m16[r], p16, e16 - p16, NULL, 0);
	}
	/* An anchor taken anywhere resolves where it was taken. */
	{
		struct crdt_anchor a;
		size_t at = next(g) % (crdt_len(doc) + 1), back = SIZE_MAX;
		int assoc = next(g) & 1 ? 1 : -1;
		REQUIRE(crdt_anchor_at(doc, at, assoc, &a) == 0);
		REQUIRE(crdt_anchor_pos(doc, &a, &back, NULL) == 0 && back == at);
	}
	check(doc);
	REQUIRE(crdt_doc_version(doc, &after) == 0);
	if (w->nmsg < MAXMSG) {
		crdt_buf_init(&w->msg[w->nmsg], NULL);
		REQUIRE(crdt_encode_between(doc, &before, &after, &w->msg[w->nmsg]) == 0);
		w->nmsg++;
	}
	crdt_version_finish(&before);
	crdt_version_finish(&after);
}

static void apply(struct world *w, int r, const struct crdt_buf *b)
{
	int rc = crdt_apply_changes(w->doc[r], b->data, b->len, &w->ch);

	if (rc != 0) {
		fprintf(stderr, "crdt_apply of valid traffic: %d (%s)\n", rc, crdt_strerror(rc));
		abort();
	}
	m16_apply(&w->m16[r], &w->ch);
	check(w->doc[r]);
}

static void text_at_now(const struct crdt_doc *doc)
{
	struct crdt_version v;
	struct crdt_buf out;
	size_t n = crdt_text(doc, NULL, 0);
	char *t = malloc(n + 1);

	REQUIRE(t != NULL);
	crdt_text(doc, t, n);
	crdt_version_init(&v, NULL);
	crdt_buf_init(&out, NULL);
	REQUIRE(crdt_doc_version(doc, &v) == 0);
	REQUIRE(crdt_text_at(doc, &v, &out) == 0);
	REQUIRE(out.len == n && (n == 0 || memcmp(out.data, t, n) == 0));
	crdt_buf_finish(&out);
	crdt_version_finish(&v);
	free(t);
}

static void step(struct world *w, struct prog *g)
{
	unsigned op = next(g);
	int r = (int)(op >> 4) % w->n;
	int s = (r + 1 + (int)((op >> 6) & 1)) % w->n;
	struct crdt_buf b;

	crdt_buf_init(&b, NULL);
	switch (op & 15) {
	case 0:
	case 1:
	case 2:
	case 3:
		edit(w, g, r, true);
		break;
	case 4:
	case 5:
		edit(w, g, r, false);
		break;
	case 6:
	case 7:
	case 8:
	case 9:
		if (w->nmsg)
			apply(w, r, &w->msg[next(g) % w->nmsg]);
		break;
	case 10: {
		/* s catches up from r, from s's current version. */
		struct crdt_version v;
		crdt_version_init(&v, NULL);
		REQUIRE(crdt_doc_version(w->doc[s], &v) == 0);
		REQUIRE(crdt_encode_since(w->doc[r], &v, &b) == 0);
		apply(w, s, &b);
		crdt_version_finish(&v);
		break;
	}
	case 11:
		/* s gets from r what came after some old version (maybe not its own). */
		if (w->nold) {
			REQUIRE(crdt_encode_since(w->doc[r], &w->old[next(g) % w->nold], &b) == 0);
			apply(w, s, &b);
		}
		break;
	case 12:
		REQUIRE(crdt_encode_doc(w->doc[r], &b) == 0);
		apply(w, s, &b);
		break;
	case 13:
		if (w->nold < MAXOLD) {
			crdt_version_init(&w->old[w->nold], NULL);
			REQUIRE(crdt_doc_version(w->doc[r], &w->old[w->nold]) == 0);
			w->nold++;
		}
		break;
	case 14:
		text_at_now(w->doc[r]);
		break;
	case 15:
		/* An old slice: what r had between two remembered versions. */
		if (w->nold >= 2) {
			REQUIRE(crdt_encode_between(w->doc[r], &w->old[next(g) % w->nold],
						    &w->old[next(g) % w->nold], &b) == 0);
			apply(w, s, &b);
		}
		break;
	}
	crdt_buf_finish(&b);
	for (int i = 0; i < w->n; i++) {
		mirror_check(&w->mirror[i], w->doc[i]);
		mirror16_check(&w->m16[i], w->doc[i], &w->au);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	struct prog g = { data, data + size };

	memset(&w, 0, sizeof w);
	crdt_changes_init(&w.ch, NULL);
	crdt_authors_init(&w.au, NULL);
	w.n = 2 + (int)(next(&g) % 2);
	for (int i = 0; i < w.n; i++) {
		w.doc[i] = crdt_doc_create(NULL);
		REQUIRE(w.doc[i] != NULL);
		crdt_doc_observe(w.doc[i], on_change, &w.mirror[i]);
		/* Agent ids near both ends of the range, in either order. */
		w.agent[i] = (next(&g) & 1) ? 0xfffffff0u + (uint32_t)i : 1 + (uint32_t)i;
	}
	for (int steps = 0; g.p < g.end && steps < 2000; steps++)
		step(&w, &g);

	/* Full exchange: every message everywhere, then pairwise catch-up twice. */
	for (int i = 0; i < w.n; i++)
		for (size_t m = 0; m < w.nmsg; m++)
			apply(&w, i, &w.msg[m]);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < w.n; i++)
			for (int j = 0; j < w.n; j++) {
				struct crdt_version v;
				struct crdt_buf b;
				if (i == j)
					continue;
				crdt_version_init(&v, NULL);
				crdt_buf_init(&b, NULL);
				REQUIRE(crdt_doc_version(w.doc[j], &v) == 0);
				REQUIRE(crdt_encode_since(w.doc[i], &v, &b) == 0);
				apply(&w, j, &b);
				crdt_buf_finish(&b);
				crdt_version_finish(&v);
			}

	size_t n0 = crdt_text(w.doc[0], NULL, 0);
	char *t0 = malloc(n0 + 1), *ti = malloc(n0 + 1);
	struct crdt_version v0, vi;
	REQUIRE(t0 && ti);
	crdt_text(w.doc[0], t0, n0);
	crdt_version_init(&v0, NULL);
	crdt_version_init(&vi, NULL);
	REQUIRE(crdt_doc_version(w.doc[0], &v0) == 0);
	for (int i = 0; i < w.n; i++) {
		REQUIRE(crdt_pending(w.doc[i]) == 0);
		REQUIRE(crdt_text(w.doc[i], ti, n0) == n0);
		REQUIRE(memcmp(ti, t0, n0) == 0);
		REQUIRE(crdt_doc_version(w.doc[i], &vi) == 0);
		REQUIRE(crdt_version_includes(&vi, &v0) && crdt_version_includes(&v0, &vi));
		check(w.doc[i]);
		mirror_check(&w.mirror[i], w.doc[i]);
		mirror16_check(&w.m16[i], w.doc[i], &w.au);
	}
	text_at_now(w.doc[0]);
	free(t0);
	free(ti);
	crdt_version_finish(&v0);
	crdt_version_finish(&vi);
	for (int i = 0; i < w.n; i++) {
		crdt_doc_destroy(w.doc[i]);
		free(w.mirror[i].cp);
		free(w.m16[i].u);
	}
	crdt_changes_finish(&w.ch);
	crdt_authors_finish(&w.au);
	for (size_t m = 0; m < w.nmsg; m++)
		crdt_buf_finish(&w.msg[m]);
	for (size_t k = 0; k < w.nold; k++)
		crdt_version_finish(&w.old[k]);
	return 0;
}
