/*
 * http.c - the REST API: create, inspect and close rooms; read a room's
 * timeline and its text at any moment (replay).
 *
 * Also every HTTP write: the "http" protocol's callback reads the request
 * and its body and writes the answer (headers, then the body in pieces)
 * from WRITEABLE; ws.c only registers it on the listener.  Every route authenticates first (the
 * admin key for creating rooms, a room token otherwise) and answers JSON, errors included
 * ({"error": "..."}), never HTML.  Replay routes are for the interviewer and observers only, and
 * keep working after the room closed.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "bank.h"
#include "http.h"
#include "subs.h"
#include "log.h"
#include "presence.h"
#include "room.h"
#include "server.h"
#include "store.h" /* the room list's types; the calls go through room.c */
#include "timeline.h"

#define TOKEN_TTL_S (7 * 24 * 3600)

static json_t *error_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

bool http_type_is_yaml(const char *ct)
{
	static const char *const types[] = { "application/yaml", "application/x-yaml", "text/yaml",
					     "text/x-yaml" };
	size_t n = strcspn(ct, "; \t");

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (n == strlen(types[i]) && !strncasecmp(ct, types[i], n))
			return true;
	return false;
}

/* "Bearer X" -> X, or NULL. */
static const char *bearer(const char *auth)
{
	if (!auth || strncmp(auth, "Bearer ", 7) != 0)
		return NULL;
	return auth + 7;
}

bool http_is_admin(const struct server *srv, const char *auth)
{
	const char *key = bearer(auth);

	return key && auth_key_equal(key, srv->admin_key);
}

static int make_token(struct server *srv, const char *room, const char *role, const char *name,
		      int64_t now, int64_t ttl, char **out)
{
	struct auth_claims cl;

	memset(&cl, 0, sizeof(cl));
	snprintf(cl.room, sizeof(cl.room), "%s", room);
	if (auth_role_parse(role, &cl.role))
		return AUTH_E_INVAL;
	snprintf(cl.name, sizeof(cl.name), "%s", name);
	cl.exp = now + ttl;
	return auth_token_make(srv->secret, &cl, now, out);
}

/* The new room is stored (or could not be, and was discarded). */
static void created(void *ud, int err)
{
	struct http_req *hr = ud;
	json_t *body = hr->pending;

	hr->pending = NULL;
	if (err) {
		json_decref(body);
		http_reply(hr, 503, error_json("database unavailable; room not created"));
		return;
	}
	http_reply(hr, 201, body);
}

static int create_room(struct server *srv, struct http_req *hr, const char *auth, const char *body,
		       size_t body_len, json_t **out)
{
	static const char *const roles[] = { "interviewer", "candidate", "observer" };
	const char *problem = "";
	json_t *req = NULL, *names = NULL, *links, *tokens;
	int64_t now = (int64_t)(server_now_ms() / 1000), ttl = TOKEN_TTL_S;
	char id[24], problem_buf[128];
	struct room *r;

	if (!http_is_admin(srv, auth)) {
		*out = error_json("admin key required (Authorization: Bearer <admin key>)");
		return 401;
	}
	if (body_len) {
		json_error_t jerr;

		req = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(req)) {
			json_decref(req);
			*out = error_json("body must be a JSON object");
			return 400;
		}
		if (json_object_get(req, "problem")) {
			problem = json_string_value(json_object_get(req, "problem"));
			if (!problem || strlen(problem) > 100) {
				json_decref(req);
				*out = error_json("problem must be a string of at most 100 bytes");
				return 400;
			}
		}
		if (json_is_integer(json_object_get(req, "ttl_s"))) {
			ttl = json_integer_value(json_object_get(req, "ttl_s"));
			if (ttl < 60 || ttl > 90 * 24 * 3600) {
				json_decref(req);
				*out = error_json("ttl_s must be between 60 and 7776000");
				return 400;
			}
		}
		names = json_object_get(req, "names");
	}
	if (auth_random_id(id, sizeof(id)) || !(r = room_create(srv, id, problem))) {
		json_decref(req);
		*out = error_json("could not create a room");
		return 500;
	}
	links = json_object();
	tokens = json_object();
	for (int i = 0; i < 3; i++) {
		const char *name = json_string_value(json_object_get(names, roles[i]));
		char *tok = NULL, url[2048];
		char dflt[16];

		snprintf(dflt, sizeof(dflt), "%c%s", roles[i][0] - 32, roles[i] + 1);
		if (!name || strlen(name) > 60)
			name = dflt;
		if (make_token(srv, id, roles[i], name, now, ttl, &tok)) {
			json_decref(links);
			json_decref(tokens);
			json_decref(req);
			*out = error_json("could not sign tokens");
			return 500;
		}
		snprintf(url, sizeof(url), "%s/?room=%s#token=%s", srv->public_url, id, tok);
		json_object_set_new(links, roles[i], json_string(url));
		json_object_set_new(tokens, roles[i], json_string(tok));
		free(tok);
	}
	/* problem points into req: keep a copy past the decref below. */
	snprintf(problem_buf, sizeof(problem_buf), "%s", problem);
	problem = problem_buf;
	log_event(LOG_INFO, "room.create", "room=%s problem=%s", id, problem);
	*out = json_pack("{s:s, s:s, s:o, s:o}", "id", id, "problem", problem, "links", links,
			 "tokens", tokens);
	json_decref(req);
	/* Answer once the room is durable; if it cannot be, it does not exist. */
	hr->pending = *out;
	*out = NULL;
	if (room_store_new(r, created, hr)) {
		json_decref(hr->pending);
		hr->pending = NULL;
		*out = error_json("database unavailable; room not created");
		return 503;
	}
	return 0;
}

/* A page of the room list waiting for the presence of its rooms. */
struct listing {
	struct http_req *hr;
	json_t *rooms;
	json_t *next;	/* the cursor of the following page, or null */
	size_t pending; /* presence reads out, plus one while they are sent */
};

struct listing_read {
	struct listing *ls;
	json_t *room; /* borrowed from ls->rooms */
};

static void listing_done(struct listing *ls)
{
	if (--ls->pending)
		return;
	http_reply(ls->hr, 200, json_pack("{s:o, s:o}", "rooms", ls->rooms, "next", ls->next));
	free(ls);
}

