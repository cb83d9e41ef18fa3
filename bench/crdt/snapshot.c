/*
 * snapshot.c - the snapshot's load and encode alone, for profiling (issue 19).
 *
 * tandem-trace times a snapshot's load and encode among much else, with the
 * wall clock.  This replays each trace once, writes its snapshot, then
 * loads it into a fresh document and encodes it again, alternating, REPEAT
 * times, and prints the median and the best of each in the process's CPU
 * time (or with --wall the wall clock): what other work on a shared
 * machine moves least.  --load or --encode does only that half, so a
 * profiler (perf record, callgrind) sees one thing.  It never writes
 * anything but its report.
 *
 * Usage: crdt-snapshot [--wall] [--load|--encode] [--repeat N] TRACE...
 *        (one JSON line per trace)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crdt.h"
#include "trace.h"

static clockid_t clock_id = CLOCK_PROCESS_CPUTIME_ID;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts t (n > 0 entries) and returns its median. */
static double median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof(*t), cmp);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* Replays, then times path's snapshot; 0 on success. */
static int one(const char *path, int repeat, bool load, bool encode)
{
	struct trace t;
	struct trace_error err = { { 0 } };
	struct crdt_doc *doc = NULL;
	struct crdt_buf snap;
	double *tl = calloc((size_t)repeat, sizeof(double));
	double *te = calloc((size_t)repeat, sizeof(double));
	int rc = trace_load(&t, path, &err);

	crdt_buf_init(&snap, NULL);
	if (rc < 0 || !tl || !te) {
		fprintf(stderr, "crdt-snapshot: %s: %s\n", path,
			rc < 0 ? err.msg : "out of memory");
		free(tl);
		free(te);
		return 1;
	}
	rc = trace_replay(&t, NULL, NULL, &doc, &err) < 0 ? 1 : 0;
	if (rc)
		fprintf(stderr, "crdt-snapshot: %s: %s\n", path, err.msg);
	if (!rc && crdt_encode_doc(doc, &snap) < 0)
		rc = 1;
	for (int i = 0; i < repeat && !rc; i++) {
		if (load) {
			struct crdt_doc *d = crdt_doc_create(NULL);
			double t0 = now_ms();

			rc = d ? crdt_apply(d, snap.data, snap.len) : CRDT_ENOMEM;
			tl[i] = now_ms() - t0;
			if (!rc && crdt_len(d) != crdt_len(doc))
				rc = CRDT_EDECODE;
			crdt_doc_destroy(d);
		}
		if (encode && !rc) {
			struct crdt_buf again;
			double t0;

			crdt_buf_init(&again, NULL);
			t0 = now_ms();
			rc = crdt_encode_doc(doc, &again);
			te[i] = now_ms() - t0;
			if (!rc &&
			    (again.len != snap.len || memcmp(again.data, snap.data, snap.len)))
				rc = CRDT_EINVAL;
			crdt_buf_finish(&again);
		}
		if (rc)
			fprintf(stderr, "crdt-snapshot: %s: %s\n", path, crdt_strerror(rc));
	}
	if (!rc) {
		double lm = median(tl, repeat), em = median(te, repeat);

		printf("{\"trace\":\"%s\",\"bytes\":%zu,\"load_ms\":%.3f,\"load_best_ms\":%.3f,"
		       "\"encode_ms\":%.3f,\"encode_best_ms\":%.3f,\"repeat\":%d,\"clock\":\"%s\"}"
		       "\n",
		       t.name, snap.len, lm, tl[0], em, te[0], repeat,
		       clock_id == CLOCK_MONOTONIC ? "wall" : "cpu");
	}
	crdt_buf_finish(&snap);
	crdt_doc_destroy(doc);
	trace_finish(&t);
	free(tl);
	free(te);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	bool load = true, encode = true;
	int repeat = 21, status = 0, i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--wall")) {
			clock_id = CLOCK_MONOTONIC;
		} else if (!strcmp(argv[i], "--load")) {
			encode = false;
		} else if (!strcmp(argv[i], "--encode")) {
			load = false;
		} else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
			repeat = atoi(argv[++i]);
			if (repeat < 1 || repeat > 100000) {
				fprintf(stderr, "crdt-snapshot: --repeat needs 1..100000\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: crdt-snapshot [--wall] [--load|--encode] "
					"[--repeat N] TRACE...\n");
			return 2;
		}
	}
	if (i == argc) {
		fprintf(stderr, "usage: crdt-snapshot [--wall] [--load|--encode] [--repeat N] "
				"TRACE...\n");
		return 2;
	}
	for (; i < argc; i++)
		status |= one(argv[i], repeat, load, encode);
	return status;
}
