/*
 * test-local.c - local edits against a naive model.
 *
 * A single document edited by a few agents is compared, after every step,
 * with a plain array of code points: text, length in code points and in
 * bytes, the version vector (one seq per character inserted or deleted) and
 * the internal invariants.  The edits mix typing at a cursor (which builds
 * long runs), random inserts and deletes, large pastes and cuts, and
 * characters of every UTF-8 length, so run splitting, tree splits and
 * merges and the byte/code point bookkeeping are all exercised.  Out of
 * range edits must fail with CRDT_ERANGE and change nothing.
 */
#include "testutil.h"

#define NAGENTS 3

static const uint32_t agents[NAGENTS] = { 1, 0x7fffffffu, 0xfffffffeu };

struct session {
	struct crdt_doc *doc;
	struct tu_model model;
	uint32_t seqs[NAGENTS]; /* what each agent's version entry must be */
	size_t cursor;
	size_t steps;
};

static void verify(struct session *s)
{
	size_t want_len, total = 0;
	char *want = tu_model_utf8(&s->model, &want_len);
	struct crdt_version ver;

	TU_CHECK_DOC(s->doc);
	TU_EQ_SIZE(crdt_len(s->doc), s->model.len);
	TU_EQ_SIZE(crdt_len_bytes(s->doc), want_len);
	TU_EQ_TEXT(s->doc, want, want_len);

	crdt_version_init(&ver, NULL);
	TU_OK(crdt_doc_version(s->doc, &ver));
	for (int i = 0; i < NAGENTS; i++) {
		TU_EQ_SIZE(crdt_version_get(&ver, agents[i]), s->seqs[i]);
		total += s->seqs[i];
	}
	TU_EQ_SIZE(crdt_op_count(s->doc), total);
	TU_EQ_SIZE(crdt_pending(s->doc), 0);
	crdt_version_finish(&ver);

	/* A short buffer gets a prefix and the full length back. */
	if (want_len > 2 && s->steps % 17 == 0) {
		size_t cap = want_len / 2;
		char *part = malloc(cap + 1);
		TU_CHECK(part != NULL);
		memset(part, '#', cap + 1);
		/*
		 * crdt.h promises at most cap bytes: either nothing (what
		 * doc.c does) or a prefix, and never a byte past cap.
		 */
		TU_EQ_SIZE(crdt_text(s->doc, part, cap), want_len);
		if (part[0] != '#' || want[0] == '#')
			TU_EQ_MEM(part, cap, want, cap);
		TU_CHECK(part[cap] == '#');
		free(part);
	}
	free(want);
}

static void do_insert(struct session *s, struct tu_rng *rng, int agent, size_t pos, size_t ncp)
{
	uint32_t *cps = malloc(ncp * sizeof *cps);
	char *utf8 = malloc(ncp * 4 + 1);
	size_t n = 0;

	TU_CHECK(cps && utf8);
	for (size_t i = 0; i < ncp; i++) {
		cps[i] = tu_rand_cp(rng);
		n += tu_utf8_put(cps[i], utf8 + n);
	}
	TU_OK(crdt_insert(s->doc, agents[agent], pos, utf8, n));
	tu_model_insert(&s->model, pos, cps, ncp);
	s->seqs[agent] += (uint32_t)ncp;
	free(cps);
	free(utf8);
}

static void do_delete(struct session *s, int agent, size_t pos, size_t count)
{
	TU_OK(crdt_delete(s->doc, agents[agent], pos, count));
	tu_model_delete(&s->model, pos, count);
	s->seqs[agent] += (uint32_t)count;
}

