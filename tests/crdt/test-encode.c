/*
 * test-encode.c - the wire formats, reading at earlier versions, and
 * decoding hostile input.
 *
 * Every byte the server stores or relays goes through these encodings, and
 * every byte a client sends is untrusted, so this file checks both sides:
 * round trips of updates, snapshots and version vectors (texts and
 * versions equal, including an empty document and one holding only
 * tombstones); crdt_update_info() against what each update holds;
 * crdt_text_at() against the text each replica really had at
 * each version along a random concurrent session; crdt_encode_since() as
 * exactly the missing part; and malformed input - every truncation, wrong
 * format and kind bytes, random byte flips and random tails - which must be
 * refused with the right code and leave the document exactly as it was, or,
 * when accepted, leave it consistent.
 */
#include "testutil.h"

#define NREP 3

/* ---- A small random concurrent session with recorded history ------------ */

struct rec {
	char *text;
	size_t len;
	struct crdt_version ver;
};

struct session {
	struct crdt_doc *doc[NREP];
	uint32_t agent[NREP];
	struct crdt_buf *msgs;
	bool *got[NREP];
	size_t nmsgs, cap;
	struct rec *recs;
	size_t nrecs, caprecs;
	struct tu_rng *rng;
};

static void record(struct session *s, int i)
{
	if (s->nrecs == s->caprecs) {
		s->caprecs = s->caprecs * 2 + 32;
		s->recs = realloc(s->recs, s->caprecs * sizeof *s->recs);
		TU_CHECK(s->recs != NULL);
	}
	struct rec *r = &s->recs[s->nrecs++];
	r->text = tu_text(s->doc[i], &r->len);
	crdt_version_init(&r->ver, NULL);
	TU_OK(crdt_doc_version(s->doc[i], &r->ver));
}

static void session_edit(struct session *s, int i)
{
	struct crdt_doc *doc = s->doc[i];
	struct crdt_version before, after;
	size_t len = crdt_len(doc);

	crdt_version_init(&before, NULL);
	crdt_version_init(&after, NULL);
	TU_OK(crdt_doc_version(doc, &before));
	size_t ins_bytes = 0, del_count = 0;
	if (len == 0 || tu_chance(s->rng, 65)) {
		char buf[32];
		size_t n = 0, ncp = 1 + tu_below(s->rng, 5);
		for (size_t k = 0; k < ncp; k++)
			n += tu_utf8_put(tu_rand_cp(s->rng), buf + n);
		TU_OK(crdt_insert(doc, s->agent[i], tu_below(s->rng, len + 1), buf, n));
		ins_bytes = n;
	} else {
		size_t pos = tu_below(s->rng, len);
		size_t count = 1 + tu_below(s->rng, len - pos < 6 ? len - pos : 6);
		TU_OK(crdt_delete(doc, s->agent[i], pos, count));
		del_count = count;
	}
	TU_CHECK_DOC(doc);
	TU_OK(crdt_doc_version(doc, &after));
	if (s->nmsgs == s->cap) {
		s->cap = s->cap * 2 + 32;
		s->msgs = realloc(s->msgs, s->cap * sizeof *s->msgs);
		TU_CHECK(s->msgs != NULL);
		for (int r = 0; r < NREP; r++) {
			s->got[r] = realloc(s->got[r], s->cap * sizeof(bool));
			TU_CHECK(s->got[r] != NULL);
		}
	}
	crdt_buf_init(&s->msgs[s->nmsgs], NULL);
	TU_OK(crdt_encode_between(doc, &before, &after, &s->msgs[s->nmsgs]));
	/* What the server reads of it before merging: one author, this edit's size. */
	struct crdt_update_info info;
	TU_OK(crdt_update_info(s->msgs[s->nmsgs].data, s->msgs[s->nmsgs].len, &info, NULL));
	TU_EQ_SIZE(info.nauthors, 1);
	TU_EQ_INT(info.authors[0], s->agent[i]);
	TU_EQ_SIZE(info.ins_bytes, ins_bytes);
	TU_EQ_SIZE(info.del_count, del_count);
	TU_CHECK(info.nops >= 1);
	for (int r = 0; r < NREP; r++)
		s->got[r][s->nmsgs] = r == i;
	s->nmsgs++;
	crdt_version_finish(&before);
	crdt_version_finish(&after);
	record(s, i);
}

static void session_deliver(struct session *s, int i, size_t m)
{
	TU_OK(crdt_apply(s->doc[i], s->msgs[m].data, s->msgs[m].len));
	TU_CHECK_DOC(s->doc[i]);
	s->got[i][m] = true;
	record(s, i);
}

static void session_init(struct session *s, struct tu_rng *rng)
{
	memset(s, 0, sizeof *s);
	s->rng = rng;
	for (int i = 0; i < NREP; i++) {
		s->doc[i] = crdt_doc_create(NULL);
		TU_CHECK(s->doc[i] != NULL);
		s->agent[i] = (uint32_t)(i * 0x55555555u + 3);
	}
}

