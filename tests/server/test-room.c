/*
 * test-room.c - rooms (room.c, room-edit.c, room-msg.c) with connections
 * (conn.c) that have no socket, driven directly.
 *
 * A connection made with conn_create(srv, NULL) keeps every frame it is
 * sent in its queue, where the test reads them (conn__queued), so what a
 * room sends to whom is checked without a listener, a client or a
 * database: the welcome and catch-up of a join, fan-out of updates, the
 * release of operations that waited for others (issue 14, defect 0: the
 * candidate gets the interviewer's waiting edit, the interviewer its
 * ack), the per-connection budget, the awareness cap and the pacing of
 * awareness per sender (defect 3),
 * notes (back to their sender, never to a candidate), notes and
 * events refused with overloaded while the timeline's backlog is full (a
 * timeline with no Redis and no PostgreSQL and a backlog of a few events),
 * a run's state, which exists only while the run is in flight, against a
 * judge client whose supervisor end this test plays, and a join's, which
 * exists only while the join waits, with its allocations failing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "auth.h"
#include "check.h"
#include "conn.h"
#include "crdt.h"
#include "jclient.h"
#include "jproto.h"
#include "oom.h"
#include "room.h"
#include "server.h"
#include "testsrv.h"
#include "timeline.h"
#include "ws.h"

static struct server srv;
static uv_loop_t loop;

/* Frames queued for c that are text and contain needle. */
static int count_text(const struct conn *c, const char *needle)
{
	const uint8_t *d;
	size_t len;
	bool bin;
	int n = 0;

	for (size_t i = 0; conn__queued(c, i, &d, &len, &bin); i++)
		if (!bin && memmem(d, len, needle, strlen(needle)))
			n++;
	return n;
}

/* Applies every binary frame queued for c (from frame `from` on) to doc. */
static void apply_binary(const struct conn *c, size_t from, struct crdt_doc *doc)
{
	const uint8_t *d;
	size_t len;
	bool bin;

	for (size_t i = from; conn__queued(c, i, &d, &len, &bin); i++)
		if (bin)
			CHECK(crdt_apply(doc, d, len) == 0, "frame %zu applies", i);
}

static size_t queued(const struct conn *c)
{
	const uint8_t *d;
	size_t len, i;
	bool bin;

	for (i = 0; conn__queued(c, i, &d, &len, &bin); i++)
		;
	return i;
}

static struct conn *join(struct room *r, enum seat seat, const char *name)
{
	struct conn *c = conn_create(&srv, NULL);
	struct crdt_version have;

	REQUIRE(c, "conn_create");
	c->seat = seat;
	crdt_version_init(&have, NULL);
	room_join(r, c, name, &have, NULL);
	crdt_version_finish(&have);
	REQUIRE(c->room == r, "joined");
	return c;
}

/* Sends the ops doc made since v (then v is doc's version) as c's update. */
static void send_since(struct conn *c, struct crdt_doc *doc, struct crdt_version *v)
{
	struct crdt_buf buf;

	crdt_buf_init(&buf, NULL);
	REQUIRE(crdt_encode_since(doc, v, &buf) == 0, "encode");
	room_on_update(c, buf.data, buf.len);
	crdt_buf_finish(&buf);
	REQUIRE(crdt_doc_version(doc, v) == 0, "version");
}

/* The frames queued for c from `from` on, applied to doc, leave it reading want. */
static void check_receives(const struct conn *c, size_t from, struct crdt_doc *doc,
			   const char *want)
{
	size_t n;
	char *s;

	apply_binary(c, from, doc);
	n = crdt_len_bytes(doc);
	s = calloc(1, n + 1);
	REQUIRE(s, "out of memory");
	crdt_text(doc, s, n);
	CHECK(strcmp(s, want) == 0, "conn %llu has \"%s\" (want \"%s\")", (unsigned long long)c->id,
	      s, want);
	free(s);
}