/* Both seats as GET /api/rooms/:id shows them, from what Redis holds of a room not in memory. */
static void listed_presence(void *ud, int err, const struct presence_entry *e, size_t n)
{
	struct listing_read *rd = ud;

	if (!err) {
		json_t *a = json_array();

		for (int k = 0; k < 2; k++) {
			const char *seat = proto_seat_name(k ? SEAT_CANDIDATE : SEAT_INTERVIEWER);
			const struct presence_entry *m = NULL;

			for (size_t i = 0; i < n; i++)
				if (!strcmp(e[i].member, seat))
					m = &e[i];
			json_array_append_new(
				a, json_pack("{s:s, s:s, s:s, s:I}", "seat", seat, "name",
					     m ? m->name : "", "state",
					     m ? presence_state_name(m->state) : "NONE", "since",
					     (json_int_t)(m ? m->since_ms : 0)));
		}
		json_object_set_new(rd->room, "presence", a);
	}
	listing_done(rd->ls);
	free(rd);
}

/*
 * The room list reads the room table (store.c) and presence (presence.c)
 * directly: it lists rows, most of them rooms that are not in memory, and
 * loading each through room.c would build their documents for nothing.
 *
 * A page of rows from PostgreSQL: each room with its presence, live for a
 * room in memory, otherwise read from Redis (null when it cannot be).
 */
static void listed_rooms(void *ud, int status, const struct store_listed *rows, size_t n, bool more)
{
	struct http_req *hr = ud;
	struct server *srv = hr->srv;
	struct listing *ls;

	if (status != 200) {
		http_reply(hr, 503, error_json("database unavailable"));
		return;
	}
	ls = calloc(1, sizeof(*ls));
	if (!ls || !(ls->rooms = json_array())) {
		free(ls);
		http_reply(hr, 500, error_json("out of memory"));
		return;
	}
	ls->hr = hr;
	ls->next = json_null();
	if (more && n) {
		char cursor[96];

		snprintf(cursor, sizeof(cursor), "%lld.%s", (long long)rows[n - 1].created_us,
			 rows[n - 1].id);
		ls->next = json_string(cursor);
	}
	ls->pending = 1;
	for (size_t i = 0; i < n; i++) {
		const struct store_listed *row = &rows[i];
		json_t *room = json_pack(
			"{s:s, s:s, s:s, s:I, s:o, s:n}", "id", row->id, "problem", row->problem,
			"state", row->closed_ms ? "closed" : "open", "created",
			(json_int_t)(row->created_us / 1000), "closed",
			row->closed_ms ? json_integer(row->closed_ms) : json_null(), "presence");
		struct listing_read *rd;
		struct room *r;

		if (!room)
			continue;
		json_array_append_new(ls->rooms, room);
		r = room_find(srv, row->id);
		if (r) {
			json_object_set_new(room, "presence", room_presence_json(r));
			continue;
		}
		rd = srv->presence ? malloc(sizeof(*rd)) : NULL;
		if (!rd)
			continue;
		rd->ls = ls;
		rd->room = room;
		ls->pending++;
		if (presence_read(srv->presence, row->id, listed_presence, rd)) {
			ls->pending--;
			free(rd);
		}
	}
	listing_done(ls);
}

/*
 * GET /api/rooms?limit=N&after=CURSOR&state=open|closed (admin key): one
 * page of rooms, newest first; `next` is the `after` of the following
 * page (docs/protocol.md).
 */
static int list_rooms(struct server *srv, struct http_req *hr, const char *auth, json_t **out)
{
	const char *v;
	struct store_page page;
	char buf[128];

	if (!http_is_admin(srv, auth)) {
		*out = error_json("admin key required (Authorization: Bearer <admin key>)");
		return 401;
	}
	memset(&page, 0, sizeof(page));
	page.limit = 50;
	v = hr->wsi ? lws_get_urlarg_by_name(hr->wsi, "limit=", buf, sizeof(buf)) : NULL;
	if (v) {
		char *end;
		unsigned long l = strtoul(v, &end, 10);

		if (!v[0] || *end || v[0] == '-' || l < 1 || l > 100) {
			*out = error_json("limit must be between 1 and 100");
			return 400;
		}
		page.limit = (unsigned)l;
	}
	v = hr->wsi ? lws_get_urlarg_by_name(hr->wsi, "state=", buf, sizeof(buf)) : NULL;
	if (v) {
		page.state = !strcmp(v, "open")	    ? 1
			     : !strcmp(v, "closed") ? 2
			     : !strcmp(v, "all")    ? 0
						    : -1;
		if (page.state < 0) {
			*out = error_json("state must be open, closed or all");
			return 400;
		}
	}
	v = hr->wsi ? lws_get_urlarg_by_name(hr->wsi, "after=", buf, sizeof(buf)) : NULL;
	if (v) {
		const char *dot = strchr(v, '.');
		char *end;
		long long us = strtoll(v, &end, 10);
		int n = 0;

		if (!dot || end != dot || v[0] == '-' || us <= 0 ||
		    sscanf(dot + 1, "%63[A-Za-z0-9_-]%n", page.after_id, &n) != 1 || dot[1 + n]) {
			*out = error_json("after must be the next of the page before");
			return 400;
		}
		page.after_us = us;
	}
	if (room_list(srv, &page, listed_rooms, hr)) {
		*out = error_json("database unavailable");
		return 503;
	}
	return 0;
}

/*
 * Verifies a room token from the Authorization header; returns the seat or
 * SEAT_NONE, and the token's epoch in *epoch.
 */
static enum seat token_seat(struct server *srv, const char *auth, const char *room, int64_t *epoch,
			    const char **why)
{
	const char *tok = bearer(auth);
	struct auth_claims cl;
	int rc;

	if (!tok) {
		*why = "a room token is required (Authorization: Bearer <token>)";
		return SEAT_NONE;
	}
	rc = auth_token_verify(srv->secret, tok, (int64_t)(server_now_ms() / 1000), &cl);
	if (rc) {
		*why = auth_strerror(rc);
		return SEAT_NONE;
	}
	if (strcmp(cl.room, room) != 0) {
		*why = "token not valid for this room";
		return SEAT_NONE;
	}
	*epoch = cl.epoch;
	return proto_seat_parse(auth_role_name(cl.role));
}

