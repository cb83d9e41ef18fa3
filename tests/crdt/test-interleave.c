/*
 * test-interleave.c - explicit concurrency cases with known answers.
 *
 * The property test shows replicas converge; this file checks that they
 * converge to what a person would expect.  Runs typed concurrently at the
 * same place, forwards or backwards, by two or three agents must end up one
 * after the other and never mixed character by character (the anomaly of
 * RGA and of Yjs on backward typing).  Concurrent inserts inside a run,
 * concurrent deletes of the same or overlapping ranges, and an insert
 * concurrent with the deletion of the range around it have exactly one
 * right answer each.  Ties between characters with the same origins are
 * broken by agent id: crdt.h says "order by agent id", which this file pins
 * down as ascending (the lower agent id first), for ids across the whole
 * 32-bit range.  Every case is merged in several delivery orders (in order,
 * reversed so that dependencies arrive last, shuffled) and every replica
 * must agree.
 */
#include "testutil.h"

#define MAXMSG 64

/* A replica and the updates its own edits produced, one per edit. */
struct rep {
	struct crdt_doc *doc;
	uint32_t agent;
	struct crdt_buf out[MAXMSG];
	size_t nout;
};

static struct tu_rng rng_state;

static void rep_init(struct rep *r, const struct crdt_doc *base, uint32_t agent)
{
	memset(r, 0, sizeof *r);
	r->doc = base ? tu_clone(base) : crdt_doc_create(NULL);
	TU_CHECK(r->doc != NULL);
	r->agent = agent;
}

static void rep_finish(struct rep *r)
{
	crdt_doc_destroy(r->doc);
	for (size_t i = 0; i < r->nout; i++)
		crdt_buf_finish(&r->out[i]);
}

/* Runs one local edit (insert when text != NULL, else delete) and records its update. */
static void edit(struct rep *r, size_t pos, const char *text, size_t count)
{
	struct crdt_version before, after;

	TU_CHECK(r->nout < MAXMSG);
	crdt_version_init(&before, NULL);
	crdt_version_init(&after, NULL);
	TU_OK(crdt_doc_version(r->doc, &before));
	if (text)
		TU_OK(crdt_insert(r->doc, r->agent, pos, text, strlen(text)));
	else
		TU_OK(crdt_delete(r->doc, r->agent, pos, count));
	TU_CHECK_DOC(r->doc);
	TU_OK(crdt_doc_version(r->doc, &after));
	crdt_buf_init(&r->out[r->nout], NULL);
	TU_OK(crdt_encode_between(r->doc, &before, &after, &r->out[r->nout]));
	r->nout++;
	crdt_version_finish(&before);
	crdt_version_finish(&after);
}

static void ins(struct rep *r, size_t pos, const char *text)
{
	edit(r, pos, text, 0);
}

static void del(struct rep *r, size_t pos, size_t count)
{
	edit(r, pos, NULL, count);
}

/* Types s one character at a time, left to right, starting at pos. */
static void type_forwards(struct rep *r, size_t pos, const char *s)
{
	char one[2] = { 0, 0 };

	for (size_t i = 0; s[i]; i++) {
		one[0] = s[i];
		ins(r, pos + i, one);
	}
}

/* Types s right to left: its last character first, each one at pos. */
static void type_backwards(struct rep *r, size_t pos, const char *s)
{
	char one[2] = { 0, 0 };

	for (size_t i = strlen(s); i-- > 0;) {
		one[0] = s[i];
		ins(r, pos, one);
	}
}

enum order { IN_ORDER, REVERSED, SHUFFLED, NORDERS };