static void session_steps(struct session *s, size_t steps)
{
	for (size_t k = 0; k < steps; k++) {
		int i = (int)tu_below(s->rng, NREP);
		if (s->nmsgs == 0 || tu_chance(s->rng, 50))
			session_edit(s, i);
		else
			session_deliver(s, i, tu_below(s->rng, s->nmsgs));
	}
}

static void session_sync_all(struct session *s)
{
	for (int i = 0; i < NREP; i++)
		for (size_t m = 0; m < s->nmsgs; m++)
			if (!s->got[i][m])
				session_deliver(s, i, m);
	for (int i = 0; i < NREP; i++) {
		TU_EQ_SIZE(crdt_pending(s->doc[i]), 0);
		TU_SAME_DOC(s->doc[i], s->doc[0]);
	}
}

static void session_finish(struct session *s)
{
	for (int i = 0; i < NREP; i++) {
		crdt_doc_destroy(s->doc[i]);
		free(s->got[i]);
	}
	for (size_t m = 0; m < s->nmsgs; m++)
		crdt_buf_finish(&s->msgs[m]);
	free(s->msgs);
	for (size_t r = 0; r < s->nrecs; r++) {
		free(s->recs[r].text);
		crdt_version_finish(&s->recs[r].ver);
	}
	free(s->recs);
}

/* ---- Version vectors ---------------------------------------------------- */

static void version_roundtrip(const struct crdt_version *v)
{
	struct crdt_buf b;
	struct crdt_version d;

	crdt_buf_init(&b, NULL);
	crdt_version_init(&d, NULL);
	TU_OK(crdt_version_set(&d, 42, 42)); /* decode replaces old contents */
	TU_OK(crdt_version_encode(v, &b));
	TU_CHECK(b.len >= 2);
	TU_EQ_INT(b.data[0], CRDT_FORMAT_VERSION);
	TU_OK(crdt_version_decode(&d, b.data, b.len));
	TU_EQ_VERSION(&d, v);
	crdt_version_finish(&d);
	crdt_buf_finish(&b);
}

static void test_version_basics(struct tu_rng *rng)
{
	struct crdt_version a, b;

	crdt_version_init(&a, NULL);
	crdt_version_init(&b, NULL);
	version_roundtrip(&a);
	TU_CHECK(crdt_version_includes(&a, &b));
	TU_OK(crdt_version_set(&a, 7, 3));
	TU_OK(crdt_version_set(&a, 2, 1));
	TU_OK(crdt_version_set(&a, 0xffffffffu, 0xffffffffu));
	TU_EQ_SIZE(a.len, 3);
	TU_EQ_INT(a.v[0].agent, 2);
	TU_EQ_INT(a.v[1].agent, 7);
	TU_EQ_INT(crdt_version_get(&a, 7), 3);
	TU_EQ_INT(crdt_version_get(&a, 8), 0);
	version_roundtrip(&a);
	TU_OK(crdt_version_copy(&b, &a));
	TU_EQ_VERSION(&b, &a);
	TU_OK(crdt_version_set(&b, 7, 4));
	TU_CHECK(crdt_version_includes(&b, &a));
	TU_CHECK(!crdt_version_includes(&a, &b));
	TU_OK(crdt_version_set(&b, 7, 0));
	TU_EQ_SIZE(b.len, 2);
	TU_CHECK(!crdt_version_includes(&b, &a));
	TU_CHECK(crdt_version_includes(&a, &b));
	crdt_version_finish(&b);
	crdt_version_finish(NULL);

	for (int iter = 0; iter < 300; iter++) {
		struct crdt_version r;
		crdt_version_init(&r, NULL);
		size_t n = tu_below(rng, 40);
		for (size_t k = 0; k < n; k++) {
			uint32_t agent = tu_chance(rng, 50) ? (uint32_t)tu_below(rng, 300)
							    : (uint32_t)tu_rand(rng);
			uint32_t next = tu_chance(rng, 10) ? 0xffffffffu
							   : (uint32_t)(1 + tu_below(rng, 100000));
			TU_OK(crdt_version_set(&r, agent, next));
		}
		for (size_t k = 1; k < r.len; k++)
			TU_CHECK(r.v[k - 1].agent < r.v[k].agent);
		version_roundtrip(&r);
		crdt_version_finish(&r);
	}
	crdt_version_finish(&a);
}

/* ---- Round trips -------------------------------------------------------- */

/* Loads an encoding into a fresh document, which must then equal want. */
static struct crdt_doc *load(const struct crdt_buf *b, const struct crdt_doc *want)
{
	struct crdt_doc *d = crdt_doc_create(NULL);

	TU_CHECK(d != NULL);
	TU_APPLY(d, b);
	TU_EQ_SIZE(crdt_pending(d), 0);
	if (want)
		TU_SAME_DOC(d, want);
	return d;
}