/*
 * The part of a request that outlives http_api() while a room loads or a
 * close is stored.  A call waiting on PostgreSQL is answered 503 after
 * CALL_DEADLINE_MS (hr is then NULL: answered) and lives on until its store
 * callback comes, which then only finishes what it started.  (Without the
 * deadline a request to an unreachable PostgreSQL waited until lws dropped
 * the connection, ~5 s, and was never answered.)
 */
#define CALL_DEADLINE_MS HTTP_DEADLINE_MS

struct room_call {
	struct server *srv;
	struct http_req *hr; /* NULL once answered */
	lws_sorted_usec_list_t deadline;
	char id[64];
	int64_t epoch; /* of the token */
	enum seat seat;
	char method[8];
	char action[64];
	/* submissions routes: the submission's id, and the list's page */
	char sub[48];
	char before[48];
	/* query of the replay routes, parsed before the room loads */
	uint64_t after;
	unsigned limit;
	int64_t at_ms;
	/* ?kinds= of the timeline: comma-separated event kinds to keep, or "" for all */
	char kinds[160];
};

static bool is_replay(const char *action)
{
	return strcmp(action, "timeline") == 0 || strcmp(action, "text") == 0;
}

static bool is_subs(const char *action)
{
	return strncmp(action, "submissions", 11) == 0;
}

/*
 * TIME of ?at=: unix milliseconds, or RFC 3339 ("2026-11-22T00:30:17.5Z",
 * "...+02:00"; a '+' may arrive URL-decoded as a space).  0 or -1.
 */
int http_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, n = 0;
	int64_t ms = 0, off = 0;
	const char *p;

	if (!s[0])
		return -1;
	for (p = s; isdigit((unsigned char)*p); p++)
		;
	if (!*p && p - s <= 15) {
		*out = strtoll(s, NULL, 10);
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	p = s + n;
	if (*p == '.') {
		int64_t scale = 100;

		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			ms += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-' || *p == ' ') {
		int oh, om, k = 0;

		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || oh > 23 || om > 59)
			return -1;
		off = ((int64_t)oh * 60 + om) * 60000 * (*p == '-' ? -1 : 1);
		p += 1 + k;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	{
		struct tm tm;
		time_t t;

		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = sec;
		t = timegm(&tm); /* UTC, no time zone involved */
		*out = (int64_t)t * 1000 + ms - off;
	}
	return 0;
}

/* Keeps the events whose kind is in kinds (a JSON array of strings); consumes nothing. */
static void keep_kinds(json_t *events, const json_t *kinds)
{
	size_t i = 0;

	while (i < json_array_size(events)) {
		const char *k =
			json_string_value(json_object_get(json_array_get(events, i), "kind"));
		bool keep = false;
		size_t j;
		json_t *w;

		json_array_foreach(kinds, j, w)
		{
			if (k && !strcmp(k, json_string_value(w)))
				keep = true;
		}
		if (keep)
			i++;
		else
			json_array_remove(events, i);
	}
}

static void listed(void *ud, int err, json_t *events, uint64_t next)
{
	struct http_req *hr = ud;
	json_t *kinds = hr->pending; /* ?kinds=, set by replay() */

	hr->pending = NULL;
	if (err) {
		json_decref(kinds);
		http_reply(hr, 503, error_json(timeline_strerror(err)));
		return;
	}
	if (kinds)
		keep_kinds(events, kinds);
	json_decref(kinds);
	http_reply(hr, 200,
		   json_pack("{s:o, s:o}", "events", events, "next",
			     next ? json_integer((json_int_t)next) : json_null()));
}

/* GET /api/rooms/:id/timeline and /text, the room loaded and the seat checked. */
static void replay(struct room_call *rc, struct room *r)
{
	struct http_req *hr = rc->hr;

	rc->hr = NULL; /* answered from here on, possibly later (timeline_list) */
	if (strcmp(rc->method, "GET") != 0) {
		http_reply(hr, 405, error_json("use GET"));
		return;
	}
	if (rc->seat != SEAT_INTERVIEWER && rc->seat != SEAT_OBSERVER) {
		http_reply(hr, 403, error_json("only the interviewer and observers may replay"));
		return;
	}
	if (!room_timeline(r) || !hr->srv->timeline) {
		http_reply(hr, 503, error_json("the timeline is unavailable"));
		return;
	}
	if (strcmp(rc->action, "timeline") == 0) {
		if (rc->kinds[0]) {
			char *save = NULL, *k;

			hr->pending = json_array();
			for (k = strtok_r(rc->kinds, ",", &save); k; k = strtok_r(NULL, ",", &save))
				json_array_append_new(hr->pending, json_string(k));
		}
		if (timeline_list(room_timeline(r), rc->after, rc->limit, listed, hr)) {
			json_decref(hr->pending);
			hr->pending = NULL;
			http_reply(hr, 500, error_json("out of memory"));
		}
		return;
	} else {
		char *text = NULL;
		size_t len = 0;
		uint64_t seq = 0;
		json_t *t;

		if (room_text_at(r, rc->at_ms, &text, &len, &seq)) {
			http_reply(hr, 500, error_json("could not build the text"));
			return;
		}
		t = json_stringn(text, len);
		free(text);
		http_reply(hr, 200,
			   json_pack("{s:I, s:o, s:o}", "at", (json_int_t)rc->at_ms, "seq",
				     seq ? json_integer((json_int_t)seq) : json_null(), "text",
				     t ? t : json_string("")));
	}
}