/* Delivers every other replica's updates to each replica, in the given order. */
static void exchange(struct rep *reps, int n, enum order order)
{
	for (int i = 0; i < n; i++) {
		size_t idx[MAXMSG * 4][2], k = 0;
		for (int j = 0; j < n; j++)
			for (size_t m = 0; j != i && m < reps[j].nout; m++) {
				idx[k][0] = (size_t)j;
				idx[k][1] = m;
				k++;
			}
		for (size_t a = 0; a < k; a++) {
			size_t b = a;
			if (order == REVERSED && a < k / 2)
				b = k - 1 - a;
			else if (order == SHUFFLED)
				b = a + tu_below(&rng_state, k - a);
			size_t t0 = idx[a][0], t1 = idx[a][1];
			idx[a][0] = idx[b][0];
			idx[a][1] = idx[b][1];
			idx[b][0] = t0;
			idx[b][1] = t1;
		}
		for (size_t a = 0; a < k; a++) {
			const struct crdt_buf *b = &reps[idx[a][0]].out[idx[a][1]];
			TU_OK(crdt_apply(reps[i].doc, b->data, b->len));
			TU_CHECK_DOC(reps[i].doc);
		}
		TU_EQ_SIZE(crdt_pending(reps[i].doc), 0);
	}
	for (int i = 1; i < n; i++)
		TU_SAME_DOC(reps[i].doc, reps[0].doc);
}

/* A base document "[]" typed by agent 1000, shared by every replica of a case. */
static struct crdt_doc *make_base(const char *text)
{
	struct crdt_doc *base = crdt_doc_create(NULL);

	TU_CHECK(base != NULL);
	TU_OK(crdt_insert(base, 1000, 0, text, strlen(text)));
	return base;
}

/* True when text is one of the alternatives (NULL-terminated list). */
static bool one_of(const char *text, const char *const *alts)
{
	for (; *alts; alts++)
		if (strcmp(text, *alts) == 0)
			return true;
	return false;
}

static void expect_one_of(const struct crdt_doc *doc, const char *const *alts, const char *what)
{
	char *t = tu_text(doc, NULL);

	if (!one_of(t, alts)) {
		fprintf(stderr, "%s: got \"%s\"; allowed:", what, t);
		for (; *alts; alts++)
			fprintf(stderr, " \"%s\"", *alts);
		fputc('\n', stderr);
		TU_FAIL("%s: runs interleaved or lost", what);
	}
	free(t);
}

enum dir { FWD, BWD };

static void type_run(struct rep *r, enum dir d, size_t pos, const char *s)
{
	if (d == FWD)
		type_forwards(r, pos, s);
	else
		type_backwards(r, pos, s);
}

/* Two agents type runs at the same place concurrently: one run then the other. */
static void two_runs(enum dir da, enum dir db, uint32_t ida, uint32_t idb, enum order order)
{
	struct crdt_doc *base = make_base("[]");
	struct rep reps[2];
	static const char *const alts[] = { "[abcdefgh12345678]", "[12345678abcdefgh]", NULL };
	char what[120];

	rep_init(&reps[0], base, ida);
	rep_init(&reps[1], base, idb);
	type_run(&reps[0], da, 1, "abcdefgh");
	type_run(&reps[1], db, 1, "12345678");
	TU_EQ_TEXT(reps[0].doc, "[abcdefgh]", 10);
	TU_EQ_TEXT(reps[1].doc, "[12345678]", 10);
	exchange(reps, 2, order);
	snprintf(what, sizeof what, "two runs %s/%s, agents %" PRIu32 "/%" PRIu32 ", order %d",
		 da == FWD ? "forwards" : "backwards", db == FWD ? "forwards" : "backwards", ida,
		 idb, (int)order);
	expect_one_of(reps[0].doc, alts, what);
	rep_finish(&reps[0]);
	rep_finish(&reps[1]);
	crdt_doc_destroy(base);
}

/* Three agents, each forwards or backwards, at the same place. */
static void three_runs(enum dir d0, enum dir d1, enum dir d2, enum order order)
{
	static const char *const alts[] = { "[abcd1234wxyz]",
					    "[abcdwxyz1234]",
					    "[1234abcdwxyz]",
					    "[1234wxyzabcd]",
					    "[wxyzabcd1234]",
					    "[wxyz1234abcd]",
					    NULL };
	struct crdt_doc *base = make_base("[]");
	struct rep reps[3];

	rep_init(&reps[0], base, 7);
	rep_init(&reps[1], base, 3);
	rep_init(&reps[2], base, 0xfffffff0u);
	type_run(&reps[0], d0, 1, "abcd");
	type_run(&reps[1], d1, 1, "1234");
	type_run(&reps[2], d2, 1, "wxyz");
	exchange(reps, 3, order);
	expect_one_of(reps[0].doc, alts, "three runs");
	for (int i = 0; i < 3; i++)
		rep_finish(&reps[i]);
	crdt_doc_destroy(base);
}

