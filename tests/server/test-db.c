/*
 * test-db.c - the asynchronous PostgreSQL client against a real server.
 *
 * A private PostgreSQL (services.c) is started for this test so it can be
 * stopped and restarted without disturbing anyone.  Checked: results and
 * parameters (text, NULL, binary bytea), a bad statement failing alone
 * while the loop and later queries go on, many queries completing in
 * order, each callback exactly once and never from inside db_query(), a
 * bounded queue, a server restart in the middle of a queue (at most the
 * query on the wire fails, the rest complete after the reconnect), a server
 * that is down when the client starts, and db_destroy() failing what is
 * pending.  All waiting is done by running the loop until a condition.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "check.h"
#include "db.h"
#include "log.h"
#include "services.h"

static uv_loop_t loop;
static struct svc_pg pg;
static bool in_db_query;

/* Runs the loop until *flag or a 30 s guard (a failure, not a wait). */
static bool run_until(bool *flag, const char *what)
{
	bool ok = svc_run_until(&loop, flag, 30000);

	CHECK(ok, "timed out waiting for %s", what);
	return ok;
}

/* ---- one query at a time ---------------------------------------------- */

struct one {
	bool done;
	int calls;
	int err;
	char value[256];
	char sqlstate[6];
	int ntuples;
	bool value_null;
	size_t value_len;
};

static void one_cb(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct one *o = ud;

	CHECK(!in_db_query, "callback from inside db_query");
	o->calls++;
	o->done = true;
	o->err = err;
	if (err == 0) {
		CHECK(res != NULL && errmsg == NULL, "success shape");
		o->ntuples = PQntuples(res);
		if (PQntuples(res) > 0 && PQnfields(res) > 0) {
			o->value_null = PQgetisnull(res, 0, 0);
			o->value_len = (size_t)PQgetlength(res, 0, 0);
			size_t n = o->value_len < sizeof(o->value) - 1 ? o->value_len
								       : sizeof(o->value) - 1;
			memcpy(o->value, PQgetvalue(res, 0, 0), n);
			o->value[n] = '\0';
		}
	} else {
		CHECK(errmsg != NULL && errmsg[0] != '\0', "error without message");
		snprintf(o->value, sizeof(o->value), "%s", errmsg ? errmsg : "");
		const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		snprintf(o->sqlstate, sizeof(o->sqlstate), "%s", st ? st : "");
	}
}

static int query(struct db *db, const char *sql, int n, const char *const *params, struct one *o)
{
	int rc;

	memset(o, 0, sizeof(*o));
	in_db_query = true;
	rc = db_query(db, sql, n, params, one_cb, o);
	in_db_query = false;
	return rc;
}

