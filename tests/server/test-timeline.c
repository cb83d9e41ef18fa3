/*
 * test-timeline.c - the room timeline against a real Redis and PostgreSQL.
 *
 * Private instances (services.c) are started so they can be stopped and
 * killed.  Checked:
 *  - events of two rooms reach timeline_events in order and exactly once,
 *    and the stream is trimmed of what PostgreSQL confirmed;
 *  - an event is reported durable only once its XADD was answered (the
 *    entry is in the stream when the report comes, PostgreSQL being down),
 *    and PostgreSQL being down delays the flush, which retries and catches
 *    up when it returns;
 *  - with Redis killed (with XADDs in flight, then while down) every event
 *    still becomes durable, through PostgreSQL (the row is there when the
 *    report comes), in order; after Redis returns, events go through the
 *    stream again, and PostgreSQL holds everything once;
 *  - a timeline dropped without flushing (what kill -9 does) is read back by
 *    a new one: PostgreSQL's events and the stream's unflushed ones, in
 *    order, the document rebuilt equal, the next seq continuing after the
 *    last, then everything flushed once;
 *  - events of a room without a row are skipped instead of blocking the
 *    others, and a NUL in a payload (jsonb refuses it) is stored as U+FFFD;
 *  - the in-memory backlog is bounded: at queue_max_events the timeline
 *    says it is overloaded (the room then refuses edits), until the flush;
 *  - a load waits for an unreachable Redis (its stream may hold acknowledged
 *    edits), gives up after load_wait_ms, and completes when Redis returns;
 *  - the text at a moment (timeline_version_at + crdt_text_at) equals a
 *    replay of the updates up to that moment, at every moment of a session
 *    of two agents, across index checkpoints;
 *  - an edit reserved before the merge and committed after: out of memory
 *    at each allocation of the reservation leaves everything as it was, and
 *    the commit needs no memory (every allocation fails meanwhile).
 * Waiting is always "run the loop until a condition", bounded by a guard.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <uv.h>

#include "check.h"
#include "crdt.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "oom.h"
#include "services.h"
#include "timeline.h"

static uv_loop_t loop;
static struct svc_redis redis;
static struct svc_pg pg;
static struct db *db;
static PGconn *admin;

#define RUN_UNTIL(cond, what) SVC_RUN_UNTIL(&loop, cond, 30000, what)

/* ---- blocking helpers (the test's own thread, not the loop's work) -------- */

static long long sql_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static long long sql_int(const char *fmt, ...)
{
	char q[1024];
	va_list ap;
	PGresult *res;
	long long v = -1;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	res = PQexec(admin, q);
	if (PQstatus(admin) != CONNECTION_OK) { /* PostgreSQL was restarted: once more */
		PQclear(res);
		PQreset(admin);
		res = PQexec(admin, q);
	}
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 0))
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
		v = -2;
	PQclear(res);
	return v;
}

static void sql_exec(const char *q)
{
	PGresult *res = PQexec(admin, q);

	REQUIRE(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", q, PQerrorMessage(admin));
	PQclear(res);
}

/* XLEN of a room's stream; -1 when Redis does not answer. */
static long long xlen(const char *room)
{
	redisContext *c = redisConnect("127.0.0.1", redis.port);
	redisReply *r;
	long long n = -1;

	if (!c || c->err) {
		redisFree(c);
		return -1;
	}
	r = redisCommand(c, "XLEN tandem:room:%s:timeline", room);
	if (r && r->type == REDIS_REPLY_INTEGER)
		n = r->integer;
	freeReplyObject(r);
	redisFree(c);
	return n;
}

/* True when the room's stream holds an entry whose seq field is seq. */
static bool in_stream(const char *room, uint64_t seq)
{
	redisContext *c = redisConnect("127.0.0.1", redis.port);
	redisReply *r;
	bool found = false;
	char want[24];

	if (!c || c->err) {
		redisFree(c);
		return false;
	}
	snprintf(want, sizeof(want), "%llu", (unsigned long long)seq);
	r = redisCommand(c, "XRANGE tandem:room:%s:timeline - +", room);
	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && !found; i++) {
		redisReply *f = r->element[i]->element[1];

		for (size_t k = 0; k + 1 < f->elements; k += 2)
			if (strcmp(f->element[k]->str, "seq") == 0 &&
			    strcmp(f->element[k + 1]->str, want) == 0)
				found = true;
	}
	freeReplyObject(r);
	redisFree(c);
	return found;
}

static int64_t wall_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The room's rows are exactly seqs 1..n, each once, their times non-decreasing. */
static void check_rows(const char *room, long long n)
{
	long long cnt = sql_int("SELECT count(*) FROM timeline_events WHERE room = '%s'", room);
	long long distinct =
		sql_int("SELECT count(DISTINCT seq) FROM timeline_events WHERE room = '%s'", room);
	long long lo = sql_int("SELECT min(seq) FROM timeline_events WHERE room = '%s'", room);
	long long hi = sql_int("SELECT max(seq) FROM timeline_events WHERE room = '%s'", room);
	long long back = sql_int("SELECT count(*) FROM (SELECT at < lag(at) OVER (ORDER BY seq) "
				 "AS b FROM timeline_events WHERE room = '%s') x WHERE b",
				 room);

	CHECK(cnt == n && distinct == n && lo == (n ? 1 : -1) && hi == (n ? n : -1),
	      "room %s: %lld rows, %lld distinct, seq %lld..%lld; want exactly 1..%lld", room, cnt,
	      distinct, lo, hi, n);
	CHECK(back == 0, "room %s: %lld events earlier than the one before", room, back);
	/* Times go as binary timestamps (microseconds since 2000): same clock as ours. */
	long long off = sql_int("SELECT coalesce(max(abs(extract(epoch FROM at) * 1000 - %lld)), 0)"
				"::bigint FROM timeline_events WHERE room = '%s'",
				(long long)wall_now_ms(), room);
	CHECK(off < 600000, "room %s: an event stored %lld ms away from now", room, off);
}

/* ---- the timeline under test ---------------------------------------------- */

#define MAXROOMS 4