static void test_runs(void)
{
	static const uint32_t ids[][2] = {
		{ 1, 2 }, { 2, 1 }, { 0x7fffffffu, 0x80000000u }, { 0xffffffffu, 5 }
	};

	for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++)
		for (int o = 0; o < NORDERS; o++) {
			two_runs(FWD, FWD, ids[k][0], ids[k][1], (enum order)o);
			two_runs(BWD, BWD, ids[k][0], ids[k][1], (enum order)o);
			two_runs(FWD, BWD, ids[k][0], ids[k][1], (enum order)o);
			two_runs(BWD, FWD, ids[k][0], ids[k][1], (enum order)o);
		}
	for (int o = 0; o < NORDERS; o++)
		for (int m = 0; m < 8; m++)
			three_runs((enum dir)(m & 1), (enum dir)((m >> 1) & 1),
				   (enum dir)((m >> 2) & 1), (enum order)o);
}

/*
 * Runs typed at the same place in the middle of a longer text, after a
 * deletion left tombstones there, with multi-byte characters.
 */
static void test_runs_among_tombstones(void)
{
	static const char *const alts[] = { "He\xC3\xA9\xC3\xA8\xF0\x9F\x98\x80"
					    "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC"
					    "llo",
					    "He\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC"
					    "\xC3\xA9\xC3\xA8\xF0\x9F\x98\x80"
					    "llo",
					    NULL };

	for (int o = 0; o < NORDERS; o++) {
		struct crdt_doc *base = make_base("Hello");
		struct rep reps[2];

		TU_OK(crdt_delete(base, 1000, 2, 1)); /* "Helo": a tombstone at 2 */
		TU_OK(crdt_insert(base, 1000, 2, "l", 1));
		rep_init(&reps[0], base, 10);
		rep_init(&reps[1], base, 11);
		type_backwards(&reps[0], 2, "x");
		del(&reps[0], 2, 1);
		ins(&reps[0], 2, "\xC3\xA9");
		ins(&reps[0], 3, "\xC3\xA8");
		ins(&reps[0], 4, "\xF0\x9F\x98\x80");
		ins(&reps[1], 2, "\xE2\x82\xAC");
		ins(&reps[1], 2, "\xE2\x82\xAC");
		ins(&reps[1], 2, "\xE2\x82\xAC");
		exchange(reps, 2, (enum order)o);
		expect_one_of(reps[0].doc, alts, "runs among tombstones");
		rep_finish(&reps[0]);
		rep_finish(&reps[1]);
		crdt_doc_destroy(base);
	}
}

/* Concurrent edits with exactly one right answer. */
static void exact_case(const char *base_text, void (*a)(struct rep *), void (*b)(struct rep *),
		       const char *want)
{
	for (int o = 0; o < NORDERS; o++) {
		struct crdt_doc *base = make_base(base_text);
		struct rep reps[2];

		rep_init(&reps[0], base, 21);
		rep_init(&reps[1], base, 22);
		a(&reps[0]);
		b(&reps[1]);
		exchange(reps, 2, (enum order)o);
		TU_EQ_TEXT(reps[0].doc, want, strlen(want));
		rep_finish(&reps[0]);
		rep_finish(&reps[1]);
		crdt_doc_destroy(base);
	}
}

/* "abcdefgh" is one run of agent 1000; edits land inside it. */
static void ins_y_at_3(struct rep *r)
{
	ins(r, 3, "Y");
}
static void ins_x_at_5_and_extend(struct rep *r)
{
	ins(r, 5, "X");
	ins(r, 9, "ij"); /* extends the tail of the original run's text */
}
static void del_2_to_6(struct rep *r)
{
	del(r, 2, 4);
}
static void del_1_to_4(struct rep *r)
{
	del(r, 1, 3);
}
static void del_3_to_6(struct rep *r)
{
	del(r, 3, 3);
}
static void ins_xy_at_4(struct rep *r)
{
	ins(r, 4, "X");
	ins(r, 5, "Y");
}
static void del_all(struct rep *r)
{
	del(r, 0, 8);
}
static void del_each_backspace(struct rep *r)
{
	for (size_t i = 6; i > 2; i--)
		del(r, i - 1, 1);
}
static void type_end(struct rep *r)
{
	type_forwards(r, 8, "ijk");
}
static void del_then_type(struct rep *r)
{
	del(r, 2, 2);
	type_forwards(r, 2, "CD");
}

