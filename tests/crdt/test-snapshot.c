/*
 * test-snapshot.c - the stored form of a document (crdt/snapshot.c, format 2).
 *
 *  - Every trace (both folders, and the concurrent ones) round-trips byte
 *    for byte: encode(load(x)) == x, the loaded document passes crdt__check,
 *    has the same text and version, and crdt_text_at gives the same text at
 *    random earlier versions (prefixes of the LV order, causally closed).
 *  - Format-1 snapshots written by the old encoder (tests/crdt/fixtures) load
 *    to their text, into empty and into busy documents.
 *  - Malformed format-2 input is refused with the document unchanged:
 *    hand-made snapshots with positions past the end, deletes of
 *    non-consecutive characters, bad origins, agents and counts, lying
 *    sizes, truncations, a bad LZ4 back-reference.
 *  - Loading and encoding under the allocation-failure harness: every
 *    failure is CRDT_ENOMEM, leaves the document as it was and leaks
 *    nothing.
 *
 * Usage: test-snapshot TRACES_DIR FIXTURES_DIR [--require|--optional]
 * The same binary is the native side of wasm-snapshot.mjs:
 *   test-snapshot --write TRACE OUT      the trace's snapshot into OUT
 *   test-snapshot --reencode IN OUT      IN loaded, its snapshot into OUT
 */
#include <dirent.h>
#include <sys/stat.h>

#include "testutil.h"
#include "trace.h"

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	if (!f)
		TU_FAIL("cannot open %s", path);
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		TU_FAIL("cannot size %s", path);
	p = malloc((size_t)n + 1);
	TU_CHECK(p != NULL);
	if (fread(p, 1, (size_t)n, f) != (size_t)n)
		TU_FAIL("cannot read %s", path);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		TU_FAIL("cannot write %s", path);
}

static struct crdt_doc *replay(const char *path)
{
	struct trace t;
	struct trace_error err;
	struct crdt_doc *doc;

	if (trace_load(&t, path, &err) != 0)
		TU_FAIL("%s: %s", path, err.msg);
	if (trace_replay(&t, NULL, NULL, &doc, &err) != 0)
		TU_FAIL("%s: %s", path, err.msg);
	if (!trace_check_end(&t, doc, &err))
		TU_FAIL("%s: %s", path, err.msg);
	trace_finish(&t);
	return doc;
}

/* The version of the first n LVs of doc's log (causally closed: LV order is causal). */
static void prefix_version(const struct crdt_doc *doc, crdt_lv n, struct crdt_version *v)
{
	v->len = 0;
	for (size_t i = 0; i < doc->nops && doc->ops[i].lv < n; i++) {
		const struct span *s = &doc->ops[i];
		uint32_t len = crdt__span_len(doc, s);

		if (s->lv + len > n)
			len = n - s->lv;
		TU_OK(crdt_version_set(v, doc->agents[s->agent].id, s->seq + len));
	}
}

