/*
 * test-alloc.c - every allocation in crdt/ may fail, and nothing breaks.
 *
 * The sqlite recipe: run one scripted session (create, local inserts and
 * deletes that split runs and tree nodes, version vectors, every encoder,
 * remote updates that sit in the pending buffer and are then released, a
 * snapshot merged into a non-empty document and one loaded into an empty
 * one, reads at an earlier version) over and over, failing allocation
 * number N = 1, 2, 3, ... until a run reaches its end without meeting
 * allocation N.  Every call must return 0 or CRDT_ENOMEM; after a failure
 * the document must pass crdt__check and hold the same text, version and
 * pending count as before the call - except after crdt_apply(), which
 * crdt.h allows to keep a causal prefix of the update (its version may only
 * grow; applying the same bytes again completes it).  Two modes:
 *  - once: only allocation N fails; the failed call is retried and must then
 *    succeed, and the session must end with the same texts, versions and
 *    pending counts as a clean run;
 *  - rest: allocation N and all later ones fail; the session stops at the
 *    first failure and tears down.
 * In both, once everything is destroyed the allocator's live byte count
 * must be zero, and every old_size passed back must match the block.
 */
#include "testutil.h"

enum mode { ONCE, REST };

/* The remote material the script applies, built once with libc. */
struct inputs {
	struct crdt_buf u1, u2, u3; /* one agent's edits, each depending on the one before */
	struct crdt_buf snap_other; /* a document sharing nothing with the script's */
	struct crdt_buf snap_src;   /* the source of u1..u3, for loading */
};

struct ctx {
	struct tu_alloc *a;
	enum mode mode;
	size_t failures;
};

/* Results of a run, compared between the clean run and the failing ones. */
struct result {
	char *text;    /* the script's document at the end */
	char *text2;   /* the document loaded from a snapshot */
	char *text_at; /* text_at an earlier version */
	struct crdt_version ver, ver2;
	size_t pending, pending2;
	struct crdt_update_info info;
};

/*
 * Runs expr (which may be repeated); doc is the document it must not
 * corrupt (NULL if none), buf a buffer it appends to (or NULL).  An atomic
 * call leaves doc exactly as it was when it fails with CRDT_ENOMEM;
 * crdt_apply() is not atomic (crdt.h): on CRDT_ENOMEM it keeps a causal
 * prefix of the update, so its version can only have grown.
 */