static void roundtrips_of(const struct crdt_doc *doc)
{
	struct crdt_buf upd, snap, snap2;

	crdt_buf_init(&upd, NULL);
	crdt_buf_init(&snap, NULL);
	crdt_buf_init(&snap2, NULL);
	TU_OK(crdt_encode_since(doc, NULL, &upd));
	TU_OK(crdt_encode_doc(doc, &snap));
	TU_CHECK(upd.len >= 2 && snap.len >= 2);
	TU_EQ_INT(upd.data[0], CRDT_FORMAT_VERSION);
	TU_EQ_INT(snap.data[0], CRDT_SNAPSHOT_VERSION);
	TU_EQ_INT(upd.data[1], 'U');
	TU_EQ_INT(snap.data[1], 'S');

	struct crdt_doc *a = load(&upd, doc);
	struct crdt_doc *b = load(&snap, doc);
	/* Second generation: a loaded document encodes to the same bytes. */
	TU_OK(crdt_encode_doc(b, &snap2));
	TU_EQ_MEM((const char *)snap2.data, snap2.len, (const char *)snap.data, snap.len);
	struct crdt_doc *c = load(&snap2, doc);
	crdt_buf_finish(&snap2);
	crdt_buf_init(&snap2, NULL);
	TU_OK(crdt_encode_since(a, NULL, &snap2));
	struct crdt_doc *d = load(&snap2, doc);
	crdt_doc_destroy(a);
	crdt_doc_destroy(b);
	crdt_doc_destroy(c);
	crdt_doc_destroy(d);
	crdt_buf_finish(&upd);
	crdt_buf_finish(&snap);
	crdt_buf_finish(&snap2);
}

static void expect_text_at(const struct crdt_doc *doc, const struct crdt_version *at,
			   const char *want, size_t want_len)
{
	struct crdt_buf out, pre;
	struct crdt_version none;

	/* Output is appended: start from a buffer that already holds something. */
	crdt_buf_init(&out, NULL);
	crdt_buf_init(&pre, NULL);
	crdt_version_init(&none, NULL);
	TU_OK(crdt_version_encode(&none, &pre));
	TU_OK(crdt_version_encode(&none, &out));
	TU_OK(crdt_text_at(doc, at, &out));
	TU_CHECK(out.len >= pre.len && memcmp(out.data, pre.data, pre.len) == 0);
	TU_EQ_MEM((const char *)out.data + pre.len, out.len - pre.len, want, want_len);
	crdt_buf_finish(&out);
	crdt_buf_finish(&pre);
}

static void test_roundtrips(struct tu_rng *rng)
{
	/* The empty document. */
	struct crdt_doc *empty = crdt_doc_create(NULL);
	struct crdt_version v0;
	TU_CHECK(empty != NULL);
	roundtrips_of(empty);
	crdt_version_init(&v0, NULL);
	expect_text_at(empty, &v0, "", 0);

	/* A document of tombstones only, whose history still reads back. */
	struct crdt_doc *tomb = crdt_doc_create(NULL);
	struct crdt_version mid;
	static const char hello[] = "h\xC3\xA9llo w\xC3\xB6rld \xF0\x9F\x98\x80\xE2\x82\xAC";
	crdt_version_init(&mid, NULL);
	TU_OK(crdt_insert(tomb, 5, 0, hello, strlen(hello)));
	TU_OK(crdt_insert(tomb, 6, 5, "!!", 2));
	TU_OK(crdt_doc_version(tomb, &mid));
	TU_OK(crdt_delete(tomb, 5, 0, 3));
	TU_OK(crdt_delete(tomb, 6, 0, crdt_len(tomb)));
	TU_EQ_SIZE(crdt_len(tomb), 0);
	roundtrips_of(tomb);
	struct crdt_buf snap;
	crdt_buf_init(&snap, NULL);
	TU_OK(crdt_encode_doc(tomb, &snap));
	struct crdt_doc *loaded = load(&snap, tomb);
	expect_text_at(loaded, &mid, "h\xC3\xA9llo!! w\xC3\xB6rld \xF0\x9F\x98\x80\xE2\x82\xAC",
		       strlen(hello) + 2);
	expect_text_at(loaded, &v0, "", 0);
	crdt_buf_finish(&snap);
	crdt_doc_destroy(loaded);
	crdt_doc_destroy(tomb);
	crdt_version_finish(&mid);
	crdt_version_finish(&v0);
	crdt_doc_destroy(empty);

	/* Many agents (a large agent table) and one large run. */
	struct crdt_doc *many = crdt_doc_create(NULL);
	TU_CHECK(many != NULL);
	for (uint32_t a = 0; a < 600; a++) {
		char w[8];
		size_t n = tu_utf8_put(tu_rand_cp(rng), w);
		TU_OK(crdt_insert(many, a * 7919u + 1, tu_below(rng, crdt_len(many) + 1), w, n));
		if (a % 3 == 0)
			TU_OK(crdt_delete(many, a * 7919u + 2, tu_below(rng, crdt_len(many)), 1));
	}
	size_t big_len = 200000;
	char *big = malloc(big_len);
	TU_CHECK(big != NULL);
	for (size_t k = 0; k < big_len; k++)
		big[k] = (char)('a' + k % 26);
	TU_OK(crdt_insert(many, 5, crdt_len(many) / 2, big, big_len));
	TU_OK(crdt_delete(many, 5, 1000, 50000));
	TU_OK(crdt_delete(many, 6, 100000, 3));
	TU_CHECK_DOC(many);
	roundtrips_of(many);
	free(big);
	crdt_doc_destroy(many);

	/* Random concurrent sessions, before and after full sync. */
	for (int iter = 0; iter < 6; iter++) {
		struct session s;
		session_init(&s, rng);
		session_steps(&s, 150);
		for (int i = 0; i < NREP; i++)
			roundtrips_of(s.doc[i]);
		session_sync_all(&s);
		roundtrips_of(s.doc[0]);
		session_finish(&s);
	}
}