/* Encodes doc, loads it, and checks everything a loaded document must be. */
static size_t roundtrip(const struct crdt_doc *doc, const char *name, struct tu_rng *rng)
{
	struct crdt_buf a, b, ta, tb;
	struct crdt_version v;
	struct crdt_doc *c = crdt_doc_create(NULL);
	size_t len;

	TU_CHECK(c != NULL);
	crdt_buf_init(&a, NULL);
	crdt_buf_init(&b, NULL);
	crdt_version_init(&v, NULL);
	TU_OK(crdt_encode_doc(doc, &a));
	TU_EQ_INT(a.data[0], CRDT_SNAPSHOT_VERSION);
	TU_OK(crdt_apply(c, a.data, a.len));
	TU_CHECK_DOC(c);
	TU_SAME_DOC(c, doc);
	TU_EQ_SIZE(crdt_op_count(c), crdt_op_count(doc));
	TU_OK(crdt_encode_doc(c, &b));
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		TU_FAIL("%s: encode(load(x)) differs from x (%zu vs %zu bytes)", name, b.len,
			a.len);
	for (int k = 0; k < 8; k++) {
		crdt_lv n = (crdt_lv)tu_below(rng, doc->next_lv + 1);

		prefix_version(doc, n, &v);
		crdt_buf_init(&ta, NULL);
		crdt_buf_init(&tb, NULL);
		TU_OK(crdt_text_at(doc, &v, &ta));
		TU_OK(crdt_text_at(c, &v, &tb));
		TU_EQ_MEM((const char *)tb.data, tb.len, (const char *)ta.data, ta.len);
		crdt_buf_finish(&ta);
		crdt_buf_finish(&tb);
	}
	len = a.len;
	crdt_version_finish(&v);
	crdt_buf_finish(&a);
	crdt_buf_finish(&b);
	crdt_doc_destroy(c);
	return len;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

static int test_traces(const char *root, struct tu_rng *rng)
{
	static const char *const dirs[] = { "sequential_traces", "sequential_traces/ascii_only",
					    "concurrent_traces" };
	int n = 0;

	for (size_t k = 0; k < sizeof dirs / sizeof *dirs; k++) {
		char dir[4096];
		DIR *d;
		struct dirent *e;

		snprintf(dir, sizeof dir, "%s/%s", root, dirs[k]);
		d = opendir(dir);
		if (!d)
			continue;
		while ((e = readdir(d)) != NULL) {
			char path[8192];
			struct crdt_doc *doc;
			size_t bytes;

			if (!has_suffix(e->d_name, ".json.gz") && !has_suffix(e->d_name, ".json"))
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			doc = replay(path);
			bytes = roundtrip(doc, e->d_name, rng);
			printf("test-snapshot: %s/%s: %zu ops, %zu bytes, round trip exact\n",
			       dirs[k], e->d_name, crdt_op_count(doc), bytes);
			crdt_doc_destroy(doc);
			n++;
		}
		closedir(d);
	}
	return n;
}

/* ---- format 1 ----------------------------------------------------------- */

static void test_old_format(const char *fixtures, struct tu_rng *rng)
{
	static const char *const names[] = { "v1-automerge-paper-3000", "v1-friendsforever-2000",
					     "v1-clownschool-2000", "v1-seph-blog1-2000-utf8" };

	for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
		char path[4096];
		uint8_t *snap, *text;
		size_t snap_len, text_len;
		struct crdt_doc *doc = crdt_doc_create(NULL), *busy = crdt_doc_create(NULL);

		TU_CHECK(doc && busy);
		snprintf(path, sizeof path, "%s/%s.snap", fixtures, names[k]);
		snap = read_file(path, &snap_len);
		snprintf(path, sizeof path, "%s/%s.txt", fixtures, names[k]);
		text = read_file(path, &text_len);
		TU_EQ_INT(snap[0], 1);
		TU_EQ_INT(snap[1], 'S');
		TU_OK(crdt_apply(doc, snap, snap_len));
		TU_CHECK_DOC(doc);
		TU_EQ_TEXT(doc, (const char *)text, text_len);
		/* Into a busy document it merges. */
		TU_OK(crdt_insert(busy, 424242, 0, "x", 1));
		TU_OK(crdt_apply(busy, snap, snap_len));
		TU_CHECK_DOC(busy);
		TU_EQ_SIZE(crdt_len(busy), crdt_len(doc) + 1);
		/* And what it loads to is written again in format 2, exactly. */
		roundtrip(doc, names[k], rng);
		printf("test-snapshot: format-1 %s: %zu bytes load to their text\n", names[k],
		       snap_len);
		free(snap);
		free(text);
		crdt_doc_destroy(doc);
		crdt_doc_destroy(busy);
	}
}

/*
 * What an editor hears when a snapshot loads: into an empty document, the
 * change list is the whole text inserted; the observer hears it too.
 */
struct heard {
	char buf[16384];
	size_t len, pos;
};

static void hear(void *ud, size_t pos, size_t del, const char *ins, size_t ins_len)
{
	struct heard *h = ud;

	TU_EQ_SIZE(del, 0);
	TU_EQ_SIZE(pos, h->pos);
	TU_CHECK(h->len + ins_len <= sizeof h->buf);
	memcpy(h->buf + h->len, ins, ins_len);
	h->len += ins_len;
	h->pos += crdt_utf16_to_cp(ins, ins_len, SIZE_MAX);
}