/* One random step: mostly typing near a cursor, sometimes jumps, pastes and cuts. */
static void step(struct session *s, struct tu_rng *rng)
{
	int agent = (int)tu_below(rng, NAGENTS);
	size_t len = s->model.len;
	size_t k = tu_below(rng, 100);

	if (s->cursor > len)
		s->cursor = len;
	if (k < 35) {
		/* Type forwards at the cursor. */
		do_insert(s, rng, agent, s->cursor, 1 + tu_below(rng, 3));
		s->cursor = s->cursor + 1;
	} else if (k < 45) {
		/* Type backwards: each character at the same place. */
		do_insert(s, rng, agent, s->cursor, 1);
	} else if (k < 55 && s->cursor > 0) {
		/* Backspace. */
		do_delete(s, agent, s->cursor - 1, 1);
		s->cursor--;
	} else if (k < 60 && s->cursor < len) {
		/* Forward delete. */
		do_delete(s, agent, s->cursor, 1);
	} else if (k < 75) {
		do_insert(s, rng, agent, tu_below(rng, len + 1), 1 + tu_below(rng, 8));
	} else if (k < 88 && len > 0) {
		size_t pos = tu_below(rng, len);
		do_delete(s, agent, pos, 1 + tu_below(rng, len - pos < 12 ? len - pos : 12));
	} else if (k < 91) {
		do_insert(s, rng, agent, tu_below(rng, len + 1), 50 + tu_below(rng, 200));
	} else if (k < 93 && len > 0) {
		size_t pos = tu_below(rng, len);
		do_delete(s, agent, pos, 1 + tu_below(rng, len - pos));
	} else {
		s->cursor = tu_below(rng, len + 1);
		return;
	}
	s->steps++;
}

/* Edits past the end are refused and leave everything as it was. */
static void check_range_errors(struct session *s)
{
	size_t len = s->model.len;
	struct tu_state st;
	size_t ops = crdt_op_count(s->doc);

	tu_state_save(&st, s->doc);
	TU_ERR(crdt_insert(s->doc, agents[0], len + 1, "x", 1), CRDT_ERANGE);
	TU_ERR(crdt_insert(s->doc, agents[0], SIZE_MAX, "x", 1), CRDT_ERANGE);
	TU_ERR(crdt_insert(s->doc, agents[1], len + 1000, "\xF0\x9F\x98\x80", 4), CRDT_ERANGE);
	TU_ERR(crdt_delete(s->doc, agents[0], len, 1), CRDT_ERANGE);
	TU_ERR(crdt_delete(s->doc, agents[0], len + 1, 1), CRDT_ERANGE);
	TU_ERR(crdt_delete(s->doc, agents[0], 0, len + 1), CRDT_ERANGE);
	TU_ERR(crdt_delete(s->doc, agents[2], SIZE_MAX, 1), CRDT_ERANGE);
	/* pos + count overflows size_t: must not wrap around into range. */
	TU_ERR(crdt_delete(s->doc, agents[2], 1, SIZE_MAX), CRDT_ERANGE);
	TU_ERR(crdt_delete(s->doc, agents[2], len ? len - 1 : 0, SIZE_MAX), CRDT_ERANGE);
	if (len > 1)
		TU_ERR(crdt_delete(s->doc, agents[1], len / 2, len - len / 2 + 1), CRDT_ERANGE);
	TU_SAME_STATE(&st, s->doc);
	TU_EQ_SIZE(crdt_op_count(s->doc), ops);

	/* Empty edits do nothing, whether they are accepted or refused. */
	int rc = crdt_insert(s->doc, agents[0], len / 2, "", 0);
	TU_CHECK(rc == 0 || rc == CRDT_EINVAL);
	rc = crdt_delete(s->doc, agents[0], len / 2, 0);
	TU_CHECK(rc == 0 || rc == CRDT_EINVAL);
	TU_SAME_STATE(&st, s->doc);
	TU_EQ_SIZE(crdt_op_count(s->doc), ops);
	TU_CHECK_DOC(s->doc);
	tu_state_finish(&st);
}

