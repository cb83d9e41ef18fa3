/*
 * tandem-trace - replays an editing trace through crdt/ and measures it.
 *
 * This is the command the benchmark (bench/crdt/run.mjs) and people use to
 * check the CRDT's speed and size on real editing histories.  It prints one
 * JSON line per run so that a script can parse it, or with --text the final
 * document.  Everything it measures is measured the way a user would meet it:
 * apply_ms is a full replay, merge_ms is a server merging the whole history
 * into an empty document, load_ms is decoding a snapshot, encode_ms is
 * writing one (what a server does at every save), mem_bytes is what
 * the document holds afterwards as counted by its allocation hook.  It
 * exits non-zero when the result is wrong, so it doubles as a check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "crdt-internal.h"
#include "crdt.h"
#include "trace.h"

/*
 * A counting allocator: every byte a document holds passes through the
 * crdt_allocator hook, so live is exactly the document's footprint (the
 * libc allocator's own per-block overhead excluded).
 */
struct counter {
	size_t live;
	size_t peak;
};

static void *count_realloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	struct counter *c = ud;
	void *p;

	if (new_size == 0) {
		free(ptr);
		c->live -= old_size;
		return NULL;
	}
	p = realloc(ptr, new_size);
	if (p == NULL)
		return NULL;
	c->live = c->live - old_size + new_size;
	if (c->live > c->peak)
		c->peak = c->live;
	return p;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(FILE *f)
{
	fputs("usage: tandem-trace [--repeat N] [--text] FILE.json[.gz]\n"
	      "\n"
	      "Replays a sequential or concurrent editing trace through the Tandem CRDT and\n"
	      "prints one JSON line: trace, kind, ops, final_len, ok, apply_ms (median of N\n"
	      "replays), merge_ms (the full history applied as one update to a fresh doc),\n"
	      "encoded_bytes, encoded_gz_bytes (zlib level 6), load_ms (snapshot into a\n"
	      "fresh doc), encode_ms (writing the snapshot), mem_bytes (held by the doc\n"
	      "after the trace), runs, plus\n"
	      "snapshot_ok/merge_ok (those round trips give the same text).\n"
	      "\n"
	      "  --repeat N   replay N times and report medians (default 1)\n"
	      "  --text       print the final text (UTF-8) instead of the JSON line\n"
	      "  --help       this message\n"
	      "\n"
	      "Exit status: 0 when the text matches endContent (or there is none), 1 when it\n"
	      "does not, 2 on bad usage or a malformed file.\n",
	      f);
}

/* Prints s as a JSON string. */
static void put_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Reads doc's text into a malloc'ed buffer; *len gets its byte length. */
static char *doc_text(const struct crdt_doc *doc, size_t *len)
{
	char *s;

	*len = crdt_text(doc, NULL, 0);
	s = malloc(*len + 1);
	if (s != NULL)
		crdt_text(doc, s, *len);
	return s;
}

/*
 * Applies update (len bytes) into fresh documents repeat times; returns the
 * median time and sets *same when the result's text equals want.
 */
