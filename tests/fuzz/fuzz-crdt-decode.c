/*
 * fuzz-crdt-decode.c - libFuzzer target for every decoder in crdt/.
 *
 * Whatever bytes a client sends reach crdt_apply() and
 * crdt_version_decode(), so they must never crash, never leave a document
 * inconsistent, and, when they refuse input, leave the document exactly as
 * it was.  The input is fed to an empty document, to a document with
 * history from two agents (so that mutated inputs can refer to operations
 * it knows), to an empty document whose allocator fails once, to
 * crdt_update_info() and to the version decoder.  It goes in through
 * crdt_apply_changes(), whose change list must turn the text before into
 * the text after (and be empty when the input is refused).  Accepted
 * input must also survive a snapshot round trip and be idempotent.  Any
 * broken expectation calls abort(), which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt.h"
#include "crdt-internal.h"
#include "fuzz.h"

/* What a caller can observe of a document. */
struct state {
	char *text;
	size_t len;
	struct crdt_version ver;
	size_t pending;
};

static void save(struct state *s, const struct crdt_doc *doc)
{
	s->len = crdt_text(doc, NULL, 0);
	s->text = malloc(s->len + 1);
	REQUIRE(s->text != NULL);
	REQUIRE(crdt_text(doc, s->text, s->len) == s->len);
	crdt_version_init(&s->ver, NULL);
	REQUIRE(crdt_doc_version(doc, &s->ver) == 0);
	s->pending = crdt_pending(doc);
}

static bool same(const struct state *a, const struct state *b)
{
	if (a->len != b->len || memcmp(a->text, b->text, a->len) != 0)
		return false;
	if (a->pending != b->pending || a->ver.len != b->ver.len)
		return false;
	for (size_t i = 0; i < a->ver.len; i++)
		if (a->ver.v[i].agent != b->ver.v[i].agent || a->ver.v[i].next != b->ver.v[i].next)
			return false;
	return true;
}

static void finish(struct state *s)
{
	free(s->text);
	crdt_version_finish(&s->ver);
}

/* A document with concurrent history by agents 1 and 2. */
static struct crdt_doc *content_doc(void)
{
	struct crdt_doc *a = crdt_doc_create(NULL), *b = crdt_doc_create(NULL);
	struct crdt_buf u;

	REQUIRE(a && b);
	crdt_buf_init(&u, NULL);
	REQUIRE(crdt_insert(a, 1, 0, "hello world", 11) == 0);
	REQUIRE(crdt_encode_since(a, NULL, &u) == 0);
	REQUIRE(crdt_apply(b, u.data, u.len) == 0);
	REQUIRE(crdt_insert(a, 1, 5, ", \xC3\xA9\xF0\x9F\x98\x80", 8) == 0);
	REQUIRE(crdt_delete(a, 1, 0, 2) == 0);
	REQUIRE(crdt_insert(b, 2, 6, "\xE2\x82\xAC\xE2\x82\xAC", 6) == 0);
	REQUIRE(crdt_delete(b, 2, 8, 3) == 0);
	u.len = 0;
	REQUIRE(crdt_encode_since(b, NULL, &u) == 0);
	REQUIRE(crdt_apply(a, u.data, u.len) == 0);
	crdt_buf_finish(&u);
	crdt_doc_destroy(b);
	REQUIRE(crdt__check(a) == 0);
	return a;
}

/* The change list applied to the old text (code points to bytes) gives the new one. */
static void check_changes(const struct crdt_changes *ch, const struct state *before,
			  const struct state *after)
{
	char *out = malloc(before->len + ch->text.len + 1);
	size_t n = 0, at = 0, atb = 0;

	REQUIRE(out != NULL);
	for (size_t i = 0; i < ch->len; i++) {
		const struct crdt_change *c = &ch->v[i];
		size_t fb, tb;

		REQUIRE(c->from >= at && c->to >= c->from && c->from16 >= c->from);
		fb = atb + crdt_cp_to_byte(before->text + atb, before->len - atb, c->from - at);
		tb = fb + crdt_cp_to_byte(before->text + fb, before->len - fb, c->to - c->from);
		REQUIRE(tb <= before->len);
		memcpy(out + n, before->text + atb, fb - atb);
		n += fb - atb;
		if (c->ins_len)
			memcpy(out + n, ch->text.data + c->ins, c->ins_len);
		n += c->ins_len;
		at = c->to;
		atb = tb;
	}
	memcpy(out + n, before->text + atb, before->len - atb);
	n += before->len - atb;
	REQUIRE(n == after->len && memcmp(out, after->text, n) == 0);
	free(out);
}