/* Reads ?after=&limit= or ?at= now, while the request's wsi is at hand. */
static int replay_query(struct http_req *hr, struct room_call *rc, json_t **out)
{
	char buf[96];
	const char *v;

	rc->limit = 100;
	if (strcmp(rc->action, "timeline") == 0) {
		v = hr->wsi ? lws_get_urlarg_by_name(hr->wsi, "after=", buf, sizeof(buf)) : NULL;
		if (v) {
			char *end;

			rc->after = strtoull(v, &end, 10);
			if (!v[0] || *end || v[0] == '-') {
				*out = error_json("after must be a sequence number");
				return 400;
			}
		}
		v = hr->wsi ? lws_get_urlarg_by_name(hr->wsi, "limit=", buf, sizeof(buf)) : NULL;
		if (v) {
			char *end;
			unsigned long l = strtoul(v, &end, 10);

			if (!v[0] || *end || l < 1 || l > 1000) {
				*out = error_json("limit must be between 1 and 1000");
				return 400;
			}
			rc->limit = (unsigned)l;
		}
		/* Room for any value the 8 KiB request line holds: one too long is refused, not
		 * lost. */
		char kinds[8192];

		v = hr->wsi ? lws_get_urlarg_by_name(hr->wsi, "kinds=", kinds, sizeof(kinds))
			    : NULL;
		if (v) {
			size_t n = strlen(v);

			if (!n || n >= sizeof(rc->kinds) ||
			    strspn(v, "abcdefghijklmnopqrstuvwxyz.,") != n || v[0] == ',' ||
			    v[n - 1] == ',' || strstr(v, ",,")) {
				*out = error_json("kinds must be event kinds separated by commas");
				return 400;
			}
			snprintf(rc->kinds, sizeof(rc->kinds), "%s", v);
		}
		return 0;
	}
	/* No at, or at=now: the text now (docs/protocol.md). */
	v = hr->wsi ? lws_get_urlarg_by_name(hr->wsi, "at=", buf, sizeof(buf)) : NULL;
	if (!v || strcmp(v, "now") == 0) {
		rc->at_ms = (int64_t)server_now_ms();
		return 0;
	}
	if (http_parse_time(v, &rc->at_ms)) {
		*out = error_json("at must be unix milliseconds or an RFC 3339 time");
		return 400;
	}
	return 0;
}

struct http_wait {
	struct http_req *hr; /* NULL once answered */
	lws_sorted_usec_list_t deadline;
	char what[64];
};

static void wait_deadline(lws_sorted_usec_list_t *sul)
{
	struct http_wait *w = lws_container_of(sul, struct http_wait, deadline);

	log_event(LOG_WARN, "http.deadline", "action=%s", w->what);
	http_reply(w->hr, 503, error_json("database unavailable; retry"));
	w->hr = NULL;
}

struct http_wait *http_wait_start(struct server *srv, struct http_req *hr, const char *what)
{
	struct http_wait *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->hr = hr;
	snprintf(w->what, sizeof(w->what), "%s", what);
	if (srv->ctx)
		lws_sul_schedule(srv->ctx, 0, &w->deadline, wait_deadline,
				 (lws_usec_t)HTTP_DEADLINE_MS * LWS_US_PER_MS);
	return w;
}

void http_wait_cancel(struct http_wait *w)
{
	lws_sul_cancel(&w->deadline);
	free(w);
}

void http_wait_reply(struct http_wait *w, int status, json_t *body)
{
	if (w->hr)
		http_reply(w->hr, status, body);
	else
		json_decref(body);
	http_wait_cancel(w);
}

/* Answers the call's request unless the deadline did already (consumes body). */
static void call_reply(struct room_call *rc, int status, json_t *body)
{
	if (!rc->hr) {
		json_decref(body);
		return;
	}
	http_reply(rc->hr, status, body);
	rc->hr = NULL;
}

static void call_done(struct room_call *rc)
{
	lws_sul_cancel(&rc->deadline);
	free(rc);
}

static void call_deadline(lws_sorted_usec_list_t *sul)
{
	struct room_call *rc = lws_container_of(sul, struct room_call, deadline);

	log_event(LOG_WARN, "http.deadline", "room=%s action=%s", rc->id, rc->action);
	call_reply(rc, 503, error_json("database unavailable; retry"));
}

/*
 * The close is stored, and only now is the room closed in memory (members
 * see COMPLETED, sockets close with 4002: room_close_durably), or it could
 * not be, and the room is as it was, so the retry the 503 asks for can
 * succeed.  A close that succeeds after its request was answered 503
 * (PostgreSQL came back late) still closes the room: a retry finds it
 * closed and answers 200.
 */
static void on_closed(void *ud, int err)
{
	struct room_call *rc = ud;

	if (err)
		call_reply(rc, 503, error_json("the close was not recorded; retry it"));
	else
		call_reply(rc, 200, json_pack("{s:s, s:b}", "id", rc->id, "closed", 1));
	call_done(rc);
}

/* POST /api/rooms/:id/close: closing is idempotent (a closed room answers 200). */
static bool close_room(struct room_call *rc, struct room *r)
{
	if (strcmp(rc->method, "POST") != 0) {
		call_reply(rc, 405, error_json("use POST"));
		return false;
	}
	if (rc->seat != SEAT_INTERVIEWER) {
		call_reply(rc, 403, error_json("only the interviewer may close the room"));
		return false;
	}
	if (room_closed(r)) {
		call_reply(rc, 200, json_pack("{s:s, s:b}", "id", rc->id, "closed", 1));
		return false;
	}
	if (room_close_durably(rc->srv, rc->id, on_closed, rc)) {
		call_reply(rc, 503, error_json("the close was not recorded; retry it"));
		return false;
	}
	return true; /* on_closed finishes the call (it may have already) */
}

/*
 * What a revoked token may still do.  Closing a room revokes every token
 * for it (the close bumps the room's token epoch; a token carries the epoch
 * it was issued in, and one of an older epoch is revoked), but staff keep
 * read access for replay, and the interviewer's close of a closed room is
 * answered 200 (a retry of a close whose answer was lost).
 */
static bool revoked_may(const struct room_call *rc, const struct room *r)
{
	if (rc->seat == SEAT_CANDIDATE)
		return false;
	if (strcmp(rc->action, "close") == 0)
		return room_closed(r);
	return strcmp(rc->method, "GET") == 0 &&
	       (rc->action[0] == '\0' || is_replay(rc->action) || is_subs(rc->action));
}

static void subs_answered(void *ud, int status, json_t *body)
{
	struct room_call *rc = ud;

	call_reply(rc, status, body);
	call_done(rc);
}