#define STEP_(atomic, doc, buf, expr)                                                            \
	do {                                                                                     \
		struct tu_state st_;                                                             \
		const struct crdt_doc *dp_ = (doc);                                              \
		struct crdt_buf *bp_ = (buf);                                                    \
		size_t buflen_ = bp_ ? bp_->len : 0;                                             \
		if (dp_)                                                                         \
			tu_state_save(&st_, dp_);                                                \
		int rc_ = (expr);                                                                \
		if (rc_ == CRDT_ENOMEM) {                                                        \
			c->failures++;                                                           \
			if (dp_) {                                                               \
				TU_CHECK_DOC(dp_);                                               \
				if (atomic)                                                      \
					TU_SAME_STATE(&st_, dp_);                                \
				else                                                             \
					check_grown(&st_, dp_, #expr);                           \
			}                                                                        \
			if (bp_)                                                                 \
				bp_->len = buflen_;                                              \
			if (c->mode == REST) {                                                   \
				if (dp_)                                                         \
					tu_state_finish(&st_);                                   \
				goto out;                                                        \
			}                                                                        \
			rc_ = (expr);                                                            \
			if (rc_ != 0)                                                            \
				TU_FAIL("retry of %s after ENOMEM returned %d (%s)", #expr, rc_, \
					crdt_strerror(rc_));                                     \
		} else if (rc_ != 0) {                                                           \
			TU_FAIL("%s returned %d (%s), expected 0 or CRDT_ENOMEM", #expr, rc_,    \
				crdt_strerror(rc_));                                             \
		}                                                                                \
		if (dp_) {                                                                       \
			TU_CHECK_DOC(dp_);                                                       \
			tu_state_finish(&st_);                                                   \
		}                                                                                \
	} while (0)

#define STEP(doc, buf, expr) STEP_(true, doc, buf, expr)
#define APPLY(doc, expr)     STEP_(false, doc, NULL, expr)

/* After a failed crdt_apply the document holds what it had and maybe more, never less. */
static void check_grown(const struct tu_state *before, const struct crdt_doc *doc, const char *what)
{
	struct crdt_version now;
	char a[400], b[400];

	crdt_version_init(&now, NULL);
	TU_OK(crdt_doc_version(doc, &now));
	if (!crdt_version_includes(&now, &before->ver))
		TU_FAIL("%s failed with ENOMEM and lost operations: version %s, before %s", what,
			tu_version_str(&now, a, sizeof a),
			tu_version_str(&before->ver, b, sizeof b));
	crdt_version_finish(&now);
}

/* crdt_doc_create, which reports failure with NULL. */
static struct crdt_doc *create(struct ctx *c)
{
	struct crdt_doc *d = crdt_doc_create(&c->a->hook);

	if (!d) {
		c->failures++;
		if (c->mode == REST)
			return NULL;
		d = crdt_doc_create(&c->a->hook);
		TU_CHECK(d != NULL);
	}
	TU_CHECK_DOC(d);
	return d;
}

static const char *const words[] = { "a",
				     "bc",
				     "\xC3\xA9t\xC3\xA9",
				     "\xE2\x82\xAC",
				     "\xF0\x9F\x98\x80\xF0\x9F\x98\x81",
				     "long enough to need its own bytes in the arena",
				     "x" };

static void run_script(struct ctx *c, const struct inputs *in, struct result *res)
{
	const struct crdt_allocator *h = &c->a->hook;
	struct crdt_doc *doc = NULL, *doc2 = NULL;
	struct crdt_buf buf, out;
	struct crdt_version v, vmid, vdec;
	struct crdt_changes ch;
	struct crdt_authors au;
	struct crdt_anchor an;
	uint32_t lcg = 12345;

	crdt_changes_init(&ch, h);
	crdt_authors_init(&au, h);
	crdt_buf_init(&buf, h);
	crdt_buf_init(&out, h);
	crdt_version_init(&v, h);
	crdt_version_init(&vmid, h);
	crdt_version_init(&vdec, h);

	doc = create(c);
	if (!doc)
		goto out;
	STEP(doc, NULL, crdt_insert(doc, 1, 0, "hello w\xC3\xB6rld", 12));
	STEP(doc, NULL, crdt_insert(doc, 1, 5, ",", 1));
	STEP(doc, NULL, crdt_insert(doc, 2, 0, "\xF0\x9F\x98\x80 ", 5));
	/* Enough scattered edits by three agents to split leaves and grow the index. */
	for (int i = 0; i < 120; i++) {
		size_t len = crdt_len(doc);
		lcg = lcg * 1103515245u + 12345u;
		size_t pos = (lcg >> 8) % (len + 1);
		uint32_t agent = 1 + (lcg >> 4) % 3;
		if (i % 5 == 4 && len > 4) {
			size_t count = 1 + (lcg >> 16) % 3;
			if (pos + count > len)
				pos = len - count;
			STEP(doc, NULL, crdt_delete(doc, agent, pos, count));
		} else {
			const char *w = words[(lcg >> 12) % (sizeof words / sizeof words[0])];
			STEP(doc, NULL, crdt_insert(doc, agent, pos, w, strlen(w)));
		}
		if (i == 60)
			STEP(doc, NULL, crdt_doc_version(doc, &vmid));
	}
	STEP(doc, NULL, crdt_delete(doc, 3, 2, 10));
	/* In UTF-16 units; authorship and anchors read without changing anything. */
	STEP(doc, NULL, crdt_insert16(doc, 2, 3, "\xC3\xA9\xF0\x9F\x98\x80", 6));
	STEP(doc, NULL, crdt_delete16(doc, 3, 1, 2));
	STEP(doc, NULL, crdt_authors(doc, 0, SIZE_MAX, true, NULL, &au));
	STEP(doc, NULL, crdt_authors(doc, 2, 40, false, &vmid, &au));
	STEP(doc, NULL, crdt_anchor_at16(doc, 5, -1, &an));
	TU_EQ_INT(crdt_anchor_pos(doc, &an, NULL, NULL), 0);

	/* Encoders and version vectors. */
	STEP(doc, NULL, crdt_doc_version(doc, &v));
	STEP(doc, &buf, crdt_encode_since(doc, NULL, &buf));
	STEP(doc, &buf, crdt_encode_since(doc, &vmid, &buf));
	STEP(doc, &buf, crdt_encode_between(doc, &vmid, &v, &buf));
	STEP(doc, &buf, crdt_encode_doc(doc, &buf));
	STEP(doc, &buf, crdt_version_encode(&v, &buf));
	buf.len = 0;
	STEP(doc, &buf, crdt_version_encode(&vmid, &buf));
	STEP(NULL, NULL, crdt_version_decode(&vdec, buf.data, buf.len));
	TU_EQ_VERSION(&vdec, &vmid);
	STEP(NULL, NULL, crdt_version_set(&vdec, 77, 1));
	STEP(NULL, NULL, crdt_version_copy(&vdec, &v));

	/* Remote ops out of order: u3 and u2 wait for u1. */
	APPLY(doc, crdt_apply_changes(doc, in->u3.data, in->u3.len, &ch));
	APPLY(doc, crdt_apply(doc, in->u2.data, in->u2.len));
	TU_CHECK(crdt_pending(doc) > 0);
	APPLY(doc, crdt_apply_changes(doc, in->u1.data, in->u1.len, &ch));
	TU_EQ_SIZE(crdt_pending(doc), 0);
	/* A snapshot merged into a non-empty document, and one loaded into an empty one. */
	APPLY(doc, crdt_apply(doc, in->snap_other.data, in->snap_other.len));
	doc2 = create(c);
	if (!doc2)
		goto out;
	APPLY(doc2, crdt_apply(doc2, in->snap_src.data, in->snap_src.len));
	STEP(doc2, NULL, crdt_insert(doc2, 9, 1, "after load", 10));
	APPLY(doc2, crdt_apply(doc2, in->u2.data, in->u2.len)); /* duplicate */

	/* Reading the past. */
	STEP(doc, &out, crdt_text_at(doc, &vmid, &out));

	/* What a server asks of an update before merging it. */
	STEP(NULL, NULL, crdt_update_info(in->u1.data, in->u1.len, &res->info, h));

	res->text = tu_text(doc, NULL);
	res->text2 = tu_text(doc2, NULL);
	crdt_version_init(&res->ver, NULL);
	crdt_version_init(&res->ver2, NULL);
	TU_OK(crdt_doc_version(doc, &res->ver));
	TU_OK(crdt_doc_version(doc2, &res->ver2));
	res->pending = crdt_pending(doc);
	res->pending2 = crdt_pending(doc2);
	res->text_at = malloc(out.len + 1);
	TU_CHECK(res->text_at != NULL);
	if (out.len)
		memcpy(res->text_at, out.data, out.len);
	res->text_at[out.len] = 0;
out:
	crdt_doc_destroy(doc);
	crdt_doc_destroy(doc2);
	crdt_changes_finish(&ch);
	crdt_authors_finish(&au);
	crdt_buf_finish(&buf);
	crdt_buf_finish(&out);
	crdt_version_finish(&v);
	crdt_version_finish(&vmid);
	crdt_version_finish(&vdec);
}

static void make_inputs(struct inputs *in)
{
	struct crdt_doc *src = crdt_doc_create(NULL), *other = crdt_doc_create(NULL);
	struct crdt_version v0, v1, v2, v3;

	TU_CHECK(src && other);
	crdt_version_init(&v0, NULL);
	crdt_version_init(&v1, NULL);
	crdt_version_init(&v2, NULL);
	crdt_version_init(&v3, NULL);
	crdt_buf_init(&in->u1, NULL);
	crdt_buf_init(&in->u2, NULL);
	crdt_buf_init(&in->u3, NULL);
	crdt_buf_init(&in->snap_other, NULL);
	crdt_buf_init(&in->snap_src, NULL);

	TU_OK(crdt_insert(src, 50, 0, "remote \xE2\x82\xAC text", 14));
	TU_OK(crdt_doc_version(src, &v1));
	TU_OK(crdt_insert(src, 50, 7, "inner ", 6));
	TU_OK(crdt_insert(src, 50, 2, "\xF0\x9F\x98\x80", 4));
	TU_OK(crdt_doc_version(src, &v2));
	TU_OK(crdt_delete(src, 50, 4, 6));
	TU_OK(crdt_doc_version(src, &v3));
	TU_OK(crdt_encode_between(src, &v0, &v1, &in->u1));
	TU_OK(crdt_encode_between(src, &v1, &v2, &in->u2));
	TU_OK(crdt_encode_between(src, &v2, &v3, &in->u3));
	TU_OK(crdt_encode_doc(src, &in->snap_src));

	for (int i = 0; i < 40; i++)
		TU_OK(crdt_insert(other, 60 + (uint32_t)(i % 2),
				  (size_t)(i * 7) % (crdt_len(other) + 1), "\xC3\xA9z", 3));
	TU_OK(crdt_delete(other, 61, 3, 20));
	TU_OK(crdt_encode_doc(other, &in->snap_other));

	crdt_doc_destroy(src);
	crdt_doc_destroy(other);
	crdt_version_finish(&v0);
	crdt_version_finish(&v1);
	crdt_version_finish(&v2);
	crdt_version_finish(&v3);
}

static void free_inputs(struct inputs *in)
{
	crdt_buf_finish(&in->u1);
	crdt_buf_finish(&in->u2);
	crdt_buf_finish(&in->u3);
	crdt_buf_finish(&in->snap_other);
	crdt_buf_finish(&in->snap_src);
}

static void free_result(struct result *r)
{
	free(r->text);
	free(r->text2);
	free(r->text_at);
	crdt_version_finish(&r->ver);
	crdt_version_finish(&r->ver2);
	memset(r, 0, sizeof *r);
}

/*
 * A server holds hundreds of documents that each take a remote update now
 * and then: crdt_apply() must leave none of the spare nodes it reserved
 * behind (~3.7 KB a document), through leaf and inner splits, while local
 * edits keep theirs for the next keystroke.
 */
static void test_apply_keeps_no_spares(void)
{
	struct crdt_doc *src = crdt_doc_create(NULL), *dst;
	struct crdt_version seen;
	struct tu_alloc a;
	char *want, *got;

	tu_alloc_init(&a);
	dst = crdt_doc_create(&a.hook);
	TU_CHECK(src && dst);
	crdt_version_init(&seen, NULL);
	/* Single characters at scattered places: each its own run, so leaves split. */
	for (int i = 0; i < 3000; i++) {
		struct crdt_buf u;

		TU_OK(crdt_insert(src, 7, (size_t)(i * 7919) % (crdt_len(src) + 1), "x", 1));
		crdt_buf_init(&u, NULL);
		TU_OK(crdt_encode_since(src, &seen, &u));
		TU_OK(crdt_doc_version(src, &seen));
		TU_OK(crdt_apply(dst, u.data, u.len));
		crdt_buf_finish(&u);
		TU_EQ_INT(dst->nspare_leaves + dst->nspare_inners + dst->nspare_iblocks, 0);
	}
	TU_CHECK(dst->height >= 2);
	TU_CHECK_DOC(dst);
	want = tu_text(src, NULL);
	got = tu_text(dst, NULL);
	TU_EQ_STR(got, want);
	TU_OK(crdt_insert(dst, 8, 0, "y", 1));
	TU_CHECK(dst->nspare_leaves > 0 && dst->nspare_inners > 0);
	TU_CHECK_DOC(dst);
	free(want);
	free(got);
	crdt_version_finish(&seen);
	crdt_doc_destroy(src);
	crdt_doc_destroy(dst);
	TU_EQ_SIZE(a.live_bytes, 0);
	printf("test-alloc: 3000 remote updates leave no spares behind\n");
}

int main(void)
{
	struct inputs in;
	struct tu_alloc a;
	struct ctx c;
	struct result clean = { 0 }, res = { 0 };
	size_t points;

	make_inputs(&in);

	/* The clean run: how many allocation points, and the expected results. */
	tu_alloc_init(&a);
	c = (struct ctx){ .a = &a, .mode = ONCE };
	run_script(&c, &in, &clean);
	TU_EQ_SIZE(c.failures, 0);
	TU_EQ_SIZE(a.live_bytes, 0);
	TU_EQ_SIZE(a.live_blocks, 0);
	TU_CHECK(clean.text && clean.text2 && clean.text_at);
	TU_EQ_SIZE(clean.pending, 0);
	TU_EQ_SIZE(clean.pending2, 0);
	TU_EQ_SIZE(clean.info.ins_bytes, 14);
	TU_EQ_SIZE(clean.info.nauthors, 1);
	TU_EQ_INT(clean.info.authors[0], 50);
	points = a.calls;
	printf("test-alloc: clean run makes %zu allocation calls, peak %zu bytes\n", points,
	       a.peak_bytes);

	for (int mode = ONCE; mode <= REST; mode++) {
		size_t n;
		for (n = 1;; n++) {
			tu_alloc_init(&a);
			a.fail_at = n;
			a.fail_rest = mode == REST;
			c = (struct ctx){ .a = &a, .mode = (enum mode)mode };
			run_script(&c, &in, &res);
			if (a.live_bytes != 0 || a.live_blocks != 0)
				TU_FAIL("mode %s, failing allocation %zu: %zu bytes in %zu blocks "
					"leaked",
					mode == ONCE ? "once" : "rest", n, a.live_bytes,
					a.live_blocks);
			if (mode == ONCE) {
				TU_CHECK(res.text && res.text2 && res.text_at);
				TU_EQ_STR(res.text, clean.text);
				TU_EQ_STR(res.text2, clean.text2);
				TU_EQ_STR(res.text_at, clean.text_at);
				TU_EQ_VERSION(&res.ver, &clean.ver);
				TU_EQ_VERSION(&res.ver2, &clean.ver2);
				TU_EQ_SIZE(res.pending, clean.pending);
				TU_EQ_SIZE(res.pending2, clean.pending2);
				TU_EQ_SIZE(res.info.nops, clean.info.nops);
				TU_EQ_SIZE(res.info.ins_bytes, clean.info.ins_bytes);
			}
			free_result(&res);
			if (a.failed == 0)
				break;
		}
		printf("test-alloc: mode %s: %zu allocation points failed in turn, no leaks\n",
		       mode == ONCE ? "once" : "rest", n - 1);
		/* A run that never met its failure made every allocation the clean run did. */
		TU_CHECK(n - 1 >= points || mode == REST);
	}
	free_result(&clean);
	free_inputs(&in);
	test_apply_keeps_no_spares();
	printf("test-alloc: ok\n");
	return 0;
}
