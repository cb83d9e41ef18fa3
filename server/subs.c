/*
 * subs.c - submissions: stored once judged, read back for the REST API.
 *
 * Why it exists: an interviewer wants "17 of 20" and the code behind it
 * after the interview, and a submission must keep pointing at the problem
 * revision it was judged against.  A submission and its test rows go in
 * with one statement (a CTE), so a row never exists without its tests.
 *
 * It must never store or answer more of a hidden test than its name,
 * verdict, time and memory; the detail column is filled only for tests
 * that are not hidden.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "server.h"
#include "subs.h"

struct subs_ctx *subs_ctx_new(struct server *srv, const char *room, uint64_t run)
{
	struct subs_ctx *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return NULL;
	sc->srv = srv;
	snprintf(sc->room, sizeof(sc->room), "%s", room);
	sc->run = run;
	return sc;
}

void subs_ctx_free(struct subs_ctx *sc)
{
	free(sc);
}

struct store_call {
	void (*cb)(void *ud, int err);
	void *ud;
};

static void stored(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct store_call *sc = ud;

	(void)res;
	if (err)
		log_event(LOG_ERROR, "subs.store", "error=%s", errmsg ? errmsg : db_strerror(err));
	sc->cb(sc->ud, err ? -1 : 0);
	free(sc);
}

int subs_store(struct server *srv, const struct subs_row *row, void (*cb)(void *ud, int err),
	       void *ud)
{
	const json_t *s = row->summary;
	char agent[16], rev[16], cpu[32], mem[24], passed[16], total[16];
	char *tests = json_dumps(json_object_get(s, "tests"), JSON_COMPACT);
	struct store_call *sc = calloc(1, sizeof(*sc));
	int rc = -1;

	if (!tests || !sc || !srv->db)
		goto out;
	snprintf(agent, sizeof(agent), "%u", row->agent);
	snprintf(rev, sizeof(rev), "%d", row->revision);
	snprintf(cpu, sizeof(cpu), "%.6f", json_number_value(json_object_get(s, "max_cpu_ms")));
	snprintf(mem, sizeof(mem), "%lld",
		 (long long)json_integer_value(json_object_get(s, "mem_kb")));
	snprintf(passed, sizeof(passed), "%lld",
		 (long long)json_integer_value(json_object_get(s, "passed")));
	snprintf(total, sizeof(total), "%lld",
		 (long long)json_integer_value(json_object_get(s, "total")));
	const char *params[] = {
		row->id,
		row->problem,
		rev,
		row->room,
		row->seat,
		agent,
		row->code,
		json_string_value(json_object_get(s, "verdict")),
		json_is_true(json_object_get(s, "accepted")) ? "true" : "false",
		passed,
		total,
		cpu,
		mem,
		json_is_true(json_object_get(s, "budget_exceeded")) ? "true" : "false",
		tests,
	};
	sc->cb = cb;
	sc->ud = ud;
	rc = db_query(
		srv->db,
		"WITH s AS (INSERT INTO submissions (id, problem, revision, room, seat, agent, "
		"code, "
		"verdict, accepted, passed, total, cpu_ms, mem_kb, budget_exceeded) VALUES ($1, "
		"$2, "
		"$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id) "
		"INSERT INTO submission_tests (submission, idx, name, hidden, verdict, cpu_ms, "
		"mem_kb, "
		"detail) SELECT s.id, (t.ord - 1)::integer, t.v->>'name', "
		"(t.v->>'hidden')::boolean, "
		"t.v->>'verdict', coalesce((t.v->>'cpu_ms')::double precision, -1), "
		"coalesce((t.v->>'mem_kb')::bigint, 0), "
		"CASE WHEN (t.v->>'hidden')::boolean THEN NULL ELSE t.v - 'name' - 'hidden' - "
		"'verdict' - 'cpu_ms' - 'mem_kb' END "
		"FROM s, jsonb_array_elements($15::jsonb) WITH ORDINALITY AS t(v, ord)",
		15, params, stored, sc);
	if (rc == 0)
		sc = NULL;
out:
	free(sc);
	free(tests);
	return rc ? -1 : 0;
}

struct read_call {
	subs_json_cb *cb;
	void *ud;
	unsigned limit;
	bool one;
};

static json_t *summary_of(const PGresult *res, int i)
{
	json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:I, s:s, s:s, s:b, s:i, s:i, s:f, s:I, s:b}",
			      "id", PQgetvalue(res, i, 0), "problem", PQgetvalue(res, i, 1),
			      "revision", atoi(PQgetvalue(res, i, 2)), "seat",
			      PQgetvalue(res, i, 3), "at", (json_int_t)atoll(PQgetvalue(res, i, 4)),
			      "language", PQgetvalue(res, i, 5), "verdict", PQgetvalue(res, i, 6),
			      "accepted", PQgetvalue(res, i, 7)[0] == 't', "passed",
			      atoi(PQgetvalue(res, i, 8)), "total", atoi(PQgetvalue(res, i, 9)),
			      "cpu_ms", atof(PQgetvalue(res, i, 10)), "mem_kb",
			      (json_int_t)atoll(PQgetvalue(res, i, 11)), "budget_exceeded",
			      PQgetvalue(res, i, 12)[0] == 't');
	json_object_set_new(o, "agent",
			    PQgetisnull(res, i, 13) ? json_null()
						    : json_integer(atoll(PQgetvalue(res, i, 13))));
	return o;
}

#define SUMMARY_COLS                                                                       \
	"s.id, s.problem, s.revision, s.seat, (extract(epoch FROM s.at) * 1000)::bigint, " \
	"s.language, s.verdict, s.accepted, s.passed, s.total, s.cpu_ms, s.mem_kb, "       \
	"s.budget_exceeded, s.agent"

static void read_done(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct read_call *rc = ud;
	json_t *body;
	int status = 200;

	if (err) {
		log_event(LOG_ERROR, "subs.read", "error=%s", errmsg ? errmsg : db_strerror(err));
		status = 503;
		body = json_pack("{s:s}", "error", "database unavailable");
	} else if (rc->one) {
		if (PQntuples(res) != 1) {
			status = 404;
			body = json_pack("{s:s}", "error", "no such submission");
		} else {
			body = summary_of(res, 0);
			json_object_set_new(body, "code", json_string(PQgetvalue(res, 0, 14)));
			json_t *tests = json_loads(PQgetvalue(res, 0, 15), 0, NULL);
			json_object_set_new(body, "tests", tests ? tests : json_array());
		}
	} else {
		json_t *list = json_array();
		int n = PQntuples(res);
		int shown = n > (int)rc->limit ? (int)rc->limit : n;
		for (int i = 0; i < shown; i++)
			json_array_append_new(list, summary_of(res, i));
		body = json_pack("{s:o}", "submissions", list);
		json_object_set_new(body, "next",
				    n > shown ? json_string(PQgetvalue(res, shown - 1, 0))
					      : json_null());
	}
	rc->cb(rc->ud, status, body);
	free(rc);
}

int subs_list(struct server *srv, const char *room, const char *seat, const char *before,
	      unsigned limit, subs_json_cb *cb, void *ud)
{
	struct read_call *rc = calloc(1, sizeof(*rc));
	char lim[16];

	if (!rc || !srv->db) {
		free(rc);
		return -1;
	}
	rc->cb = cb;
	rc->ud = ud;
	rc->limit = limit;
	snprintf(lim, sizeof(lim), "%u", limit + 1);
	const char *params[] = { room, seat, before, lim };
	if (db_query(srv->db,
		     "SELECT " SUMMARY_COLS " FROM submissions s WHERE s.room = $1 "
		     "AND ($2::text IS NULL OR s.seat = $2) "
		     "AND ($3::text IS NULL OR (s.at, s.id) < (SELECT at, id FROM submissions "
		     "WHERE id = $3)) ORDER BY s.at DESC, s.id DESC LIMIT $4",
		     4, params, read_done, rc)) {
		free(rc);
		return -1;
	}
	return 0;
}

int subs_get(struct server *srv, const char *room, const char *id, const char *seat,
	     subs_json_cb *cb, void *ud)
{
	struct read_call *rc = calloc(1, sizeof(*rc));

	if (!rc || !srv->db) {
		free(rc);
		return -1;
	}
	rc->cb = cb;
	rc->ud = ud;
	rc->one = true;
	const char *params[] = { room, id, seat };
	/* A hidden test's row carries no detail: its object is the five plain columns. */
	if (db_query(srv->db,
		     "SELECT " SUMMARY_COLS ", s.code, coalesce((SELECT json_agg(json_build_object("
		     "'name', t.name, 'hidden', t.hidden, 'verdict', t.verdict, 'cpu_ms', "
		     "CASE WHEN t.cpu_ms < 0 THEN NULL ELSE t.cpu_ms END, 'mem_kb', "
		     "CASE WHEN t.cpu_ms < 0 THEN NULL ELSE t.mem_kb END)::jsonb || CASE WHEN "
		     "t.hidden THEN '{}'::jsonb "
		     "ELSE coalesce(t.detail, '{}'::jsonb) END ORDER BY t.idx) FROM "
		     "submission_tests t WHERE t.submission = s.id), '[]') FROM submissions s "
		     "WHERE s.room = $1 AND s.id = $2 AND ($3::text IS NULL OR s.seat = $3)",
		     3, params, read_done, rc)) {
		free(rc);
		return -1;
	}
	return 0;
}