/* ?before=ID&limit=N of GET .../submissions, and the id of .../submissions/ID. */
static int subs_query(struct http_req *hr, struct room_call *rc, json_t **out)
{
	char buf[96];
	const char *v;

	rc->limit = 20;
	if (rc->action[11] == '/') {
		const char *sid = rc->action + 12;
		if (!sid[0] || strlen(sid) >= sizeof(rc->sub) ||
		    strspn(sid,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
			    strlen(sid)) {
			*out = error_json("no such submission");
			return 404;
		}
		snprintf(rc->sub, sizeof(rc->sub), "%s", sid);
		return 0;
	}
	if (rc->action[11] != '\0') {
		*out = error_json("no such route");
		return 404;
	}
	if (strcmp(rc->method, "GET") != 0) {
		*out = error_json("use GET");
		return 405;
	}
	v = hr->wsi ? lws_get_urlarg_by_name(hr->wsi, "before=", buf, sizeof(buf)) : NULL;
	if (v) {
		if (!v[0] || strlen(v) >= sizeof(rc->before)) {
			*out = error_json("before must be a submission id");
			return 400;
		}
		snprintf(rc->before, sizeof(rc->before), "%s", v);
	}
	v = hr->wsi ? lws_get_urlarg_by_name(hr->wsi, "limit=", buf, sizeof(buf)) : NULL;
	if (v) {
		char *end;
		unsigned long l = strtoul(v, &end, 10);

		if (!v[0] || *end || l < 1 || l > 100) {
			*out = error_json("limit must be between 1 and 100");
			return 400;
		}
		rc->limit = (unsigned)l;
	}
	return 0;
}

/*
 * The bank's summaries cut to what the interviewer's problem picker shows:
 * no counts of tests, nothing of any test.
 */
static void problems_listed(void *ud, int status, json_t *body)
{
	static const char *const keep[] = { "id", "title", "difficulty", "tags" };
	struct room_call *rc = ud;
	json_t *list = json_object_get(body, "problems"), *out, *p;
	size_t i;

	if (status != 200 || !json_is_array(list)) {
		subs_answered(rc, status, body);
		return;
	}
	out = json_array();
	json_array_foreach(list, i, p)
	{
		json_t *s = json_object();

		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
			if (json_object_get(p, keep[k]))
				json_object_set(s, keep[k], json_object_get(p, keep[k]));
		json_array_append_new(out, s);
	}
	json_decref(body);
	subs_answered(rc, 200, json_pack("{s:o}", "problems", out));
}

/*
 * GET /api/rooms/:id/problems: the bank's problems for the interviewer's
 * picker (a room token cannot read /api/problems, which shows hidden
 * tests to the admin).  Returns true when problems_listed finishes the call.
 */
static bool list_problems(struct room_call *rc)
{
	if (strcmp(rc->method, "GET") != 0) {
		call_reply(rc, 405, error_json("use GET"));
		return false;
	}
	if (rc->seat != SEAT_INTERVIEWER) {
		call_reply(rc, 403, error_json("only the interviewer may list the problems"));
		return false;
	}
	if (!rc->srv->bank || bank_list(rc->srv->bank, false, problems_listed, rc)) {
		call_reply(rc, 503, error_json("database unavailable"));
		return false;
	}
	return true;
}

static void room_call(void *ud, struct room *r, int status)
{
	struct room_call *rc = ud;

	if (!rc->hr)
		goto out; /* answered 503 by the deadline meanwhile: nothing more to do */
	if (!r) {
		call_reply(rc, status,
			   error_json(status == 404 ? "no such room" : "database unavailable"));
		goto out;
	}
	if ((room_closed(r) || rc->epoch < room_token_epoch(r)) && !revoked_may(rc, r)) {
		call_reply(rc, 401,
			   error_json(room_closed(r) ? "room closed: its tokens are revoked"
						     : "token revoked"));
		goto out;
	}
	if (rc->action[0] == '\0') {
		if (strcmp(rc->method, "GET") != 0) {
			call_reply(rc, 405, error_json("use GET"));
			goto out;
		}
		call_reply(rc, 200,
			   json_pack("{s:s, s:s, s:b, s:o}", "id", room_id(r), "problem",
				     room_problem(r), "closed", room_closed(r), "presence",
				     room_presence_json(r)));
		goto out;
	}
	if (strcmp(rc->action, "close") == 0) {
		if (close_room(rc, r))
			return;
		goto out;
	}
	if (is_replay(rc->action)) {
		replay(rc, r);
		goto out;
	}
	if (strcmp(rc->action, "problems") == 0) {
		if (list_problems(rc))
			return;
		goto out;
	}
	if (is_subs(rc->action)) {
		/* A candidate sees its own seat's submissions only; hidden tests never. */
		const char *seat = rc->seat == SEAT_CANDIDATE ? "candidate" : NULL;
		int e = rc->sub[0] ? subs_get(rc->srv, rc->id, rc->sub, seat, subs_answered, rc)
				   : subs_list(rc->srv, rc->id, seat,
					       rc->before[0] ? rc->before : NULL, rc->limit,
					       subs_answered, rc);
		if (e == 0)
			return; /* subs_answered finishes the call */
		call_reply(rc, 503, error_json("database unavailable"));
		goto out;
	}
	call_reply(rc, 404, error_json("no such route"));
out:
	call_done(rc);
}

int http_api(struct server *srv, struct http_req *hr, const char *method, const char *path,
	     const char *auth, const char *body, size_t body_len, json_t **out)
{
	char id[64], action[64];
	const char *why = "";
	struct room_call *rc;
	int64_t epoch = 0;
	enum seat seat;

	*out = NULL;
	if (strcmp(path, "/api/problems") == 0 || strncmp(path, "/api/problems/", 14) == 0)
		return http_problems(srv, hr, method, path, auth, body, body_len, out);
	if (strcmp(path, "/api/rooms") == 0) {
		if (strcmp(method, "GET") == 0)
			return list_rooms(srv, hr, auth, out);
		if (strcmp(method, "POST") != 0) {
			*out = error_json("use POST to create a room, GET to list them");
			return 405;
		}
		return create_room(srv, hr, auth, body, body_len, out);
	}
	action[0] = '\0';
	if (strncmp(path, "/api/rooms/", 11) != 0 ||
	    sscanf(path + 11, "%63[A-Za-z0-9_-]/%63s", id, action) < 1 ||
	    strlen(path + 11) != strlen(id) + (action[0] ? strlen(action) + 1 : 0)) {
		*out = error_json("no such route");
		return 404;
	}
	/*
	 * The admin key does what the interviewer's token does, in every room,
	 * and is never revoked (the dashboard closes and replays rooms it did
	 * not create in this browser).
	 */
	if (http_is_admin(srv, auth)) {
		seat = SEAT_INTERVIEWER;
		epoch = INT64_MAX;
	} else {
		seat = token_seat(srv, auth, id, &epoch, &why);
		if (seat == SEAT_NONE) {
			*out = error_json(why);
			return 401;
		}
	}
	rc = calloc(1, sizeof(*rc));
	if (!rc) {
		*out = error_json("out of memory");
		return 500;
	}
	rc->srv = srv;
	rc->hr = hr;
	rc->seat = seat;
	rc->epoch = epoch;
	snprintf(rc->id, sizeof(rc->id), "%s", id);
	snprintf(rc->method, sizeof(rc->method), "%s", method);
	snprintf(rc->action, sizeof(rc->action), "%s", action);
	if (is_replay(action) || is_subs(action)) {
		int status = is_subs(action) ? subs_query(hr, rc, out) : replay_query(hr, rc, out);

		if (status) {
			free(rc);
			return status;
		}
	}
	/* Armed first: room_get may finish the call before it returns. */
	if (srv->ctx)
		lws_sul_schedule(srv->ctx, 0, &rc->deadline, call_deadline,
				 (lws_usec_t)CALL_DEADLINE_MS * LWS_US_PER_MS);
	if (room_get(srv, id, room_call, rc)) {
		call_done(rc);
		*out = error_json("out of memory");
		return 500;
	}
	return 0;
}

/* ---- the browser app: files of --static DIR -------------------------------- */

/*
 * What the app's pages may do, and nothing more: scripts and the CRDT's
 * WebAssembly from this origin only, fetches and the WebSocket to this
 * origin, inline styles (CodeMirror injects them), images from here or
 * data: URLs; no plugins, no <base>, no framing.
 */
#define APP_CSP                                                                          \
	"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; " \
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "    \
	"base-uri 'none'; frame-ancestors 'none'"
/* Everything else (JSON, metrics, errors) is never a document to render. */
#define API_CSP "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

#define CACHE_IMMUTABLE "public, max-age=31536000, immutable"

/* The types of every file Vite emits (and a few a public/ folder may add). */
static const char *static_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".wasm", "application/wasm" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".map", "application/json" },
		{ ".woff2", "font/woff2" },
		{ ".woff", "font/woff" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".webmanifest", "application/manifest+json" },
		{ ".jpg", "image/jpeg" },
		{ ".webp", "image/webp" },
	};
	const char *dot = strrchr(path, '.');

	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcmp(dot, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

/*
 * Opens path (relative to DIR, '/'-separated) for reading without ever
 * leaving DIR: each component is opened with O_NOFOLLOW under the one
 * before, so a symlink anywhere on the way fails (ELOOP or ENOTDIR)
 * instead of being followed, and a component that is empty, or starts
 * with '.' ("..", dotfiles), is not found.  lws has already removed
 * "." and ".." segments; this does not rely on it.  Returns the open
 * regular file, or -errno (-EISDIR for a folder).
 */
static int static_open(int dirfd, const char *path, struct stat *st)
{
	int cur = dirfd, fd;

	for (;;) {
		const char *slash = strchr(path, '/');
		size_t n = slash ? (size_t)(slash - path) : strlen(path);
		char comp[256];

		if (n == 0 || n >= sizeof(comp) || path[0] == '.') {
			if (cur != dirfd)
				close(cur);
			return -ENOENT;
		}
		memcpy(comp, path, n);
		comp[n] = '\0';
		fd = openat(cur, comp,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (slash ? O_DIRECTORY : 0));
		if (fd < 0)
			fd = -errno;
		if (cur != dirfd)
			close(cur);
		if (fd < 0)
			return fd;
		if (!slash)
			break;
		cur = fd;
		path = slash + 1;
	}
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EISDIR;
	}
	return fd;
}

