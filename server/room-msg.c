/*
 * room-msg.c - a room's JSON control messages: the problem, runs (script,
 * tests, submit, complexity), awareness, notes and events.
 *
 * room_on_json() gets a message whose sender's seat proto.h allows to send
 * it (ws.c checked) and decides what it does; every message it sends goes
 * out through room__send()/room__reply(), so proto.h's table says who gets
 * it.  Runs go to the judge through jclient.c; their output and result
 * come back through callbacks.  Part of the room module
 * (room-internal.h).
 */
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "auth.h"
#include "bank.h"
#include "jclient.h"
#include "log.h"
#include "problem.h"
#include "room-internal.h"
#include "room.h"
#include "store.h"
#include "subs.h"
#include "timeline.h"

static const char *const run_kind_names[] = { "script", "tests", "submit", "complexity" };

/* ---- the problem --------------------------------------------------------- */

static struct conn *conn_by_id(struct room *r, uint64_t id)
{
	for (struct conn *c = r->conns; c; c = c->room_next)
		if (c->id == id)
			return c;
	return NULL;
}

/* The problem message (docs/protocol.md, "The room's problem"); new reference. */
static json_t *problem_msg(struct room *r, const char *reason, const char *by, json_t *id)
{
	json_t *m = json_pack("{s:s, s:s, s:O}", PROTO_T(PROTO_PROBLEM), "reason", reason,
			      "problem", r->prob && r->prob->view ? r->prob->view : json_null());

	json_object_set_new(m, "by", by ? json_string(by) : json_null());
	if (id)
		json_object_set(m, "id", id);
	return m;
}

/* A problem load or switch in flight: the room may be gone when it answers. */
struct prob_req {
	struct server *srv;
	char room[48];
	uint64_t conn;
	json_t *id;
	bool change;
};

static void set_problem(struct room *r, struct bank_problem *bp, const char *reason, const char *by,
			json_t *id)
{
	bank_unref(r->prob);
	r->prob = bp;
	snprintf(r->problem, sizeof(r->problem), "%s", bp ? bp->id : "");
	bool starter = room__insert_starter(r, bp ? bp->p->starter : NULL);
	if (by) {
		store_set_problem(r->srv->db, r->id, bp ? bp->id : NULL);
		room__record(r, "problem", by,
			     json_pack("{s:s?, s:i, s:b}", "problem", bp ? bp->id : NULL,
				       "revision", bp ? bp->revision : 0, "starter", starter));
		log_event(LOG_INFO, "room.problem", "room=%s problem=%s", r->id, bp ? bp->id : "-");
	}
	room__send(r, PROTO_PROBLEM, problem_msg(r, reason, by, id), NULL);
}

static void prob_loaded(void *ud, struct bank_problem *bp, int status)
{
	struct prob_req *q = ud;
	struct room *r = room_find(q->srv, q->room);

	if (r && !q->change)
		r->prob_loading = false;
	if (!r) {
		bank_unref(bp);
	} else if (!bp && q->change) {
		struct conn *c = conn_by_id(r, q->conn);
		if (c)
			conn_send_error(
				c, q->id, status == 404 ? PERR_UNKNOWN_PROBLEM : PERR_INTERNAL,
				status == 404 ? NULL : "the problem could not be loaded; retry",
				status == 404 ? 0 : 1000);
	} else if (!bp) {
		log_event(LOG_WARN, "room.problem", "room=%s problem=%s status=%d", r->id,
			  r->problem, status);
		room__send(r, PROTO_PROBLEM, problem_msg(r, "join", NULL, NULL), NULL);
	} else if (!q->change && (r->prob || strcmp(r->problem, bp->id))) {
		/* The interviewer switched while this load was in flight: theirs stands. */
		bank_unref(bp);
	} else {
		set_problem(r, bp, q->change ? "change" : "join", q->change ? "interviewer" : NULL,
			    q->id);
	}
	json_decref(q->id);
	free(q);
}

static int load_problem(struct room *r, const char *pid, bool change, uint64_t conn, json_t *id)
{
	struct prob_req *q = calloc(1, sizeof(*q));

	if (!q || !r->srv->bank) {
		free(q);
		return -1;
	}
	q->srv = r->srv;
	snprintf(q->room, sizeof(q->room), "%s", r->id);
	q->conn = conn;
	q->id = json_incref(id);
	q->change = change;
	if (!change)
		r->prob_loading = true;
	if (bank_get(r->srv->bank, pid, prob_loaded, q)) {
		if (!change)
			r->prob_loading = false;
		json_decref(q->id);
		free(q);
		return -1;
	}
	return 0;
}

void room__problem_on_join(struct room *r, struct conn *c)
{
	if (r->prob || !r->problem[0]) {
		room__reply(c, PROTO_PROBLEM, problem_msg(r, "join", NULL, NULL));
		return;
	}
	/* Loading: everyone gets it when it is there (prob_loaded). */
	if (!r->prob_loading && load_problem(r, r->problem, false, 0, NULL))
		room__reply(c, PROTO_PROBLEM, problem_msg(r, "join", NULL, NULL));
}