/* ---- Inspecting an update ---------------------------------------------- */

/* True when id is among the first min(nauthors, 8) authors. */
static bool has_author(const struct crdt_update_info *info, uint32_t id)
{
	for (size_t k = 0; k < info->nauthors && k < 8; k++)
		if (info->authors[k] == id)
			return true;
	return false;
}

static void test_update_info(void)
{
	struct crdt_doc *doc = crdt_doc_create(NULL);
	struct crdt_buf b;
	struct crdt_update_info info;
	struct crdt_version v5;

	TU_CHECK(doc != NULL);
	crdt_buf_init(&b, NULL);
	crdt_version_init(&v5, NULL);
	/* An empty document's update: nothing in it. */
	TU_OK(crdt_encode_since(doc, NULL, &b));
	TU_OK(crdt_update_info(b.data, b.len, &info, NULL));
	TU_EQ_SIZE(info.nops, 0);
	TU_EQ_SIZE(info.nauthors, 0);
	TU_EQ_SIZE(info.ins_bytes + info.del_count, 0);
	/* Ten agents, each inserting 3 bytes and the last five deleting one character each. */
	for (uint32_t a = 0; a < 10; a++) {
		TU_OK(crdt_insert(doc, 100 + a, 0, "\xE2\x82\xAC", 3));
		if (a == 4)
			TU_OK(crdt_doc_version(doc, &v5));
	}
	for (uint32_t a = 5; a < 10; a++)
		TU_OK(crdt_delete(doc, 100 + a, 0, 1));
	b.len = 0;
	TU_OK(crdt_encode_since(doc, NULL, &b));
	TU_OK(crdt_update_info(b.data, b.len, &info, NULL));
	TU_EQ_SIZE(info.ins_bytes, 30);
	TU_EQ_SIZE(info.del_count, 5);
	TU_EQ_SIZE(info.nauthors, 9); /* "more than eight" */
	for (size_t k = 0; k < 8; k++) {
		TU_CHECK(info.authors[k] >= 100 && info.authors[k] < 110);
		for (size_t j = 0; j < k; j++)
			TU_CHECK(info.authors[j] != info.authors[k]);
	}
	/* Only what came after v5: the last five agents. */
	b.len = 0;
	TU_OK(crdt_encode_since(doc, &v5, &b));
	TU_OK(crdt_update_info(b.data, b.len, &info, NULL));
	TU_EQ_SIZE(info.nauthors, 5);
	TU_EQ_SIZE(info.ins_bytes, 15);
	TU_EQ_SIZE(info.del_count, 5);
	for (uint32_t a = 5; a < 10; a++)
		TU_CHECK(has_author(&info, 100 + a));
	/* A snapshot reads the same way. */
	b.len = 0;
	TU_OK(crdt_encode_doc(doc, &b));
	TU_OK(crdt_update_info(b.data, b.len, &info, NULL));
	TU_EQ_SIZE(info.ins_bytes, 30);
	TU_EQ_SIZE(info.del_count, 5);
	TU_EQ_SIZE(info.nauthors, 9);
	crdt_buf_finish(&b);
	crdt_version_finish(&v5);
	crdt_doc_destroy(doc);
}

/* ---- Reading earlier versions ------------------------------------------- */

static void check_history(const struct session *s, const struct crdt_doc *doc)
{
	struct tu_state st;

	tu_state_save(&st, doc);
	for (size_t r = 0; r < s->nrecs; r++)
		expect_text_at(doc, &s->recs[r].ver, s->recs[r].text, s->recs[r].len);
	TU_SAME_STATE(&st, doc);
	TU_CHECK_DOC(doc);
	tu_state_finish(&st);
}

static void test_text_at(struct tu_rng *rng)
{
	for (int iter = 0; iter < 4; iter++) {
		struct session s;
		session_init(&s, rng);
		session_steps(&s, 250);
		/* Before full sync each replica can read its own past. */
		for (size_t r = 0; r < s.nrecs; r++) {
			for (int i = 0; i < NREP; i++) {
				struct crdt_version cur;
				crdt_version_init(&cur, NULL);
				TU_OK(crdt_doc_version(s.doc[i], &cur));
				if (crdt_version_includes(&cur, &s.recs[r].ver))
					expect_text_at(s.doc[i], &s.recs[r].ver, s.recs[r].text,
						       s.recs[r].len);
				crdt_version_finish(&cur);
			}
		}
		session_sync_all(&s);
		for (int i = 0; i < NREP; i++)
			check_history(&s, s.doc[i]);
		/* And so can documents loaded from a snapshot or a full update. */
		struct crdt_buf b;
		crdt_buf_init(&b, NULL);
		TU_OK(crdt_encode_doc(s.doc[1], &b));
		struct crdt_doc *d = load(&b, s.doc[0]);
		check_history(&s, d);
		crdt_doc_destroy(d);
		b.len = 0;
		TU_OK(crdt_encode_since(s.doc[2], NULL, &b));
		d = load(&b, s.doc[0]);
		check_history(&s, d);
		crdt_doc_destroy(d);
		crdt_buf_finish(&b);
		printf("  text_at: %zu recorded versions checked on %d replicas and 2 reloads\n",
		       s.nrecs, NREP);
		session_finish(&s);
	}
}