/* Accept-Encoding names gzip (or *) without q=0. */
static bool accepts_gzip(const char *ae)
{
	while (*ae) {
		const char *end = ae + strcspn(ae, ","), *q;
		size_t n;

		while (*ae == ' ' || *ae == '\t')
			ae++;
		n = strcspn(ae, ";, \t");
		if ((n == 4 && !strncasecmp(ae, "gzip", 4)) || (n == 1 && *ae == '*')) {
			q = memchr(ae, ';', (size_t)(end - ae));
			if (!q)
				return true;
			q += 1 + strspn(q + 1, " \t");
			if (strncasecmp(q, "q=", 2) || strtod(q + 2, NULL) > 0)
				return true;
		}
		ae = *end ? end + 1 : end;
	}
	return false;
}

/*
 * Answers a GET or HEAD outside /api from DIR: the file, FILE.gz instead
 * when the client takes gzip and it exists, index.html for "/" and for the
 * app's own routes (a path whose last segment has no dot: /room/..,
 * /dashboard), 404 for anything else missing, under /assets/ above all.
 * Files under /assets/ carry a content hash in their names: cached for a
 * year; everything else is revalidated (index.html names the current
 * assets).
 */
static void static_serve(struct server *srv, struct http_pss *h)
{
	struct http_req *hr = h->hr;
	const char *path = h->path + 1, *last = strrchr(h->path, '/');
	bool assets = !strncmp(h->path, "/assets/", 8);
	char ae[256], gz[300];
	struct stat st;
	int fd;

	if (!path[0])
		path = "index.html";
	fd = static_open(srv->static_fd, path, &st);
	if (fd == -ENOENT || fd == -EISDIR || fd == -ENOTDIR) {
		if (!assets && !strchr(last, '.')) {
			path = "index.html";
			fd = static_open(srv->static_fd, path, &st);
		}
	}
	if (fd < 0) {
		http_reply(hr,
			   fd == -ENOENT || fd == -EISDIR || fd == -ENOTDIR || fd == -ELOOP ? 404
											    : 403,
			   json_pack("{s:s}", "error", "no such file"));
		return;
	}
	hr->type = static_type(path);
	hr->cache = assets ? CACHE_IMMUTABLE : "no-cache";
	hr->app = true;
	if (lws_hdr_copy(hr->wsi, ae, sizeof(ae), WSI_TOKEN_HTTP_ACCEPT_ENCODING) > 0 &&
	    accepts_gzip(ae) && (size_t)snprintf(gz, sizeof(gz), "%s.gz", path) < sizeof(gz)) {
		struct stat gst;
		int gfd = static_open(srv->static_fd, gz, &gst);

		if (gfd >= 0) {
			close(fd);
			fd = gfd;
			st = gst;
			hr->encoding = "gzip";
		}
	}
	hr->file_fd = fd;
	hr->file_left = (uint64_t)st.st_size;
	hr->status = 200;
	hr->ready = true;
	log_event(LOG_DEBUG, "http.static", "path=%s bytes=%llu gzip=%d", path,
		  (unsigned long long)st.st_size, hr->encoding != NULL);
	lws_callback_on_writable(hr->wsi);
}