static void test_exact(void)
{
	/* Concurrent inserts inside the other's run. */
	exact_case("abcdefgh", ins_y_at_3, ins_x_at_5_and_extend, "abcYdeXfghij");
	/* Both delete the same range: it is deleted once. */
	exact_case("abcdefgh", del_2_to_6, del_2_to_6, "abgh");
	exact_case("abcdefgh", del_2_to_6, del_each_backspace, "abgh");
	/* Overlapping deletes: the union goes. */
	exact_case("abcdefgh", del_1_to_4, del_3_to_6, "agh");
	/* An insert inside a concurrently deleted range survives. */
	exact_case("abcdefgh", del_2_to_6, ins_xy_at_4, "abXYgh");
	exact_case("abcdefgh", ins_xy_at_4, del_all, "XY");
	/* A delete of everything does not take text typed concurrently at the end. */
	exact_case("abcdefgh", del_all, type_end, "ijk");
	/* Retyping over a concurrently deleted range keeps both edits' effects. */
	exact_case("abcdefgh", del_then_type, del_2_to_6, "abCDgh");
}

/*
 * Single characters inserted concurrently at the same place by two agents:
 * the lower agent id comes first, whichever replica typed first and in
 * whatever order the updates arrive.
 */
static void test_tie_order(void)
{
	static const uint32_t ids[][2] = { { 1, 2 },
					   { 2, 1 },
					   { 9, 10 },
					   { 0x7fffffffu, 0x80000000u },
					   { 0x80000000u, 0x7fffffffu },
					   { 0xffffffffu, 0xfffffffeu },
					   { 1, 0xffffffffu } };

	for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++)
		for (int o = 0; o < NORDERS; o++) {
			struct crdt_doc *base = make_base("<>");
			struct rep reps[2];
			char want[5] = "<..>";

			rep_init(&reps[0], base, ids[k][0]);
			rep_init(&reps[1], base, ids[k][1]);
			ins(&reps[0], 1, "A");
			ins(&reps[1], 1, "B");
			exchange(reps, 2, (enum order)o);
			want[1] = ids[k][0] < ids[k][1] ? 'A' : 'B';
			want[2] = ids[k][0] < ids[k][1] ? 'B' : 'A';
			TU_EQ_TEXT(reps[0].doc, want, 4);
			rep_finish(&reps[0]);
			rep_finish(&reps[1]);
			crdt_doc_destroy(base);
		}

	/* Three agents at one place: sorted by id. */
	for (int o = 0; o < NORDERS; o++) {
		struct crdt_doc *base = make_base("<>");
		struct rep reps[3];

		rep_init(&reps[0], base, 500);
		rep_init(&reps[1], base, 40);
		rep_init(&reps[2], base, 3000000000u);
		ins(&reps[0], 1, "m");
		ins(&reps[1], 1, "l");
		ins(&reps[2], 1, "h");
		exchange(reps, 3, (enum order)o);
		TU_EQ_TEXT(reps[0].doc, "<lmh>", 5);
		for (int i = 0; i < 3; i++)
			rep_finish(&reps[i]);
		crdt_doc_destroy(base);
	}
}

/*
 * The replicas start empty (no shared base): the first characters of both
 * agents have no origins at all.
 */
static void test_empty_start(void)
{
	static const char *const alts[] = { "abcxyz", "xyzabc", NULL };

	for (int o = 0; o < NORDERS; o++) {
		struct rep reps[2];
		rep_init(&reps[0], NULL, 77);
		rep_init(&reps[1], NULL, 78);
		type_forwards(&reps[0], 0, "abc");
		type_backwards(&reps[1], 0, "xyz");
		exchange(reps, 2, (enum order)o);
		expect_one_of(reps[0].doc, alts, "empty start");
		rep_finish(&reps[0]);
		rep_finish(&reps[1]);
	}
}

