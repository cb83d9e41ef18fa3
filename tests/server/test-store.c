/*
 * test-store.c - store.c, the room tables, against a real PostgreSQL.
 *
 * store.c is data access only (no rooms in memory, no server), so it is
 * tested alone: a private PostgreSQL (services.c), migrated, and db.c on a
 * loop of its own.  Checked: an unknown room loads as 404; a created room
 * loads with its problem, open, epoch 0, no snapshot, no agents; agents and
 * a snapshot written come back (bytes and seq exact), a snapshot never
 * moves back in seq; closing sets closed and bumps the epoch once (a
 * second close succeeds and changes nothing: issue 14, defect 1); a
 * duplicate create fails; with PostgreSQL stopped a load answers 503 and a
 * write fails, each callback exactly once; without a database a load
 * answers 404 and writes return -1.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <uv.h>

#include "check.h"
#include "db.h"
#include "migrate.h"
#include "services.h"
#include "store.h"

static uv_loop_t loop;
static struct svc_pg pg;
static struct db *db;

/* Runs the loop until *flag or a 30 s guard (a failure, not a wait). */
static bool run_until(bool *flag, const char *what)
{
	bool ok = svc_run_until(&loop, flag, 30000);

	CHECK(ok, "timed out waiting for %s", what);
	return ok;
}

/* What one load answered, copied out of the borrowed row. */
struct loaded {
	bool done;
	int calls, status;
	char problem[128];
	bool closed;
	int64_t epoch;
	uint8_t snap[64];
	size_t snap_len;
	bool has_snap;
	uint64_t snap_seq;
	struct store_agent agents[8];
	size_t nagents;
};

static void on_load(void *ud, int status, const struct store_room *row)
{
	struct loaded *l = ud;

	l->calls++;
	l->done = true;
	l->status = status;
	CHECK((status == 200) == (row != NULL), "status %d with row %p", status, (void *)row);
	if (!row)
		return;
	snprintf(l->problem, sizeof(l->problem), "%s", row->problem);
	l->closed = row->closed;
	l->epoch = row->token_epoch;
	l->has_snap = row->snapshot != NULL;
	l->snap_len = row->snapshot_len < sizeof(l->snap) ? row->snapshot_len : sizeof(l->snap);
	if (row->snapshot)
		memcpy(l->snap, row->snapshot, l->snap_len);
	l->snap_seq = row->snap_seq;
	l->nagents = row->nagents < 8 ? row->nagents : 8;
	memcpy(l->agents, row->agents, l->nagents * sizeof(l->agents[0]));
}

static struct loaded load(const char *id)
{
	struct loaded l;

	memset(&l, 0, sizeof(l));
	REQUIRE(store_load_room(db, id, on_load, &l) == 0, "store_load_room %s", id);
	run_until(&l.done, "a load");
	CHECK(l.calls == 1, "load callback called %d times", l.calls);
	return l;
}

struct written {
	bool done;
	int calls, err;
};

static void on_written(void *ud, int err)
{
	struct written *w = ud;

	w->calls++;
	w->done = true;
	w->err = err;
}

static int wait_write(int rc, struct written *w, const char *what)
{
	CHECK(rc == 0, "%s: queued (rc %d)", what, rc);
	if (rc)
		return -2;
	run_until(&w->done, what);
	CHECK(w->calls == 1, "%s: callback called %d times", what, w->calls);
	return w->err;
}