/* ---- HTTP plumbing: requests in, answers out
 * ---------------------------------------------------------- */

static void http_req_free(struct http_req *hr)
{
	if (!hr)
		return;
	json_decref(hr->pending);
	free(hr->resp);
	if (hr->file_fd >= 0)
		close(hr->file_fd);
	free(hr);
}

void http_reply(struct http_req *hr, int status, json_t *body)
{
	if (hr->orphan) {
		json_decref(body);
		http_req_free(hr);
		return;
	}
	hr->status = status;
	hr->resp = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!hr->resp)
		hr->resp = strdup("{}");
	hr->resp_len = hr->resp ? strlen(hr->resp) : 0;
	hr->ready = true;
	log_event(LOG_INFO, "http", "status=%d", status);
	if (hr->wsi) /* a request without a connection is a test's */
		lws_callback_on_writable(hr->wsi);
}

static void http_handle(struct server *srv, struct http_pss *h)
{
	json_t *out = NULL;
	int status;

	if (h->dispatched)
		return;
	h->dispatched = true;
	if (srv->stopping) {
		http_reply(h->hr, 503, json_pack("{s:s}", "error", "server shutting down"));
		return;
	}

	if (h->too_big) {
		http_reply(h->hr, 413, json_pack("{s:s}", "error", "request body too large"));
		return;
	}
	if (strncmp(h->path, "/api/", 5) != 0 && strcmp(h->path, "/api") != 0) {
		char *body = NULL;
		size_t n = 0;
		const char *type;

		if (!strcmp(h->path, "/ws") || !strncmp(h->path, "/ws/", 4)) {
			http_reply(h->hr, 400,
				   error_json("a WebSocket handshake with subprotocol tandem.v1 is "
					      "expected on /ws"));
			return;
		}
		if (srv->static_fd >= 0 && strcmp(h->path, "/metrics") != 0 &&
		    strcmp(h->path, "/healthz") != 0 && strcmp(h->path, "/readyz") != 0) {
			if (strcmp(h->method, "GET") != 0 && strcmp(h->method, "HEAD") != 0)
				http_reply(h->hr, 405, error_json("use GET"));
			else
				static_serve(srv, h);
			return;
		}
		status = metrics_http(srv, h->path, &body, &n, &type);
		h->hr->status = status;
		h->hr->resp = body ? body : strdup("");
		h->hr->resp_len = body ? n : 0;
		h->hr->type = type;
		h->hr->ready = true;
		lws_callback_on_writable(h->hr->wsi);
		return;
	}
	log_event(LOG_INFO, "http.request", "method=%s path=%s", h->method, h->path);
	status = http_api(srv, h->hr, h->method, h->path, h->auth[0] ? h->auth : NULL, h->body,
			  h->body_len, &out);
	if (status == 0) {
		h->waiting = !h->hr->ready;
		return;
	}
	http_reply(h->hr, status, out);
}

/* Adds "name: value" (name with its colon); non-zero when it does not fit. */
static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		      unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
					   (const unsigned char *)value, (int)strlen(value), p,
					   end);
}

/* The status line and every header of hr's answer. */
static int write_headers(struct lws *wsi, struct http_req *hr, unsigned char *start,
			 unsigned char *end)
{
	unsigned char *p = start;
	uint64_t len = hr->file_fd >= 0 ? hr->file_left : hr->resp_len;

	if (lws_add_http_common_headers(wsi, (unsigned int)hr->status,
					hr->type ? hr->type : "application/json",
					(lws_filepos_t)len, &p, end) ||
	    add_header(wsi, "cache-control:", hr->cache ? hr->cache : "no-store", &p, end) ||
	    (hr->encoding && add_header(wsi, "content-encoding:", hr->encoding, &p, end)) ||
	    (hr->app && add_header(wsi, "vary:", "Accept-Encoding", &p, end)) ||
	    add_header(wsi, "content-security-policy:", hr->app ? APP_CSP : API_CSP, &p, end) ||
	    add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
	    /* room links carry their token in the fragment: never in a Referer either */
	    add_header(wsi, "referrer-policy:", "no-referrer", &p, end) ||
	    /* one request a connection: see http_write */
	    add_header(wsi, "connection:", "close", &p, end))
		return -1;
	return lws_finalize_write_http_header(wsi, start, &p, end);
}

/*
 * Writes the headers, then the body in pieces (from hr->resp, or read
 * from hr->file_fd), from the WRITEABLE callback.
 */
static int http_write(struct lws *wsi, struct http_req *hr)
{
	unsigned char buf[LWS_PRE + 16384];
	size_t n;
	int final;

	if (!hr->headers_sent) {
		if (write_headers(wsi, hr, buf + LWS_PRE, buf + sizeof(buf) - 1))
			return -1;
		hr->headers_sent = true;
		if (hr->head_only)
			return -1; /* HEAD: lws sends the headers, then closes */
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (hr->file_fd >= 0) {
		ssize_t got;

		n = hr->file_left < sizeof(buf) - LWS_PRE ? (size_t)hr->file_left
							  : sizeof(buf) - LWS_PRE;
		got = n ? read(hr->file_fd, buf + LWS_PRE, n) : 0;
		if (got != (ssize_t)n)
			return -1; /* the file changed under us: cut the answer short */
		hr->file_left -= n;
		final = hr->file_left == 0;
	} else {
		n = hr->resp_len - hr->resp_sent;
		if (n > sizeof(buf) - LWS_PRE)
			n = sizeof(buf) - LWS_PRE;
		memcpy(buf + LWS_PRE, hr->resp + hr->resp_sent, n);
		hr->resp_sent += n;
		final = hr->resp_sent == hr->resp_len;
	}
	if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
	    (int)n)
		return -1;
	if (!final) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	/*
	 * One request a connection (Connection: close): accept.c judges each
	 * request's head before lws parses it, and only sees the first of a
	 * connection.  lws sends what it still holds, then closes.
	 */
	return -1;
}