struct durable_log {
	char room[MAXROOMS][32];
	uint64_t seq[MAXROOMS];
	int calls;
	bool backwards;
	bool check_stream; /* each report: the event is in the stream */
	bool check_pg;	   /* each report: the event is in PostgreSQL */
	int bad;
};

static struct durable_log dl;

static int room_slot(const char *room)
{
	for (int i = 0; i < MAXROOMS; i++) {
		if (strcmp(dl.room[i], room) == 0)
			return i;
		if (!dl.room[i][0]) {
			snprintf(dl.room[i], sizeof(dl.room[i]), "%s", room);
			return i;
		}
	}
	return 0;
}

static void on_durable(void *ud, const char *room, uint64_t seq)
{
	int k = room_slot(room);

	(void)ud;
	dl.calls++;
	if (seq <= dl.seq[k])
		dl.backwards = true;
	dl.seq[k] = seq;
	if (dl.check_stream && !in_stream(room, seq)) {
		dl.bad++;
		fprintf(stderr, "durable %s/%llu reported, not in the stream\n", room,
			(unsigned long long)seq);
	}
	if (dl.check_pg && sql_int("SELECT count(*) FROM timeline_events WHERE room = '%s' AND "
				   "seq = %llu",
				   room, (unsigned long long)seq) != 1) {
		dl.bad++;
		fprintf(stderr, "durable %s/%llu reported, not in PostgreSQL\n", room,
			(unsigned long long)seq);
	}
}

static uint64_t durable_of(const char *room)
{
	return dl.seq[room_slot(room)];
}

static size_t queue_max; /* 0: the default */
static unsigned load_wait_ms = 10000;

/* Events' times when set (fake_start), else the wall clock. */
static int64_t fake_ms;
static int64_t fake_clock(void *ud)
{
	(void)ud;
	return fake_ms;
}

static struct timeline *make(uint64_t *gauge)
{
	struct timeline_options o;
	struct timeline *tl = NULL;

	memset(&o, 0, sizeof(o));
	o.redis_host = "127.0.0.1";
	o.redis_port = redis.port;
	o.db = db;
	o.flush_ms = 50;
	o.command_timeout_ms = 1000;
	o.load_wait_ms = load_wait_ms;
	o.on_durable = on_durable;
	o.backlog_gauge = gauge;
	o.queue_max_events = queue_max;
	if (fake_ms) {
		o.clock_ms = fake_clock;
		o.clock_ud = NULL;
	}
	REQUIRE(timeline_create(&loop, &o, &tl) == 0, "timeline_create");
	return tl;
}

static void reset_log(void)
{
	memset(&dl, 0, sizeof(dl));
}

static void append_some(struct timeline_room *tr, int n, uint32_t agent, uint32_t *count)
{
	for (int i = 0; i < n; i++) {
		uint8_t ops[3] = { 'o', (uint8_t)i, 'p' };
		uint64_t seq;
		int rc;

		if (i % 5 == 4) {
			json_t *p = json_pack("{s:s, s:i}", "text", "a note", "i", i);

			rc = timeline_append(tr, "note", "interviewer", p, NULL, 0, NULL, 0, &seq);
			json_decref(p);
		} else {
			struct crdt_version_entry e = { agent, ++*count };

			rc = timeline_append(tr, "edit", "candidate", NULL, ops, sizeof(ops), &e, 1,
					     &seq);
		}
		REQUIRE(rc == 0, "append: %s", timeline_strerror(rc));
	}
}

static void drain(struct timeline *tl)
{
	RUN_UNTIL(timeline_backlog(tl) == 0, "the backlog to be flushed");
}

static void finish(struct timeline *tl)
{
	timeline_destroy(tl);
	uv_run(&loop, UV_RUN_NOWAIT);
}

/*
 * A timeline (*tl) whose events take their times from fake_ms, set to t0,
 * connected to Redis; returns its room id.  fake_finish() ends both.
 */
static struct timeline_room *fake_start(struct timeline **tl, int64_t t0, const char *id)
{
	struct timeline_room *r;

	fake_ms = t0;
	*tl = make(NULL);
	r = timeline_room(*tl, id);
	RUN_UNTIL(timeline_redis_up(*tl), "Redis");
	return r;
}

static void fake_finish(struct timeline *tl)
{
	finish(tl);
	fake_ms = 0;
}

/* ---- order, exactly once, trimming ---------------------------------------- */

