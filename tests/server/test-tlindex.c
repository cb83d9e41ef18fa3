/*
 * test-tlindex.c - the timeline's scrub index alone (server/tlindex.c).
 *
 * No Redis, no PostgreSQL: marks go in through the public functions and
 * every answer of tlindex_version_at() is compared with a replay of all
 * marks up to the moment asked (the obvious, slow way).  The shapes that
 * take the index off its fast path are each driven: block boundaries and
 * their checkpoints, edits by several agents at once, more agents than its
 * table names, times that go backwards, seq and time gaps too wide for a
 * block (filled with copies), a reservation given back, and the 2^32 seq
 * limit.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "timeline.h"
#include "tlindex.h"

#define MAX_MARKS 5000
#define MAX_ENT	  4

/* What was put, to replay. */
struct mark {
	int64_t at; /* as filed: never before the previous mark */
	uint64_t seq;
	size_t n;
	struct crdt_version_entry e[MAX_ENT];
};

static struct mark marks[MAX_MARKS];
static size_t nmarks;

static void add(struct tlindex *ix, int64_t at, uint64_t seq, const struct crdt_version_entry *e,
		size_t n)
{
	int rc = tlindex_add(ix, at, seq, e, n);

	REQUIRE(rc == 0 && nmarks < MAX_MARKS && n <= MAX_ENT, "add seq %llu: %d",
		(unsigned long long)seq, rc);
	if (nmarks && at < marks[nmarks - 1].at)
		at = marks[nmarks - 1].at;
	marks[nmarks] = (struct mark){ .at = at, .seq = seq, .n = n };
	memcpy(marks[nmarks].e, e, n * sizeof(*e));
	nmarks++;
}

/* Checks the index's answer at t against the replay. */
static void check_at(const struct tlindex *ix, int64_t t)
{
	struct crdt_version got, want;
	uint64_t seq = 99, want_seq = 0;

	crdt_version_init(&got, NULL);
	crdt_version_init(&want, NULL);
	for (size_t i = 0; i < nmarks && marks[i].at <= t; i++) {
		for (size_t k = 0; k < marks[i].n; k++)
			if (crdt_version_get(&want, marks[i].e[k].agent) < marks[i].e[k].next)
				REQUIRE(crdt_version_set(&want, marks[i].e[k].agent,
							 marks[i].e[k].next) == 0,
					"oom");
		want_seq = marks[i].seq;
	}
	REQUIRE(tlindex_version_at(ix, t, &got, &seq) == 0, "version_at %lld", (long long)t);
	CHECK(seq == want_seq, "at %lld: seq %llu, want %llu", (long long)t,
	      (unsigned long long)seq, (unsigned long long)want_seq);
	CHECK(got.len == want.len, "at %lld: %zu agents, want %zu", (long long)t, got.len,
	      want.len);
	for (size_t k = 0; k < want.len; k++)
		CHECK(crdt_version_get(&got, want.v[k].agent) == want.v[k].next,
		      "at %lld: agent %u at %u, want %u", (long long)t, want.v[k].agent,
		      crdt_version_get(&got, want.v[k].agent), want.v[k].next);
	crdt_version_finish(&got);
	crdt_version_finish(&want);
}

/* Every mark's time, and just before and after it. */
static void check_all(const struct tlindex *ix)
{
	check_at(ix, INT64_MIN);
	for (size_t i = 0; i < nmarks; i++) {
		check_at(ix, marks[i].at - 1);
		check_at(ix, marks[i].at);
	}
	check_at(ix, INT64_MAX);
}

static void start(struct tlindex *ix)
{
	tlindex_init(ix);
	nmarks = 0;
}

static void test_empty(void)
{
	struct tlindex ix;

	start(&ix);
	check_all(&ix);
	CHECK(tlindex_len(&ix) == 0 && tlindex_last_at(&ix) == 0, "empty: %zu marks",
	      tlindex_len(&ix));
	tlindex_finish(&ix);
	tlindex_finish(NULL);
}

