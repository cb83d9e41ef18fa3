/*
 * test-http.c - the REST API (http.c) over rooms in memory, without a
 * listener or a database.
 *
 * http_api() is called as http_callback would call it, with a request that
 * has no connection (its answer lands in the struct http_req): routes,
 * authentication, the admin key, bad bodies, creating a room, reading it,
 * closing it (idempotent: issue 14, defect 1), what a revoked token may
 * still do (a closed room, an older token epoch: defect 2), and the TIME
 * forms of ?at= (http_parse_time); the admin key in a room's routes and
 * the interviewer's problem list.  Without a database a room is created
 * and closed in memory only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth.h"
#include "check.h"
#include "http.h"
#include "room.h"
#include "server.h"

static struct server srv;

/* One request; returns the status and *out the body (parsed; the caller decrefs). */
static int call(const char *method, const char *path, const char *auth, const char *body,
		json_t **out)
{
	struct http_req *hr = calloc(1, sizeof(*hr));
	json_t *now = NULL;
	int status;

	REQUIRE(hr, "out of memory");
	hr->srv = &srv;
	status = http_api(&srv, hr, method, path, auth, body, body ? strlen(body) : 0, &now);
	if (status == 0) {
		/* Answered through http_reply (rooms in memory answer at once). */
		CHECK(hr->ready, "%s %s: no answer", method, path);
		status = hr->status;
		now = hr->resp ? json_loads(hr->resp, 0, NULL) : NULL;
	}
	free(hr->resp);
	json_decref(hr->pending);
	free(hr);
	if (out)
		*out = now;
	else
		json_decref(now);
	return status;
}

static char *bearer(const char *token)
{
	char *s = malloc(strlen(token) + 8);

	REQUIRE(s, "out of memory");
	strcpy(s, "Bearer ");
	strcat(s, token);
	return s;
}

/* The id of a room POST /api/rooms created, and its three tokens as "Bearer ..." (freed by the
 * caller). */
static const char *room_tokens(json_t *created, char **iv, char **cand, char **obs)
{
	const char *id = json_string_value(json_object_get(created, "id"));
	json_t *tokens = json_object_get(created, "tokens");

	REQUIRE(id && tokens, "created room has an id and tokens");
	*iv = bearer(json_string_value(json_object_get(tokens, "interviewer")));
	*cand = bearer(json_string_value(json_object_get(tokens, "candidate")));
	*obs = bearer(json_string_value(json_object_get(tokens, "observer")));
	return id;
}

/* GET path with auth answers 200 and says the room is closed. */
static void check_reads_closed(const char *path, const char *auth, const char *who)
{
	json_t *room = NULL;

	CHECK(call("GET", path, auth, NULL, &room) == 200, "%s reads a closed room", who);
	CHECK(json_is_true(json_object_get(room, "closed")), "%s: it says closed", who);
	json_decref(room);
}

static void test_parse_time(void)
{
	static const struct {
		const char *in;
		int64_t want;
	} ok[] = {
		{ "1763771417123", 1763771417123 },
		{ "0", 0 },
		{ "2026-11-22T00:30:17.5Z", 1795307417500 },
		{ "2026-11-22T02:30:17.5+02:00", 1795307417500 },
		{ "2026-11-22T02:30:17.5 02:00", 1795307417500 },
		{ "2026-11-21T19:00:17.500-05:30", 1795307417500 },
	};
	static const char *const bad[] = { "",	    "yesterday",	   "2026-13-01T00:00:00Z",
					   "12abc", "2026-11-22T00:30:17", "1234567890123456" };
	int64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK(http_parse_time(ok[i].in, &v) == 0 && v == ok[i].want,
		      "%s -> %lld (want %lld)", ok[i].in, (long long)v, (long long)ok[i].want);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(http_parse_time(bad[i], &v) == -1, "\"%s\" must be refused", bad[i]);
}