static void leave(struct conn *c)
{
	room_leave(c);
	conn_destroy(c);
}

static void test_join_and_release(void)
{
	struct room *r = room_create(&srv, "r-release", "");
	struct conn *iv, *cand;
	struct crdt_doc *idoc, *cdoc;
	struct crdt_version iv_sent, cv_sent, before;
	struct crdt_buf x;
	size_t mark;

	REQUIRE(r, "room_create");
	iv = join(r, SEAT_INTERVIEWER, "Ivy");
	cand = join(r, SEAT_CANDIDATE, "Cam");
	CHECK(count_text(iv, "\"welcome\"") == 1 && count_text(cand, "\"welcome\"") == 1,
	      "each got one welcome");
	CHECK(iv->agent != cand->agent, "distinct agents %u %u", iv->agent, cand->agent);
	idoc = crdt_doc_create(NULL);
	cdoc = crdt_doc_create(NULL);
	crdt_version_init(&iv_sent, NULL);
	crdt_version_init(&cv_sent, NULL);
	crdt_version_init(&before, NULL);

	/* The interviewer types; the candidate gets it. */
	REQUIRE(crdt_insert(idoc, iv->agent, 0, "hello ", 6) == 0, "insert");
	mark = queued(cand);
	send_since(iv, idoc, &iv_sent);
	check_receives(cand, mark, cdoc, "hello ");
	CHECK(crdt_version_get(&iv->ack, iv->agent) == 6, "interviewer acked %u of 6",
	      crdt_version_get(&iv->ack, iv->agent));

	/* X: the candidate's, seen by the interviewer but not by the server. */
	REQUIRE(crdt_doc_version(cdoc, &cv_sent) == 0, "version");
	REQUIRE(crdt_doc_version(cdoc, &before) == 0, "version");
	REQUIRE(crdt_insert(cdoc, cand->agent, 6, "X", 1) == 0, "insert X");
	crdt_buf_init(&x, NULL);
	REQUIRE(crdt_encode_since(cdoc, &before, &x) == 0, "encode X");
	REQUIRE(crdt_apply(idoc, x.data, x.len) == 0, "X reaches the interviewer");
	crdt_buf_finish(&x);
	/* Y: the interviewer's, after X: it waits on the server, unacknowledged. */
	REQUIRE(crdt_insert(idoc, iv->agent, 7, "Y", 1) == 0, "insert Y");
	{
		struct crdt_version y_since;

		crdt_version_init(&y_since, NULL);
		REQUIRE(crdt_version_copy(&y_since, &iv_sent) == 0, "copy");
		REQUIRE(crdt_version_set(&y_since, cand->agent, 1) == 0, "X is not Y's to send");
		send_since(iv, idoc, &y_since);
		crdt_version_finish(&y_since);
	}
	CHECK(crdt_version_get(&iv->ack, iv->agent) == 6, "Y waits: not acked (ack %u)",
	      crdt_version_get(&iv->ack, iv->agent));
	/* X arrives: Y is released to the candidate and acked to the interviewer. */
	mark = queued(cand);
	send_since(cand, cdoc, &cv_sent);
	check_receives(cand, mark, cdoc, "hello XY");
	CHECK(crdt_version_get(&iv->ack, iv->agent) == 7, "Y acked to the interviewer (ack %u)",
	      crdt_version_get(&iv->ack, iv->agent));
	{
		struct crdt_version v;

		crdt_version_init(&v, NULL);
		CHECK(room_doc_version(r, &v) == 0 && crdt_version_get(&v, iv->agent) == 7 &&
			      crdt_version_get(&v, cand->agent) == 1,
		      "the room holds both");
		crdt_version_finish(&v);
	}
	crdt_version_finish(&iv_sent);
	crdt_version_finish(&cv_sent);
	crdt_version_finish(&before);
	crdt_doc_destroy(idoc);
	crdt_doc_destroy(cdoc);
	leave(iv);
	leave(cand);
}