static void on_problem(struct conn *c, json_t *msg)
{
	struct room *r = c->room;
	json_t *id = json_object_get(msg, "id"), *pid = json_object_get(msg, "problem");

	if (!json_is_null(pid) &&
	    (!json_is_string(pid) || !json_string_length(pid) || json_string_length(pid) > 64)) {
		conn_send_error(c, id, PERR_BAD_REQUEST, "problem must be an id or null", 0);
		return;
	}
	if (json_is_null(pid)) {
		set_problem(r, NULL, "change", "interviewer", id);
		return;
	}
	if (load_problem(r, json_string_value(pid), true, c->id, id))
		conn_send_error(c, id, PERR_INTERNAL, "the problem could not be loaded; retry",
				1000);
}

/* ---- runs ---------------------------------------------------------------- */

static void run_output(void *ud, uint64_t run, const char *stream, const char *utf8)
{
	struct room *r = ud;

	room__send(r, PROTO_RUN_OUTPUT,
		   json_pack("{s:s, s:I, s:s, s:s}", PROTO_T(PROTO_RUN_OUTPUT), "run",
			     (json_int_t)run, "stream", stream, "data", utf8),
		   NULL);
}

/*
 * The run.result message of run (new reference; NULL on out of memory),
 * the one place it is built: the judge's result (borrowed) with t and run,
 * or, without one, a run that never started because the judge was busy
 * (verdict null, code judge_busy, retry_ms) or the judge's own failure
 * (verdict IE, message error).  Its timeline event is this without t.
 */
static json_t *run_result_json(uint64_t run, const json_t *result, int err, const char *error)
{
	json_t *msg = json_pack("{s:s, s:I}", PROTO_T(PROTO_RUN_RESULT), "run", (json_int_t)run);

	if (!msg)
		return NULL;
	if (result) {
		json_t *copy = json_deep_copy(result);

		json_object_del(copy, "t");
		json_object_del(copy, "run");
		json_object_update(msg, copy);
		json_decref(copy);
	} else if (err == JPROTO_EBUSY) {
		/* Not the judge's fault and not a verdict: the run never started. */
		json_object_set_new(msg, "verdict", json_null());
		json_object_set_new(msg, "code", json_string(proto_err_code(PERR_JUDGE_BUSY)));
		json_object_set_new(msg, "message",
				    json_string(proto_err_message(PERR_JUDGE_BUSY)));
		json_object_set_new(msg, "retry_ms", json_integer(1000));
	} else {
		json_object_set_new(msg, "verdict", json_string("IE"));
		json_object_set_new(msg, "message", json_string(error ? error : "judge failed"));
	}
	return msg;
}

/* A payload for the timeline: msg without "t", its output cut to 16 KiB. */
static json_t *timeline_payload(const json_t *msg)
{
	static const char *const big[] = { "stdout", "stderr", "output" };
	json_t *p = json_deep_copy(msg);

	json_object_del(p, "t");
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		const char *v = json_string_value(json_object_get(p, big[i]));

		if (v && strlen(v) > 16384)
			json_object_set_new(p, big[i], json_stringn(v, 16384));
	}
	return p;
}

/* Drops a Submit's early hidden sandbox (if still in flight) and what it sent. */
static void hidden_drop(struct server *srv, struct room_run *run)
{
	if (run->hidden && srv->judge)
		jclient_forget(srv->judge, run->hidden);
	run->hidden = 0;
	json_decref(run->held);
	run->held = NULL;
	json_decref(run->held_result);
	run->held_result = NULL;
	free(run->held_error);
	run->held_error = NULL;
	run->held_err = 0;
}

/* Frees run (accepts NULL) and what it holds; the judge forgets its hidden sandbox. */
static void run_free(struct server *srv, struct room_run *run)
{
	if (!run)
		return;
	hidden_drop(srv, run);
	bank_unref(run->prob);
	json_decref(run->custom);
	json_decref(run->summary);
	free(run->code);
	judge_result_finish(&run->first);
	free(run);
}

/* The room's run ended (its result went out, or it never will): the room is free for the next. */
static void run_finished(struct room *r)
{
	struct room_run *run = r->run;

	r->run = NULL;
	r->srv->metrics.runs++;
	metrics_observe(&r->srv->metrics.run, (double)(server_mono_ms() - run->started_ms));
	run_free(r->srv, run);
}