static void http_pss_reset(struct http_pss *h)
{
	if (h->hr) {
		if (h->waiting && !h->hr->ready)
			h->hr->orphan = true; /* http_reply frees it */
		else
			http_req_free(h->hr);
	}
	free(h->body);
	memset(h, 0, sizeof(*h));
}

/* Keeps len more bytes of the body, or notes it is too big.  -1: out of memory. */
static int body_append(struct http_pss *h, const void *in, size_t len)
{
	char *n;

	if (h->too_big ||
	    h->body_len + len >
		    (strncmp(h->path, "/api/problems", 13) ? HTTP_BODY_MAX : HTTP_PROBLEM_MAX)) {
		h->too_big = true;
		return 0;
	}
	n = realloc(h->body, h->body_len + len + 1);
	if (!n)
		return -1;
	h->body = n;
	memcpy(h->body + h->body_len, in, len);
	h->body_len += len;
	h->body[h->body_len] = '\0';
	return 0;
}

struct chunk_sink {
	struct http_pss *h;
	int err;
};

static void chunk_sink(void *ud, const char *p, size_t n)
{
	struct chunk_sink *s = ud;

	s->h->body_read += n;
	if (body_append(s->h, p, n))
		s->err = -1;
}

/*
 * A piece of a chunked body: decoded into h->body within HTTP_BODY_MAX;
 * the request is handled once the last chunk is in (413 if it was too
 * big), or refused as soon as the framing is wrong (400) or the body
 * passes HTTP_CHUNKED_READ_MAX (413 without reading on).
 */
static int chunked_body(struct server *srv, struct http_pss *h, const char *in, size_t len)
{
	struct chunk_sink s = { h, 0 };
	const char *why = "";
	size_t used;
	int rc = http_chunked_feed(&h->ch, in, len, &used, chunk_sink, &s, &why);

	if (s.err)
		return -1;
	if (rc == HTTP_CHUNKED_MORE) {
		if (h->body_read > HTTP_CHUNKED_READ_MAX) {
			h->dispatched = true;
			http_reply(h->hr, 413, error_json("request body too large"));
		}
		return 0;
	}
	if (rc) {
		h->dispatched = true;
		http_reply(h->hr, rc, error_json(why));
		return 0;
	}
	/* What follows the last chunk would be a second request: one a connection. */
	http_handle(srv, h);
	return 0;
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		  size_t len)
{
	struct server *srv = lws_context_user(lws_get_context(wsi));
	struct http_pss *h = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* A WebSocket handshake without the tandem.v1 subprotocol lands here: say why. */
		lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST,
				       "WebSocket subprotocol tandem.v1 required (on /ws)");
		return 1;

	case LWS_CALLBACK_HTTP: {
		const char *uri = in;
		int uri_len = 0;

		http_pss_reset(h);
		h->hr = calloc(1, sizeof(*h->hr));
		if (!h->hr)
			return -1;
		h->hr->srv = srv;
		h->hr->wsi = wsi;
		(void)uri;
		/* The whole request path, whatever the mount did to `in`. */
		h->hr->file_fd = -1;
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI)) {
			snprintf(h->method, sizeof(h->method), "POST");
			uri_len = lws_hdr_copy(wsi, h->path, sizeof(h->path), WSI_TOKEN_POST_URI);
		} else if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI)) {
			snprintf(h->method, sizeof(h->method), "GET");
			uri_len = lws_hdr_copy(wsi, h->path, sizeof(h->path), WSI_TOKEN_GET_URI);
		} else if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI)) {
			snprintf(h->method, sizeof(h->method), "PUT");
			uri_len = lws_hdr_copy(wsi, h->path, sizeof(h->path), WSI_TOKEN_PUT_URI);
		} else if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI)) {
			snprintf(h->method, sizeof(h->method), "DELETE");
			uri_len = lws_hdr_copy(wsi, h->path, sizeof(h->path), WSI_TOKEN_DELETE_URI);
		} else if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI)) {
			snprintf(h->method, sizeof(h->method), "HEAD");
			uri_len = lws_hdr_copy(wsi, h->path, sizeof(h->path), WSI_TOKEN_HEAD_URI);
			h->hr->head_only = true;
		} else {
			snprintf(h->method, sizeof(h->method), "OTHER");
			snprintf(h->path, sizeof(h->path), "%s", uri ? uri : "");
		}
		if (lws_hdr_copy(wsi, h->auth, sizeof(h->auth), WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
			h->auth[0] = '\0';
		{
			char ct[128];

			if (lws_hdr_copy(wsi, ct, sizeof(ct), WSI_TOKEN_HTTP_CONTENT_TYPE) > 0)
				h->hr->yaml = http_type_is_yaml(ct);
		}
		if (uri_len < 0) {
			/* lws_hdr_copy refuses what does not fit: never serve a path cut short */
			h->dispatched = true;
			http_reply(h->hr, 414, error_json("path too long"));
			return 0;
		}
		/* A POST or PUT with a body is handled once the body is in. */
		bool bodied = strcmp(h->method, "POST") == 0 || strcmp(h->method, "PUT") == 0;
		if (bodied && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
			/* lws passes the chunks through as they are: decoded here. */
			h->chunked = true;
			return 0;
		}
		if (bodied && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
			char cl[24];

			lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH);
			if (strtoul(cl, NULL, 10) > 0)
				return 0;
		}
		http_handle(srv, h);
		return 0;
	}
	case LWS_CALLBACK_HTTP_BODY:
		if (!len || !h->hr || h->dispatched)
			return 0;
		if (h->chunked)
			return chunked_body(srv, h, in, len);
		return body_append(h, in, len);

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (h->hr)
			http_handle(srv, h);
		return 0;

	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!h || !h->hr || !h->hr->ready)
			return 0;
		return http_write(wsi, h->hr);

	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (h)
			http_pss_reset(h);
		return 0;

	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}
