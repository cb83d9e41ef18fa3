/*
 * bench-timeline.c - scrubbing a long session: the text at any moment.
 *
 * Builds a session of N edit events (default 50,000) by two agents typing
 * and deleting around their cursors, one event every 50-450 ms of a
 * simulated clock (about three hours), recorded exactly as the room does
 * (timeline_append with the authors' version entries; no Redis or
 * PostgreSQL: this measures the scrub, not the storage).  Then it asks for
 * the text at random moments, as GET /api/rooms/:id/text?at= does:
 * timeline_version_at (binary search, checkpoint, at most 255 merges) and
 * crdt_text_at on the room's document.  Some answers are checked against a
 * replay from zero (outside the timing), so a fast wrong answer cannot
 * pass.  Prints one line of JSON for bench/server/timeline/run.
 *
 * Usage: bench-timeline [EVENTS] [PROBES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "crdt.h"
#include "timeline.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static int64_t sim_clock;

static int64_t sim_now(void *ud)
{
	(void)ud;
	return sim_clock;
}

struct event {
	int64_t at;
	uint8_t *ops;
	size_t len;
};

/* The text after replaying every event at or before at into a fresh document. */
static int replay_text(const struct event *ev, size_t n, int64_t at, struct crdt_buf *out)
{
	struct crdt_doc *doc = crdt_doc_create(NULL);
	size_t len;
	int rc = 0;

	for (size_t i = 0; i < n && ev[i].at <= at && !rc; i++)
		rc = crdt_apply(doc, ev[i].ops, ev[i].len);
	len = crdt_text(doc, NULL, 0);
	out->len = 0;
	if (!rc && out->cap < len) {
		out->data = realloc(out->data, len);
		out->cap = len;
	}
	if (!rc)
		out->len = crdt_text(doc, (char *)out->data, len);
	crdt_doc_destroy(doc);
	return rc;
}