static void run_done(void *ud, uint64_t run, json_t *result, int err, const char *error)
{
	struct room *r = ud;
	json_t *msg;

	if (!r->run)
		return; /* a run this room no longer waits for */
	run = r->run->public_id;
	msg = run_result_json(run, result, err, error);
	run_finished(r);
	if (!msg)
		return;
	log_event(LOG_INFO, "run.done", "room=%s run=%llu verdict=%s", r->id,
		  (unsigned long long)run, json_string_value(json_object_get(msg, "verdict")));
	room__record(r, proto_msg_name(PROTO_RUN_RESULT), NULL, timeline_payload(msg));
	room__send(r, PROTO_RUN_RESULT, msg, NULL);
}

/*
 * Sends test i of the run as run.test (to every seat and the timeline): a
 * hidden test as its name, verdict, time and memory only.
 */
static void send_test(struct room *r, size_t i, const struct judge_test_result *t)
{
	const struct problem *p = r->run->prob->p;
	size_t n = r->run->to - r->run->from;
	size_t pi = i < n ? r->run->from + i : p->ntests + (i - n);
	bool hidden = pi < p->ntests && p->tests[pi].hidden;
	enum judge_verdict v = problem_test_verdict(p, pi, r->run->custom, t);
	json_t *o = problem_test_json(p, pi, r->run->custom, t, v,
				      hidden ? pi - p->nsamples + 1 : 0, true);

	if (!o)
		return;
	json_object_set_new(o, "t", json_string(proto_msg_name(PROTO_RUN_TEST)));
	json_object_set_new(o, "run", json_integer((json_int_t)r->run->public_id));
	json_object_set_new(o, "index", json_integer((json_int_t)(r->run->from + i)));
	room__record(r, "run.test", NULL, timeline_payload(o));
	room__send(r, PROTO_RUN_TEST, o, NULL);
	r->run->streamed = i + 1;
}

/*
 * Holds hidden test i (of a Submit, in order) to the problem's budget: the
 * CPU of the samples and of every hidden test before it counts.  The test
 * during which the sum passes submit_cpu_ms is TLE and every later one
 * SKIPPED, as when the harness runs out of budget itself (the hidden
 * sandbox starts with the whole budget, before the samples' use is known).
 */
static void budget_test(struct room *r, struct judge_test_result *t)
{
	if (r->run->over) {
		t->verdict = JUDGE_VERDICT_SKIPPED;
		t->cpu_ms = -1;
		t->mem_kb = 0;
		return;
	}
	if (t->cpu_ms > 0)
		r->run->spent_ms += t->cpu_ms;
	if (r->run->spent_ms > (double)r->run->prob->p->submit_cpu_ms) {
		r->run->over = true;
		t->verdict = JUDGE_VERDICT_TLE;
	}
}

static void run_test(void *ud, uint64_t run, size_t index, const json_t *line)
{
	struct room *r = ud;
	struct judge_test_result t;

	if (r->run && r->run->hidden && run == r->run->hidden && !r->run->has_first) {
		/* The samples are still running: their tests go out first. */
		if (!r->run->held)
			r->run->held = json_array();
		json_array_append_new(r->run->held, json_pack("[I, O]", (json_int_t)index, line));
		return;
	}
	if (!r->run || run != r->run->id || !r->run->prob || index < r->run->streamed)
		return;
	if (problem_test_result_from_json(line, &t))
		return;
	if (r->run->kind == RUN_SUBMIT && r->run->has_first)
		budget_test(r, &t);
	send_test(r, index, &t);
	problem_test_result_finish(&t);
}

static void summary_out(struct room *r, json_t *summary)
{
	log_event(LOG_INFO, "run.done", "room=%s run=%llu mode=%s verdict=%s", r->id,
		  (unsigned long long)r->run->public_id, run_kind_names[r->run->kind],
		  json_string_value(json_object_get(summary, "verdict")));
	room__record(r, "run.result", NULL, timeline_payload(summary));
	room__send(r, PROTO_RUN_RESULT, summary, NULL);
}

/* A submit's row is stored (or not): its run.result goes out now. */
static void sub_stored(void *ud, int err)
{
	struct subs_ctx *sc = ud;
	struct room *r = room_find(sc->srv, sc->room);

	if (r && r->run && r->run->summary && r->run->public_id == sc->run) {
		json_t *summary = r->run->summary;

		r->run->summary = NULL;
		if (err) {
			json_object_set_new(summary, "submission", json_null());
			json_object_set_new(summary, "message",
					    json_string("the submission could not be stored"));
		} else {
			json_t *ev = json_deep_copy(summary);
			json_object_del(ev, "t");
			json_object_set_new(ev, "seat", json_string(proto_seat_name(r->run->seat)));
			json_object_set_new(ev, "agent", json_integer(r->run->agent));
			room__record(r, "submission", proto_seat_name(r->run->seat), ev);
		}
		summary_out(r, summary);
		run_finished(r);
	}
	subs_ctx_free(sc);
}

static json_t *tests_request(const struct problem *p, size_t from, size_t to, json_t *custom,
			     uint32_t cpu_ms);
static void tests_done(void *ud, uint64_t run, json_t *result, int err, const char *error);