static json_t *msg(const char *text)
{
	json_t *m = json_loads(text, 0, NULL);

	REQUIRE(m, "bad JSON in the test: %s", text);
	return m;
}

/* The last frame queued for c that is text and contains needle, or NULL (borrowed). */
static char *last_text(const struct conn *c, const char *needle)
{
	static char buf[8192];
	const uint8_t *d;
	size_t len;
	bool bin;
	bool found = false;

	for (size_t i = 0; conn__queued(c, i, &d, &len, &bin); i++)
		if (!bin && len < sizeof(buf) && memmem(d, len, needle, strlen(needle))) {
			memcpy(buf, d, len);
			buf[len] = '\0';
			found = true;
		}
	return found ? buf : NULL;
}

/*
 * c sends text, a message of type m, as a frame of len bytes: text itself
 * when len is its length, else a frame of that size the test does not
 * spell out (the room is not given its bytes).
 */
static void send_msg(struct conn *c, enum proto_msg m, const char *text, size_t len)
{
	json_t *j = msg(text);

	room_on_json(c, m, j, len == strlen(text) ? text : NULL, len);
	json_decref(j);
}

static void test_messages(void)
{
	struct room *r = room_create(&srv, "r-msg", "");
	struct conn *iv, *cand, *obs;
	int passed = 0;

	REQUIRE(r, "room_create");
	iv = join(r, SEAT_INTERVIEWER, "Ivy");
	cand = join(r, SEAT_CANDIDATE, "Cam");
	obs = join(r, SEAT_OBSERVER, "Oz");

	/* Awareness: to the others only; a large one refused. */
	{
		const char *sent = "{\"t\":\"awareness\",\"cursor\":1, \"name\":\"Cam \\u00e9\"} ";
		const char *spoof =
			"{\"t\":\"awareness\",\"from\":{\"seat\":\"interviewer\"},\"cursor\":2}";
		const char *got;

		send_msg(cand, PROTO_AWARENESS, sent, strlen(sent));
		got = last_text(iv, "\"awareness\"");
		/* As sent (its spacing and escapes too), the server's "from" added. */
		CHECK(got && !strcmp(got, "{\"t\":\"awareness\",\"cursor\":1, \"name\":\"Cam "
					  "\\u00e9\",\"from\":{\"seat\":\"candidate\",\"agent\":2,"
					  "\"name\":\"Cam\"}}"),
		      "awareness relayed as sent, from added: %s", got ? got : "(none)");
		send_msg(cand, PROTO_AWARENESS, spoof, strlen(spoof));
		got = last_text(obs, "\"awareness\"");
		CHECK(got && strstr(got, "\"seat\":\"candidate\"") && !strstr(got, "interviewer") &&
			      !strstr(strstr(got, "\"from\"") + 1, "\"from\""),
		      "a client's own from is replaced by the server's: %s", got ? got : "(none)");
	}
	CHECK(count_text(iv, "\"awareness\"") == 2 && count_text(obs, "\"awareness\"") == 2 &&
		      count_text(cand, "\"awareness\"") == 0,
	      "awareness reaches the others, not its sender");
	send_msg(cand, PROTO_AWARENESS, "{\"t\":\"awareness\",\"cursor\":2}",
		 PROTO_AWARENESS_MAX + 1);
	CHECK(count_text(iv, "\"awareness\"") == 2, "a large awareness is not relayed");
	CHECK(count_text(cand, "awareness over") == 1, "and its sender is told");

	/* Notes: back to the sender with its id, to observers, never to a candidate. */
	send_msg(iv, PROTO_NOTE, "{\"t\":\"note\",\"text\":\"strong\",\"id\":7}", 40);
	CHECK(count_text(iv, "\"note\"") == 1 && count_text(iv, "\"id\":7") == 1,
	      "the sender's copy echoes its id");
	CHECK(count_text(obs, "\"note\"") == 1, "the observer gets the note");
	CHECK(count_text(cand, "\"note\"") == 0, "the candidate never does");

	/* One budget per connection: ops_per_s frames, then rate_limited. */
	for (int i = 0; i < 1000; i++)
		passed += conn_take_budget(cand, 10);
	CHECK(passed == (int)srv.lim.ops_per_s, "%d frames passed in a burst of 1000 (budget %u)",
	      passed, srv.lim.ops_per_s);
	CHECK(count_text(cand, "rate_limited") == 1000 - passed, "each refusal is answered");
	leave(iv);
	leave(cand);
	leave(obs);
}