static void test_changes(const char *fixtures)
{
	char path[4096];
	size_t n, tlen;
	uint8_t *v1;
	char *text;
	struct crdt_buf snap;
	struct crdt_changes ch;
	struct heard heard = { .len = 0 };
	struct crdt_doc *src = crdt_doc_create(NULL), *doc = crdt_doc_create(NULL);

	TU_CHECK(src && doc);
	snprintf(path, sizeof path, "%s/v1-seph-blog1-2000-utf8.snap", fixtures);
	v1 = read_file(path, &n);
	TU_OK(crdt_apply(src, v1, n));
	crdt_buf_init(&snap, NULL);
	TU_OK(crdt_encode_doc(src, &snap));
	text = tu_text(src, &tlen);
	crdt_changes_init(&ch, NULL);
	crdt_doc_observe(doc, hear, &heard);
	TU_OK(crdt_apply_changes(doc, snap.data, snap.len, &ch));
	TU_CHECK_DOC(doc);
	TU_EQ_MEM((const char *)ch.text.data, ch.text.len, text, tlen);
	for (size_t i = 0; i < ch.len; i++)
		TU_EQ_SIZE(ch.v[i].to, ch.v[i].from);
	TU_EQ_MEM(heard.buf, heard.len, text, tlen);
	printf("test-snapshot: loading into an empty document reports its %zu bytes of text "
	       "(%zu changes)\n",
	       tlen, ch.len);
	crdt_changes_finish(&ch);
	crdt_buf_finish(&snap);
	free(text);
	free(v1);
	crdt_doc_destroy(src);
	crdt_doc_destroy(doc);
}

/*
 * crdt_update_info reads a snapshot's counts without building it: a
 * megabyte of text in a few kilobytes of LZ4 is reported, not allocated.
 */
static void test_info(void)
{
	struct crdt_doc *doc = crdt_doc_create(NULL);
	struct crdt_update_info info;
	struct crdt_buf b;
	struct tu_alloc a;
	char *big = malloc(1000000);

	TU_CHECK(doc && big);
	memset(big, 'a', 1000000);
	TU_OK(crdt_insert(doc, 8, 0, big, 1000000));
	TU_OK(crdt_delete(doc, 9, 10, 20));
	crdt_buf_init(&b, NULL);
	TU_OK(crdt_encode_doc(doc, &b));
	TU_CHECK(b.len < 10000);
	tu_alloc_init(&a);
	TU_OK(crdt_update_info(b.data, b.len, &info, &a.hook));
	TU_EQ_SIZE(info.ins_bytes, 1000000);
	TU_EQ_SIZE(info.del_count, 20);
	TU_EQ_SIZE(info.nauthors, 2);
	TU_CHECK(info.authors[0] == 8 && info.authors[1] == 9);
	TU_CHECK(a.peak_bytes < 1024);
	TU_EQ_SIZE(a.live_bytes, 0);
	printf("test-snapshot: the info of a %zu-byte snapshot of 1 MB of text took %zu bytes\n",
	       b.len, a.peak_bytes);
	crdt_buf_finish(&b);
	free(big);
	crdt_doc_destroy(doc);
}

/* ---- malformed input ---------------------------------------------------- */

/* A hand-made snapshot: header fields, then columns, each given as bytes. */
struct hand {
	uint8_t b[256];
	size_t n;
};