/*
 * The samples of a Submit are judged: the hidden tests' sandbox, started
 * with theirs (or now, with what is left of the CPU budget, if it could
 * not), becomes the run in flight, and what it sent meanwhile goes out.
 * Returns false when the hidden tests cannot count (a compile error, the
 * judge's failure, no budget left): the caller reports them as not run.
 */
static bool start_hidden(struct room *r, struct judge_result *first)
{
	const struct problem *p = r->run->prob->p;
	double left = (double)p->submit_cpu_ms - first->cpu_ms;
	json_t *req;
	uint64_t run = r->run->hidden;

	if (first->compile_error || first->verdict == JUDGE_VERDICT_IE || left < 1) {
		hidden_drop(r->srv, r->run);
		return false;
	}
	if (run && !r->run->held_result && r->run->held_err == JPROTO_EBUSY) {
		/* The supervisor had no room for both at once: the hidden tests go now. */
		hidden_drop(r->srv, r->run);
		run = 0;
	}
	if (!run) {
		/* It could not start with the samples: it starts now, with what is left. */
		req = tests_request(p, p->nsamples, p->ntests, NULL,
				    left < 100 ? 100 : (uint32_t)left);
		if (!req)
			return false;
		json_object_set_new(req, "code", json_stringn(r->run->code, r->run->code_len));
		if (jclient_run_tests(r->srv->judge, req, NULL, run_test, tests_done, r, &run))
			return false;
	}
	r->run->spent_ms = first->cpu_ms;
	r->run->over = false;
	r->run->first = *first;
	memset(first, 0, sizeof(*first));
	r->run->has_first = true;
	r->run->id = run;
	r->run->from = p->nsamples;
	r->run->to = p->ntests;
	r->run->streamed = 0;
	/* What the hidden sandbox sent meanwhile goes out now, in order. */
	json_t *held = r->run->held, *result = r->run->held_result, *e;
	char *error = r->run->held_error;
	int err = r->run->held_err;
	size_t i;
	r->run->held = NULL;
	r->run->held_result = NULL;
	r->run->held_error = NULL;
	if (held || result || error)
		log_event(LOG_DEBUG, "run.hidden_held", "room=%s run=%llu tests=%zu ended=%d",
			  r->id, (unsigned long long)r->run->public_id, json_array_size(held),
			  result || error);
	json_array_foreach(held, i, e)
	{
		run_test(r, run, (size_t)json_integer_value(json_array_get(e, 0)),
			 json_array_get(e, 1));
	}
	json_decref(held);
	if (result || error) {
		r->run->hidden = 0; /* done: nothing to forget */
		tests_done(r, run, result, err, error);
	}
	json_decref(result);
	free(error);
	return true;
}

/*
 * A Submit's whole result: the samples' then the hidden tests' (those that
 * never ran are CE after a compile error, else SKIPPED).  Consumes both.
 */
static void join_results(const struct problem *p, struct judge_result *a, struct judge_result *b,
			 struct judge_result *out)
{
	memset(out, 0, sizeof(*out));
	*out = *a;
	out->ntests = p->ntests;
	out->tests = calloc(p->ntests ? p->ntests : 1, sizeof(*out->tests));
	if (!out->tests) {
		out->ntests = 0;
		judge_result_finish(b);
		memset(a, 0, sizeof(*a));
		return;
	}
	for (size_t i = 0; i < a->ntests && i < p->ntests; i++)
		out->tests[i] = a->tests[i];
	for (size_t i = 0; i < b->ntests && p->nsamples + i < p->ntests; i++)
		out->tests[p->nsamples + i] = b->tests[i];
	for (size_t i = p->nsamples + b->ntests; i < p->ntests; i++) {
		out->tests[i].verdict = a->compile_error ? JUDGE_VERDICT_CE : JUDGE_VERDICT_SKIPPED;
		out->tests[i].cpu_ms = -1;
	}
	out->cpu_ms = a->cpu_ms + b->cpu_ms;
	out->wall_ms = a->wall_ms + b->wall_ms;
	out->mem_kb = a->mem_kb > b->mem_kb ? a->mem_kb : b->mem_kb;
	if (b->ntests && b->verdict != JUDGE_VERDICT_OK)
		out->verdict = b->verdict;
	if (!out->message && b->message)
		out->message = b->message, b->message = NULL;
	free(a->tests);
	free(b->tests);
	b->tests = NULL;
	b->ntests = 0;
	judge_result_finish(b);
	memset(a, 0, sizeof(*a));
}