static void test_order_once(void)
{
	uint64_t gauge = 0;
	struct timeline *tl = make(&gauge);
	struct timeline_room *a = timeline_room(tl, "roomA"), *b = timeline_room(tl, "roomB");
	uint32_t ca = 0, cb = 0;

	reset_log();
	REQUIRE(a && b && timeline_room(tl, "roomA") == a, "timeline_room");
	RUN_UNTIL(timeline_redis_up(tl), "Redis");
	for (int round = 0; round < 6; round++) {
		append_some(a, 200, 1, &ca);
		append_some(b, 100, 2, &cb);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	CHECK(gauge == timeline_backlog(tl), "gauge %llu, backlog %zu", (unsigned long long)gauge,
	      timeline_backlog(tl));
	RUN_UNTIL(durable_of("roomA") == 1200 && durable_of("roomB") == 600, "durable reports");
	drain(tl);
	CHECK(gauge == 0, "gauge %llu after the flush", (unsigned long long)gauge);
	CHECK(!dl.backwards, "a durable report went backwards");
	check_rows("roomA", 1200);
	check_rows("roomB", 600);
	CHECK(sql_int("SELECT count(*) FROM timeline_events WHERE room = 'roomA' AND kind = 'edit' "
		      "AND ops = '\\x6f0070'::bytea AND payload->'v' = '[[1, 1]]'") == 1,
	      "the first edit's ops and version entries are stored");
	CHECK(sql_int("SELECT count(*) FROM timeline_events WHERE room = 'roomA' AND kind = 'note' "
		      "AND payload->>'text' = 'a note' AND ops IS NULL AND actor = "
		      "'interviewer'") == 240,
	      "notes stored with their payload");
	RUN_UNTIL(xlen("roomA") == 0 && xlen("roomB") == 0, "the streams to be trimmed");
	finish(tl);
}

/* ---- events that PostgreSQL could not store as they are ------------------ */

static void test_unstorable(void)
{
	struct timeline *tl = make(NULL);
	struct timeline_room *ghost = timeline_room(tl, "ghost"), *h = timeline_room(tl, "roomH");
	json_t *p = json_pack("{s:s%}", "stdout", "a\0b", (size_t)3);
	uint32_t c = 0;

	reset_log();
	/* A room without a row (its creation failed after it was used), in the middle. */
	append_some(h, 10, 9, &c);
	append_some(ghost, 10, 10, &c);
	REQUIRE(timeline_append(h, "run.result", NULL, p, NULL, 0, NULL, 0, NULL) == 0, "append");
	append_some(h, 10, 9, &c);
	json_decref(p);
	drain(tl);
	check_rows("roomH", 21);
	CHECK(sql_int("SELECT count(*) FROM timeline_events WHERE room = 'ghost'") == 0,
	      "events of a room without a row are skipped");
	CHECK(sql_int("SELECT count(*) FROM timeline_events WHERE room = 'roomH' AND seq = 11 AND "
		      "payload->>'stdout' = 'a' || chr(65533) || 'b'") == 1,
	      "a NUL in a payload is stored as U+FFFD");
	finish(tl);
}

/* ---- durable after XADD; PostgreSQL down, then back ------------------------ */

static void test_pg_down(void)
{
	struct timeline *tl = make(NULL);
	struct timeline_room *r = timeline_room(tl, "roomC");
	uint32_t c = 0;

	reset_log();
	dl.check_stream = true;
	RUN_UNTIL(timeline_redis_up(tl), "Redis");
	REQUIRE(svc_pg_stop(&pg) == 0, "stop PostgreSQL");
	append_some(r, 300, 3, &c);
	CHECK(durable_of("roomC") == 0, "nothing is durable before Redis answered");
	RUN_UNTIL(durable_of("roomC") == 300, "durable through the stream");
	CHECK(dl.bad == 0, "%d reports came before the XADD was answered", dl.bad);
	CHECK(timeline_backlog(tl) == 300, "backlog %zu while PostgreSQL is down",
	      timeline_backlog(tl));
	CHECK(xlen("roomC") == 300, "stream holds %lld", xlen("roomC"));
	dl.check_stream = false;
	REQUIRE(svc_pg_start(&pg) == 0, "start PostgreSQL");
	append_some(r, 50, 3, &c);
	drain(tl);
	check_rows("roomC", 350);
	RUN_UNTIL(xlen("roomC") == 0, "the stream to be trimmed");
	CHECK(!dl.backwards, "a durable report went backwards");
	finish(tl);
}

/* ---- the bound on what waits in memory -------------------------------------- */

static void test_overloaded(void)
{
	struct timeline *tl;
	struct timeline_room *r;
	uint32_t c = 0;

	queue_max = 100;
	tl = make(NULL);
	queue_max = 0;
	r = timeline_room(tl, "roomG");
	reset_log();
	RUN_UNTIL(timeline_redis_up(tl), "Redis");
	REQUIRE(svc_pg_stop(&pg) == 0, "stop PostgreSQL");
	append_some(r, 99, 6, &c);
	CHECK(!timeline_overloaded(tl), "overloaded at 99 of 100");
	append_some(r, 1, 6, &c);
	CHECK(timeline_overloaded(tl), "not overloaded at 100 of 100");
	RUN_UNTIL(durable_of("roomG") == 100, "durable through the stream");
	CHECK(timeline_overloaded(tl), "durable in the stream, yet still waiting for PostgreSQL");
	REQUIRE(svc_pg_start(&pg) == 0, "start PostgreSQL");
	drain(tl);
	CHECK(!timeline_overloaded(tl), "still overloaded after the flush");
	check_rows("roomG", 100);
	finish(tl);
}

/* ---- Redis killed, then back ------------------------------------------------ */

static void test_redis_down(void)
{
	struct timeline *tl = make(NULL);
	struct timeline_room *r = timeline_room(tl, "roomD");
	uint32_t c = 0;

	reset_log();
	RUN_UNTIL(timeline_redis_up(tl), "Redis");
	append_some(r, 100, 4, &c);
	RUN_UNTIL(durable_of("roomD") == 100, "the first events");
	/* XADDs queued in hiredis, not yet answered, when Redis dies. */
	append_some(r, 200, 4, &c);
	svc_redis_kill(&redis);
	dl.check_pg = true;
	RUN_UNTIL(!timeline_redis_up(tl), "the timeline to notice");
	append_some(r, 200, 4, &c);
	RUN_UNTIL(durable_of("roomD") == 500, "durable through PostgreSQL");
	CHECK(dl.bad == 0, "%d reports came before the row was in PostgreSQL", dl.bad);
	dl.check_pg = false;
	REQUIRE(svc_redis_start(&redis) == 0, "restart Redis");
	RUN_UNTIL(timeline_redis_up(tl), "the reconnect");
	dl.check_stream = true;
	append_some(r, 100, 4, &c);
	RUN_UNTIL(durable_of("roomD") == 600, "durable through the stream again");
	CHECK(dl.bad == 0, "%d reports came before the XADD was answered", dl.bad);
	dl.check_stream = false;
	drain(tl);
	check_rows("roomD", 600);
	CHECK(!dl.backwards, "a durable report went backwards");
	finish(tl);
}

/* ---- a crash, and the next process reading the room back -------------------- */

struct doc_sink {
	struct crdt_doc *doc;
	int edits, with_ops, errors;
	uint64_t last_seq;
	bool done, order_bad;
	int err;
};

static void sink_edit(void *ud, uint64_t seq, const uint8_t *ops, size_t len)
{
	struct doc_sink *s = ud;

	s->edits++;
	if (seq <= s->last_seq)
		s->order_bad = true;
	s->last_seq = seq;
	if (ops) {
		s->with_ops++;
		if (crdt_apply(s->doc, ops, len))
			s->errors++;
	}
}

static void sink_loaded(void *ud, int err)
{
	struct doc_sink *s = ud;

	s->done = true;
	s->err = err;
}

/* One local edit of doc by agent, recorded as the server would (ops and version entries). */
static void edit_and_append(struct crdt_doc *doc, uint32_t agent, struct timeline_room *tr,
			    unsigned *rnd)
{
	struct crdt_version before, now;
	struct crdt_buf up;
	struct crdt_version_entry e;
	size_t len = crdt_len(doc);

	*rnd = *rnd * 1103515245u + 12345u;
	crdt_version_init(&before, NULL);
	crdt_version_init(&now, NULL);
	crdt_buf_init(&up, NULL);
	crdt_doc_version(doc, &before);
	if (len > 3 && (*rnd >> 16) % 4 == 0)
		crdt_delete(doc, agent, (*rnd >> 8) % (len - 2), 2);
	else
		crdt_insert(doc, agent, len ? (*rnd >> 8) % (len + 1) : 0, "ab", 2);
	crdt_doc_version(doc, &now);
	crdt_encode_since(doc, &before, &up);
	e.agent = agent;
	e.next = crdt_version_get(&now, agent);
	REQUIRE(timeline_append(tr, "edit", "candidate", NULL, up.data, up.len, &e, 1, NULL) == 0,
		"append an edit");
	crdt_version_finish(&before);
	crdt_version_finish(&now);
	crdt_buf_finish(&up);
}

static char *text_of(const struct crdt_doc *doc)
{
	size_t n = crdt_text(doc, NULL, 0);
	char *s = calloc(1, n + 1);

	crdt_text(doc, s, n);
	return s;
}

static void test_crash_and_load(void)
{
	struct timeline *tl = make(NULL);
	struct timeline_room *r = timeline_room(tl, "roomE");
	struct crdt_doc *doc = crdt_doc_create(NULL);
	struct doc_sink sink;
	unsigned rnd = 7;
	uint64_t seq = 0;
	char *want, *got;

	reset_log();
	RUN_UNTIL(timeline_redis_up(tl), "Redis");
	for (int i = 0; i < 300; i++)
		edit_and_append(doc, 5, r, &rnd);
	drain(tl); /* 300 in PostgreSQL */
	REQUIRE(svc_pg_stop(&pg) == 0, "stop PostgreSQL");
	for (int i = 0; i < 200; i++)
		edit_and_append(doc, 5, r, &rnd);
	RUN_UNTIL(durable_of("roomE") == 500, "durable through the stream");
	/* What kill -9 does: memory gone, 200 events only in the stream. */
	finish(tl);
	REQUIRE(svc_pg_start(&pg) == 0, "start PostgreSQL");
	CHECK(xlen("roomE") == 200, "the stream holds the unflushed 200, not %lld", xlen("roomE"));

	tl = make(NULL);
	r = timeline_room(tl, "roomE");
	memset(&sink, 0, sizeof(sink));
	sink.doc = crdt_doc_create(NULL);
	/* As if a snapshot covered the first 100 events: only later ones come with ops. */
	{
		PGresult *res;

		sql_int("SELECT 1"); /* reconnects the admin connection after the restart */
		res = PQexec(admin, "SELECT ops FROM timeline_events WHERE room = 'roomE' "
				    "AND seq <= 100 ORDER BY seq");

		for (int i = 0; i < PQntuples(res); i++) {
			size_t n;
			unsigned char *b =
				PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 0), &n);

			crdt_apply(sink.doc, b, n);
			PQfreemem(b);
		}
		PQclear(res);
	}
	REQUIRE(timeline_load(r, 100, sink_edit, sink_loaded, &sink) == 0, "timeline_load");
	RUN_UNTIL(sink.done, "the load");
	CHECK(sink.err == 0, "load: %s", timeline_strerror(sink.err));
	CHECK(sink.edits == 500 && sink.with_ops == 400 && sink.errors == 0 && !sink.order_bad,
	      "load saw %d edits (%d with ops, %d apply errors, order %s); want 500 (400)",
	      sink.edits, sink.with_ops, sink.errors, sink.order_bad ? "broken" : "ok");
	want = text_of(doc);
	got = text_of(sink.doc);
	CHECK(strcmp(want, got) == 0, "rebuilt text differs:\n want %s\n got  %s", want, got);
	free(want);
	free(got);
	CHECK(timeline_last_seq(r) == 500 && timeline_durable_seq(r) == 500,
	      "after the load: last %llu durable %llu", (unsigned long long)timeline_last_seq(r),
	      (unsigned long long)timeline_durable_seq(r));
	{
		/* The index read back: the version at the end is the document's. */
		struct crdt_version want_v, got_v;
		uint64_t at_seq;

		crdt_version_init(&want_v, NULL);
		crdt_version_init(&got_v, NULL);
		crdt_doc_version(doc, &want_v);
		CHECK(timeline_version_at(r, INT64_MAX, &got_v, &at_seq) == 0 && at_seq == 500 &&
			      crdt_version_get(&got_v, 5) == crdt_version_get(&want_v, 5) &&
			      got_v.len == 1,
		      "version at the end after the load: seq %llu, agent 5 at %u (want %u)",
		      (unsigned long long)at_seq, crdt_version_get(&got_v, 5),
		      crdt_version_get(&want_v, 5));
		crdt_version_finish(&want_v);
		crdt_version_finish(&got_v);
	}
	REQUIRE(timeline_append(r, "note", NULL, NULL, NULL, 0, NULL, 0, &seq) == 0, "append");
	CHECK(seq == 501, "the next seq continues after the last: %llu", (unsigned long long)seq);
	drain(tl);
	check_rows("roomE", 501);
	RUN_UNTIL(xlen("roomE") == 0, "the stream to be trimmed");
	finish(tl);
	crdt_doc_destroy(doc);
	crdt_doc_destroy(sink.doc);
}