static void put(struct hand *h, const uint8_t *p, size_t n)
{
	TU_CHECK(h->n + n <= sizeof h->b);
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

#define BYTES(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

/*
 * agents {7, 9}; nspans, nlv; the agent column, the op column and the raw
 * text "abcd" (4 bytes), each with its size.
 */
static struct hand make(uint8_t nspans, uint8_t nlv, const uint8_t *acol, size_t an,
			const uint8_t *ocol, size_t on)
{
	struct hand h = { .n = 0 };

	put(&h, BYTES(CRDT_SNAPSHOT_VERSION, 'S', 2, 7, 9, nspans, nlv, 4, (uint8_t)an));
	put(&h, acol, an);
	put(&h, BYTES((uint8_t)on));
	put(&h, ocol, on);
	put(&h, BYTES(0, 'a', 'b', 'c', 'd'));
	return h;
}

/* Applies h to a copy of base (NULL: an empty document) and expects err, base unchanged. */
static void refused(const struct hand *h, int err, const char *what)
{
	struct crdt_doc *docs[2] = { crdt_doc_create(NULL), crdt_doc_create(NULL) };
	struct crdt_update_info info;

	TU_CHECK(docs[0] && docs[1]);
	TU_OK(crdt_insert(docs[1], 5, 0, "zz", 2));
	for (int k = 0; k < 2; k++) {
		struct tu_state st;
		int rc;

		tu_state_save(&st, docs[k]);
		rc = crdt_apply(docs[k], h->b, h->n);
		if (rc != err)
			TU_FAIL("%s: crdt_apply returned %d, expected %d", what, rc, err);
		TU_CHECK_DOC(docs[k]);
		TU_SAME_STATE(&st, docs[k]);
		tu_state_finish(&st);
	}
	/* The inspector reads headers and columns only: it refuses alike, or leaves it to the load.
	 */
	{
		int irc = crdt_update_info(h->b, h->n, &info, NULL);

		if (irc != err && irc != 0)
			TU_FAIL("%s: crdt_update_info returned %d, expected %d or 0", what, irc,
				err);
	}
	crdt_doc_destroy(docs[0]);
	crdt_doc_destroy(docs[1]);
}

static void accepted(const struct hand *h, const char *want)
{
	struct crdt_doc *doc = crdt_doc_create(NULL);

	TU_CHECK(doc != NULL);
	TU_OK(crdt_apply(doc, h->b, h->n));
	TU_CHECK_DOC(doc);
	TU_EQ_TEXT(doc, want, strlen(want));
	crdt_doc_destroy(doc);
}

static void test_malformed(void)
{
	struct hand h;
	struct crdt_doc *doc;
	struct crdt_buf b;

	/* Agent 7 types "abcd" (head 4*8 = 32), then agent 9 backspaces "cd" (2*8+2*2 = 20). */
	h = make(2, 6, BYTES(0, 1, 1, 1), BYTES(32, 20));
	accepted(&h, "ab");
	/* "ab" at 0, "cd" at 0 in front of them: a jump (1) of -2 (zigzag 3). */
	h = make(2, 4, BYTES(0, 2), BYTES(16, 16 + 1, 3));
	accepted(&h, "cdab");

	/* Positions past the end: an insert, a delete. */
	h = make(2, 4, BYTES(0, 2), BYTES(16, 16 + 1, 4));
	refused(&h, CRDT_EDECODE, "insert past the end");
	h = make(1, 4, BYTES(0, 1), BYTES(32 + 1, 1));
	refused(&h, CRDT_EDECODE, "insert before the start");
	h = make(2, 7, BYTES(0, 1, 1, 1), BYTES(32, 3 * 8 + 2 + 1, 2));
	refused(&h, CRDT_EDECODE, "delete past the end");
	/* A delete of characters that are not LV-consecutive ("cd" typed before "ab"). */
	h = make(3, 6, BYTES(0, 2, 1, 1), BYTES(16, 16 + 1, 3, 2 * 8 + 4));
	accepted(&h, "ab");
	h = make(3, 6, BYTES(0, 2, 1, 1), BYTES(16, 16 + 1, 3, 2 * 8 + 4 + 1, 2));
	refused(&h, CRDT_EDECODE, "delete across non-consecutive characters");
	/* Escapes: origins past the span's own LV, and a delete given as an origin. */
	h = make(2, 4, BYTES(0, 2), BYTES(16, 16 + 6, 0, 3, 0));
	refused(&h, CRDT_EDECODE, "origin after the insert");
	h = make(3, 5, BYTES(0, 3), BYTES(16, 8 + 2 + 1, 1, 16 + 6, 0, 1, 0));
	refused(&h, CRDT_EDECODE, "a delete as an origin");
	h = make(2, 4, BYTES(0, 2), BYTES(16, 16 + 6, 0, 1, 0));
	accepted(&h, "abcd");
	/* Unknown escapes, a jump on an escape, pieces that do not add up. */
	h = make(2, 4, BYTES(0, 2), BYTES(16, 16 + 6, 7));
	refused(&h, CRDT_EDECODE, "unknown escape");
	h = make(2, 4, BYTES(0, 2), BYTES(16, 16 + 7, 0, 0, 0, 0));
	refused(&h, CRDT_EDECODE, "jump on an escape");
	h = make(2, 6, BYTES(0, 1, 1, 1), BYTES(32, 16 + 6, 1, 2, 1, 7, 2, 0));
	refused(&h, CRDT_EDECODE, "pieces longer than their delete");
	h = make(2, 6, BYTES(0, 1, 1, 1), BYTES(32, 16 + 6, 1, 1, 2, 0));
	refused(&h, CRDT_EDECODE, "a single piece");
	/* Agents: an index past the table, a run of no spans, a column too short or long. */
	h = make(1, 4, BYTES(2, 1), BYTES(32));
	refused(&h, CRDT_EDECODE, "agent index past the table");
	h = make(1, 4, BYTES(0, 0, 0, 1), BYTES(32));
	refused(&h, CRDT_EDECODE, "agent run of nothing");
	h = make(2, 4, BYTES(0, 1), BYTES(16, 16));
	refused(&h, CRDT_ETRUNCATED, "agent column short");
	h = make(1, 4, BYTES(0, 2), BYTES(32));
	refused(&h, CRDT_EDECODE, "agent column long");
	/* Lying counts: spans, LVs, text. */
	h = make(2, 4, BYTES(0, 1), BYTES(32));
	refused(&h, CRDT_EDECODE, "more spans than the column holds");
	h = make(1, 5, BYTES(0, 1), BYTES(32));
	refused(&h, CRDT_EDECODE, "more LVs than the spans make");
	h = make(1, 3, BYTES(0, 1), BYTES(32));
	refused(&h, CRDT_EDECODE, "fewer LVs than the spans make");
	h = make(1, 3, BYTES(0, 1), BYTES(24));
	refused(&h, CRDT_EDECODE, "text left over");
	h = make(1, 5, BYTES(0, 1), BYTES(40));
	refused(&h, CRDT_EDECODE, "text too short");
	h = make(1, 4, BYTES(0, 1), BYTES(32));
	h.b[7] = 0x85; /* the text's size as a varint that never ends */
	refused(&h, CRDT_EDECODE, "bad text size");

	/* The text column: LZ4 with a back-reference before its start, and a lying size. */
	{
		static const uint8_t good[] = { 0x40, 'a', 'b', 'c', 'd' };
		static const uint8_t bad[] = { 0x11, 'a', 0x02, 0x00, 0x00 };

		h = make(1, 4, BYTES(0, 1), BYTES(32));
		h.n -= 5;
		put(&h, BYTES(1, sizeof good));
		put(&h, good, sizeof good);
		accepted(&h, "abcd");
		h.n -= sizeof good + 2;
		put(&h, BYTES(1, sizeof bad));
		put(&h, bad, sizeof bad);
		refused(&h, CRDT_EDECODE, "LZ4 offset before the start");
		/* 4 bytes cannot come out of a block of 0 bytes: refused before allocating. */
		h.n -= sizeof bad + 2;
		put(&h, BYTES(1, 0));
		refused(&h, CRDT_EDECODE, "LZ4 size beyond any block");
		h.n -= 2;
		put(&h, BYTES(2, 0));
		refused(&h, CRDT_EDECODE, "unknown text mode");
	}
	/* Invalid UTF-8 in the text. */
	h = make(1, 4, BYTES(0, 1), BYTES(32));
	h.b[h.n - 1] = 0xff;
	refused(&h, CRDT_EDECODE, "invalid UTF-8");

	/* Every truncation of a real snapshot. */
	doc = crdt_doc_create(NULL);
	TU_CHECK(doc != NULL);
	{
		static const char hello[] = "hello \xF0\x9F\x98\x80 world, hello again world";

		TU_OK(crdt_insert(doc, 3, 0, hello, sizeof hello - 1));
	}
	TU_OK(crdt_delete(doc, 3, 2, 5));
	TU_OK(crdt_insert(doc, 4, 1, "\xC3\xA9t\xC3\xA9", 5));
	crdt_buf_init(&b, NULL);
	TU_OK(crdt_encode_doc(doc, &b));
	for (size_t n = 0; n < b.len; n++) {
		struct hand t = { .n = 0 };
		int rc;
		struct crdt_doc *e = crdt_doc_create(NULL);

		TU_CHECK(e != NULL && b.len <= sizeof t.b);
		put(&t, b.data, n);
		rc = crdt_apply(e, t.b, t.n);
		if (rc != CRDT_EDECODE && rc != CRDT_ETRUNCATED && rc != CRDT_EFORMAT)
			TU_FAIL("prefix of %zu bytes: %d", n, rc);
		TU_EQ_SIZE(crdt_op_count(e), 0);
		crdt_doc_destroy(e);
	}
	crdt_buf_finish(&b);
	crdt_doc_destroy(doc);
	printf("test-snapshot: malformed format-2 input refused, documents unchanged\n");
}

/* ---- allocation failures ------------------------------------------------ */

static void test_alloc(const char *fixtures)
{
	char path[4096];
	size_t v1_len, failures = 0;
	uint8_t *v1;
	struct crdt_buf snap;
	struct crdt_doc *src = crdt_doc_create(NULL);

	snprintf(path, sizeof path, "%s/v1-friendsforever-2000.snap", fixtures);
	v1 = read_file(path, &v1_len);
	TU_CHECK(src != NULL);
	TU_OK(crdt_apply(src, v1, v1_len));
	crdt_buf_init(&snap, NULL);
	TU_OK(crdt_encode_doc(src, &snap));

	for (size_t n = 1;; n++) {
		struct tu_alloc a;
		struct crdt_doc *doc, *busy;
		struct crdt_buf out;
		int rc, done = 1;

		tu_alloc_init(&a);
		doc = crdt_doc_create(&a.hook);
		busy = crdt_doc_create(&a.hook);
		TU_CHECK(doc && busy);
		TU_OK(crdt_insert(busy, 77, 0, "q", 1));
		a.fail_at = a.calls + n;
		/* Into an empty document: all or nothing. */
		rc = crdt_apply(doc, snap.data, snap.len);
		TU_CHECK(rc == 0 || rc == CRDT_ENOMEM);
		TU_CHECK_DOC(doc);
		if (rc)
			TU_EQ_SIZE(crdt_op_count(doc), 0);
		else
			TU_SAME_DOC(doc, src);
		done &= rc == 0;
		/* Into a busy one: consistent, and the same bytes again complete it. */
		rc = crdt_apply(busy, snap.data, snap.len);
		TU_CHECK(rc == 0 || rc == CRDT_ENOMEM);
		TU_CHECK_DOC(busy);
		done &= rc == 0;
		/* Encoding: nothing written on failure. */
		crdt_buf_init(&out, &a.hook);
		rc = crdt_encode_doc(src, &out);
		TU_CHECK(rc == 0 || rc == CRDT_ENOMEM);
		TU_CHECK(rc == 0 || out.len == 0);
		done &= rc == 0;
		crdt_buf_finish(&out);
		a.fail_at = 0;
		TU_OK(crdt_apply(busy, snap.data, snap.len));
		TU_EQ_SIZE(crdt_op_count(busy), crdt_op_count(src) + 1);
		crdt_doc_destroy(doc);
		crdt_doc_destroy(busy);
		TU_EQ_SIZE(a.live_bytes, 0);
		TU_EQ_SIZE(a.live_blocks, 0);
		if (a.failed == 0 && done)
			break;
		failures++;
	}
	printf("test-snapshot: %zu allocation failures in load and encode, each clean\n", failures);
	free(v1);
	crdt_buf_finish(&snap);
	crdt_doc_destroy(src);
}

/* ---- the native side of wasm-snapshot.mjs ------------------------------- */

static int tool(int argc, char **argv)
{
	struct crdt_buf out;
	struct crdt_doc *doc;

	crdt_buf_init(&out, NULL);
	if (argc == 4 && strcmp(argv[1], "--write") == 0) {
		doc = replay(argv[2]);
	} else if (argc == 4 && strcmp(argv[1], "--reencode") == 0) {
		size_t n;
		uint8_t *in = read_file(argv[2], &n);

		doc = crdt_doc_create(NULL);
		TU_CHECK(doc != NULL);
		TU_OK(crdt_apply(doc, in, n));
		TU_CHECK_DOC(doc);
		free(in);
	} else {
		fprintf(stderr, "usage: test-snapshot --write TRACE OUT | --reencode IN OUT\n");
		return 2;
	}
	TU_OK(crdt_encode_doc(doc, &out));
	write_file(argv[3], out.data, out.len);
	crdt_buf_finish(&out);
	crdt_doc_destroy(doc);
	return 0;
}

int main(int argc, char **argv)
{
	struct tu_rng rng;
	struct stat st;
	int n;

	if (argc > 1 && strncmp(argv[1], "--", 2) == 0)
		return tool(argc, argv);
	if (argc < 3) {
		fprintf(stderr, "usage: test-snapshot TRACES_DIR FIXTURES_DIR [--require]\n");
		return 2;
	}
	tu_rng_init(&rng, tu_seed("test-snapshot"));
	test_malformed();
	test_old_format(argv[2], &rng);
	test_changes(argv[2]);
	test_info();
	test_alloc(argv[2]);
	if (stat(argv[1], &st) != 0) {
		if (argc > 3 && strcmp(argv[3], "--require") == 0)
			TU_FAIL("no traces folder at %s", argv[1]);
		printf("test-snapshot: no traces at %s; skipping them\n", argv[1]);
		return 77;
	}
	n = test_traces(argv[1], &rng);
	TU_CHECK(n > 0);
	printf("test-snapshot: ok (%d traces)\n", n);
	return 0;
}