static void tests_done(void *ud, uint64_t run, json_t *result, int err, const char *error)
{
	struct room *r = ud;
	const struct problem *p;
	struct judge_result res, none;
	json_t *summary = NULL;

	if (r->run && r->run->hidden && run == r->run->hidden && !r->run->has_first) {
		/* The hidden sandbox ended before the samples': start_hidden() takes it up. */
		r->run->held_result = json_incref(result);
		r->run->held_err = err;
		r->run->held_error = result ? NULL : strdup(error ? error : "judge failed");
		return;
	}
	if (!r->run || run != r->run->id)
		return; /* a sandbox this run no longer waits for */
	p = r->run->prob->p;
	if (!result || problem_result_from_json(result, &res)) {
		run_done(ud, run, NULL, result ? JPROTO_EJUDGE : err,
			 result ? "bad result from the judge" : error);
		return;
	}
	if (r->run->kind == RUN_SUBMIT && r->run->has_first) {
		/* The budget once more over all, as the streamed tests had it. */
		r->run->spent_ms = r->run->first.cpu_ms;
		r->run->over = false;
		for (size_t i = 0; i < res.ntests; i++)
			budget_test(r, &res.tests[i]);
		if (r->run->over)
			res.verdict = JUDGE_VERDICT_TLE;
	}
	/* Tests the harness never reported (SKIPPED, killed) were not streamed. */
	for (size_t i = r->run->streamed; i < res.ntests; i++)
		send_test(r, i, &res.tests[i]);
	if (r->run->kind == RUN_SUBMIT && !r->run->has_first) {
		if (p->ntests > p->nsamples && start_hidden(r, &res))
			return; /* tests_done comes again with the hidden tests */
		/* The hidden tests will not run: say so for each. */
		memset(&none, 0, sizeof(none));
		struct judge_result all;
		join_results(p, &res, &none, &all);
		r->run->from = p->nsamples;
		r->run->to = p->ntests;
		for (size_t i = p->nsamples; i < all.ntests; i++)
			send_test(r, i - p->nsamples, &all.tests[i]);
		res = all;
	} else if (r->run->kind == RUN_SUBMIT) {
		struct judge_result all;
		join_results(p, &r->run->first, &res, &all);
		r->run->has_first = false;
		res = all;
	}
	json_t *full = problem_result_json(p, r->run->custom, &res, r->run->n, false);
	judge_result_finish(&res);
	run = r->run->public_id;
	if (!full) {
		run_done(ud, run, NULL, JPROTO_ENOMEM, "out of memory");
		return;
	}
	summary = json_deep_copy(full);
	json_object_del(summary, "tests");
	json_object_set_new(summary, "t", json_string(proto_msg_name(PROTO_RUN_RESULT)));
	json_object_set_new(summary, "run", json_integer((json_int_t)run));
	json_object_set_new(summary, "mode", json_string(run_kind_names[r->run->kind]));
	json_object_set_new(summary, "problem", json_string(r->run->prob->id));
	json_object_set_new(summary, "revision", json_integer(r->run->prob->revision));
	if (r->run->kind == RUN_SUBMIT) {
		char sid[24] = "s_";
		struct subs_row row = { .room = r->id,
					.seat = proto_seat_name(r->run->seat),
					.agent = r->run->agent,
					.problem = r->run->prob->id,
					.revision = r->run->prob->revision,
					.code = r->run->code,
					.summary = full };
		struct subs_ctx *sc = NULL;
		if (!auth_random_id(sid + 2, sizeof(sid) - 2) &&
		    (sc = subs_ctx_new(r->srv, r->id, run))) {
			row.id = sid;
			json_object_set_new(summary, "submission", json_string(sid));
			r->run->summary = summary;
			if (subs_store(r->srv, &row, sub_stored, sc) == 0) {
				json_decref(full);
				return; /* sub_stored sends the summary */
			}
			subs_ctx_free(sc);
			r->run->summary = NULL;
		}
		json_object_set_new(summary, "submission", json_null());
		json_object_set_new(summary, "message",
				    json_string("the submission could not be stored"));
	}
	json_decref(full);
	summary_out(r, summary);
	run_finished(r);
}

static void complexity_done(void *ud, uint64_t run, json_t *result, int err, const char *error)
{
	struct room *r = ud;
	json_t *msg;

	if (!r->run)
		return; /* a run this room no longer waits for */
	msg = result ? json_deep_copy(result)
		     : json_pack("{s:n, s:s, s:s}", "class", "verdict", "IE", "message",
				 error ? error : "judge failed");
	json_object_set_new(msg, "t", json_string(proto_msg_name(PROTO_COMPLEXITY_RESULT)));
	json_object_set_new(msg, "run", json_integer((json_int_t)run));
	log_event(LOG_INFO, "complexity.done", "room=%s run=%llu class=%s", r->id,
		  (unsigned long long)run, json_string_value(json_object_get(msg, "class")));
	room__record(r, "complexity.result", NULL, timeline_payload(msg));
	room__send(r, PROTO_COMPLEXITY_RESULT, msg, NULL);
	run_finished(r);
}

/*
 * The run request for the judge supervisor: p's tests [from, to) then the
 * custom ones (never an expected value); NULL on OOM.
 */