/* ---- a load needs the stream: it waits for Redis, within a bound ----------- */

static void test_load_waits_for_redis(void)
{
	struct timeline *tl;
	struct doc_sink sink;

	/* Redis away for good: the load gives up (the room is not served without its stream). */
	svc_redis_kill(&redis);
	load_wait_ms = 300;
	tl = make(NULL);
	load_wait_ms = 10000;
	memset(&sink, 0, sizeof(sink));
	sink.doc = crdt_doc_create(NULL);
	REQUIRE(timeline_load(timeline_room(tl, "roomE"), 0, sink_edit, sink_loaded, &sink) == 0,
		"timeline_load");
	RUN_UNTIL(sink.done, "the load to give up");
	CHECK(sink.err == TIMELINE_E_REDIS_DOWN, "load without Redis: %s",
	      timeline_strerror(sink.err));
	CHECK(timeline_append(timeline_room(tl, "roomE"), "note", NULL, NULL, NULL, 0, NULL, 0,
			      NULL) == 0 &&
		      timeline_last_seq(timeline_room(tl, "roomE")) == 1,
	      "a failed load leaves the room empty (the caller drops it)");
	finish(tl);
	crdt_doc_destroy(sink.doc);

	/* Redis back within the wait: the load completes. */
	tl = make(NULL);
	memset(&sink, 0, sizeof(sink));
	sink.doc = crdt_doc_create(NULL);
	REQUIRE(timeline_load(timeline_room(tl, "roomE"), 0, sink_edit, sink_loaded, &sink) == 0,
		"timeline_load");
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	CHECK(!sink.done, "the load did not wait for Redis");
	REQUIRE(svc_redis_start(&redis) == 0, "restart Redis");
	RUN_UNTIL(sink.done, "the load");
	CHECK(sink.err == 0 && sink.edits == 500, "load after Redis returned: %s, %d edits",
	      timeline_strerror(sink.err), sink.edits);
	CHECK(timeline_last_seq(timeline_room(tl, "roomE")) == 501, "last seq after the load: %llu",
	      (unsigned long long)timeline_last_seq(timeline_room(tl, "roomE")));
	finish(tl);
	crdt_doc_destroy(sink.doc);
}