/*
 * Notes and events have a budget of their own (20 at once, 10 a second):
 * within the frame budget alone, a few flooders filled the server-wide
 * backlog and every room's typing was refused.
 */
static void test_recorded_budget(void)
{
	struct room *r = room_create(&srv, "r-recorded", "");
	struct conn *iv, *cand;
	int passed;

	REQUIRE(r, "room_create");
	iv = join(r, SEAT_INTERVIEWER, "Ivy");
	cand = join(r, SEAT_CANDIDATE, "Cam");
	for (int i = 0; i < 40; i++)
		send_msg(cand, PROTO_EVENT, "{\"t\":\"event\",\"kind\":\"paste\",\"size\":1}", 40);
	passed = count_text(iv, "\"paste\"");
	CHECK(passed >= 20 && passed <= 21, "20 events at once (and what accrued): %d", passed);
	CHECK(count_text(cand, "\"rate_limited\"") == 40 - passed,
	      "the rest are refused with rate_limited: %d", count_text(cand, "\"rate_limited\""));
	leave(iv);
	leave(cand);
}

/*
 * Runs the loop (the awareness timer held referenced) until c has been
 * sent n awareness frames, or 5 s pass: a bound that fails the test, never
 * a wait the test relies on.  The flush before the loop sleeps is held
 * off: these connections have no socket to write, and keep their frames.
 */
static bool run_until_awareness(const struct conn *c, int n)
{
	uint64_t end = uv_now(&loop) + 5000;

	uv_prepare_stop(&srv.flush);
	uv_ref((uv_handle_t *)&srv.aw_timer);
	while (count_text(c, "\"awareness\"") < n && uv_now(&loop) < end &&
	       uv_is_active((uv_handle_t *)&srv.aw_timer))
		uv_run(&loop, UV_RUN_ONCE);
	uv_unref((uv_handle_t *)&srv.aw_timer);
	uv_prepare_start(&srv.flush, srv.flush.prepare_cb);
	return count_text(c, "\"awareness\"") >= n;
}

/* c sends the text frame text, as the WebSocket callback hands it on (ws.c). */
static void send_frame(struct conn *c, const char *text)
{
	ws__on_message(c, (const unsigned char *)text, strlen(text), false);
}

/*
 * Awareness is paced per sender (issue 14, defect 3): of a burst of 100,
 * the peers get the first at once and then only the latest, when the
 * sender's window opens, whatever the order of its keys; a malformed one
 * held is answered when it would have gone on; one held when its sender
 * goes is dropped.  Before, every frame was relayed and a flooding
 * candidate's peer read 4 KB awareness frames as fast as the candidate
 * could send them.
 */