static json_t *tests_request(const struct problem *p, size_t from, size_t to, json_t *custom,
			     uint32_t cpu_ms)
{
	json_t *opts = problem_harness_options(p);
	json_t *all = problem_harness_tests(p, to, custom), *tests = json_array();

	for (size_t i = from; all && tests && i < json_array_size(all); i++)
		json_array_append(tests, json_array_get(all, i));
	json_decref(all);
	if (!opts || !tests || !all) {
		json_decref(opts);
		json_decref(tests);
		return NULL;
	}
	json_object_set_new(opts, "capture", json_integer((json_int_t)p->limits.output_kb * 1024));
	json_object_set_new(opts, "test_cpu_ms", json_integer(p->limits.cpu_ms));
	return json_pack("{s:s, s:s, s:o, s:o, s:{s:i, s:i, s:i, s:i}}", "mode",
			 judge_mode_str(p->kind), "entry", p->entry, "tests", tests, "options",
			 opts, "limits", "cpu_ms", (int)p->submit_cpu_ms, "wall_ms",
			 (int)(p->submit_cpu_ms * 2 + 3000), "mem_mb", (int)p->limits.mem_mb,
			 "output_kb", (int)p->limits.output_kb);
}

static void on_run(struct conn *c, json_t *msg, enum run_kind kind)
{
	struct room *r = c->room;
	int k = room__seat_index(c->seat);
	json_t *id = json_object_get(msg, "id");
	json_t *custom = json_object_get(msg, "tests"), *req = NULL;
	const struct problem *p = r->prob ? r->prob->p : NULL;
	char *why = NULL;
	size_t n;
	char *text;
	uint64_t run;
	int rc;
	struct room_run *rs;
	enum proto_err e = PERR_INTERNAL;
	const char *message = NULL;

	if (kind != RUN_SCRIPT && !p) {
		conn_send_error(c, id, PERR_NO_PROBLEM, NULL, 0);
		return;
	}
	if (kind == RUN_COMPLEXITY && !p->gen) {
		conn_send_error(c, id, PERR_NO_GENERATOR, NULL, 0);
		return;
	}
	if (kind == RUN_TESTS && custom && problem_check_custom(p, custom, &why)) {
		conn_send_error(c, id, PERR_BAD_REQUEST, why, 0);
		free(why);
		return;
	}
	if (!r->srv->judge) {
		conn_send_error(c, id, PERR_JUDGE_DOWN, r->srv->judge_down, 0);
		return;
	}
	if (r->run) {
		conn_send_error(c, id, PERR_RUN_IN_PROGRESS, NULL, 0);
		return;
	}
	if (k >= 0 && !bucket_take(&r->run_budget[k], server_turn_us(r->srv) / 1000u,
				   r->srv->lim.runs_per_min / 60.0, r->srv->lim.runs_per_min, 1)) {
		conn_send_error(c, id, PERR_RATE_LIMITED, "too many runs; retry later",
				60000 / (r->srv->lim.runs_per_min ? r->srv->lim.runs_per_min : 1));
		return;
	}
	/* The room owns it from the judge's acceptance on (run_finished frees it). */
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		goto err_run;
	n = crdt_len_bytes(r->doc);
	text = malloc(n + 1);
	if (!text)
		goto err_text;
	crdt_text(r->doc, text, n);
	text[n] = '\0';
	if (kind == RUN_SCRIPT) {
		rc = jclient_run(r->srv->judge, text, n, run_output, run_done, r, &run);
	} else if (kind == RUN_COMPLEXITY) {
		req = json_pack("{s:s, s:o, s:s%}", "kind", "complexity", "problem",
				problem_json(p, PROBLEM_VIEW_STORE), "code", text, n);
		rc = jclient_run_tests(r->srv->judge, req, NULL, NULL, complexity_done, r, &run);
	} else {
		/* A Submit: this is the samples' sandbox; the hidden tests' starts below. */
		req = tests_request(p, 0, p->nsamples, custom, p->submit_cpu_ms);
		if (!req)
			goto err_req;
		json_object_set_new(req, "code", json_stringn(text, n));
		rc = jclient_run_tests(r->srv->judge, req, NULL, run_test, tests_done, r, &run);
	}
	if (rc) {
		e = PERR_JUDGE_DOWN;
		message = r->srv->judge_down;
		goto err_req;
	}
	r->run = rs;
	rs->id = run;
	rs->public_id = run;
	rs->from = 0;
	rs->to = p ? p->nsamples : 0;
	rs->kind = kind;
	rs->started_ms = server_mono_ms();
	rs->seat = c->seat;
	rs->agent = c->agent;
	rs->code = text;
	rs->code_len = n;
	rs->n = kind == RUN_SUBMIT ? p->ntests : p ? p->nsamples : 0;
	if (kind != RUN_SCRIPT)
		rs->prob = bank_ref(r->prob);
	if (kind == RUN_SUBMIT && p->ntests > p->nsamples) {
		/*
		 * The hidden tests start now too, in a sandbox of their own with the
		 * whole budget (start_hidden() holds them to what the samples left);
		 * if they cannot, they start after the samples.
		 */
		json_t *hreq = tests_request(p, p->nsamples, p->ntests, NULL, p->submit_cpu_ms);
		uint64_t hid;
		if (hreq) {
			json_object_set_new(hreq, "code", json_stringn(text, n));
			if (!jclient_run_tests(r->srv->judge, hreq, NULL, run_test, tests_done, r,
					       &hid))
				rs->hidden = hid;
		}
	}
	if (kind == RUN_TESTS && custom)
		rs->custom = json_deep_copy(custom);
	log_event(LOG_INFO, "run.start", "room=%s conn=%llu run=%llu mode=%s", r->id,
		  (unsigned long long)c->id, (unsigned long long)run, run_kind_names[kind]);
	json_t *ev = json_pack("{s:I, s:i, s:I, s:s}", "run", (json_int_t)run, "agent",
			       (int)c->agent, "bytes", (json_int_t)n, "mode", run_kind_names[kind]);
	json_t *started = json_pack("{s:s, s:I, s:s}", "t",
				    proto_msg_name(kind == RUN_COMPLEXITY ? PROTO_COMPLEXITY_STARTED
									  : PROTO_RUN_STARTED),
				    "run", (json_int_t)run, "by", proto_seat_name(c->seat));
	if (kind != RUN_SCRIPT) {
		size_t total = rs->n + json_array_size(rs->custom);
		json_object_set_new(ev, "problem", json_string(rs->prob->id));
		json_object_set_new(ev, "revision", json_integer(rs->prob->revision));
		if (kind != RUN_COMPLEXITY) {
			json_object_set_new(started, "mode", json_string(run_kind_names[kind]));
			json_object_set_new(started, "problem", json_string(rs->prob->id));
			json_object_set_new(started, "revision", json_integer(rs->prob->revision));
			json_object_set_new(started, "total", json_integer((json_int_t)total));
		}
	}
	room__record(r, kind == RUN_COMPLEXITY ? "complexity" : "run", proto_seat_name(c->seat),
		     ev);
	if (id)
		json_object_set(started, "id", id);
	room__send(r, kind == RUN_COMPLEXITY ? PROTO_COMPLEXITY_STARTED : PROTO_RUN_STARTED,
		   started, NULL);
	return;

err_req:
	free(text);
err_text:
	free(rs);
err_run:
	conn_send_error(c, id, e, message, 0);
}