/* ---- text at a moment ----------------------------------------------------- */

struct listed {
	json_t *events;
	uint64_t next;
	bool done;
	int err;
};

static void on_list(void *ud, int err, json_t *events, uint64_t next)
{
	struct listed *l = ud;

	l->err = err;
	l->events = events;
	l->next = next;
	l->done = true;
}

static void test_text_at(void)
{
	struct timeline *tl = make(NULL);
	struct timeline_room *r = timeline_room(tl, "roomF");
	struct crdt_doc *a = crdt_doc_create(NULL), *b = crdt_doc_create(NULL),
			*srv = crdt_doc_create(NULL);
	unsigned rnd = 11;
	json_t *all = json_array();
	uint64_t after = 0;
	int compared = 0;

	reset_log();
	RUN_UNTIL(timeline_redis_up(tl), "Redis");
	/* Two agents typing, syncing now and then: the server doc gets every update. */
	for (int i = 0; i < 1500; i++) {
		struct crdt_doc *d = (rnd >> 20) & 1 ? a : b;
		uint32_t agent = d == a ? 7 : 8;
		struct crdt_version before, now;
		struct crdt_buf up;
		struct crdt_version_entry e;
		size_t len = crdt_len(d);

		rnd = rnd * 1103515245u + 12345u;
		crdt_version_init(&before, NULL);
		crdt_version_init(&now, NULL);
		crdt_buf_init(&up, NULL);
		crdt_doc_version(d, &before);
		if (len > 4 && (rnd >> 16) % 3 == 0)
			crdt_delete(d, agent, (rnd >> 8) % (len - 3), 3);
		else
			crdt_insert(d, agent, len ? (rnd >> 8) % (len + 1) : 0, "xyz", 3);
		crdt_encode_since(d, &before, &up);
		REQUIRE(crdt_apply(srv, up.data, up.len) == 0, "server apply");
		crdt_doc_version(srv, &now);
		e.agent = agent;
		e.next = crdt_version_get(&now, agent);
		if (i % 50 == 25) {
			/* Now and then an edit naming two agents (kept apart from the marks). */
			struct crdt_version_entry two[2] = {
				e,
				{ .agent = 15 - agent, .next = crdt_version_get(&now, 15 - agent) }
			};

			REQUIRE(timeline_append(r, "edit", "x", NULL, up.data, up.len, two, 2,
						NULL) == 0,
				"append");
		} else {
			REQUIRE(timeline_append(r, "edit", "x", NULL, up.data, up.len, &e, 1,
						NULL) == 0,
				"append");
		}
		crdt_buf_finish(&up);
		if (i % 37 == 0) { /* sync a and b through the server's copy */
			struct crdt_buf all_ops;

			crdt_buf_init(&all_ops, NULL);
			crdt_encode_since(srv, NULL, &all_ops);
			crdt_apply(a, all_ops.data, all_ops.len);
			crdt_apply(b, all_ops.data, all_ops.len);
			crdt_buf_finish(&all_ops);
		}
		crdt_version_finish(&before);
		crdt_version_finish(&now);
		if (i % 100 == 0)
			uv_run(&loop, UV_RUN_NOWAIT); /* let time pass between events */
	}
	drain(tl);
	/* Every event with its time, through the list API (PostgreSQL by now). */
	for (;;) {
		struct listed l;

		memset(&l, 0, sizeof(l));
		REQUIRE(timeline_list(r, after, 1000, on_list, &l) == 0, "timeline_list");
		RUN_UNTIL(l.done, "a page");
		REQUIRE(l.err == 0, "list: %s", timeline_strerror(l.err));
		json_array_extend(all, l.events);
		json_decref(l.events);
		if (!l.next)
			break;
		after = l.next;
	}
	CHECK(json_array_size(all) == 1500, "listed %zu events", json_array_size(all));
	/* Replay from zero up to each of several moments; compare with read-at-version. */
	{
		struct crdt_doc *replay = crdt_doc_create(NULL);
		size_t n = json_array_size(all), applied = 0;
		size_t probes[] = { 0, 1, 2, 100, 255, 256, 257, 511, 700, 1023, 1200, 1499 };

		for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
			int64_t at = json_integer_value(
				json_object_get(json_array_get(all, probes[p]), "at"));
			struct crdt_version v;
			struct crdt_buf txt;
			uint64_t seq;
			char *want;

			/* Everything at or before `at` (events may share a millisecond). */
			while (applied < n && json_integer_value(json_object_get(
						      json_array_get(all, applied), "at")) <= at) {
				const char *b64 = json_string_value(
					json_object_get(json_array_get(all, applied), "ops"));
				size_t blen = strlen(b64), olen = 0;
				uint8_t *ops = malloc(blen);
				unsigned acc = 0;
				int bits = 0;

				for (size_t k = 0; k < blen && b64[k] != '='; k++) {
					const char *tab =
						"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
						"pqrstuvwxyz0123456789+/";
					acc = acc << 6 | (unsigned)(strchr(tab, b64[k]) - tab);
					bits += 6;
					if (bits >= 8) {
						bits -= 8;
						ops[olen++] = (uint8_t)(acc >> bits);
					}
				}
				REQUIRE(crdt_apply(replay, ops, olen) == 0, "replay apply");
				free(ops);
				applied++;
			}
			crdt_version_init(&v, NULL);
			crdt_buf_init(&txt, NULL);
			REQUIRE(timeline_version_at(r, at, &v, &seq) == 0, "version_at");
			REQUIRE(crdt_text_at(srv, &v, &txt) == 0, "text_at");
			want = text_of(replay);
			CHECK(txt.len == strlen(want) && memcmp(txt.data, want, txt.len) == 0,
			      "text at event %zu (seq %llu) differs from the replay", probes[p],
			      (unsigned long long)seq);
			CHECK(seq == (uint64_t)json_integer_value(json_object_get(
					     json_array_get(all, applied - 1), "seq")),
			      "seq at the moment %llu", (unsigned long long)seq);
			compared++;
			free(want);
			crdt_version_finish(&v);
			crdt_buf_finish(&txt);
		}
		crdt_doc_destroy(replay);
	}
	{
		struct crdt_version v;
		uint64_t seq = 99;

		crdt_version_init(&v, NULL);
		timeline_version_at(r, 0, &v, &seq);
		CHECK(seq == 0 && v.len == 0, "before the first event: seq %llu, %zu entries",
		      (unsigned long long)seq, v.len);
		crdt_version_finish(&v);
	}
	CHECK(compared == 12, "compared %d moments", compared);
	json_decref(all);
	crdt_doc_destroy(a);
	crdt_doc_destroy(b);
	crdt_doc_destroy(srv);
	finish(tl);
}