/* Types the code points cps[0..n) as separate inserts, forwards or backwards, at pos. */
static void type_cps(struct rep *r, enum dir d, size_t pos, const uint32_t *cps, size_t n)
{
	char one[8];

	for (size_t k = 0; k < n; k++) {
		size_t i = d == FWD ? k : n - 1 - k;
		one[tu_utf8_put(cps[i], one)] = 0;
		ins(r, d == FWD ? pos + k : pos, one);
	}
}

static char *cps_utf8(const uint32_t *cps, size_t n)
{
	char *s = malloc(n * 4 + 1);
	size_t len = 0;

	TU_CHECK(s != NULL);
	for (size_t k = 0; k < n; k++)
		len += tu_utf8_put(cps[k], s + len);
	s[len] = 0;
	return s;
}

/*
 * Random cases of the same shape: a random base with tombstones, a random
 * place, two runs of random characters typed concurrently in random
 * directions by agents with random ids.  The result must be the base with
 * one run and then the other at that place.
 */
static void test_random_runs(void)
{
	for (int iter = 0; iter < 300; iter++) {
		struct crdt_doc *base = crdt_doc_create(NULL);
		struct rep reps[2];
		uint32_t a[10], b[10];
		size_t na = 1 + tu_below(&rng_state, 10), nb = 1 + tu_below(&rng_state, 10);
		enum dir da = (enum dir)tu_below(&rng_state, 2),
			 db = (enum dir)tu_below(&rng_state, 2);
		uint32_t ida = (uint32_t)tu_rand(&rng_state), idb = (uint32_t)tu_rand(&rng_state);

		TU_CHECK(base != NULL);
		if (ida == idb)
			idb++;
		for (int k = 0; k < 12; k++) {
			size_t len = crdt_len(base);
			if (len > 2 && tu_chance(&rng_state, 30)) {
				TU_OK(crdt_delete(base, 1000, tu_below(&rng_state, len - 1), 2));
			} else {
				char w[16];
				size_t n = tu_utf8_put(tu_rand_cp(&rng_state), w);
				n += tu_utf8_put(tu_rand_cp(&rng_state), w + n);
				TU_OK(crdt_insert(base, 1000 + (uint32_t)(k % 2),
						  tu_below(&rng_state, len + 1), w, n));
			}
		}
		size_t p = tu_below(&rng_state, crdt_len(base) + 1);
		size_t blen;
		char *bt = tu_text(base, &blen);
		size_t split = crdt_cp_to_byte(bt, blen, p);
		for (size_t k = 0; k < na; k++)
			a[k] = tu_rand_cp(&rng_state);
		for (size_t k = 0; k < nb; k++)
			b[k] = tu_rand_cp(&rng_state);
		char *as = cps_utf8(a, na), *bs = cps_utf8(b, nb);
		size_t cap = blen + strlen(as) + strlen(bs) + 1;
		char *ab = malloc(cap), *ba = malloc(cap);
		TU_CHECK(ab && ba);
		snprintf(ab, cap, "%.*s%s%s%s", (int)split, bt, as, bs, bt + split);
		snprintf(ba, cap, "%.*s%s%s%s", (int)split, bt, bs, as, bt + split);

		rep_init(&reps[0], base, ida);
		rep_init(&reps[1], base, idb);
		type_cps(&reps[0], da, p, a, na);
		type_cps(&reps[1], db, p, b, nb);
		exchange(reps, 2, (enum order)tu_below(&rng_state, NORDERS));
		const char *const alts[] = { ab, ba, NULL };
		expect_one_of(reps[0].doc, alts, "random runs");
		rep_finish(&reps[0]);
		rep_finish(&reps[1]);
		crdt_doc_destroy(base);
		free(bt);
		free(as);
		free(bs);
		free(ab);
		free(ba);
	}
}

int main(void)
{
	tu_rng_init(&rng_state, tu_seed("test-interleave"));
	test_runs();
	test_runs_among_tombstones();
	test_exact();
	test_tie_order();
	test_empty_start();
	test_random_runs();
	printf("test-interleave: ok\n");
	return 0;
}
