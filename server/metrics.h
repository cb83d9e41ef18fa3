/*
 * metrics.h - what the server counts, and the /metrics, /healthz, /readyz
 * endpoints (see metrics.c).
 */
#ifndef TANDEM_METRICS_H
#define TANDEM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_BUCKETS 15

/* A latency histogram in milliseconds (cumulative buckets, as Prometheus). */
struct metrics_hist {
	uint64_t bucket[METRICS_BUCKETS];
	uint64_t count;
	double sum_ms;
};

struct metrics {
	uint64_t updates, updates_rejected, frames_out, resyncs, runs;
	uint64_t read_pauses; /* connections not read for a while: over a budget (conn.c) */
	uint64_t judge_queued, judge_pool;
	uint64_t timeline_backlog;
	struct metrics_hist fanout, run;
};

struct server;

void metrics_observe(struct metrics_hist *h, double ms);
/* The Prometheus text exposition; the caller frees it.  NULL on OOM. */
char *metrics_render(const struct server *srv, size_t *len);
/*
 * Serves /metrics, /healthz (the loop is alive) and /readyz (Redis and
 * PostgreSQL reachable, not stopping): returns the status, a malloc'd body
 * and its content type.
 */
int metrics_http(struct server *srv, const char *path, char **body, size_t *len, const char **type);

#endif
