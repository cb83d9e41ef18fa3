/*
 * fuzz-crdt-apply.c - libFuzzer target for the merge path.
 *
 * The input is a program for two or three replicas: local inserts and
 * deletes (with characters of every UTF-8 length), per-edit updates
 * delivered to any replica in any order and any number of times, catch-up
 * updates from a replica's current or an old version, snapshot merges, and
 * reads at earlier versions.  The decoder target covers garbage; this one
 * covers valid traffic in orders no hand-written test thinks of.  After
 * every step crdt__check must pass and every replica's text must equal a
 * mirror kept only from local edits and the change observer (what an
 * editor sees); after a final full exchange all
 * replicas must hold the same text and version with nothing pending.
 * Anything else calls abort().
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

struct world {
	struct crdt_doc *doc[MAXREP];
	struct mirror mirror[MAXREP];
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
				      "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80" };

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
		for (size_t k = 0; k < count; k++) {
			const char *pc = pieces[next(g) % (sizeof pieces / sizeof pieces[0])];
			memcpy(text + n, pc, strlen(pc));
			n += strlen(pc);
		}
		REQUIRE(crdt_insert(doc, w->agent[r], pos, text, n) == 0);
		mirror_insert(&w->mirror[r], pos, text, n);
	} else {
		size_t pos = next(g) % len;
		size_t max = len - pos < 16 ? len - pos : 16;
		size_t count = 1 + next(g) % max;
		REQUIRE(crdt_delete(doc, w->agent[r], pos, count) == 0);
		mirror_delete(&w->mirror[r], pos, count);
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

static void apply(struct crdt_doc *doc, const struct crdt_buf *b)
{
	int rc = crdt_apply(doc, b->data, b->len);

	if (rc != 0) {
		fprintf(stderr, "crdt_apply of valid traffic: %d (%s)\n", rc, crdt_strerror(rc));
		abort();
	}
	check(doc);
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
			apply(w->doc[r], &w->msg[next(g) % w->nmsg]);
		break;
	case 10: {
		/* s catches up from r, from s's current version. */
		struct crdt_version v;
		crdt_version_init(&v, NULL);
		REQUIRE(crdt_doc_version(w->doc[s], &v) == 0);
		REQUIRE(crdt_encode_since(w->doc[r], &v, &b) == 0);
		apply(w->doc[s], &b);
		crdt_version_finish(&v);
		break;
	}
	case 11:
		/* s gets from r what came after some old version (maybe not its own). */
		if (w->nold) {
			REQUIRE(crdt_encode_since(w->doc[r], &w->old[next(g) % w->nold], &b) == 0);
			apply(w->doc[s], &b);
		}
		break;
	case 12:
		REQUIRE(crdt_encode_doc(w->doc[r], &b) == 0);
		apply(w->doc[s], &b);
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
			apply(w->doc[s], &b);
		}
		break;
	}
	crdt_buf_finish(&b);
	for (int i = 0; i < w->n; i++)
		mirror_check(&w->mirror[i], w->doc[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	struct prog g = { data, data + size };

	memset(&w, 0, sizeof w);
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
			apply(w.doc[i], &w.msg[m]);
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
				apply(w.doc[j], &b);
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
	}
	text_at_now(w.doc[0]);
	free(t0);
	free(ti);
	crdt_version_finish(&v0);
	crdt_version_finish(&vi);
	for (int i = 0; i < w.n; i++) {
		crdt_doc_destroy(w.doc[i]);
		free(w.mirror[i].cp);
	}
	for (size_t m = 0; m < w.nmsg; m++)
		crdt_buf_finish(&w.msg[m]);
	for (size_t k = 0; k < w.nold; k++)
		crdt_version_finish(&w.old[k]);
	return 0;
}
