/*
 * store.c - rooms in PostgreSQL: a room's row, snapshot and agents, read
 * and written.
 *
 * PostgreSQL is the durable record (DESIGN.md); this file is the only one
 * that knows the room tables, and it knows nothing else: which rooms are
 * in memory, who waits for one, and the replay of the timeline after the
 * snapshot are room.c's.  A load is three queries in a row (row, snapshot,
 * agents) whose results are copied into one struct load and handed over
 * together.  Everything goes through db.c's asynchronous queue, so nothing
 * here blocks the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "store.h"

/* One load in flight: what the queries so far returned. */
struct load {
	struct db *db;
	char id[64];
	store_room_cb *cb;
	void *ud;
	char *problem;
	bool closed;
	int64_t token_epoch;
	uint8_t *snapshot;
	size_t snapshot_len;
	uint64_t snap_seq;
};

static void load_done(struct load *ld, int status, const struct store_agent *agents, size_t nagents)
{
	struct store_room row = {
		.problem = ld->problem ? ld->problem : "",
		.closed = ld->closed,
		.token_epoch = ld->token_epoch,
		.snapshot = ld->snapshot,
		.snapshot_len = ld->snapshot_len,
		.snap_seq = ld->snap_seq,
		.agents = agents,
		.nagents = nagents,
	};

	ld->cb(ld->ud, status, status == 200 ? &row : NULL);
	free(ld->problem);
	free(ld->snapshot);
	free(ld);
}

static void load_failed(struct load *ld, const char *step, const char *errmsg)
{
	log_event(LOG_ERROR, "room.load", "room=%s step=%s error=%s", ld->id, step,
		  errmsg ? errmsg : "out of memory");
	load_done(ld, 503, NULL, 0);
}

static void on_agents(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct load *ld = ud;
	struct store_agent *agents;
	int n;

	if (err) {
		load_failed(ld, "agents", errmsg);
		return;
	}
	n = PQntuples(res);
	agents = calloc(n ? (size_t)n : 1, sizeof(*agents));
	if (!agents) {
		load_failed(ld, "agents", NULL);
		return;
	}
	for (int i = 0; i < n; i++) {
		agents[i].agent = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		agents[i].seat = proto_seat_parse(PQgetvalue(res, i, 1));
	}
	load_done(ld, 200, agents, (size_t)n);
	free(agents);
}

static void on_doc(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct load *ld = ud;
	const char *id = ld->id;

	if (err) {
		load_failed(ld, "doc", errmsg);
		return;
	}
	if (PQntuples(res) == 1) {
		const unsigned char *sq = (const unsigned char *)PQgetvalue(res, 0, 1);
		size_t len = (size_t)PQgetlength(res, 0, 0);

		/* seq comes back as a binary int8: eight bytes, big-endian. */
		if (PQgetlength(res, 0, 1) == 8)
			for (int i = 0; i < 8; i++)
				ld->snap_seq = ld->snap_seq << 8 | sq[i];
		ld->snapshot = malloc(len ? len : 1);
		if (!ld->snapshot) {
			load_failed(ld, "doc", NULL);
			return;
		}
		memcpy(ld->snapshot, PQgetvalue(res, 0, 0), len);
		ld->snapshot_len = len;
	}
	if (db_query(ld->db, "SELECT agent, seat FROM room_agents WHERE room = $1", 1, &id,
		     on_agents, ld))
		load_failed(ld, "agents", "database queue full");
}

static void on_room_row(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct load *ld = ud;
	const char *id = ld->id;

	if (err) {
		load_failed(ld, "room", errmsg);
		return;
	}
	if (PQntuples(res) != 1) {
		load_done(ld, 404, NULL, 0);
		return;
	}
	ld->problem = strdup(PQgetvalue(res, 0, 0));
	if (!ld->problem) {
		load_failed(ld, "room", NULL);
		return;
	}
	ld->closed = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	ld->token_epoch = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	if (db_query_params(ld->db, "SELECT snapshot, seq FROM room_docs WHERE room = $1", 1, &id,
			    NULL, NULL, 1, on_doc, ld))
		load_failed(ld, "doc", "database queue full");
}

int store_load_room(struct db *db, const char *id, store_room_cb *cb, void *ud)
{
	struct load *ld;
	const char *param = id;

	if (!db || strlen(id) >= sizeof(ld->id)) {
		cb(ud, 404, NULL);
		return 0;
	}
	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return -1;
	ld->db = db;
	ld->cb = cb;
	ld->ud = ud;
	snprintf(ld->id, sizeof(ld->id), "%s", id);
	if (db_query(db,
		     "SELECT coalesce(problem, ''), closed_at IS NOT NULL, token_epoch FROM rooms "
		     "WHERE id = $1",
		     1, &param, on_room_row, ld)) {
		free(ld);
		return -1;
	}
	return 0;
}

/* ---- writes --------------------------------------------------------------- */

struct done_ctx {
	store_done_cb *cb;
	void *ud;
	char what[32];
};

static void on_write(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct done_ctx *d = ud;

	(void)res;
	if (err)
		log_event(LOG_ERROR, "store.write", "what=%s error=%s", d->what, errmsg);
	if (d->cb)
		d->cb(d->ud, err ? -1 : 0);
	free(d);
}

static int write_query(struct db *db, const char *what, const char *sql, int n,
		       const char *const *params, const int *lengths, const int *formats,
		       store_done_cb *cb, void *ud)
{
	struct done_ctx *d;

	if (!db)
		return -1;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->cb = cb;
	d->ud = ud;
	snprintf(d->what, sizeof(d->what), "%s", what);
	if (db_query_params(db, sql, n, params, lengths, formats, 0, on_write, d)) {
		free(d);
		return -1;
	}
	return 0;
}