/*
 * The scrub index keeps a mark's time as 32 bits of milliseconds after the
 * first mark of its block of 256: an interview resumed 60 days later (and
 * one a further 60 days on, inside the same block) still scrubs right.
 */
static void test_long_gaps(void)
{
	const int64_t day = 86400000, t0 = 1767225600000; /* 2026-01-01 */
	struct timeline *tl;
	struct timeline_room *r;
	int64_t at[700];
	int n = 0;

	r = fake_start(&tl, t0, "roomI");
	for (int i = 0; i < 700; i++, n++) {
		uint8_t ops[2] = { 'o', (uint8_t)i };
		struct crdt_version_entry e = { 3, (uint32_t)i + 1 };

		/* 100 edits, 60 days, 300 more, 60 days (block 1 is half full), the rest. */
		fake_ms += i == 100 || i == 400 ? 60 * day : 7;
		at[i] = fake_ms;
		REQUIRE(timeline_append(r, "edit", "c", NULL, ops, sizeof(ops), &e, 1, NULL) == 0,
			"append %d", i);
	}
	for (int i = 0; i < n; i++) {
		struct crdt_version v;
		uint64_t seq;

		crdt_version_init(&v, NULL);
		REQUIRE(timeline_version_at(r, at[i], &v, &seq) == 0, "version_at");
		CHECK(crdt_version_get(&v, 3) == (uint32_t)i + 1 && seq == (uint64_t)i + 1,
		      "edit %d at t0 + %lld ms: version %u, seq %llu", i, (long long)(at[i] - t0),
		      crdt_version_get(&v, 3), (unsigned long long)seq);
		REQUIRE(timeline_version_at(r, at[i] - 1, &v, &seq) == 0, "version_at");
		CHECK(crdt_version_get(&v, 3) == (uint32_t)i, "just before edit %d: version %u", i,
		      crdt_version_get(&v, 3));
		crdt_version_finish(&v);
	}
	drain(tl);
	fake_finish(tl);
}

/*
 * A mark keeps its seq as 16 bits after its block's first, and its agent
 * as an index in a table of 256 per room: 66,000 other events between two
 * edits inside one block, 300 agents taking turns (the last 44 kept in the
 * spill area), and now and then an edit naming two agents, still give
 * every edit's exact version and seq.
 */
static void test_marks_compact(void)
{
	const int64_t t0 = 1767225600000; /* 2026-01-01 */
	enum { EDITS = 700, AGENTS = 300, GAP = 66000 };
	struct timeline *tl;
	struct timeline_room *r;
	int64_t at[EDITS];
	uint64_t seq_of[EDITS];

	r = fake_start(&tl, t0, "roomJ");
	for (int i = 0; i < EDITS; i++) {
		uint8_t ops[2] = { 'o', (uint8_t)i };
		/* Every 50th also names an agent of its own, as a merged edit would. */
		struct crdt_version_entry e[2] = {
			{ 1000 + (uint32_t)(i % AGENTS), (uint32_t)(i / AGENTS) + 1 },
			{ 5000 + (uint32_t)i, 1 },
		};

		if (i == 100 || i == 600) { /* inside blocks 0 and 2 */
			for (int k = 0; k < GAP; k++)
				REQUIRE(timeline_append(r, "focus", "c", NULL, NULL, 0, NULL, 0,
							NULL) == 0,
					"append a focus event");
			drain(tl);
		}
		fake_ms += 3;
		at[i] = fake_ms;
		REQUIRE(timeline_append(r, "edit", "c", NULL, ops, sizeof(ops), e,
					i % 50 == 7 ? 2 : 1, &seq_of[i]) == 0,
			"append edit %d", i);
	}
	CHECK(seq_of[100] - seq_of[99] == GAP + 1, "seq gap %llu",
	      (unsigned long long)(seq_of[100] - seq_of[99]));
	for (int i = 0; i < EDITS; i++) {
		struct crdt_version v;
		uint32_t agent = 1000 + (uint32_t)(i % AGENTS);
		size_t agents = (size_t)(i < AGENTS ? i + 1 : AGENTS) + (size_t)(i + 43) / 50;
		uint64_t seq;

		crdt_version_init(&v, NULL);
		REQUIRE(timeline_version_at(r, at[i], &v, &seq) == 0, "version_at");
		CHECK(crdt_version_get(&v, agent) == (uint32_t)(i / AGENTS) + 1 &&
			      crdt_version_get(&v, 5000 + (uint32_t)i) == (i % 50 == 7) &&
			      seq == seq_of[i] && v.len == agents,
		      "edit %d: agent %u at %u, seq %llu (want %llu), %zu agents (want %zu)", i,
		      agent, crdt_version_get(&v, agent), (unsigned long long)seq,
		      (unsigned long long)seq_of[i], v.len, agents);
		REQUIRE(timeline_version_at(r, at[i] - 1, &v, &seq) == 0, "version_at");
		CHECK(crdt_version_get(&v, agent) == (uint32_t)(i / AGENTS) &&
			      seq == (i ? seq_of[i - 1] : 0),
		      "just before edit %d: agent %u at %u, seq %llu", i, agent,
		      crdt_version_get(&v, agent), (unsigned long long)seq);
		crdt_version_finish(&v);
	}
	drain(tl);
	fake_finish(tl);
}