/* ---- Updates since a version -------------------------------------------- */

static void test_since(struct tu_rng *rng)
{
	for (int iter = 0; iter < 6; iter++) {
		struct session s;
		struct crdt_version vb, va;
		struct crdt_buf u, none, all;

		session_init(&s, rng);
		crdt_version_init(&vb, NULL);
		crdt_version_init(&va, NULL);
		crdt_buf_init(&u, NULL);
		crdt_buf_init(&none, NULL);
		crdt_buf_init(&all, NULL);
		session_steps(&s, 60 + tu_below(rng, 100));
		/* c is replica 1 as it is now; it sleeps while the others go on. */
		struct crdt_doc *c = tu_clone(s.doc[1]);
		TU_OK(crdt_doc_version(c, &vb));
		session_steps(&s, 60 + tu_below(rng, 100));
		session_sync_all(&s);
		struct crdt_doc *a = s.doc[0];
		TU_OK(crdt_doc_version(a, &va));

		TU_OK(crdt_encode_since(a, &vb, &u));
		/*
		 * Exactly the missing operations: each is one inserted code
		 * point (1 to 4 bytes) or one deleted character.
		 */
		uint64_t missing = 0;
		for (size_t k = 0; k < va.len; k++)
			missing += va.v[k].next - crdt_version_get(&vb, va.v[k].agent);
		struct crdt_update_info info;
		TU_OK(crdt_update_info(u.data, u.len, &info, NULL));
		TU_CHECK(info.del_count <= missing);
		TU_CHECK(info.ins_bytes >= missing - info.del_count);
		TU_CHECK(info.ins_bytes <= 4 * (missing - info.del_count));
		struct tu_state st;
		tu_state_save(&st, a);
		TU_APPLY(c, &u);
		TU_EQ_SIZE(crdt_pending(c), 0);
		TU_SAME_DOC(c, a);
		/* Applying it where everything is already known changes nothing. */
		TU_APPLY(a, &u);
		TU_SAME_STATE(&st, a);
		/* Since the current version: nothing, and small. */
		TU_OK(crdt_encode_since(a, &va, &none));
		TU_OK(crdt_encode_since(a, NULL, &all));
		TU_CHECK(none.len <= 16);
		TU_OK(crdt_update_info(none.data, none.len, &info, NULL));
		TU_EQ_SIZE(info.nops, 0);
		/* A slice whose end is before its start holds nothing either. */
		struct crdt_buf back;
		crdt_buf_init(&back, NULL);
		TU_OK(crdt_encode_between(a, &va, &vb, &back));
		TU_OK(crdt_update_info(back.data, back.len, &info, NULL));
		TU_EQ_SIZE(info.nops, 0);
		crdt_buf_finish(&back);
		TU_CHECK(u.len <= all.len);
		TU_APPLY(c, &none);
		TU_SAME_DOC(c, a);
		struct crdt_doc *e = crdt_doc_create(NULL);
		TU_CHECK(e != NULL);
		TU_APPLY(e, &none);
		TU_EQ_SIZE(crdt_len(e), 0);
		TU_EQ_SIZE(crdt_op_count(e), 0);
		/*
		 * encode_between(since, until) is the same slice: vb..va
		 * brings the sleeping replica's snapshot up to date too.
		 */
		struct crdt_doc *c2 = crdt_doc_create(NULL);
		struct crdt_buf sl;
		crdt_buf_init(&sl, NULL);
		TU_OK(crdt_encode_between(a, NULL, &vb, &sl));
		TU_APPLY(c2, &sl);
		struct crdt_version v2;
		crdt_version_init(&v2, NULL);
		TU_OK(crdt_doc_version(c2, &v2));
		TU_EQ_VERSION(&v2, &vb);
		sl.len = 0;
		TU_OK(crdt_encode_between(a, &vb, NULL, &sl));
		TU_APPLY(c2, &sl);
		TU_SAME_DOC(c2, a);
		crdt_buf_finish(&sl);
		crdt_version_finish(&v2);
		crdt_doc_destroy(c2);
		crdt_doc_destroy(e);
		tu_state_finish(&st);
		crdt_doc_destroy(c);
		crdt_buf_finish(&u);
		crdt_buf_finish(&none);
		crdt_buf_finish(&all);
		crdt_version_finish(&va);
		crdt_version_finish(&vb);
		session_finish(&s);
	}
}

/* ---- Malformed input ---------------------------------------------------- */