static void test_awareness_paced(void)
{
	struct room *r = room_create(&srv, "r-awareness", "");
	struct conn *iv, *cand, *obs;
	char frame[64], *last;
	int got;

	REQUIRE(r, "room_create");
	iv = join(r, SEAT_INTERVIEWER, "Ivy");
	cand = join(r, SEAT_CANDIDATE, "Cam");
	obs = join(r, SEAT_OBSERVER, "Oz");
	for (int i = 0; i < 100; i++) {
		/* As clients write it, and every 10th with its keys in another order. */
		snprintf(frame, sizeof(frame),
			 i % 10 == 5 ? "{\"n\":%d,\"t\":\"awareness\"}"
				     : "{\"t\":\"awareness\",\"n\":%d}",
			 i);
		send_frame(cand, frame);
	}
	got = count_text(iv, "\"awareness\"");
	CHECK(got == 1, "one of a burst of 100 relayed at once (got %d)", got);
	last = last_text(iv, "\"awareness\"");
	CHECK(last && strstr(last, "\"n\":0,"), "the first: %s", last ? last : "(none)");
	CHECK(count_text(cand, "\"error\"") == 0, "the sender is refused nothing");

	REQUIRE(run_until_awareness(iv, 2), "the held awareness is relayed when its window opens");
	got = count_text(iv, "\"awareness\"");
	CHECK(got == 2, "the peer got 2 of the burst of 100 (got %d)", got);
	last = last_text(iv, "\"awareness\"");
	CHECK(last && strstr(last, "\"n\":99,") && strstr(last, "\"from\""),
	      "the second is the latest, with from: %s", last ? last : "(none)");
	CHECK(count_text(obs, "\"awareness\"") == 2, "the observer got the same 2 (got %d)",
	      count_text(obs, "\"awareness\""));
	CHECK(count_text(cand, "\"awareness\"") == 0, "the sender none");

	/* Malformed, held unparsed: its sender is told when it would have gone on. */
	send_frame(cand, "{\"t\":\"awareness\",\"n\":");
	CHECK(cand->aw_len > 0 && count_text(cand, "\"bad_request\"") == 0,
	      "a malformed awareness waits for the window unread");
	run_until_awareness(iv, 3);
	CHECK(count_text(cand, "\"bad_request\"") == 1, "then its sender gets bad_request");
	CHECK(count_text(iv, "\"awareness\"") == 2, "and the peer nothing");

	/* Within the next window: held; its sender leaves; nothing more goes out. */
	send_frame(cand, "{\"t\":\"awareness\",\"n\":100}");
	CHECK(cand->aw_len > 0, "the next one waits for the window");
	leave(cand);
	run_until_awareness(iv, 3);
	CHECK(count_text(iv, "\"awareness\"") == 2, "a held awareness of a sender gone is dropped");
	leave(iv);
	leave(obs);
}

static void test_overloaded(void)
{
	struct timeline_options to;
	struct room *r;
	struct conn *iv, *cand;

	memset(&to, 0, sizeof(to));
	to.redis_port = -1; /* no Redis and no PostgreSQL: nothing ever becomes durable */
	to.queue_max_events = 8;
	REQUIRE(timeline_create(&loop, &to, &srv.timeline) == 0, "timeline_create");
	r = room_create(&srv, "r-overloaded", "");
	REQUIRE(r, "room_create");
	iv = join(r, SEAT_INTERVIEWER, "Ivy");
	cand = join(r, SEAT_CANDIDATE, "Cam");
	/*
	 * Joins, presence and events fill the backlog of 8 to its half; from
	 * there notes and events are refused, and the rest is left to edits.
	 */
	for (int i = 0; i < 8 && !timeline_busy(srv.timeline); i++)
		send_msg(cand, PROTO_EVENT, "{\"t\":\"event\",\"kind\":\"focus\"}", 30);
	REQUIRE(timeline_busy(srv.timeline), "the backlog is half full");
	CHECK(!timeline_overloaded(srv.timeline), "and not full: edits still have room");
	send_msg(iv, PROTO_NOTE, "{\"t\":\"note\",\"text\":\"late\",\"id\":9}", 40);
	CHECK(count_text(iv, "\"overloaded\"") == 1, "the note is refused with overloaded");
	CHECK(count_text(iv, "\"late\"") == 0, "and not delivered");
	send_msg(cand, PROTO_EVENT, "{\"t\":\"event\",\"kind\":\"paste\",\"size\":3}", 40);
	CHECK(count_text(cand, "\"overloaded\"") == 1, "the event is refused with overloaded");
	CHECK(count_text(iv, "\"paste\"") == 0, "and not delivered");
	leave(iv);
	leave(cand);
	rooms_free(&srv);
	timeline_destroy(srv.timeline);
	srv.timeline = NULL;
}

