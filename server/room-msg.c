/*
 * room-msg.c - a room's JSON control messages: runs, awareness, notes and
 * events.
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

#include "jclient.h"
#include "log.h"
#include "room-internal.h"
#include "room.h"
#include "timeline.h"

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

static void run_done(void *ud, uint64_t run, json_t *result, int err, const char *error)
{
	struct room *r = ud;
	json_t *msg = run_result_json(run, result, err, error);

	r->run_busy = false;
	r->srv->metrics.runs++;
	metrics_observe(&r->srv->metrics.run, (double)(server_mono_ms() - r->run_started_ms));
	if (!msg)
		return;
	log_event(LOG_INFO, "run.done", "room=%s run=%llu verdict=%s", r->id,
		  (unsigned long long)run, json_string_value(json_object_get(msg, "verdict")));
	{
		/* The timeline keeps the result, with its output cut to a reasonable size. */
		json_t *p = json_deep_copy(msg);
		static const char *const big[] = { "stdout", "stderr", "output" };

		json_object_del(p, "t");
		for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
			const char *v = json_string_value(json_object_get(p, big[i]));

			if (v && strlen(v) > 16384)
				json_object_set_new(p, big[i], json_stringn(v, 16384));
		}
		room__record(r, proto_msg_name(PROTO_RUN_RESULT), NULL, p);
	}
	room__send(r, PROTO_RUN_RESULT, msg, NULL);
}

static void on_run(struct conn *c, json_t *msg)
{
	struct room *r = c->room;
	int k = room__seat_index(c->seat);
	json_t *id = json_object_get(msg, "id");
	size_t n;
	char *text;
	uint64_t run;
	int rc;

	if (!r->srv->judge) {
		conn_send_error(c, id, PERR_JUDGE_DOWN, r->srv->judge_down, 0);
		return;
	}
	if (r->run_busy) {
		conn_send_error(c, id, PERR_RUN_IN_PROGRESS, NULL, 0);
		return;
	}
	if (k >= 0 && !bucket_take(&r->run_budget[k], server_turn_us(r->srv) / 1000u,
				   r->srv->lim.runs_per_min / 60.0, r->srv->lim.runs_per_min, 1)) {
		conn_send_error(c, id, PERR_RATE_LIMITED, "too many runs; retry later",
				60000 / (r->srv->lim.runs_per_min ? r->srv->lim.runs_per_min : 1));
		return;
	}
	n = crdt_len_bytes(r->doc);
	text = malloc(n + 1);
	if (!text) {
		conn_send_error(c, id, PERR_INTERNAL, NULL, 0);
		return;
	}
	crdt_text(r->doc, text, n);
	text[n] = '\0';
	rc = jclient_run(r->srv->judge, text, n, run_output, run_done, r, &run);
	free(text);
	if (rc) {
		conn_send_error(c, id, PERR_JUDGE_DOWN, r->srv->judge_down, 0);
		return;
	}
	r->run_busy = true;
	r->run_id = run;
	r->run_started_ms = server_mono_ms();
	log_event(LOG_INFO, "run.start", "room=%s conn=%llu run=%llu", r->id,
		  (unsigned long long)c->id, (unsigned long long)run);
	room__record(r, "run", proto_seat_name(c->seat),
		     json_pack("{s:I, s:i, s:I}", "run", (json_int_t)run, "agent", (int)c->agent,
			       "bytes", (json_int_t)n));
	{
		json_t *started = json_pack("{s:s, s:I, s:s}", PROTO_T(PROTO_RUN_STARTED), "run",
					    (json_int_t)run, "by", proto_seat_name(c->seat));

		if (id)
			json_object_set(started, "id", id);
		room__send(r, PROTO_RUN_STARTED, started, NULL);
	}
}

/* ---- control messages ---------------------------------------------------- */

static json_t *from_json(const struct conn *c)
{
	return json_pack("{s:s, s:i, s:s}", "seat", proto_seat_name(c->seat), "agent",
			 (int)c->agent, "name", c->name);
}

/*
 * Notes and events go to the timeline: while it cannot take more (its
 * backlog bound), they are refused as edits are, not recorded past it.
 */
static bool timeline_refuses(struct conn *c, json_t *id)
{
	if (!timeline_overloaded(c->srv->timeline))
		return false;
	conn_send_error(c, id, PERR_OVERLOADED, "events cannot be recorded now; retry later", 1000);
	return true;
}

void room_on_json(struct conn *c, enum proto_msg m, json_t *msg, size_t len)
{
	struct room *r = c->room;
	json_t *id = json_object_get(msg, "id");

	switch (m) {
	case PROTO_AWARENESS: {
		json_t *out;

		if (len > PROTO_AWARENESS_MAX) {
			conn_send_error(c, id, PERR_BAD_REQUEST, "awareness over 4096 bytes", 0);
			break;
		}
		out = json_deep_copy(msg);
		json_object_set_new(out, "from", from_json(c));
		room__send(r, PROTO_AWARENESS, out, c);
		break;
	}
	case PROTO_RUN:
		on_run(c, msg);
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
	case PROTO_PROBLEM:
	case PROTO_SUBMIT:
	case PROTO_COMPLEXITY:
		conn_send_error(c, id, PERR_NOT_IMPLEMENTED, NULL, 0);
		break;
	case PROTO_JOIN:
		conn_send_error(c, id, PERR_ALREADY_JOINED, NULL, 0);
		break;
	default:
		conn_send_error(c, id, PERR_FORBIDDEN, "clients may not send this message", 0);
		break;
	}
}