int store_create_room(struct db *db, const char *id, const char *problem, store_done_cb *cb,
		      void *ud)
{
	const char *p[2] = { id, problem };

	return write_query(db, "room.create", "INSERT INTO rooms (id, problem) VALUES ($1, $2)", 2,
			   p, NULL, NULL, cb, ud);
}

int store_set_problem(struct db *db, const char *id, const char *problem)
{
	const char *p[2] = { id, problem };

	return write_query(db, "room.problem", "UPDATE rooms SET problem = $2 WHERE id = $1", 2, p,
			   NULL, NULL, NULL, NULL);
}

int store_close_room(struct db *db, const char *id, store_done_cb *cb, void *ud)
{
	return write_query(db, "room.close",
			   "UPDATE rooms SET closed_at = now(), token_epoch = token_epoch + 1 "
			   "WHERE id = $1 AND closed_at IS NULL",
			   1, &id, NULL, NULL, cb, ud);
}

int store_add_agent(struct db *db, const char *room, uint32_t agent, enum seat seat)
{
	char a[16];
	const char *p[3] = { room, a, proto_seat_name(seat) };

	snprintf(a, sizeof(a), "%u", agent);
	return write_query(db, "room.agent",
			   "INSERT INTO room_agents (room, agent, seat) VALUES ($1, $2, $3) "
			   "ON CONFLICT DO NOTHING",
			   3, p, NULL, NULL, NULL, NULL);
}

int store_save_doc(struct db *db, const char *room, const uint8_t *snap, size_t snap_len,
		   const uint8_t *ver, size_t ver_len, uint64_t seq, store_done_cb *cb, void *ud)
{
	char sq[24];
	const char *p[4] = { room, (const char *)snap, (const char *)ver, sq };
	int lengths[4] = { 0, (int)snap_len, (int)ver_len, 0 };
	int formats[4] = { 0, 1, 1, 0 };

	snprintf(sq, sizeof(sq), "%llu", (unsigned long long)seq);
	/* Saves race only with themselves; a snapshot never moves back in seq. */
	return write_query(db, "room.doc",
			   "INSERT INTO room_docs (room, snapshot, version, seq) "
			   "VALUES ($1, $2, $3, $4::bigint) "
			   "ON CONFLICT (room) DO UPDATE SET snapshot = excluded.snapshot, "
			   "version = excluded.version, seq = excluded.seq, updated_at = now() "
			   "WHERE room_docs.seq <= excluded.seq",
			   4, p, lengths, formats, cb, ud);
}

/* ---- the room list (GET /api/rooms) ---------------------------------------- */

struct listing {
	store_list_cb *cb;
	void *ud;
	unsigned limit;
};

static void on_list_rows(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct listing *ls = ud;
	struct store_listed *rooms = NULL;
	size_t n = 0;
	int rows;

	if (err) {
		log_event(LOG_ERROR, "rooms.list", "error=%s", errmsg ? errmsg : "out of memory");
		goto fail;
	}
	rows = PQntuples(res);
	/* one row past the page says there is a next page */
	n = rows > (int)ls->limit ? ls->limit : (size_t)rows;
	if (n && !(rooms = calloc(n, sizeof(*rooms)))) {
		log_event(LOG_ERROR, "rooms.list", "error=%s", "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		rooms[i].id = PQgetvalue(res, (int)i, 0);
		rooms[i].problem = PQgetvalue(res, (int)i, 1);
		rooms[i].created_us = strtoll(PQgetvalue(res, (int)i, 2), NULL, 10);
		rooms[i].closed_ms = PQgetisnull(res, (int)i, 3)
					     ? 0
					     : strtoll(PQgetvalue(res, (int)i, 3), NULL, 10);
	}
	ls->cb(ls->ud, 200, rooms, n, rows > (int)ls->limit);
	free(rooms);
	free(ls);
	return;
fail:
	ls->cb(ls->ud, 503, NULL, 0, false);
	free(ls);
}

int store_list_rooms(struct db *db, const struct store_page *page, store_list_cb *cb, void *ud)
{
	static const char *const states[] = { NULL, "open", "closed" };
	char after_us[24], limit[16];
	const char *params[4];
	struct listing *ls;

	if (!db || !(ls = calloc(1, sizeof(*ls))))
		return -1;
	ls->cb = cb;
	ls->ud = ud;
	ls->limit = page->limit;
	snprintf(after_us, sizeof(after_us), "%lld", (long long)page->after_us);
	snprintf(limit, sizeof(limit), "%u", page->limit + 1);
	params[0] = page->after_us ? after_us : NULL;
	params[1] = page->after_id;
	params[2] = states[page->state >= 0 && page->state <= 2 ? page->state : 0];
	params[3] = limit;
	/*
	 * Keyset pagination, newest first: (created microseconds, id) below the
	 * cursor's.  extract() is exact (numeric) from PostgreSQL 14 on, so the
	 * microseconds order as created_at does.
	 */
	if (db_query(db,
		     "SELECT id, coalesce(problem, ''), "
		     "(extract(epoch FROM created_at) * 1000000)::bigint, "
		     "(extract(epoch FROM closed_at) * 1000)::bigint FROM rooms "
		     "WHERE ($1::bigint IS NULL OR "
		     "((extract(epoch FROM created_at) * 1000000)::bigint, id) < ($1::bigint, $2)) "
		     "AND ($3::text IS NULL OR ($3 = 'open') = (closed_at IS NULL)) "
		     "ORDER BY created_at DESC, id DESC LIMIT $4::int",
		     4, params, on_list_rows, ls)) {
		free(ls);
		return -1;
	}
	return 0;
}