/*
 * The judge's supervisor, played by the test on its end (fd) of the judge
 * client's socketpair: run (the judge's run id) ends with verdict OK.
 */
static void judge_says_ok(int fd, uint64_t run)
{
	size_t n = 0;
	char *f = jproto_frame(
		JPROTO_OP_RESULT,
		json_pack("{s:I, s:{s:s}}", "id", (json_int_t)run, "result", "verdict", "OK"), &n);
	size_t off = 0;

	REQUIRE(f, "jproto_frame");
	while (off < n) {
		ssize_t w = write(fd, f + off, n - off);

		REQUIRE(w > 0 || errno == EINTR, "write to the judge client: %s", strerror(errno));
		off += w > 0 ? (size_t)w : 0;
	}
	free(f);
}

/* The run number of the last run.started c was sent (0: none). */
static uint64_t last_run_started(const struct conn *c)
{
	const char *t = last_text(c, "\"run.started\"");
	json_t *m = t ? json_loads(t, 0, NULL) : NULL;
	uint64_t run = (uint64_t)json_integer_value(json_object_get(m, "run"));

	json_decref(m);
	return run;
}

/*
 * Runs the loop until c has been sent n run.result messages, or 5 s pass
 * (a bound that fails the test, never a wait it relies on); the flush is
 * held off as in run_until_awareness.
 */