int main(int argc, char **argv)
{
	size_t nevents = argc > 1 ? strtoul(argv[1], NULL, 10) : 50000;
	size_t nprobes = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
	size_t nchecks = nprobes < 25 ? nprobes : 25, checked = 0;
	struct timeline_options o;
	struct timeline *tl;
	struct timeline_room *tr;
	struct crdt_doc *d[2], *srv;
	size_t cursor[2] = { 0, 0 };
	struct event *ev;
	double *t_ver, *t_text, *t_all, *t_cpu, build_ms;
	uv_loop_t loop;
	size_t worst_len = 0;
	int64_t start;
	int bad = 0;

	uv_loop_init(&loop);
	memset(&o, 0, sizeof(o));
	o.redis_port = -1; /* no Redis, no PostgreSQL: events stay in memory */
	o.clock_ms = sim_now;
	sim_clock = start = (int64_t)1763769600000; /* 2025-11-22T00:00:00Z */
	if (timeline_create(&loop, &o, &tl))
		return 1;
	tr = timeline_room(tl, "bench");
	d[0] = crdt_doc_create(NULL);
	d[1] = crdt_doc_create(NULL);
	srv = crdt_doc_create(NULL);
	ev = calloc(nevents, sizeof(*ev));
	t_ver = calloc(nprobes, sizeof(double));
	t_text = calloc(nprobes, sizeof(double));
	t_all = calloc(nprobes, sizeof(double));
	t_cpu = calloc(nprobes, sizeof(double));
	if (!t_cpu || !tr || !d[0] || !d[1] || !srv || !ev || !t_ver || !t_text || !t_all)
		return 1;

	/* The session: two typists, each mostly inserting at a moving cursor. */
	build_ms = now_ms();
	for (size_t i = 0; i < nevents; i++) {
		static const char *const words[] = { "x",      "if ",	 "for", "(i)",
						     "\n    ", "return", " = ", "ab" };
		int k = (rnd() % 8) < 5 ? 1 : 0; /* the candidate types more */
		uint32_t agent = (uint32_t)k + 1;
		struct crdt_doc *doc = d[k];
		struct crdt_version before, after;
		struct crdt_buf up;
		struct crdt_version_entry e;
		size_t len = crdt_len(doc);

		sim_clock += 50 + (int64_t)(rnd() % 400);
		crdt_version_init(&before, NULL);
		crdt_version_init(&after, NULL);
		crdt_buf_init(&up, NULL);
		crdt_doc_version(doc, &before);
		if (rnd() % 50 == 0 || cursor[k] > len)
			cursor[k] = len ? rnd() % (len + 1) : 0;
		if (len > 8 && rnd() % 5 == 0 && cursor[k] > 3) {
			size_t n = 1 + rnd() % 3;

			crdt_delete(doc, agent, cursor[k] - n, n);
			cursor[k] -= n;
		} else {
			const char *w = words[rnd() % 8];

			crdt_insert(doc, agent, cursor[k], w, strlen(w));
			cursor[k] += strlen(w);
		}
		crdt_encode_since(doc, &before, &up);
		if (crdt_apply(srv, up.data, up.len))
			return 1;
		crdt_doc_version(srv, &after);
		e.agent = agent;
		e.next = crdt_version_get(&after, agent);
		if (timeline_append(tr, "edit", k ? "candidate" : "interviewer", NULL, up.data,
				    up.len, &e, 1, NULL))
			return 1;
		ev[i].at = sim_clock;
		ev[i].ops = malloc(up.len);
		memcpy(ev[i].ops, up.data, up.len);
		ev[i].len = up.len;
		/* The other typist sees it a few keystrokes later. */
		if (rnd() % 4 == 0)
			crdt_apply(d[!k], up.data, up.len);
		if (i % 16 == 15) { /* and everything, now and then */
			for (int j = 0; j < 2; j++) {
				struct crdt_version have;
				struct crdt_buf missing;

				crdt_version_init(&have, NULL);
				crdt_buf_init(&missing, NULL);
				crdt_doc_version(d[j], &have);
				crdt_encode_since(srv, &have, &missing);
				crdt_apply(d[j], missing.data, missing.len);
				crdt_buf_finish(&missing);
				crdt_version_finish(&have);
			}
		}
		crdt_buf_finish(&up);
		crdt_version_finish(&before);
		crdt_version_finish(&after);
	}
	build_ms = now_ms() - build_ms;

	/* Scrub: random moments over the whole session, the last probe at its very end. */
	for (size_t p = 0; p < nprobes; p++) {
		int64_t at = p + 1 == nprobes
				     ? sim_clock
				     : start + (int64_t)(rnd() % (uint64_t)(sim_clock - start + 1));
		struct crdt_version v;
		struct crdt_buf txt;
		uint64_t seq;
		double t0, t1, t2, c0;

		crdt_version_init(&v, NULL);
		crdt_buf_init(&txt, NULL);
		c0 = cpu_ms();
		t0 = now_ms();
		if (timeline_version_at(tr, at, &v, &seq))
			return 1;
		t1 = now_ms();
		if (crdt_text_at(srv, &v, &txt))
			return 1;
		t2 = now_ms();
		t_cpu[p] = cpu_ms() - c0;
		t_ver[p] = t1 - t0;
		t_text[p] = t2 - t1;
		t_all[p] = t2 - t0;
		if (txt.len > worst_len)
			worst_len = txt.len;
		if (p % (nprobes / nchecks) == 0 || p + 1 == nprobes) {
			struct crdt_buf want;

			crdt_buf_init(&want, NULL);
			if (replay_text(ev, nevents, at, &want) || want.len != txt.len ||
			    memcmp(want.data, txt.data, txt.len) != 0) {
				fprintf(stderr,
					"probe %zu (at %lld, seq %llu): text differs from the "
					"replay\n",
					p, (long long)at, (unsigned long long)seq);
				bad++;
			}
			checked++;
			crdt_buf_finish(&want);
		}
		crdt_version_finish(&v);
		crdt_buf_finish(&txt);
	}
	qsort(t_ver, nprobes, sizeof(double), cmp_double);
	qsort(t_text, nprobes, sizeof(double), cmp_double);
	qsort(t_all, nprobes, sizeof(double), cmp_double);
	qsort(t_cpu, nprobes, sizeof(double), cmp_double);
	printf("{\"events\": %zu, \"probes\": %zu, \"checked\": %zu, \"wrong\": %d, "
	       "\"session_s\": %lld, \"build_ms\": %.1f, \"final_text_bytes\": %zu, "
	       "\"max_text_bytes\": %zu, "
	       "\"version_at_ms\": {\"p50\": %.4f, \"p99\": %.4f, \"max\": %.4f}, "
	       "\"text_at_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}, "
	       "\"scrub_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}, "
	       "\"scrub_cpu_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}}\n",
	       nevents, nprobes, checked, bad, (long long)((sim_clock - start) / 1000), build_ms,
	       crdt_len_bytes(srv), worst_len, t_ver[nprobes / 2], t_ver[nprobes * 99 / 100],
	       t_ver[nprobes - 1], t_text[nprobes / 2], t_text[nprobes * 99 / 100],
	       t_text[nprobes - 1], t_all[nprobes / 2], t_all[nprobes * 99 / 100],
	       t_all[nprobes - 1], t_cpu[nprobes / 2], t_cpu[nprobes * 99 / 100],
	       t_cpu[nprobes - 1]);
	timeline_destroy(tl);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	crdt_doc_destroy(d[0]);
	crdt_doc_destroy(d[1]);
	crdt_doc_destroy(srv);
	for (size_t i = 0; i < nevents; i++)
		free(ev[i].ops);
	free(ev);
	free(t_ver);
	free(t_text);
	free(t_all);
	free(t_cpu);
	return bad ? 1 : 0;
}