static void run_session(uint64_t seed, size_t nsteps)
{
	struct session s = { 0 };
	struct tu_rng rng;

	tu_rng_init(&rng, seed);
	s.doc = crdt_doc_create(NULL);
	TU_CHECK(s.doc != NULL);
	verify(&s);
	check_range_errors(&s);
	for (size_t i = 0; i < nsteps; i++) {
		step(&s, &rng);
		verify(&s);
		if (i % 97 == 0)
			check_range_errors(&s);
	}
	/* Delete everything, then type again into a document of tombstones. */
	if (s.model.len)
		do_delete(&s, 0, 0, s.model.len);
	verify(&s);
	check_range_errors(&s);
	do_insert(&s, &rng, 1, 0, 5);
	do_insert(&s, &rng, 2, 5, 3);
	do_insert(&s, &rng, 0, 0, 2);
	verify(&s);
	printf("  seed %" PRIu64 ": %zu steps, final %zu code points, %zu runs\n", seed, s.steps,
	       s.model.len, crdt__run_count(s.doc));
	crdt_doc_destroy(s.doc);
	tu_model_finish(&s.model);
}

/* A few exact cases before the random ones, for readable failures. */
static void test_simple(void)
{
	struct crdt_doc *doc = crdt_doc_create(NULL);

	TU_CHECK(doc != NULL);
	TU_EQ_SIZE(crdt_len(doc), 0);
	TU_EQ_SIZE(crdt_len_bytes(doc), 0);
	TU_EQ_SIZE(crdt_text(doc, NULL, 0), 0);
	TU_OK(crdt_insert(doc, 5, 0, "hello", 5));
	TU_OK(crdt_insert(doc, 5, 5, " world", 6));
	TU_EQ_TEXT(doc, "hello world", 11);
	TU_OK(crdt_insert(doc, 6, 5, ",", 1));
	TU_EQ_TEXT(doc, "hello, world", 12);
	TU_OK(crdt_delete(doc, 5, 0, 1));
	TU_OK(crdt_insert(doc, 5, 0, "J", 1));
	TU_EQ_TEXT(doc, "Jello, world", 12);
	TU_OK(crdt_insert(doc, 6, 12, " \xE2\x82\xAC\xF0\x9F\x98\x80\xC3\xA9", 10));
	TU_EQ_SIZE(crdt_len(doc), 16);
	TU_EQ_SIZE(crdt_len_bytes(doc), 22);
	TU_OK(crdt_delete(doc, 6, 14, 1)); /* the 4-byte emoji */
	TU_EQ_TEXT(doc, "Jello, world \xE2\x82\xAC\xC3\xA9", 18);
	TU_OK(crdt_delete(doc, 5, 1, 11));
	TU_EQ_TEXT(doc, "J \xE2\x82\xAC\xC3\xA9", 7);
	TU_CHECK_DOC(doc);
	crdt_doc_destroy(doc);
	crdt_doc_destroy(NULL);
}

/*
 * Scattered single-character edits make one run per character: enough of
 * them to grow the tree three or four levels deep, where node splits
 * propagate through inner nodes.  Checked every 97 steps (the check is
 * O(n)) and at the end.
 */
static void run_deep(uint64_t seed)
{
	struct session s = { 0 };
	struct tu_rng rng;

	tu_seed_report(seed);
	tu_rng_init(&rng, seed);
	s.doc = crdt_doc_create(NULL);
	TU_CHECK(s.doc != NULL);
	for (size_t i = 0; i < 12000; i++) {
		size_t len = s.model.len;
		int agent = (int)(i % NAGENTS);
		if (len > 0 && tu_chance(&rng, 20))
			do_delete(&s, agent, tu_below(&rng, len), 1);
		else
			do_insert(&s, &rng, agent, tu_below(&rng, len + 1), 1);
		s.steps++;
		if (i % 97 == 0)
			verify(&s);
	}
	verify(&s);
	printf("  deep: %zu code points, %zu runs\n", s.model.len, crdt__run_count(s.doc));
	crdt_doc_destroy(s.doc);
	tu_model_finish(&s.model);
}

int main(void)
{
	uint64_t seed = tu_seed("test-local");

	test_simple();
	for (uint64_t i = 0; i < 4; i++) {
		tu_seed_report(seed + i);
		run_session(seed + i, 2500);
	}
	run_deep(seed + 10);
	printf("test-local: ok\n");
	return 0;
}