/* ---- control messages ---------------------------------------------------- */

static json_t *from_json(const struct conn *c)
{
	return json_pack("{s:s, s:i, s:s}", "seat", proto_seat_name(c->seat), "agent",
			 (int)c->agent, "name", c->name);
}

/*
 * Notes and events a connection may have recorded, a second and at once: a
 * person pastes or leaves the tab a few times a minute.  Within the frame
 * budget alone, a few flooding connections filled the server-wide backlog
 * and every room's typing was refused (bench/server flood phase).
 */
#define RECORDED_PER_S 10.0
#define RECORDED_BURST 20.0

/*
 * Notes and events go to the timeline: beyond the connection's budget for
 * them they are refused with rate_limited, and from half the backlog bound
 * on with overloaded (timeline_busy: the rest is kept for edits).
 */
static bool timeline_refuses(struct conn *c, json_t *id)
{
	uint64_t now_ms = server_turn_us(c->srv) / 1000u;

	if (!bucket_take(&c->budget_recorded, now_ms, RECORDED_PER_S, RECORDED_BURST, 1)) {
		conn_send_error(c, id, PERR_RATE_LIMITED, "too many notes and events; retry later",
				bucket_wait_ms(&c->budget_recorded, RECORDED_PER_S, 1));
		return true;
	}
	if (!timeline_busy(c->srv->timeline))
		return false;
	conn_send_error(c, id, PERR_OVERLOADED, "events cannot be recorded now; retry later", 1000);
	return true;
}

/*
 * An awareness goes on as sent, "from" added: the text the client sent,
 * which msg was parsed from (so it is one valid JSON object), up to its
 * closing brace, then ,"from":{...}}.  Copying and serializing the parsed
 * object again cost two more passes over up to 4 KB, character by
 * character in jansson, for every awareness relayed: most of what a flood
 * of them still cost the server (bench/server flood phase).  One that
 * carries a "from" of its own is rebuilt instead, so the server's replaces
 * it rather than standing beside it.
 */
