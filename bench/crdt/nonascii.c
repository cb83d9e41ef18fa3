/*
 * nonascii.c - the CRDT on text that is not all ASCII, against the same text in ASCII.
 *
 * Issue 15's paste test: a 100,000-character paste with one 'é' per line
 * (about 50 characters a line), then 2,000 single-character edits at random
 * places (inserts and deletes, so the paste is cut into runs), then timed:
 * crdt_text, a local insert, a local delete, crdt_text_at (the version
 * right after the paste), and a snapshot's encoding and its load into a new
 * document.  The same is done with 'e' in place of every 'é' (the ASCII
 * twin), in the same process, alternating, and the ratio printed.  Only
 * the public API is used, so the same file measures an older crdt/ too.
 *
 * Times are wall-clock, or with --cpu the process's CPU time (what other
 * work on a shared machine inflates less).
 *
 * Usage: crdt-nonascii [--cpu] [REPEAT]   (prints one JSON line per text kind)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crdt.h"

#define PASTE 100000
#define EDITS 2000
#define OPS   2000 /* timed inserts and deletes */

static clockid_t clock_id = CLOCK_MONOTONIC;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static uint64_t rng = 88172645463325252ull;

static size_t below(size_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (size_t)(rng % n);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "crdt-nonascii: %s: %s\n", what, crdt_strerror(rc));
	exit(1);
}

struct result {
	double text_us, insert_us, delete_us, text_at_us, encode_us, load_us;
};

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

/* One run: builds the document, times each operation. */
static void run(int accent, struct result *res)
{
	struct crdt_doc *doc = crdt_doc_create(NULL), *copy;
	struct crdt_version paste;
	struct crdt_buf buf;
	char *text = malloc(PASTE * 2), *out;
	size_t n = 0, len;
	double t0;
	int rc;

	if (!doc || !text)
		die("create", CRDT_ENOMEM);
	for (size_t i = 0; i < PASTE; i++) {
		if (i % 50 == 49) {
			text[n++] = '\n';
		} else if (i % 50 == 20 && accent) {
			text[n++] = (char)0xC3;
			text[n++] = (char)0xA9;
		} else {
			text[n++] = i % 50 == 20 ? 'e' : (char)('a' + i % 26);
		}
	}
	rng = 88172645463325252ull;
	rc = crdt_insert(doc, 1, 0, text, n);
	if (rc)
		die("paste", rc);
	crdt_version_init(&paste, NULL);
	crdt_doc_version(doc, &paste);
	for (int i = 0; i < EDITS; i++) {
		len = crdt_len(doc);
		rc = i % 3 == 2 ? crdt_delete(doc, 2, below(len), 1)
				: crdt_insert(doc, 2, below(len + 1), accent ? "\xC3\xA9" : "e",
					      accent ? 2 : 1);
		if (rc)
			die("edit", rc);
	}

	out = malloc(crdt_len_bytes(doc) + PASTE);
	t0 = now_us();
	crdt_text(doc, out, crdt_len_bytes(doc));
	res->text_us = now_us() - t0;

	t0 = now_us();
	for (int i = 0; i < OPS; i++)
		if ((rc = crdt_insert(doc, 3, below(crdt_len(doc) + 1), "x", 1)))
			die("insert", rc);
	res->insert_us = (now_us() - t0) / OPS;
	t0 = now_us();
	for (int i = 0; i < OPS; i++)
		if ((rc = crdt_delete(doc, 3, below(crdt_len(doc)), 1)))
			die("delete", rc);
	res->delete_us = (now_us() - t0) / OPS;

	crdt_buf_init(&buf, NULL);
	t0 = now_us();
	if ((rc = crdt_text_at(doc, &paste, &buf)))
		die("text_at", rc);
	res->text_at_us = now_us() - t0;
	if (buf.len != n || memcmp(buf.data, text, n))
		die("text_at: wrong text", CRDT_EINVAL);

	buf.len = 0;
	t0 = now_us();
	if ((rc = crdt_encode_doc(doc, &buf)))
		die("encode", rc);
	res->encode_us = now_us() - t0;
	copy = crdt_doc_create(NULL);
	t0 = now_us();
	if (!copy || (rc = crdt_apply(copy, buf.data, buf.len)))
		die("load", rc ? rc : CRDT_ENOMEM);
	res->load_us = now_us() - t0;
	if (crdt_len_bytes(copy) != crdt_len_bytes(doc))
		die("load: wrong length", CRDT_EINVAL);

	crdt_doc_destroy(copy);
	crdt_buf_finish(&buf);
	crdt_version_finish(&paste);
	crdt_doc_destroy(doc);
	free(out);
	free(text);
}

int main(int argc, char **argv)
{
	static double v[2][6][101];
	int repeat;

	if (argc > 1 && !strcmp(argv[1], "--cpu")) {
		clock_id = CLOCK_PROCESS_CPUTIME_ID;
		argc--;
		argv++;
	}
	repeat = argc > 1 ? atoi(argv[1]) : 7;

	if (repeat < 1 || repeat > 101) {
		fprintf(stderr, "usage: crdt-nonascii [--cpu] [REPEAT 1..101]\n");
		return 2;
	}
	for (int r = 0; r < repeat; r++)
		for (int accent = 0; accent < 2; accent++) {
			struct result res;

			run(accent, &res);
			v[accent][0][r] = res.text_us;
			v[accent][1][r] = res.insert_us;
			v[accent][2][r] = res.delete_us;
			v[accent][3][r] = res.text_at_us;
			v[accent][4][r] = res.encode_us;
			v[accent][5][r] = res.load_us;
		}
	for (int accent = 0; accent < 2; accent++)
		printf("{\"text\":\"%s\",\"clock\":\"%s\",\"crdt_text_us\":%.1f,"
		       "\"insert_us\":%.3f,\"delete_us\":%.3f,\"text_at_us\":%.1f,"
		       "\"encode_us\":%.1f,\"load_us\":%.1f,\"repeat\":%d}\n",
		       accent ? "nonascii" : "ascii", clock_id == CLOCK_MONOTONIC ? "wall" : "cpu",
		       median(v[accent][0], repeat), median(v[accent][1], repeat),
		       median(v[accent][2], repeat), median(v[accent][3], repeat),
		       median(v[accent][4], repeat), median(v[accent][5], repeat), repeat);
	return 0;
}