/* Three agents taking turns over several blocks, times sometimes equal or backwards. */
static void test_blocks(void)
{
	struct tlindex ix;
	uint32_t next[3] = { 0, 0, 0 };
	int64_t at = 1000000;

	start(&ix);
	for (uint64_t seq = 1; seq <= 3 * TLINDEX_CP_EVERY + 17; seq++) {
		uint32_t a = (uint32_t)(seq % 3);
		struct crdt_version_entry e = { .agent = 100 + a, .next = next[a] += 1 + seq % 5 };

		at += seq % 7 == 0 ? -40 : (int64_t)(seq % 3); /* equal, later, or earlier */
		add(&ix, at, seq, &e, 1);
	}
	CHECK(tlindex_len(&ix) == nmarks, "%zu marks for %zu edits", tlindex_len(&ix), nmarks);
	CHECK(tlindex_last_at(&ix) == marks[nmarks - 1].at, "last at %lld, want %lld",
	      (long long)tlindex_last_at(&ix), (long long)marks[nmarks - 1].at);
	check_all(&ix);
	tlindex_finish(&ix);
}

/* Edits by two agents at once, and more agents than the table names. */
static void test_spill(void)
{
	struct tlindex ix;
	uint64_t seq = 1;

	start(&ix);
	for (uint32_t a = 0; a < TLINDEX_AGENTS_CAP + 40; a++, seq++) {
		struct crdt_version_entry e = { .agent = a, .next = a + 1 };

		add(&ix, (int64_t)seq * 10, seq, &e, 1);
	}
	for (int k = 0; k < 300; k++, seq++) {
		struct crdt_version_entry e[2] = { { .agent = (uint32_t)k % 7, .next = 1000u + k },
						   { .agent = 5000u + k % 3, .next = 7u + k } };

		add(&ix, (int64_t)seq * 10, seq, e, 2);
	}
	check_all(&ix);
	tlindex_finish(&ix);
}

/* A block cannot span 2^16 seqs or 2^32 ms: the index fills it with copies. */
static void test_gaps(void)
{
	struct tlindex ix;
	struct crdt_version_entry e = { .agent = 1, .next = 1 };

	start(&ix);
	add(&ix, 10, 1, &e, 1);
	e.next = 2;
	add(&ix, 20, 2, &e, 1);
	e.next = 3;
	add(&ix, 30, 70000, &e, 1); /* seq gap */
	e = (struct crdt_version_entry){ .agent = 2, .next = 9 };
	add(&ix, 30 + (5ll << 32), 70001, &e, 1); /* time gap */
	e.next = 10;
	add(&ix, 31 + (5ll << 32), 70002, &e, 1);
	CHECK(tlindex_len(&ix) > nmarks, "no copies made: %zu marks for %zu edits",
	      tlindex_len(&ix), nmarks);
	check_all(&ix);
	tlindex_finish(&ix);
}

/* A reservation given back changes nothing; seqs past 2^32 are refused. */
static void test_reserve_and_limit(void)
{
	struct tlindex ix;
	struct tlindex_resv r;
	struct crdt_version_entry e = { .agent = 3, .next = 1 };

	start(&ix);
	for (uint64_t seq = 1; seq < TLINDEX_CP_EVERY; seq++) {
		e.next = (uint32_t)seq;
		add(&ix, (int64_t)seq, seq, &e, 1);
	}
	/* The next mark would complete the block: its reservation holds a checkpoint. */
	e.next = 999;
	REQUIRE(tlindex_reserve(&ix, 5000, TLINDEX_CP_EVERY, &e, 1, &r) == 0, "reserve");
	CHECK(r.cp, "the block's last mark did not reserve a checkpoint");
	tlindex_unreserve(&r);
	tlindex_unreserve(&r);
	check_all(&ix);
	/* Put with a subset of what was reserved (none of a two-agent reservation but one). */
	struct crdt_version_entry two[2] = { { .agent = 3, .next = 400 },
					     { .agent = 4, .next = 1 } };
	REQUIRE(tlindex_reserve(&ix, 6000, TLINDEX_CP_EVERY, two, 2, &r) == 0, "reserve two");
	tlindex_put(&ix, TLINDEX_CP_EVERY, two, 1, &r);
	marks[nmarks++] =
		(struct mark){ .at = 6000, .seq = TLINDEX_CP_EVERY, .n = 1, .e = { two[0] } };
	check_all(&ix);
	CHECK(tlindex_add(&ix, 7000, (uint64_t)UINT32_MAX + 1, &e, 1) == TIMELINE_E_LIMIT,
	      "a seq past 2^32 was accepted");
	check_all(&ix);
	tlindex_finish(&ix);
}

int main(void)
{
	test_empty();
	test_blocks();
	test_spill();
	test_gaps();
	test_reserve_and_limit();
	CHECK_DONE();
}
