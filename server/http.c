/*
 * http.c - the REST API: create, inspect and close rooms.
 *
 * Pure request -> response logic over the room registry; ws.c does the
 * HTTP plumbing.  Every route authenticates first (the admin key for
 * creating rooms, a room token otherwise) and answers JSON, errors
 * included ({"error": "..."}), never HTML.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "server.h"
#include "store.h"

#define TOKEN_TTL_S (7 * 24 * 3600)

static json_t *error_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

/* "Bearer X" -> X, or NULL. */
static const char *bearer(const char *auth)
{
	if (!auth || strncmp(auth, "Bearer ", 7) != 0)
		return NULL;
	return auth + 7;
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

static void created(void *ud, int err)
{
	struct http_req *hr = ud;
	json_t *body = hr->pending;

	hr->pending = NULL;
	if (err) {
		room_discard(hr->room);
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
	const char *key = bearer(auth), *problem = "";
	json_t *req = NULL, *names = NULL, *links, *tokens;
	int64_t now = (int64_t)(server_now_ms() / 1000), ttl = TOKEN_TTL_S;
	char id[24], problem_buf[128];
	struct room *r;

	if (!key || !auth_key_equal(key, srv->admin_key)) {
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
	if (!srv->db)
		return 201;
	/* Answer once the room is durable; if it cannot be, it does not exist. */
	hr->pending = *out;
	*out = NULL;
	hr->room = r;
	if (store_create_room(srv, id, problem[0] ? problem : NULL, created, hr)) {
		*out = hr->pending;
		hr->pending = NULL;
		room_discard(r);
		json_decref(*out);
		*out = error_json("database unavailable; room not created");
		return 503;
	}
	return 0;
}

/* Verifies a room token from the Authorization header; returns the seat or SEAT_NONE. */
static enum seat token_seat(struct server *srv, const char *auth, const char *room,
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
	return proto_seat_parse(auth_role_name(cl.role));
}

/* The part of a request that outlives http_api() while a room loads. */
struct room_call {
	struct http_req *hr;
	enum seat seat;
	char method[8];
	char action[32];
};

static void on_closed(void *ud, int err)
{
	struct http_req *hr = ud;
	const char *id = room_id(hr->room);

	if (err)
		http_reply(
			hr, 503,
			error_json("closed on this server, but not yet recorded; retry the close"));
	else
		http_reply(hr, 200, json_pack("{s:s, s:b}", "id", id, "closed", 1));
}

static void room_call(void *ud, struct room *r, int status)
{
	struct room_call *rc = ud;
	struct http_req *hr = rc->hr;
	struct server *srv = hr->srv;

	if (!r) {
		http_reply(hr, status,
			   error_json(status == 404 ? "no such room" : "database unavailable"));
		goto out;
	}
	/* Closing revokes every token for the room, but staff keep read access for replay. */
	if (room_closed(r) && (rc->seat == SEAT_CANDIDATE || rc->action[0] != '\0' ||
			       strcmp(rc->method, "GET") != 0)) {
		http_reply(hr, 401, error_json("room closed: its tokens are revoked"));
		goto out;
	}
	if (rc->action[0] == '\0') {
		if (strcmp(rc->method, "GET") != 0) {
			http_reply(hr, 405, error_json("use GET"));
			goto out;
		}
		http_reply(hr, 200,
			   json_pack("{s:s, s:s, s:b, s:o}", "id", room_id(r), "problem",
				     room_problem(r), "closed", room_closed(r), "presence",
				     room_presence_json(r)));
		goto out;
	}
	if (strcmp(rc->action, "close") == 0) {
		if (strcmp(rc->method, "POST") != 0) {
			http_reply(hr, 405, error_json("use POST"));
			goto out;
		}
		if (rc->seat != SEAT_INTERVIEWER) {
			http_reply(hr, 403, error_json("only the interviewer may close the room"));
			goto out;
		}
		room_close(r);
		hr->room = r;
		if (!srv->db || store_close_room(srv, room_id(r), on_closed, hr))
			on_closed(hr, srv->db ? -1 : 0);
		goto out;
	}
	http_reply(hr, 404, error_json("no such route"));
out:
	free(rc);
}

int http_api(struct server *srv, struct http_req *hr, const char *method, const char *path,
	     const char *auth, const char *body, size_t body_len, json_t **out)
{
	char id[64], action[32];
	const char *why = "";
	struct room_call *rc;
	enum seat seat;

	*out = NULL;
	if (strcmp(path, "/api/rooms") == 0) {
		if (strcmp(method, "POST") != 0) {
			*out = error_json("use POST to create a room");
			return 405;
		}
		return create_room(srv, hr, auth, body, body_len, out);
	}
	action[0] = '\0';
	if (strncmp(path, "/api/rooms/", 11) != 0 ||
	    sscanf(path + 11, "%63[A-Za-z0-9_-]/%31s", id, action) < 1 ||
	    strlen(path + 11) != strlen(id) + (action[0] ? strlen(action) + 1 : 0)) {
		*out = error_json("no such route");
		return 404;
	}
	seat = token_seat(srv, auth, id, &why);
	if (seat == SEAT_NONE) {
		*out = error_json(why);
		return 401;
	}
	rc = calloc(1, sizeof(*rc));
	if (!rc) {
		*out = error_json("out of memory");
		return 500;
	}
	rc->hr = hr;
	rc->seat = seat;
	snprintf(rc->method, sizeof(rc->method), "%s", method);
	snprintf(rc->action, sizeof(rc->action), "%s", action);
	if (store_get_room(srv, id, room_call, rc)) {
		free(rc);
		*out = error_json("out of memory");
		return 500;
	}
	return 0;
}