/* An exact-size heap copy, so that a read past the end is caught by ASan. */
static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	TU_CHECK(c != NULL);
	if (n)
		memcpy(c, p, n);
	return c;
}

/* Applies bytes that must be refused with one of the given codes; doc must not change. */
static int apply_refused(struct crdt_doc *doc, const uint8_t *p, size_t n, int want1, int want2,
			 const char *what, size_t at)
{
	struct tu_state st;
	uint8_t *c = dup_bytes(p, n);
	int rc;

	tu_state_save(&st, doc);
	rc = crdt_apply(doc, c, n);
	if (rc != want1 && rc != want2)
		TU_FAIL("%s (case %zu, %zu bytes): crdt_apply returned %d (%s), expected %s or %s",
			what, at, n, rc, crdt_strerror(rc), crdt_strerror(want1),
			crdt_strerror(want2));
	TU_SAME_STATE(&st, doc);
	TU_CHECK_DOC(doc);
	tu_state_finish(&st);
	free(c);
	return rc;
}

/* Applies mangled bytes: refused (doc unchanged) or accepted (doc consistent). */
static bool apply_any(struct crdt_doc *doc, const uint8_t *p, size_t n)
{
	struct tu_state st;
	uint8_t *c = dup_bytes(p, n);
	int rc;

	tu_state_save(&st, doc);
	rc = crdt_apply(doc, c, n);
	free(c);
	TU_CHECK_DOC(doc);
	if (rc < 0) {
		TU_CHECK(rc == CRDT_EDECODE || rc == CRDT_ETRUNCATED || rc == CRDT_EFORMAT ||
			 rc == CRDT_ELIMIT || rc == CRDT_EUTF8 || rc == CRDT_ESEQ);
		TU_SAME_STATE(&st, doc);
	} else {
		TU_EQ_INT(rc, 0);
		/* Whatever was accepted must survive a round trip. */
		struct crdt_buf b;
		crdt_buf_init(&b, NULL);
		TU_OK(crdt_encode_doc(doc, &b));
		struct crdt_doc *d = crdt_doc_create(NULL);
		TU_CHECK(d != NULL);
		TU_APPLY(d, &b);
		size_t n1, n2;
		char *t1 = tu_text(doc, &n1), *t2 = tu_text(d, &n2);
		TU_EQ_MEM(t2, n2, t1, n1);
		free(t1);
		free(t2);
		crdt_doc_destroy(d);
		crdt_buf_finish(&b);
	}
	tu_state_finish(&st);
	return rc == 0;
}

static void version_decode_refused(const uint8_t *p, size_t n, int want1, int want2)
{
	struct crdt_version v, keep;
	uint8_t *c = dup_bytes(p, n);
	int rc;

	crdt_version_init(&v, NULL);
	crdt_version_init(&keep, NULL);
	TU_OK(crdt_version_set(&v, 9, 99));
	TU_OK(crdt_version_copy(&keep, &v));
	rc = crdt_version_decode(&v, c, n);
	if (rc != want1 && rc != want2)
		TU_FAIL("crdt_version_decode of %zu bytes returned %d (%s), expected %s or %s", n,
			rc, crdt_strerror(rc), crdt_strerror(want1), crdt_strerror(want2));
	TU_EQ_VERSION(&v, &keep);
	crdt_version_finish(&v);
	crdt_version_finish(&keep);
	free(c);
}

/* Every proper prefix is refused, on both targets; the whole is accepted. */
static void truncations(const struct crdt_buf *b, struct crdt_doc *target, const char *what)
{
	struct crdt_doc *empty = crdt_doc_create(NULL);

	TU_CHECK(empty != NULL);
	for (size_t n = 0; n < b->len; n++) {
		struct crdt_update_info info;
		uint8_t *c = dup_bytes(b->data, n);
		int rc = crdt_update_info(c, n, &info, NULL);
		free(c);
		if (rc != CRDT_ETRUNCATED && rc != CRDT_EDECODE)
			TU_FAIL("%s: crdt_update_info of %zu of %zu bytes returned %d (%s)", what,
				n, b->len, rc, crdt_strerror(rc));
		apply_refused(empty, b->data, n, CRDT_ETRUNCATED, CRDT_EDECODE, what, n);
		apply_refused(target, b->data, n, CRDT_ETRUNCATED, CRDT_EDECODE, what, n);
	}
	TU_OK(crdt_apply(empty, b->data, b->len));
	TU_CHECK_DOC(empty);
	crdt_doc_destroy(empty);
}

static void wrong_header(const struct crdt_buf *b, struct crdt_doc *target, const char *what)
{
	uint8_t *c = dup_bytes(b->data, b->len);
	static const uint8_t bad_versions[] = { 0, CRDT_SNAPSHOT_VERSION + 1, 0x7f, 0x80, 0xff };
	static const uint8_t bad_kinds[] = { 0, 'u', 's', 'X', 0xff };

	for (size_t k = 0; k < sizeof bad_versions; k++) {
		c[0] = bad_versions[k];
		apply_refused(target, c, b->len, CRDT_EFORMAT, CRDT_EFORMAT, what, k);
	}
	c[0] = b->data[0];
	for (size_t k = 0; k < sizeof bad_kinds; k++) {
		c[1] = bad_kinds[k];
		apply_refused(target, c, b->len, CRDT_EDECODE, CRDT_EDECODE, what, k);
	}
	free(c);
}