static void test_rooms(void)
{
	json_t *out = NULL;
	char *admin = bearer(srv.admin_key), *iv, *cand, *obs, *old, path[128], close_path[160];
	const char *id;
	struct auth_claims cl;
	char *oldtok = NULL;

	CHECK(call("POST", "/api/rooms", NULL, NULL, NULL) == 401, "create without the admin key");
	CHECK(call("POST", "/api/rooms", "Bearer nope", NULL, NULL) == 401, "create, wrong key");
	CHECK(call("DELETE", "/api/rooms", admin, NULL, NULL) == 405, "DELETE /api/rooms");
	/* GET lists rooms (test-rooms.mjs): from PostgreSQL, which this server has not. */
	CHECK(call("GET", "/api/rooms", NULL, NULL, NULL) == 401, "list without the admin key");
	CHECK(call("GET", "/api/rooms", admin, NULL, NULL) == 503, "list without PostgreSQL");
	CHECK(call("POST", "/api/rooms", admin, "[1", NULL) == 400, "bad body");
	CHECK(call("POST", "/api/rooms", admin, "{\"ttl_s\": 5}", NULL) == 400, "ttl too short");
	CHECK(call("GET", "/api/elsewhere", admin, NULL, NULL) == 404, "unknown route");
	REQUIRE(call("POST", "/api/rooms", admin, "{\"problem\": \"two-sum\"}", &out) == 201,
		"create a room");
	id = room_tokens(out, &iv, &cand, &obs);
	snprintf(path, sizeof(path), "/api/rooms/%s", id);
	snprintf(close_path, sizeof(close_path), "/api/rooms/%s/close", id);

	/* A token of an older epoch than the room's: as revoked as a closed room's. */
	memset(&cl, 0, sizeof(cl));
	snprintf(cl.room, sizeof(cl.room), "%s", id);
	cl.role = AUTH_ROLE_CANDIDATE;
	snprintf(cl.name, sizeof(cl.name), "Old");
	cl.exp = (int64_t)(server_now_ms() / 1000) + 3600;
	cl.epoch = -1;
	REQUIRE(auth_token_make(srv.secret, &cl, (int64_t)(server_now_ms() / 1000), &oldtok) == 0,
		"sign a token");
	old = bearer(oldtok);
	CHECK(call("GET", path, old, NULL, NULL) == 401, "candidate token of an older epoch");

	{
		json_t *room = NULL;

		CHECK(call("GET", path, cand, NULL, &room) == 200, "GET the room");
		CHECK(json_is_false(json_object_get(room, "closed")), "a new room is open");
		CHECK(strcmp(json_string_value(json_object_get(room, "problem")), "two-sum") == 0,
		      "its problem");
		json_decref(room);
	}
	CHECK(call("GET", path, NULL, NULL, NULL) == 401, "GET without a token");
	CHECK(call("POST", close_path, cand, NULL, NULL) == 403, "the candidate closes");
	CHECK(call("POST", close_path, obs, NULL, NULL) == 403, "an observer closes");
	CHECK(call("GET", close_path, iv, NULL, NULL) == 405, "GET .../close");
	CHECK(call("POST", close_path, iv, NULL, NULL) == 200, "the interviewer closes");
	CHECK(room_closed(room_find(&srv, id)), "closed in memory");
	CHECK(call("POST", close_path, iv, NULL, NULL) == 200, "closing again is answered 200");
	CHECK(call("GET", path, cand, NULL, NULL) == 401, "the candidate after the close");
	CHECK(call("POST", close_path, cand, NULL, NULL) == 401, "the candidate closing again");
	check_reads_closed(path, obs, "an observer");
	CHECK(call("GET", "/api/rooms/no-such-room", iv, NULL, NULL) == 401,
	      "a token of another room");
	free(admin);
	free(iv);
	free(cand);
	free(obs);
	free(old);
	free(oldtok);
	json_decref(out);
}

/*
 * The admin key does what the interviewer's token does in any room: close
 * it, and (the room closed) still read it; a wrong key is no key.  The
 * room's problem list (GET .../problems) is the interviewer's alone.
 */
static void test_admin_in_rooms(void)
{
	json_t *out = NULL;
	char *admin = bearer(srv.admin_key), *iv, *cand, *obs, path[128], close_path[160],
	     probs[160];
	const char *id;

	REQUIRE(call("POST", "/api/rooms", admin, "{}", &out) == 201, "create a room");
	id = room_tokens(out, &iv, &cand, &obs);
	snprintf(path, sizeof(path), "/api/rooms/%s", id);
	snprintf(close_path, sizeof(close_path), "/api/rooms/%s/close", id);
	snprintf(probs, sizeof(probs), "/api/rooms/%s/problems", id);

	/* The picker's list: the interviewer's token or the admin key (the bank: PostgreSQL). */
	CHECK(call("GET", probs, cand, NULL, NULL) == 403, "the candidate lists problems");
	CHECK(call("GET", probs, obs, NULL, NULL) == 403, "an observer lists problems");
	CHECK(call("POST", probs, iv, NULL, NULL) == 405, "POST .../problems");
	CHECK(call("GET", probs, iv, NULL, NULL) == 503, "the interviewer, no PostgreSQL");
	CHECK(call("GET", probs, admin, NULL, NULL) == 503, "the admin key, no PostgreSQL");
	CHECK(call("GET", probs, "Bearer the admin kez", NULL, NULL) == 401, "a wrong key");

	CHECK(call("GET", path, admin, NULL, NULL) == 200, "the admin key reads the room");
	CHECK(call("POST", close_path, "Bearer the admin kez", NULL, NULL) == 401,
	      "a wrong admin key closes");
	CHECK(call("POST", close_path, "Bearer ", NULL, NULL) == 401, "an empty key closes");
	CHECK(call("POST", close_path, cand, NULL, NULL) == 403, "the candidate closes");
	CHECK(!room_closed(room_find(&srv, id)), "still open");
	CHECK(call("POST", close_path, admin, NULL, NULL) == 200, "the admin key closes");
	CHECK(room_closed(room_find(&srv, id)), "closed in memory");
	CHECK(call("POST", close_path, admin, NULL, NULL) == 200, "and again: 200");
	check_reads_closed(path, admin, "the admin key");
	CHECK(call("GET", path, cand, NULL, NULL) == 401, "the candidate after the close");
	free(admin);
	free(iv);
	free(cand);
	free(obs);
	json_decref(out);
}

/* Which Content-Type makes a PUT /api/problems/:id body a Py-Katas YAML file. */
static void test_yaml_type(void)
{
	static const char *const yes[] = { "application/yaml", "application/x-yaml",
					   "text/yaml; charset=utf-8", "Text/X-YAML",
					   "application/yaml;charset=utf-8" };
	static const char *const no[] = { "application/json",  "application/x-tar", "",
					  "application/yamlx", "text/plain",	    "yaml" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(http_type_is_yaml(yes[i]), "\"%s\" names YAML", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(!http_type_is_yaml(no[i]), "\"%s\" does not name YAML", no[i]);
}

int main(void)
{
	srv.secret = "a test secret of enough length";
	srv.admin_key = "the admin key";
	srv.public_url = "http://127.0.0.1";
	srv.lim.left_after_ms = 1000;
	test_parse_time();
	test_rooms();
	test_admin_in_rooms();
	test_yaml_type();
	rooms_free(&srv);
	CHECK_DONE();
}