static void test_basic(void)
{
	struct db *db = NULL;
	struct one o;
	int rc;

	rc = db_create(&loop, pg.conninfo, NULL, &db);
	REQUIRE(rc == 0, "db_create: %s", db_strerror(rc));

	REQUIRE(query(db, "SELECT 41 + 1", 0, NULL, &o) == 0, "query");
	run_until(&o.done, "SELECT 42");
	CHECK(o.err == 0 && strcmp(o.value, "42") == 0, "got err %d '%s'", o.err, o.value);
	CHECK(db_healthy(db), "healthy after a query");

	const char *p2[] = { "20", "22" };
	REQUIRE(query(db, "SELECT $1::int + $2::int", 2, p2, &o) == 0, "params");
	run_until(&o.done, "params");
	CHECK(o.err == 0 && strcmp(o.value, "42") == 0, "params: %d '%s'", o.err, o.value);

	const char *pnull[] = { NULL };
	REQUIRE(query(db, "SELECT $1::text IS NULL", 1, pnull, &o) == 0, "null param");
	run_until(&o.done, "null");
	CHECK(o.err == 0 && strcmp(o.value, "t") == 0, "null param: '%s'", o.value);

	/* Quotes in a parameter are data, not SQL. */
	const char *inj[] = { "x'); DROP TABLE nothing; --" };
	REQUIRE(query(db, "SELECT length($1)", 1, inj, &o) == 0, "quote");
	run_until(&o.done, "quote");
	CHECK(o.err == 0 && strcmp(o.value, "27") == 0, "quote param: '%s'", o.value);

	/* Binary in, binary out: bytea with NULs survives byte for byte. */
	static const char blob[] = { 0, 1, 2, (char)0xff, 0, 'a' };
	const char *bv[] = { blob };
	int bl[] = { (int)sizeof(blob) }, bf[] = { 1 };
	memset(&o, 0, sizeof(o));
	in_db_query = true;
	rc = db_query_params(db, "SELECT $1::bytea", 1, bv, bl, bf, 1, one_cb, &o);
	in_db_query = false;
	REQUIRE(rc == 0, "binary: %s", db_strerror(rc));
	run_until(&o.done, "binary");
	CHECK(o.err == 0 && o.value_len == sizeof(blob) && memcmp(o.value, blob, sizeof(blob)) == 0,
	      "binary round trip: err %d len %zu", o.err, o.value_len);

	/* A bad statement fails alone; the connection and later queries go on. */
	struct one bad, after;
	REQUIRE(query(db, "SELEC 1", 0, NULL, &bad) == 0, "bad sql");
	REQUIRE(query(db, "SELECT 'still here'", 0, NULL, &after) == 0, "after");
	run_until(&after.done, "query after an error");
	CHECK(bad.calls == 1 && bad.err == DB_E_QUERY, "bad: calls %d err %d", bad.calls, bad.err);
	CHECK(strcmp(bad.sqlstate, "42601") == 0, "sqlstate '%s'", bad.sqlstate);
	CHECK(strstr(bad.value, "syntax error") != NULL && strchr(bad.value, '\n') == NULL,
	      "message '%s'", bad.value);
	CHECK(after.err == 0 && strcmp(after.value, "still here") == 0, "after: '%s'", after.value);

	/* Constraint errors come back with their SQLSTATE too. */
	REQUIRE(query(db, "SELECT 1/0", 0, NULL, &o) == 0, "div");
	run_until(&o.done, "div");
	CHECK(o.err == DB_E_QUERY && strcmp(o.sqlstate, "22012") == 0, "div: %d %s", o.err,
	      o.sqlstate);

	/* Bad arguments are refused without a callback. */
	CHECK(db_query(db, NULL, 0, NULL, one_cb, &o) == DB_E_INVAL, "NULL sql");
	CHECK(db_query(db, "SELECT 1", 0, NULL, NULL, NULL) == DB_E_INVAL, "NULL cb");
	CHECK(db_query(db, "SELECT 1", 1, NULL, one_cb, &o) == DB_E_INVAL, "NULL params");

	db_destroy(db);
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- many queries, in order, across a restart ------------------------- */

#define MANY 400

struct many {
	struct db *db;
	int calls[MANY];
	int err[MANY];
	int order[MANY];
	int ncompleted;
	int stop_after; /* stop the server when this many have completed */
	bool stopped;
	bool done;
	bool saw_unhealthy;
	int looks; /* restart_cb's looks at db_healthy() while the server is down */
};

struct slot {
	struct many *m;
	int i;
};

static struct slot slots[MANY];

/*
 * While PostgreSQL is down: waits (up to 5 s, looking every 50 ms) for
 * db_healthy() to say so, then restarts it.
 */
static void restart_cb(uv_timer_t *t)
{
	struct many *m = t->data;

	if (!db_healthy(m->db))
		m->saw_unhealthy = true;
	else if (++m->looks < 100) {
		uv_timer_start(t, restart_cb, 50, 0);
		return;
	}
	CHECK(svc_pg_start(&pg) == 0, "restart PostgreSQL");
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void many_cb(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct slot *s = ud;
	struct many *m = s->m;

	CHECK(!in_db_query, "callback from inside db_query");
	m->calls[s->i]++;
	m->err[s->i] = err;
	m->order[m->ncompleted++] = s->i;
	if (err == 0) {
		char want[16];
		snprintf(want, sizeof(want), "%d", s->i);
		CHECK(strcmp(PQgetvalue(res, 0, 0), want) == 0, "query %d answered %s", s->i,
		      PQgetvalue(res, 0, 0));
	}
	if (m->stop_after > 0 && m->ncompleted == m->stop_after && !m->stopped) {
		/* The operator restarts PostgreSQL while the queue is still full. */
		m->stopped = true;
		CHECK(svc_pg_stop(&pg) == 0, "stop PostgreSQL");
		uv_timer_t *t = malloc(sizeof(*t));
		uv_timer_init(&loop, t);
		t->data = m;
		/*
		 * The loop's clock was read before the stop, which takes seconds on
		 * a loaded machine: without this the timer was already due and ran
		 * before the loop had polled the dropped connection.
		 */
		uv_update_time(&loop);
		uv_timer_start(t, restart_cb, 300, 0);
	}
	if (m->ncompleted == MANY)
		m->done = true;
}

static void run_many(int stop_after)
{
	static struct many m;
	struct db_options opt = { .backoff_min_ms = 20, .backoff_max_ms = 200 };
	int rc;

	memset(&m, 0, sizeof(m));
	m.stop_after = stop_after;
	rc = db_create(&loop, pg.conninfo, &opt, &m.db);
	REQUIRE(rc == 0, "db_create");
	for (int i = 0; i < MANY; i++) {
		char v[16];
		const char *params[] = { v };
		snprintf(v, sizeof(v), "%d", i);
		slots[i].m = &m;
		slots[i].i = i;
		in_db_query = true;
		rc = db_query(m.db, "SELECT $1::int", 1, params, many_cb, &slots[i]);
		in_db_query = false;
		REQUIRE(rc == 0, "queue %d: %s", i, db_strerror(rc));
	}
	CHECK(db_pending(m.db) == MANY, "pending %zu", db_pending(m.db));
	run_until(&m.done, "all queries");

	int lostn = 0;
	for (int i = 0; i < MANY; i++) {
		CHECK(m.calls[i] == 1, "query %d called %d times", i, m.calls[i]);
		CHECK(m.order[i] == i, "completion %d was query %d", i, m.order[i]);
		if (m.err[i] == DB_E_CONNLOST)
			lostn++;
		else
			CHECK(m.err[i] == 0, "query %d: %s", i, db_strerror(m.err[i]));
	}
	CHECK(lostn <= 1, "%d queries lost (only the one on the wire may be)", lostn);
	if (stop_after > 0) {
		CHECK(m.stopped, "server was stopped");
		CHECK(m.saw_unhealthy, "db_healthy() stayed true while the server was down");
		for (int i = stop_after + 2; i < MANY; i++)
			CHECK(m.err[i] == 0, "query %d after the restart: %d", i, m.err[i]);
	}
	CHECK(db_healthy(m.db), "healthy at the end");
	CHECK(db_pending(m.db) == 0, "pending %zu", db_pending(m.db));
	db_destroy(m.db);
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- down at start, bounded queue, destroy ---------------------------- */

struct counter {
	int calls, ok, destroyed, other;
	bool done;
	int want;
};

static void count_cb(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct counter *c = ud;

	CHECK(!in_db_query, "callback from inside db_query");
	c->calls++;
	if (err == 0)
		c->ok++;
	else if (err == DB_E_DESTROYED)
		c->destroyed++;
	else
		c->other++;
	if (c->calls == c->want)
		c->done = true;
}

static void start_cb(uv_timer_t *t)
{
	CHECK(svc_pg_start(&pg) == 0, "start PostgreSQL");
	uv_close((uv_handle_t *)t, NULL);
}

static void test_down_at_start(void)
{
	struct db_options opt = { .queue_max = 10, .backoff_min_ms = 20, .backoff_max_ms = 100 };
	struct counter c = { .want = 10 };
	struct db *db = NULL;
	uv_timer_t t;
	int rc;

	REQUIRE(svc_pg_stop(&pg) == 0, "stop");
	REQUIRE(db_create(&loop, pg.conninfo, &opt, &db) == 0, "create while down");
	CHECK(!db_healthy(db), "healthy while the server is down");
	for (int i = 0; i < 10; i++) {
		in_db_query = true;
		rc = db_query(db, "SELECT 1", 0, NULL, count_cb, &c);
		in_db_query = false;
		CHECK(rc == 0, "queue %d: %s", i, db_strerror(rc));
	}
	rc = db_query(db, "SELECT 1", 0, NULL, count_cb, &c);
	CHECK(rc == DB_E_FULL, "11th query: %d", rc);
	CHECK(strcmp(db_strerror(DB_E_FULL), "database queue full") == 0, "strerror");

	uv_timer_init(&loop, &t);
	uv_timer_start(&t, start_cb, 200, 0);
	run_until(&c.done, "queries queued while down");
	CHECK(c.ok == 10 && c.other == 0, "ok %d other %d", c.ok, c.other);
	CHECK(db_healthy(db), "healthy after the server came up");

	/* destroy fails everything pending, each exactly once, inside db_destroy. */
	struct counter d = { .want = 10 };
	for (int i = 0; i < 10; i++)
		CHECK(db_query(db, "SELECT pg_sleep(0.01)", 0, NULL, count_cb, &d) == 0, "q %d", i);
	CHECK(d.calls == 0, "called early");
	db_destroy(db);
	CHECK(d.calls == 10 && d.destroyed == 10, "calls %d destroyed %d", d.calls, d.destroyed);
	CHECK(db_query(db, "SELECT 1", 0, NULL, count_cb, &d) == DB_E_DESTROYED, "after destroy");
	uv_run(&loop, UV_RUN_NOWAIT);
	CHECK(d.calls == 10, "late callbacks: %d", d.calls);
	db_destroy(NULL);
}

/* Destroying from inside a callback is allowed. */
static struct db *destroy_target;

static void destroy_in_cb(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct counter *c = ud;

	c->calls++;
	c->ok += err == 0;
	c->destroyed += err == DB_E_DESTROYED;
	if (c->calls == 1)
		db_destroy(destroy_target);
	if (c->calls == c->want)
		c->done = true;
}

static void test_destroy_in_callback(void)
{
	struct counter c = { .want = 3 };

	REQUIRE(db_create(&loop, pg.conninfo, NULL, &destroy_target) == 0, "create");
	for (int i = 0; i < 3; i++)
		REQUIRE(db_query(destroy_target, "SELECT 1", 0, NULL, destroy_in_cb, &c) == 0, "q");
	run_until(&c.done, "destroy in callback");
	CHECK(c.ok == 1 && c.destroyed == 2, "ok %d destroyed %d", c.ok, c.destroyed);
	uv_run(&loop, UV_RUN_NOWAIT);
}

/*
 * A server that accepts the TCP connection and never answers: the connect
 * deadline (not the kernel's minutes-long timeout) gives up on the attempt,
 * over and over, while queries wait.
 */
static void test_connect_timeout(void)
{
	struct db_options opt = { .connect_timeout_ms = 150,
				  .backoff_min_ms = 10,
				  .backoff_max_ms = 20 };
	struct counter c = { .want = 1 };
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	char ci[128];
	struct db *db = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 16) == 0 &&
			getsockname(fd, (struct sockaddr *)&a, &len) == 0,
		"silent listener");
	snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d dbname=x user=postgres sslmode=disable",
		 ntohs(a.sin_port));
	REQUIRE(db_create(&loop, ci, &opt, &db) == 0, "create");
	CHECK(strcmp(db_last_error(db), "") == 0, "error before any attempt: %s",
	      db_last_error(db));
	REQUIRE(db_query(db, "SELECT 1", 0, NULL, count_cb, &c) == 0, "queue");
	bool timed_out = false;
	for (int i = 0; i < 1000 && !timed_out; i++) {
		uv_run(&loop, UV_RUN_ONCE);
		timed_out = strstr(db_last_error(db), "timed out") != NULL;
	}
	CHECK(timed_out, "no connect timeout: '%s'", db_last_error(db));
	CHECK(!db_healthy(db) && c.calls == 0, "healthy %d calls %d", db_healthy(db), c.calls);
	db_destroy(db);
	CHECK(c.calls == 1 && c.destroyed == 1, "calls %d destroyed %d", c.calls, c.destroyed);
	uv_run(&loop, UV_RUN_NOWAIT);
	close(fd);
}

/* A failed REQUIRE exits: the private server must not outlive the test. */
static void cleanup(void)
{
	svc_pg_destroy(&pg);
}

int main(void)
{
	int rc;

	log_init_from_env();
	rc = svc_pg_create(&pg);
	if (rc == SVC_SKIP) {
		fprintf(stderr, "no PostgreSQL server binaries: skipped\n");
		return SVC_SKIP;
	}
	atexit(cleanup);
	REQUIRE(rc == 0, "private PostgreSQL did not start");
	uv_loop_init(&loop);

	test_basic();
	run_many(0);
	run_many(MANY / 3);
	test_down_at_start();
	test_destroy_in_callback();
	test_connect_timeout();

	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(uv_loop_close(&loop) == 0, "handles left open on the loop");
	svc_pg_destroy(&pg);
	CHECK_DONE();
}