/*
 * A room whose timeline has numbered 2^32 - 1 events is full: the scrub
 * index keeps 32-bit seqs.  Loaded with its last event at 2^32 - 2, it
 * takes one more edit, then says it is full (the server refuses edits
 * before merging them), refuses an edit with TIMELINE_E_LIMIT, and still
 * records other events.
 */
static void test_room_full(void)
{
	struct timeline *tl;
	struct timeline_room *r;
	struct doc_sink sink;
	struct crdt_version_entry e = { 3, 1 };
	uint8_t ops[2] = { 'o', 1 };
	uint64_t seq = 0;

	sql_exec("INSERT INTO timeline_events (room, seq, at, kind, payload) "
		 "VALUES ('roomK', 4294967294, now(), 'note', '{}')");
	tl = make(NULL);
	r = timeline_room(tl, "roomK");
	RUN_UNTIL(timeline_redis_up(tl), "Redis");
	memset(&sink, 0, sizeof(sink));
	sink.doc = crdt_doc_create(NULL);
	REQUIRE(timeline_load(r, 0, sink_edit, sink_loaded, &sink) == 0, "timeline_load");
	RUN_UNTIL(sink.done, "the load");
	REQUIRE(sink.err == 0, "load: %s", timeline_strerror(sink.err));
	CHECK(timeline_last_seq(r) == 4294967294u && !timeline_room_full(r),
	      "loaded: last seq %llu, full %d", (unsigned long long)timeline_last_seq(r),
	      timeline_room_full(r));
	CHECK(timeline_append(r, "edit", "c", NULL, ops, sizeof(ops), &e, 1, &seq) == 0 &&
		      seq == 4294967295u,
	      "the last edit a room can take: seq %llu", (unsigned long long)seq);
	CHECK(timeline_room_full(r), "full after seq 2^32 - 1");
	e.next = 2;
	CHECK(timeline_append(r, "edit", "c", NULL, ops, sizeof(ops), &e, 1, NULL) ==
		      TIMELINE_E_LIMIT,
	      "an edit past 2^32 - 1 is refused");
	CHECK(timeline_append(r, "note", "c", NULL, NULL, 0, NULL, 0, &seq) == 0 &&
		      seq == 4294967296u,
	      "other events go on: seq %llu", (unsigned long long)seq);
	drain(tl);
	finish(tl);
	crdt_doc_destroy(sink.doc);
}

/*
 * The server reserves an edit's event before merging it into the document
 * and commits it after, so an edit the document holds is always in the
 * timeline.  Each allocation the reservation makes fails in turn, and each
 * failure leaves the room as it was (seq, backlog, answers of the index);
 * the commit then runs with every allocation failing and still appends,
 * across a checkpoint, the padding of a block after a 50-day gap, edits
 * naming two agents (the spill area) and commits naming fewer agents than
 * reserved.  Everything reaches PostgreSQL once memory is back.
 */