static void flips(struct tu_rng *rng, const struct crdt_buf *b, struct crdt_doc **target,
		  const struct crdt_buf *target_snap, int iters, size_t *accepted)
{
	uint8_t *c = malloc(b->len + 64);

	TU_CHECK(c != NULL);
	for (int it = 0; it < iters; it++) {
		size_t n = b->len;
		memcpy(c, b->data, n);
		size_t nflips = 1 + tu_below(rng, 4);
		for (size_t f = 0; f < nflips; f++) {
			size_t at = 2 + tu_below(rng, n - 2); /* keep the header: reach the body */
			if (tu_chance(rng, 10))
				at = tu_below(rng, n);
			c[at] ^= (uint8_t)(1 + tu_below(rng, 255));
		}
		if (tu_chance(rng, 10))
			n = 2 + tu_below(rng, n - 1);
		if (tu_chance(rng, 10)) {
			size_t extra = tu_below(rng, 64);
			for (size_t k = 0; k < extra; k++)
				c[n + k] = (uint8_t)tu_rand(rng);
			n += extra;
		}
		struct crdt_doc *empty = crdt_doc_create(NULL);
		struct crdt_update_info info;
		TU_CHECK(empty != NULL);
		uint8_t *e = dup_bytes(c, n);
		int irc = crdt_update_info(e, n, &info, NULL);
		free(e);
		bool ok = apply_any(empty, c, n);
		/* crdt_update_info validates the bytes as crdt_apply does. */
		if (ok && irc != 0)
			TU_FAIL("crdt_apply accepted what crdt_update_info refused (%d)", irc);
		*accepted += ok;
		crdt_doc_destroy(empty);
		if (apply_any(*target, c, n)) {
			/* Something got in: start the next round from the clean target. */
			(*accepted)++;
			crdt_doc_destroy(*target);
			*target = crdt_doc_create(NULL);
			TU_CHECK(*target != NULL);
			TU_OK(crdt_apply(*target, target_snap->data, target_snap->len));
		}
	}
	free(c);
}

static void version_flips(struct tu_rng *rng, const struct crdt_buf *b, int iters)
{
	uint8_t *c = malloc(b->len + 16);

	TU_CHECK(c != NULL);
	for (int it = 0; it < iters; it++) {
		size_t n = b->len;
		memcpy(c, b->data, n);
		c[tu_below(rng, n)] ^= (uint8_t)(1 + tu_below(rng, 255));
		if (tu_chance(rng, 20))
			c[tu_below(rng, n)] = (uint8_t)tu_rand(rng);
		struct crdt_version v;
		crdt_version_init(&v, NULL);
		uint8_t *e = dup_bytes(c, n);
		int rc = crdt_version_decode(&v, e, n);
		free(e);
		if (rc == 0) {
			/* Whatever was accepted must be a well-formed vector. */
			for (size_t k = 0; k < v.len; k++) {
				TU_CHECK(v.v[k].next != 0);
				if (k)
					TU_CHECK(v.v[k - 1].agent < v.v[k].agent);
			}
		} else {
			TU_CHECK(rc == CRDT_EDECODE || rc == CRDT_ETRUNCATED ||
				 rc == CRDT_EFORMAT || rc == CRDT_ELIMIT);
			TU_EQ_SIZE(v.len, 0);
		}
		crdt_version_finish(&v);
	}
	free(c);
}