static void relay_awareness(struct conn *c, json_t *msg, const char *raw, size_t len)
{
	json_t *from = from_json(c);
	char *f, *out;
	size_t end = len, flen;

	if (json_object_get(msg, "from") || !raw) {
		json_t *copy = json_deep_copy(msg);

		json_object_set_new(copy, "from", from);
		room__send(c->room, PROTO_AWARENESS, copy, c);
		return;
	}
	while (end > 0 && raw[end - 1] != '}')
		end--;
	f = json_dumps(from, JSON_COMPACT);
	json_decref(from);
	flen = f ? strlen(f) : 0;
	out = f && end > 0 ? malloc(end + flen + 10) : NULL;
	if (out) {
		/* msg has its "t" at least: the comma always has a member before it */
		size_t n = end - 1;

		memcpy(out, raw, n);
		n += (size_t)sprintf(out + n, ",\"from\":%s}", f);
		room__send_text(c->room, PROTO_AWARENESS, out, n, c);
	}
	free(out);
	free(f);
}

void room_on_json(struct conn *c, enum proto_msg m, json_t *msg, const char *raw, size_t len)
{
	struct room *r = c->room;
	json_t *id = json_object_get(msg, "id");

	switch (m) {
	case PROTO_AWARENESS:
		/* Paced already (ws.c, conn_hold_awareness): this one goes on. */
		if (len > PROTO_AWARENESS_MAX) {
			conn_send_error(c, id, PERR_BAD_REQUEST, "awareness over 4096 bytes", 0);
			break;
		}
		relay_awareness(c, msg, raw, len);
		break;
	case PROTO_RUN: {
		const char *mode = json_string_value(json_object_get(msg, "mode"));
		enum run_kind kind = RUN_SCRIPT;

		if (json_object_get(msg, "mode") &&
		    (!mode ||
		     (strcmp(mode, "script") && strcmp(mode, "tests") && strcmp(mode, "submit")))) {
			conn_send_error(c, id, PERR_BAD_REQUEST,
					"mode must be script, tests or submit", 0);
			break;
		}
		if (mode && !strcmp(mode, "tests"))
			kind = RUN_TESTS;
		else if (mode && !strcmp(mode, "submit"))
			kind = RUN_SUBMIT;
		on_run(c, msg, kind);
		break;
	}
	case PROTO_SUBMIT:
		on_run(c, msg, RUN_SUBMIT);
		break;
	case PROTO_COMPLEXITY:
		on_run(c, msg, RUN_COMPLEXITY);
		break;
	case PROTO_PROBLEM:
		on_problem(c, msg);
		break;
	case PROTO_NOTE: {
		json_t *text = json_object_get(msg, "text");
		json_t *out;

		if (!json_is_string(text)) {
			conn_send_error(c, id, PERR_BAD_REQUEST, "note needs a text string", 0);
			break;
		}
		if (json_string_length(text) > PROTO_NOTE_MAX) {
			conn_send_error(c, id, PERR_BAD_REQUEST, "note text over 16384 bytes", 0);
			break;
		}
		if (timeline_refuses(c, id))
			break;
		out = json_pack("{s:s, s:O, s:o, s:I}", PROTO_T(PROTO_NOTE), "text", text, "from",
				from_json(c), "at", (json_int_t)server_now_ms());
		if (id)
			json_object_set(out, "id", id);
		room__record(r, "note", proto_seat_name(c->seat),
			     json_pack("{s:O, s:i, s:s}", "text", text, "agent", (int)c->agent,
				       "name", c->name));
		room__send(r, PROTO_NOTE, out, NULL);
		break;
	}
	case PROTO_EVENT: {
		const char *kind = json_string_value(json_object_get(msg, "kind"));
		json_t *out;

		if (!kind ||
		    (strcmp(kind, "paste") && strcmp(kind, "focus") && strcmp(kind, "blur"))) {
			conn_send_error(c, id, PERR_BAD_REQUEST,
					"event kind must be paste, focus or blur", 0);
			break;
		}
		if (timeline_refuses(c, id))
			break;
		out = json_pack("{s:s, s:s, s:o, s:I}", PROTO_T(PROTO_EVENT), "kind", kind, "from",
				from_json(c), "at", (json_int_t)server_now_ms());
		if (json_is_integer(json_object_get(msg, "size")))
			json_object_set(out, "size", json_object_get(msg, "size"));
		{
			json_t *p = json_pack("{s:i}", "agent", (int)c->agent);

			if (json_is_integer(json_object_get(msg, "size")))
				json_object_set(p, "size", json_object_get(msg, "size"));
			room__record(r, kind, proto_seat_name(c->seat), p);
		}
		room__send(r, PROTO_EVENT, out, NULL);
		break;
	}
	case PROTO_JOIN:
		conn_send_error(c, id, PERR_ALREADY_JOINED, NULL, 0);
		break;
	default:
		conn_send_error(c, id, PERR_FORBIDDEN, "clients may not send this message", 0);
		break;
	}
}

void room__problem_free(struct room *r)
{
	bank_unref(r->prob);
	r->prob = NULL;
	if (r->run && r->srv->judge && r->run->id != r->run->hidden)
		jclient_forget(r->srv->judge, r->run->id);
	run_free(r->srv, r->run);
	r->run = NULL;
}