static void test_reserve_nomem(void)
{
	const int64_t day = 86400000, t0 = 1767225600000; /* 2026-01-01 */
	enum { EDITS = 600 };
	static struct crdt_version ref[EDITS];
	struct timeline *tl;
	struct timeline_room *r;
	struct timeline_resv res;
	int64_t at[EDITS];
	long nfailed = 0;

	r = fake_start(&tl, t0, "roomL");
	for (int i = 0; i < EDITS; i++) {
		uint8_t ops[2] = { 'o', (uint8_t)i };
		struct crdt_version_entry e[2] = {
			{ 10 + (uint32_t)(i % 3), (uint32_t)(i / 3) + 1 }, { 900 + (uint32_t)i, 1 }
		};
		size_t nver = i % 37 == 5 ? 2 : 1, ncommit = i % 74 == 5 ? 1 : nver;
		uint64_t last = timeline_last_seq(r), seq;
		size_t backlog = timeline_backlog(tl);
		int rc;

		fake_ms += i == 300 ? 50 * day : 5;
		at[i] = fake_ms;
		for (long k = 0;; k++) {
			struct crdt_version v;
			uint64_t s;

			allocs_ok = k;
			rc = timeline_reserve(r, "edit", "c", ops, sizeof(ops), e, nver, &res);
			allocs_ok = -1;
			if (rc == 0)
				break;
			nfailed++;
			crdt_version_init(&v, NULL);
			REQUIRE(timeline_version_at(r, at[i], &v, &s) == 0, "version_at");
			CHECK(rc == TIMELINE_E_NOMEM && timeline_last_seq(r) == last &&
				      timeline_backlog(tl) == backlog && s == last &&
				      crdt_version_includes(&v, i ? &ref[i - 1] : &v) &&
				      (i == 0 || crdt_version_includes(&ref[i - 1], &v)),
			      "edit %d, allocation %ld failing: %s, seq %llu, backlog %zu, index "
			      "at seq %llu",
			      i, k, timeline_strerror(rc), (unsigned long long)timeline_last_seq(r),
			      timeline_backlog(tl), (unsigned long long)s);
			crdt_version_finish(&v);
		}
		if (i % 97 == 3) { /* an edit not made after all */
			timeline_cancel(&res);
			CHECK(timeline_last_seq(r) == last && timeline_backlog(tl) == backlog,
			      "cancelled: seq %llu", (unsigned long long)timeline_last_seq(r));
			REQUIRE(timeline_reserve(r, "edit", "c", ops, sizeof(ops), e, nver, &res) ==
					0,
				"reserve again");
		}
		CHECK(timeline_append(r, "note", "c", NULL, NULL, 0, NULL, 0, NULL) ==
			      TIMELINE_E_INVAL,
		      "an append between reserve and commit is refused");
		allocs_ok = 0;
		allocs_failed = 0;
		seq = timeline_commit(&res, e, ncommit);
		allocs_ok = -1;
		CHECK(seq == last + 1 && timeline_backlog(tl) == backlog + 1 && allocs_failed == 0,
		      "edit %d committed: seq %llu after %llu, backlog %zu, %ld allocations "
		      "tried",
		      i, (unsigned long long)seq, (unsigned long long)last, timeline_backlog(tl),
		      allocs_failed);
		crdt_version_init(&ref[i], NULL);
		REQUIRE(crdt_version_copy(&ref[i], i ? &ref[i - 1] : &ref[i]) == 0, "copy");
		for (size_t k = 0; k < ncommit; k++)
			REQUIRE(crdt_version_set(&ref[i], e[k].agent, e[k].next) == 0, "set");
	}
	CHECK(nfailed >= EDITS, "the reservations made %ld allocations that could fail", nfailed);
	for (int i = 0; i < EDITS; i++) {
		struct crdt_version v;
		uint64_t seq;

		crdt_version_init(&v, NULL);
		REQUIRE(timeline_version_at(r, at[i], &v, &seq) == 0, "version_at");
		CHECK(crdt_version_includes(&v, &ref[i]) && crdt_version_includes(&ref[i], &v) &&
			      seq == (uint64_t)i + 1,
		      "edit %d: index at seq %llu, %zu agents (want %zu)", i,
		      (unsigned long long)seq, v.len, ref[i].len);
		if (i) {
			REQUIRE(timeline_version_at(r, at[i] - 1, &v, &seq) == 0, "version_at");
			CHECK(crdt_version_includes(&v, &ref[i - 1]) &&
				      crdt_version_includes(&ref[i - 1], &v),
			      "just before edit %d", i);
		}
		crdt_version_finish(&v);
	}
	drain(tl);
	CHECK(sql_int("SELECT count(DISTINCT seq) FROM timeline_events WHERE room = 'roomL' AND "
		      "seq BETWEEN 1 AND %d",
		      EDITS) == EDITS &&
		      sql_int("SELECT count(*) FROM timeline_events WHERE room = 'roomL'") == EDITS,
	      "PostgreSQL holds seqs 1..%d of roomL once", EDITS);
	CHECK(sql_int("SELECT count(*) FROM timeline_events WHERE room = 'roomL' AND seq = 43 "
		      "AND payload = '{\"v\": [[10, 15], [942, 1]]}'::jsonb") == 1,
	      "a two-agent edit's payload in PostgreSQL");
	CHECK(sql_int("SELECT count(*) FROM timeline_events WHERE room = 'roomL' AND seq = 6 "
		      "AND payload = '{\"v\": [[12, 2]]}'::jsonb") == 1,
	      "an edit committed with one of its two reserved agents");
	CHECK(sql_int("SELECT count(*) FROM timeline_events WHERE room = 'roomL' AND seq = 451 "
		      "AND payload = '{\"v\": [[10, 151]]}'::jsonb AND ops = '\\x6fc2'::bytea") ==
		      1,
	      "a one-agent edit after the gap, with its ops");
	for (int i = 0; i < EDITS; i++)
		crdt_version_finish(&ref[i]);
	fake_finish(tl);
}

/* A failed REQUIRE exits: the private servers must not outlive the test. */
static void cleanup(void)
{
	svc_redis_destroy(&redis);
	svc_pg_destroy(&pg);
}

int main(int argc, char **argv)
{
	char err[512];
	int applied, rc;

	log_init_from_env();
	rc = svc_pg_create(&pg);
	if (rc == SVC_SKIP)
		return SVC_SKIP;
	atexit(cleanup);
	REQUIRE(rc == 0, "private PostgreSQL did not start");
	rc = svc_redis_start(&redis);
	if (rc == SVC_SKIP)
		return SVC_SKIP;
	REQUIRE(rc == 0, "private Redis did not start");
	REQUIRE(argc > 1, "usage: test-timeline MIGRATIONS_DIR");
	REQUIRE(migrate_run(pg.conninfo, argv[1], &applied, err, sizeof(err)) == 0, "migrate: %s",
		err);
	admin = PQconnectdb(pg.conninfo);
	REQUIRE(PQstatus(admin) == CONNECTION_OK, "admin connection");
	sql_exec("INSERT INTO rooms (id) VALUES ('roomA'), ('roomB'), ('roomC'), ('roomD'), "
		 "('roomE'), ('roomF'), ('roomG'), ('roomH'), ('roomI'), ('roomJ'), ('roomK'), "
		 "('roomL')");
	uv_loop_init(&loop);
	REQUIRE(db_create(&loop, pg.conninfo, NULL, &db) == 0, "db_create");

	test_order_once();
	test_unstorable();
	test_pg_down();
	test_overloaded();
	test_redis_down();
	test_crash_and_load();
	test_load_waits_for_redis();
	test_text_at();
	test_long_gaps();
	test_marks_compact();
	test_room_full();
	test_reserve_nomem();

	db_destroy(db);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(uv_loop_close(&loop) == 0, "handles left open on the loop");
	PQfinish(admin);
	CHECK_DONE();
}