static void test_rooms(void)
{
	struct written w = { 0 };
	struct loaded l;
	static const uint8_t snap1[] = { 1, 'S', 1, 2, 3 }, snap2[] = { 1, 'S', 9 };
	static const uint8_t ver[] = { 1, 'V', 0 };

	l = load("nosuchroom");
	CHECK(l.status == 404, "unknown room: %d", l.status);

	CHECK(wait_write(store_create_room(db, "r1", "two-sum", on_written, &w), &w, "create") == 0,
	      "create failed");
	l = load("r1");
	CHECK(l.status == 200, "created room: %d", l.status);
	CHECK(strcmp(l.problem, "two-sum") == 0, "problem %s", l.problem);
	CHECK(!l.closed && l.epoch == 0, "closed %d epoch %lld", l.closed, (long long)l.epoch);
	CHECK(!l.has_snap && l.snap_seq == 0 && l.nagents == 0, "snap %d seq %llu agents %zu",
	      l.has_snap, (unsigned long long)l.snap_seq, l.nagents);

	memset(&w, 0, sizeof(w));
	CHECK(wait_write(store_create_room(db, "r1", NULL, on_written, &w), &w, "create twice") ==
		      -1,
	      "a second create of the same id must fail");

	CHECK(store_add_agent(db, "r1", 1, SEAT_INTERVIEWER) == 0, "add agent 1");
	CHECK(store_add_agent(db, "r1", 2, SEAT_CANDIDATE) == 0, "add agent 2");
	CHECK(store_add_agent(db, "r1", 2, SEAT_CANDIDATE) == 0, "add agent 2 again");
	memset(&w, 0, sizeof(w));
	CHECK(wait_write(store_save_doc(db, "r1", snap1, sizeof(snap1), ver, sizeof(ver), 7,
					on_written, &w),
			 &w, "save") == 0,
	      "save failed");
	/* An older snapshot (lower seq) does not replace a newer one. */
	memset(&w, 0, sizeof(w));
	CHECK(wait_write(store_save_doc(db, "r1", snap2, sizeof(snap2), ver, sizeof(ver), 3,
					on_written, &w),
			 &w, "save older") == 0,
	      "save of an older snapshot failed");
	l = load("r1");
	CHECK(l.status == 200 && l.has_snap, "loaded: %d, snapshot %d", l.status, l.has_snap);
	CHECK(l.snap_len == sizeof(snap1) && memcmp(l.snap, snap1, sizeof(snap1)) == 0,
	      "snapshot bytes (%zu) are the newest saved", l.snap_len);
	CHECK(l.snap_seq == 7, "snapshot seq %llu", (unsigned long long)l.snap_seq);
	CHECK(l.nagents == 2, "agents %zu", l.nagents);
	for (size_t i = 0; i < l.nagents; i++)
		CHECK((l.agents[i].agent == 1 && l.agents[i].seat == SEAT_INTERVIEWER) ||
			      (l.agents[i].agent == 2 && l.agents[i].seat == SEAT_CANDIDATE),
		      "agent %u seat %d", l.agents[i].agent, (int)l.agents[i].seat);

	/* Closing: once, idempotent. */
	for (int i = 0; i < 2; i++) {
		memset(&w, 0, sizeof(w));
		CHECK(wait_write(store_close_room(db, "r1", on_written, &w), &w, "close") == 0,
		      "close %d failed", i);
		l = load("r1");
		CHECK(l.closed && l.epoch == 1, "after close %d: closed %d epoch %lld", i, l.closed,
		      (long long)l.epoch);
	}
}

static void test_database_down(void)
{
	struct written w = { 0 };
	struct loaded l;

	REQUIRE(svc_pg_stop(&pg) == 0, "stop PostgreSQL");
	/* db.c keeps queries while it reconnects: stop the client so they fail now. */
	memset(&l, 0, sizeof(l));
	REQUIRE(store_load_room(db, "r1", on_load, &l) == 0, "load queued");
	CHECK(store_close_room(db, "r1", on_written, &w) == 0, "close queued");
	db_destroy(db);
	db = NULL;
	CHECK(l.done && l.calls == 1 && l.status == 503,
	      "load with the database gone: %d (%d calls)", l.status, l.calls);
	CHECK(w.done && w.calls == 1 && w.err == -1, "close with the database gone: %d (%d calls)",
	      w.err, w.calls);

	/* No database at all: rooms are unknown and nothing is written. */
	memset(&l, 0, sizeof(l));
	CHECK(store_load_room(NULL, "r1", on_load, &l) == 0 && l.done && l.status == 404,
	      "load without a database: %d", l.status);
	CHECK(store_create_room(NULL, "x", NULL, NULL, NULL) == -1, "create without a database");
	CHECK(store_close_room(NULL, "x", NULL, NULL) == -1, "close without a database");
}

int main(int argc, char **argv)
{
	char err[512];
	int applied = 0, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: test-store MIGRATIONS_DIR\n");
		return 2;
	}
	rc = svc_pg_create(&pg);
	if (rc == SVC_SKIP) {
		fprintf(stderr, "no PostgreSQL server binaries: skipped\n");
		return SVC_SKIP;
	}
	REQUIRE(rc == 0, "private PostgreSQL");
	REQUIRE(migrate_run(pg.conninfo, argv[1], &applied, err, sizeof(err)) == 0, "migrate: %s",
		err);
	uv_loop_init(&loop);
	REQUIRE(db_create(&loop, pg.conninfo, NULL, &db) == 0, "db_create");
	test_rooms();
	test_database_down();
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	svc_pg_destroy(&pg);
	CHECK_DONE();
}