/* Returns what crdt_apply returned. */
static int feed(struct crdt_doc *doc, const uint8_t *data, size_t size)
{
	struct state before, after;
	struct crdt_changes ch;
	int rc;

	save(&before, doc);
	crdt_changes_init(&ch, NULL);
	rc = crdt_apply_changes(doc, data, size, &ch);
	REQUIRE(crdt__check(doc) == 0);
	save(&after, doc);
	check_changes(&ch, &before, &after);
	crdt_changes_finish(&ch);
	if (rc != 0) {
		REQUIRE(rc < 0 && rc != CRDT_ENOMEM);
		REQUIRE(same(&before, &after));
	} else {
		/* Idempotent: the same bytes again change nothing. */
		struct state again;
		REQUIRE(crdt_apply(doc, data, size) == 0);
		REQUIRE(crdt__check(doc) == 0);
		save(&again, doc);
		REQUIRE(same(&after, &again));
		finish(&again);

		/* What was accepted survives a snapshot round trip. */
		struct crdt_buf snap;
		struct crdt_doc *copy = crdt_doc_create(NULL);
		struct state loaded;
		REQUIRE(copy != NULL);
		crdt_buf_init(&snap, NULL);
		REQUIRE(crdt_encode_doc(doc, &snap) == 0);
		REQUIRE(crdt_apply(copy, snap.data, snap.len) == 0);
		REQUIRE(crdt__check(copy) == 0);
		save(&loaded, copy);
		loaded.pending = after.pending; /* pending ops are not part of a snapshot */
		REQUIRE(same(&after, &loaded));
		finish(&loaded);
		crdt_buf_finish(&snap);
		crdt_doc_destroy(copy);
	}
	finish(&before);
	finish(&after);
	return rc;
}

/*
 * An allocator that fails its Nth allocation: accepted input must then give
 * CRDT_ENOMEM or success, and leave a consistent document (an empty one
 * untouched: a snapshot loads all or nothing).
 */
struct failing {
	struct crdt_allocator hook;
	size_t calls, fail_at;
};

static void *failing_realloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	struct failing *f = ud;

	(void)old_size;
	if (new_size == 0) {
		free(ptr);
		return NULL;
	}
	if (++f->calls == f->fail_at)
		return NULL;
	return realloc(ptr, new_size);
}

static void feed_failing(const uint8_t *data, size_t size)
{
	struct failing f = { { failing_realloc, NULL }, 0, 0 };
	struct crdt_doc *doc;
	int rc;

	f.hook.ud = &f;
	/* Which allocation fails comes from the input, so the fuzzer can steer it. */
	f.fail_at = 1 + (size ? data[size - 1] % 97 : 0);
	doc = crdt_doc_create(&f.hook);
	if (!doc)
		return;
	rc = crdt_apply(doc, data, size);
	REQUIRE(rc <= 0);
	REQUIRE(crdt__check(doc) == 0);
	if (rc == CRDT_ENOMEM)
		REQUIRE(crdt_op_count(doc) == 0 || data[0] != CRDT_SNAPSHOT_VERSION);
	crdt_doc_destroy(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crdt_doc *doc;
	struct crdt_version ver;
	int rc;

	doc = crdt_doc_create(NULL);
	REQUIRE(doc != NULL);
	rc = feed(doc, data, size);
	crdt_doc_destroy(doc);

	/* The inspector validates as crdt_apply does: never refuses what it took. */
	struct crdt_update_info info;
	int irc = crdt_update_info(data, size, &info, NULL);
	REQUIRE(irc <= 0 && irc != CRDT_ENOMEM);
	REQUIRE(rc != 0 || irc == 0);
	REQUIRE(irc != 0 || info.nauthors <= 9);

	doc = content_doc();
	feed(doc, data, size);
	crdt_doc_destroy(doc);

	feed_failing(data, size);

	crdt_version_init(&ver, NULL);
	REQUIRE(crdt_version_set(&ver, 5, 5) == 0);
	rc = crdt_version_decode(&ver, data, size);
	if (rc == 0) {
		for (size_t i = 0; i < ver.len; i++) {
			REQUIRE(ver.v[i].next != 0);
			REQUIRE(i == 0 || ver.v[i - 1].agent < ver.v[i].agent);
		}
	} else {
		REQUIRE(rc < 0);
		REQUIRE(ver.len == 1 && ver.v[0].agent == 5 && ver.v[0].next == 5);
	}
	crdt_version_finish(&ver);
	return 0;
}
