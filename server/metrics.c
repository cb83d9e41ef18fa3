/*
 * metrics.c - counters, histograms, /metrics, /healthz and /readyz.
 *
 * Counters are plain integers bumped on the loop thread (one thread, so no
 * atomics).  Histograms use fixed millisecond buckets, enough to see a
 * p99 move, and are rendered in the Prometheus text format on demand.
 * Nothing here allocates on a hot path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "metrics.h"
#include "presence.h"
#include "server.h"

static const double bounds_ms[METRICS_BUCKETS] = { 0.25, 0.5, 1,   2,	 5,    10,   25,   50,
						   100,	 250, 500, 1000, 2500, 5000, 10000 };

void metrics_observe(struct metrics_hist *h, double ms)
{
	for (int i = 0; i < METRICS_BUCKETS; i++)
		if (ms <= bounds_ms[i])
			h->bucket[i]++;
	h->count++;
	h->sum_ms += ms;
}

/* Appends printf output to a growing buffer; stops quietly on OOM. */
struct out {
	char *s;
	size_t len, cap;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = o->cap - o->len;

		va_start(ap, fmt);
		n = vsnprintf(o->s ? o->s + o->len : NULL, o->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		{
			size_t ncap = (o->cap ? o->cap * 2 : 4096) + (size_t)n;
			char *ns = realloc(o->s, ncap);

			if (!ns)
				return;
			o->s = ns;
			o->cap = ncap;
		}
	}
}

static void hist(struct out *o, const char *name, const char *help, const struct metrics_hist *h)
{
	outf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int i = 0; i < METRICS_BUCKETS; i++)
		outf(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds_ms[i] / 1000.0,
		     (unsigned long long)h->bucket[i]);
	outf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
	outf(o, "%s_sum %.6f\n%s_count %llu\n", name, h->sum_ms / 1000.0, name,
	     (unsigned long long)h->count);
}

static void gauge(struct out *o, const char *name, const char *help, const char *type, double v)
{
	outf(o, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

char *metrics_render(const struct server *srv, size_t *len)
{
	const struct metrics *m = &srv->metrics;
	struct out o = { NULL, 0, 0 };

	gauge(&o, "tandem_connections", "Open WebSocket connections.", "gauge",
	      (double)srv->conns_open);
	gauge(&o, "tandem_rooms", "Rooms held in memory.", "gauge", (double)srv->nrooms);
	gauge(&o, "tandem_ops_total", "CRDT updates accepted from clients.", "counter",
	      (double)m->updates);
	gauge(&o, "tandem_updates_rejected_total",
	      "CRDT updates refused (forged, malformed, limits).", "counter",
	      (double)m->updates_rejected);
	gauge(&o, "tandem_read_pauses_total",
	      "Times a connection was not read for a while: over its frame or refusal budget.",
	      "counter", (double)m->read_pauses);
	gauge(&o, "tandem_frames_out_total", "Frames written to clients.", "counter",
	      (double)m->frames_out);
	gauge(&o, "tandem_resyncs_total", "Slow clients caught up with one update instead.",
	      "counter", (double)m->resyncs);
	gauge(&o, "tandem_runs_total", "Runs completed.", "counter", (double)m->runs);
	hist(&o, "tandem_fanout_seconds", "From receiving an update to writing it to a peer.",
	     &m->fanout);
	hist(&o, "tandem_run_seconds", "From a run request to its result.", &m->run);
	gauge(&o, "tandem_judge_up", "1 when the judge supervisor is serving runs.", "gauge",
	      srv->judge && !srv->judge_down ? 1 : 0);
	gauge(&o, "tandem_judge_queue_depth", "Runs waiting in the judge (supervisor report).",
	      "gauge", (double)m->judge_queued);
	gauge(&o, "tandem_judge_pool_size", "Warm plus running sandboxes (supervisor report).",
	      "gauge", (double)m->judge_pool);
	gauge(&o, "tandem_redis_up", "1 when Redis is connected.", "gauge",
	      srv->presence && presence_healthy(srv->presence) ? 1 : 0);
	gauge(&o, "tandem_postgres_up", "1 when PostgreSQL is connected.", "gauge",
	      srv->db && db_healthy(srv->db) ? 1 : 0);
	gauge(&o, "tandem_postgres_pending", "Queries queued or running in the PostgreSQL client.",
	      "gauge", srv->db ? (double)db_pending(srv->db) : 0);
	gauge(&o, "tandem_timeline_backlog", "Timeline events not yet durable in PostgreSQL.",
	      "gauge", (double)m->timeline_backlog);
	*len = o.len;
	return o.s;
}

int metrics_http(struct server *srv, const char *path, char **body, size_t *len, const char **type)
{
	*type = "text/plain; charset=utf-8";
	if (strcmp(path, "/metrics") == 0) {
		*type = "text/plain; version=0.0.4; charset=utf-8";
		*body = metrics_render(srv, len);
		return *body ? 200 : 500;
	}
	if (strcmp(path, "/healthz") == 0) {
		*body = strdup("ok\n");
		*len = 3;
		return 200;
	}
	if (strcmp(path, "/readyz") == 0) {
		bool redis = srv->presence && presence_healthy(srv->presence);
		bool pg = srv->db && db_healthy(srv->db);
		char buf[160];
		int n = snprintf(buf, sizeof(buf), "redis %s\npostgres %s\njudge %s\n",
				 redis ? "up" : "down", pg ? "up" : "down",
				 srv->judge && !srv->judge_down ? "up" : "down");

		*body = strdup(buf);
		*len = (size_t)n;
		return redis && pg && !srv->stopping ? 200 : 503;
	}
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
		static const char notice[] =
			"Tandem is running, but the browser app is not being served (no --static "
			"folder).\nThe WebSocket and REST protocol is described in "
			"docs/protocol.md.\n";

		*body = strdup(notice);
		*len = sizeof(notice) - 1;
		return 200;
	}
	*body = strdup("not found\n");
	*len = 10;
	return 404;
}