static bool run_until_results(const struct conn *c, int n)
{
	uint64_t end = uv_now(&loop) + 5000;

	uv_prepare_stop(&srv.flush);
	while (count_text(c, "\"run.result\"") < n && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	uv_prepare_start(&srv.flush, srv.flush.prepare_cb);
	return count_text(c, "\"run.result\"") >= n;
}

/*
 * A run's state (struct room_run) is allocated when a run starts and freed
 * when it ends (issue 14: an idle room holds none of it).  When it cannot
 * be allocated, the request is answered as an internal error and the room
 * is not left busy; each run's result frees it, so the next one starts; a
 * run still in flight goes with its room (LeakSanitizer checks the frees).
 */
static void test_run_state(void)
{
	struct jclient_events ev;
	struct jclient *jc;
	struct room *r;
	struct conn *cand;
	int sv[2];

	memset(&ev, 0, sizeof(ev));
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	REQUIRE(jclient_create(&loop, sv[0], &ev, &jc) == 0, "jclient_create");
	srv.judge = jc;
	r = room_create(&srv, "r-run", "");
	REQUIRE(r, "room_create");
	cand = join(r, SEAT_CANDIDATE, "Cam");

	/*
	 * The first allocation of a run request is its state's, the second the
	 * copy of the code it runs (LeakSanitizer: the state goes with it).
	 */
	allocs_once = true;
	for (int n = 0; n <= 1; n++) {
		allocs_ok = n;
		send_msg(cand, PROTO_RUN, "{\"t\":\"run\",\"id\":1}", 20);
		allocs_ok = -1;
		CHECK(allocs_failed == n + 1, "%ld allocations failed (want %d)", allocs_failed,
		      n + 1);
		CHECK(count_text(cand, "\"code\":\"internal\"") == n + 1,
		      "the run is refused as an internal error (%d)",
		      count_text(cand, "\"code\":\"internal\""));
		CHECK(count_text(cand, "\"run.started\"") == 0, "and does not start");
	}

	for (int i = 1; i <= 2; i++) {
		uint64_t run;

		send_msg(cand, PROTO_RUN, "{\"t\":\"run\",\"id\":2}", 20);
		CHECK(count_text(cand, "\"run.started\"") == i, "run %d starts (%d run.started)", i,
		      count_text(cand, "\"run.started\""));
		CHECK(count_text(cand, "run_in_progress") == 0, "the room is not left busy");
		run = last_run_started(cand);
		REQUIRE(run, "no run number");
		judge_says_ok(sv[1], run);
		CHECK(run_until_results(cand, i), "run %d's result arrives", i);
	}
	send_msg(cand, PROTO_RUN, "{\"t\":\"run\",\"id\":3}", 20);
	CHECK(count_text(cand, "\"run.started\"") == 3, "a third run starts");
	send_msg(cand, PROTO_RUN, "{\"t\":\"run\",\"id\":4}", 20);
	CHECK(count_text(cand, "run_in_progress") == 1, "a fourth waits for it");

	/* The third is still in flight: it goes with its room. */
	leave(cand);
	room_discard(r);
	srv.judge = NULL;
	jclient_destroy(jc);
	uv_run(&loop, UV_RUN_NOWAIT);
	close(sv[1]);
}

/*
 * A join whose room is in memory, with each of its allocations failing in
 * turn (the token check, the join's waiting state, the room's answer):
 * the connection is joined, or closed or answered, never left with a join
 * waiting (c->join) for a room that will not answer; LeakSanitizer checks
 * that the waiting state goes with each.  Then one that joins.
 */
static void test_join_nomem(void)
{
	struct room *r = room_create(&srv, "r-join", "");
	struct auth_claims cl;
	char *token = NULL, text[1024];
	json_t *m;
	long n;

	REQUIRE(r, "room_create");
	memset(&cl, 0, sizeof(cl));
	snprintf(cl.room, sizeof(cl.room), "r-join");
	snprintf(cl.name, sizeof(cl.name), "Cam");
	cl.role = AUTH_ROLE_CANDIDATE;
	cl.exp = (int64_t)(server_now_ms() / 1000) + 3600;
	REQUIRE(auth_token_make(srv.secret, &cl, (int64_t)(server_now_ms() / 1000), &token) == 0,
		"auth_token_make");
	snprintf(text, sizeof(text),
		 "{\"t\":\"join\",\"room\":\"r-join\",\"token\":\"%s\",\"version\":{}}", token);
	free(token);
	m = msg(text);
	allocs_once = true;
	for (n = 0;; n++) {
		struct conn *c = conn_create(&srv, NULL);
		long failed = allocs_failed;
		bool joined;

		REQUIRE(c, "conn_create");
		allocs_ok = n;
		room_on_join(c, m);
		allocs_ok = -1;
		joined = c->room == r;
		CHECK(!c->join, "allocation %ld failing: the join does not wait", n);
		CHECK(joined || c->close_code || count_text(c, "\"error\"") == 1,
		      "allocation %ld failing: neither joined nor closed nor answered", n);
		leave(c);
		if (allocs_failed == failed) {
			CHECK(joined && n > 2,
			      "with nothing failing it joins (after %ld allocations)", n);
			break;
		}
	}
	json_decref(m);
	room_discard(r);
}

int main(void)
{
	testsrv_init(&srv, &loop);
	REQUIRE(conn_start(&srv, &ws__conn_hooks) == 0, "conn_start");
	test_join_and_release();
	test_messages();
	test_recorded_budget();
	test_awareness_paced();
	test_overloaded();
	test_run_state();
	test_join_nomem();
	rooms_free(&srv);
	uv_close((uv_handle_t *)&srv.flush, NULL);
	uv_close((uv_handle_t *)&srv.ack_timer, NULL);
	uv_close((uv_handle_t *)&srv.aw_timer, NULL);
	uv_close((uv_handle_t *)&srv.dq_idle, NULL);
	uv_close((uv_handle_t *)&srv.beat_timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	conn_finish(&srv);
	uv_loop_close(&loop);
	CHECK_DONE();
}