static void test_malformed(struct tu_rng *rng)
{
	struct session s;
	struct crdt_buf upd_all, upd_tail, snap, ver, target_snap;
	struct crdt_version vmid;
	size_t accepted = 0;

	session_init(&s, rng);
	crdt_buf_init(&upd_all, NULL);
	crdt_buf_init(&upd_tail, NULL);
	crdt_buf_init(&snap, NULL);
	crdt_buf_init(&ver, NULL);
	crdt_buf_init(&target_snap, NULL);
	crdt_version_init(&vmid, NULL);

	session_steps(&s, 40);
	session_sync_all(&s);
	/* The target knows the first part of the history. */
	struct crdt_doc *target = tu_clone(s.doc[0]);
	TU_OK(crdt_encode_doc(target, &target_snap));
	TU_OK(crdt_doc_version(target, &vmid));
	session_steps(&s, 40);
	TU_OK(crdt_encode_since(s.doc[0], NULL, &upd_all));
	TU_OK(crdt_encode_since(s.doc[0], &vmid, &upd_tail));
	TU_OK(crdt_encode_doc(s.doc[0], &snap));
	TU_OK(crdt_doc_version(s.doc[0], &vmid));
	TU_OK(crdt_version_encode(&vmid, &ver));
	printf("  malformed: update %zu bytes, tail %zu, snapshot %zu, version %zu\n", upd_all.len,
	       upd_tail.len, snap.len, ver.len);

	truncations(&upd_all, target, "update prefix");
	truncations(&upd_tail, target, "tail update prefix");
	truncations(&snap, target, "snapshot prefix");
	for (size_t n = 0; n < ver.len; n++)
		version_decode_refused(ver.data, n, CRDT_ETRUNCATED, CRDT_EDECODE);

	wrong_header(&upd_all, target, "update header");
	wrong_header(&snap, target, "snapshot header");
	{
		uint8_t *c = dup_bytes(ver.data, ver.len);
		c[0] = CRDT_SNAPSHOT_VERSION + 1;
		version_decode_refused(c, ver.len, CRDT_EFORMAT, CRDT_EFORMAT);
		c[0] = ver.data[0];
		c[1] = 'U';
		version_decode_refused(c, ver.len, CRDT_EDECODE, CRDT_EDECODE);
		free(c);
	}
	/* Each kind fed to the wrong decoder is refused. */
	apply_refused(target, ver.data, ver.len, CRDT_EDECODE, CRDT_EDECODE, "version as update",
		      0);
	version_decode_refused(upd_all.data, upd_all.len, CRDT_EDECODE, CRDT_EDECODE);
	version_decode_refused(snap.data, snap.len, CRDT_EDECODE, CRDT_EDECODE);

	flips(rng, &upd_all, &target, &target_snap, 1500, &accepted);
	flips(rng, &upd_tail, &target, &target_snap, 1500, &accepted);
	flips(rng, &snap, &target, &target_snap, 1500, &accepted);
	version_flips(rng, &ver, 3000);

	/* Random bodies behind a valid header. */
	for (int it = 0; it < 3000; it++) {
		uint8_t c[48];
		size_t n = 2 + tu_below(rng, sizeof c - 1);
		c[0] = tu_chance(rng, 50) ? CRDT_FORMAT_VERSION : CRDT_SNAPSHOT_VERSION;
		c[1] = tu_chance(rng, 50) ? 'U' : 'S';
		for (size_t k = 2; k < n; k++)
			c[k] = tu_chance(rng, 50) ? (uint8_t)tu_below(rng, 4)
						  : (uint8_t)tu_rand(rng);
		struct crdt_doc *empty = crdt_doc_create(NULL);
		TU_CHECK(empty != NULL);
		accepted += apply_any(empty, c, n);
		crdt_doc_destroy(empty);
	}
	printf("  malformed: %zu mangled inputs were accepted (and left consistent docs)\n",
	       accepted);

	/* After all that, the intact update still brings the target up to date. */
	TU_APPLY(target, &upd_tail);
	TU_SAME_DOC(target, s.doc[0]);

	crdt_doc_destroy(target);
	crdt_buf_finish(&upd_all);
	crdt_buf_finish(&upd_tail);
	crdt_buf_finish(&snap);
	crdt_buf_finish(&ver);
	crdt_buf_finish(&target_snap);
	crdt_version_finish(&vmid);
	session_finish(&s);
}

/*
 * An update whose agent table is as long as an update can make it (2^20
 * ids, 3 MB; the server's frame limit is 1 MB, ~200k ids): distinct ids
 * are accepted and a repeat is refused, with work that grows as n log n.
 * Comparing each id with all those before it took 5 * 10^11 comparisons
 * here, minutes, and the test's timeout fails that.
 */
static void test_agent_table(void)
{
	const uint32_t n = 1u << 20;
	struct crdt_update_info info;
	struct crdt_buf b;
	struct crdt_doc *doc = crdt_doc_create(NULL);
	size_t last;

	TU_CHECK(doc != NULL);
	for (int dup = 0; dup < 2; dup++) {
		crdt_buf_init(&b, NULL);
		TU_CHECK(crdt__put_varint(&b, CRDT_FORMAT_VERSION) == 0);
		TU_CHECK(crdt__put_bytes(&b, "U", 1) == 0);
		TU_CHECK(crdt__put_varint(&b, n) == 0);
		/* Descending, so neither a sorted nor a reversed scan meets the repeat early. */
		for (uint32_t i = 0; i < n - 1; i++)
			TU_CHECK(crdt__put_varint(&b, 3u * (n - i)) == 0);
		last = b.len;
		TU_CHECK(crdt__put_varint(&b, dup ? 3u * n : 1) == 0);
		TU_CHECK(crdt__put_varint(&b, 0) == 0); /* no operations */
		TU_CHECK(b.len > last);
		TU_CHECK(crdt_update_info(b.data, b.len, &info, NULL) == (dup ? CRDT_EDECODE : 0));
		TU_CHECK(crdt_apply(doc, b.data, b.len) == (dup ? CRDT_EDECODE : 0));
		TU_CHECK(crdt_len(doc) == 0 && crdt_pending(doc) == 0);
		crdt_buf_finish(&b);
	}
	crdt_doc_destroy(doc);
}

int main(void)
{
	struct tu_rng rng;

	tu_rng_init(&rng, tu_seed("test-encode"));
	test_version_basics(&rng);
	test_update_info();
	test_agent_table();
	test_roundtrips(&rng);
	test_text_at(&rng);
	test_since(&rng);
	test_malformed(&rng);
	printf("test-encode: ok\n");
	return 0;
}