static int time_apply(const uint8_t *data, size_t len, int repeat, const char *want,
		      size_t want_len, double *ms, bool *same)
{
	double *t = calloc((size_t)repeat, sizeof(*t));
	int rc = 0;

	if (t == NULL)
		return CRDT_ENOMEM;
	*same = true;
	for (int r = 0; r < repeat; r++) {
		struct crdt_doc *d = crdt_doc_create(NULL);
		double t0;

		if (d == NULL) {
			rc = CRDT_ENOMEM;
			break;
		}
		t0 = now_ms();
		rc = crdt_apply(d, data, len);
		t[r] = now_ms() - t0;
		if (rc == 0 && r == 0) {
			size_t n;
			char *s = doc_text(d, &n);

			*same = s != NULL && n == want_len && memcmp(s, want, n) == 0 &&
				crdt_pending(d) == 0;
			free(s);
		}
		crdt_doc_destroy(d);
		if (rc < 0)
			break;
	}
	if (rc == 0)
		*ms = median(t, repeat);
	free(t);
	return rc;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int repeat = 1;
	bool text_mode = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--text")) {
			text_mode = true;
		} else if (!strcmp(argv[i], "--repeat") || !strncmp(argv[i], "--repeat=", 9)) {
			const char *v =
				argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[++i] : "");
			char *end;
			long n = strtol(v, &end, 10);

			if (*v == '\0' || *end != '\0' || n < 1 || n > 10000) {
				fprintf(stderr, "tandem-trace: --repeat needs a number 1..10000\n");
				return 2;
			}
			repeat = (int)n;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "tandem-trace: unknown option %s (try --help)\n", argv[i]);
			return 2;
		} else if (path == NULL) {
			path = argv[i];
		} else {
			fprintf(stderr, "tandem-trace: only one FILE, please (try --help)\n");
			return 2;
		}
	}
	if (path == NULL) {
		usage(stderr);
		return 2;
	}

	struct trace t;
	struct trace_error err = { { 0 } };
	struct counter count = { 0, 0 };
	struct crdt_allocator alloc = { count_realloc, &count };
	struct crdt_doc *doc = NULL;
	uint32_t *order = NULL;
	double *times = NULL;
	struct crdt_buf snap, upd;
	int status = 2, rc;

	crdt_buf_init(&snap, NULL);
	crdt_buf_init(&upd, NULL);
	rc = trace_load(&t, path, &err);
	if (rc < 0) {
		fprintf(stderr, "tandem-trace: %s\n", err.msg);
		return 2;
	}
	if (t.kind == TRACE_CONCURRENT) {
		order = malloc(t.ntxns * sizeof(*order));
		if (order == NULL || trace_topo_order(&t, order, NULL, &err) < 0) {
			fprintf(stderr, "tandem-trace: %s\n", order ? err.msg : "out of memory");
			goto out;
		}
	}
	if (text_mode)
		repeat = 1;
	times = calloc((size_t)repeat, sizeof(*times));
	if (times == NULL) {
		fprintf(stderr, "tandem-trace: out of memory\n");
		goto out;
	}
	for (int r = 0; r < repeat; r++) {
		double t0;

		crdt_doc_destroy(doc);
		doc = NULL;
		t0 = now_ms();
		rc = trace_replay(&t, order, &alloc, &doc, &err);
		times[r] = now_ms() - t0;
		if (rc < 0) {
			fprintf(stderr, "tandem-trace: %s\n", err.msg);
			goto out;
		}
	}

	bool ok = trace_check_end(&t, doc, &err);

	if (!ok)
		fprintf(stderr, "tandem-trace: %s\n", err.msg);
	if (text_mode) {
		size_t n;
		char *s = doc_text(doc, &n);

		if (s == NULL || fwrite(s, 1, n, stdout) != n) {
			fprintf(stderr, "tandem-trace: cannot write the text\n");
			free(s);
			goto out;
		}
		free(s);
		status = ok ? 0 : 1;
		goto out;
	}

	size_t text_len;
	char *text = doc_text(doc, &text_len);
	double apply_ms = median(times, repeat), merge_ms = 0, load_ms = 0, encode_ms = 0;
	bool merge_ok = false, snap_ok = false;
	uLongf gz_len;
	Bytef *gz;

	if (text == NULL) {
		fprintf(stderr, "tandem-trace: out of memory\n");
		goto out;
	}
	if ((rc = crdt_encode_doc(doc, &snap)) < 0 ||
	    (rc = crdt_encode_since(doc, NULL, &upd)) < 0 ||
	    (rc = time_apply(upd.data, upd.len, repeat, text, text_len, &merge_ms, &merge_ok)) <
		    0 ||
	    (rc = time_apply(snap.data, snap.len, repeat, text, text_len, &load_ms, &snap_ok)) <
		    0) {
		fprintf(stderr, "tandem-trace: %s: encode/apply round trip: %s\n", t.name,
			crdt_strerror(rc));
		free(text);
		goto out;
	}
	free(text);
	/* Encoding the snapshot (what a server does at every save), timed alone. */
	for (int i = 0; i < repeat; i++) {
		struct crdt_buf again;
		double t0 = now_ms();

		crdt_buf_init(&again, NULL);
		rc = crdt_encode_doc(doc, &again);
		times[i] = now_ms() - t0;
		crdt_buf_finish(&again);
		if (rc < 0) {
			fprintf(stderr, "tandem-trace: %s: encode: %s\n", t.name,
				crdt_strerror(rc));
			goto out;
		}
	}
	encode_ms = median(times, repeat);
	gz_len = compressBound((uLong)snap.len);
	gz = malloc(gz_len);
	if (gz == NULL || compress2(gz, &gz_len, snap.data, (uLong)snap.len, 6) != Z_OK) {
		fprintf(stderr, "tandem-trace: zlib failed\n");
		free(gz);
		goto out;
	}
	free(gz);
	if (!merge_ok)
		fprintf(stderr, "tandem-trace: %s: the full-history update gives another text\n",
			t.name);
	if (!snap_ok)
		fprintf(stderr, "tandem-trace: %s: the snapshot loads to another text\n", t.name);

	printf("{\"trace\":");
	put_json_string(t.name);
	printf(",\"kind\":\"%s\",\"ops\":%zu,\"final_len\":%zu,\"ok\":%s,\"apply_ms\":%.3f,"
	       "\"merge_ms\":%.3f,\"encoded_bytes\":%zu,\"encoded_gz_bytes\":%lu,\"load_ms\":%.3f,"
	       "\"encode_ms\":%.3f,"
	       "\"mem_bytes\":%zu,\"runs\":%zu,\"snapshot_ok\":%s,\"merge_ok\":%s,\"repeat\":%d}\n",
	       t.kind == TRACE_CONCURRENT ? "concurrent" : "sequential", t.npatches, crdt_len(doc),
	       ok ? "true" : "false", apply_ms, merge_ms, snap.len, (unsigned long)gz_len, load_ms,
	       encode_ms, count.live, crdt__run_count(doc), snap_ok ? "true" : "false",
	       merge_ok ? "true" : "false", repeat);
	status = ok && snap_ok && merge_ok ? 0 : 1;
out:
	crdt_doc_destroy(doc);
	crdt_buf_finish(&snap);
	crdt_buf_finish(&upd);
	free(times);
	free(order);
	trace_finish(&t);
	return status;
}
