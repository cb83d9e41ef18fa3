/*
 * store.c - rooms in PostgreSQL: created, loaded on demand, saved, closed.
 *
 * PostgreSQL is the durable record (DESIGN.md); this file is the only one
 * that knows the room tables.  A room not in memory is loaded the first
 * time someone asks for it (a join, a REST call), with every asker waiting
 * on one load: its row, its latest snapshot, its agents, then every edit
 * the timeline has after the seq the snapshot covers (from PostgreSQL and
 * from the Redis Stream entries not flushed yet, so a kill -9 loses
 * nothing that was acknowledged), then its presence.  A room's document is
 * saved as a snapshot a moment after it changes and when the server stops.  Everything goes through
 * db.c's asynchronous queue, so nothing here blocks the loop; a callback may find that the asker
 * went away meanwhile, which is why askers are cancellable.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "presence.h"
#include "server.h"
#include "store.h"
#include "timeline.h"

#define SAVE_DELAY_MS 1000

struct waiter {
	store_room_cb *cb;
	void *ud;
	struct waiter *next;
};

/* One load in flight; every asker for the same room waits on it. */
struct load {
	struct server *srv;
	char id[64];
	struct room *room;
	struct waiter *waiters;
	struct load *next;
	uint64_t snap_seq;
	bool replay_failed;
};

static struct load *loads;

static void finish_load(struct load *ld, int status)
{
	struct load **p;

	for (p = &loads; *p && *p != ld; p = &(*p)->next)
		;
	if (*p)
		*p = ld->next;
	/* A half-loaded room must not stay in memory: the next asker loads it afresh. */
	if (status != 200 && ld->room) {
		room_discard(ld->room);
		ld->room = NULL;
	}
	if (status == 200)
		room_mark_persisted(ld->room);
	while (ld->waiters) {
		struct waiter *w = ld->waiters;

		ld->waiters = w->next;
		w->cb(w->ud, status == 200 ? ld->room : NULL, status);
		free(w);
	}
	free(ld);
}

static void on_presence_read(void *ud, int err, const struct presence_entry *e, size_t n)
{
	struct load *ld = ud;

	if (!err)
		room_presence_loaded(ld->room, e, n);
	finish_load(ld, 200);
}

static void loaded(struct load *ld)
{
	if (ld->replay_failed) {
		finish_load(ld, 503);
		return;
	}
	log_event(LOG_INFO, "room.load", "room=%s", ld->id);
	if (ld->srv->presence &&
	    presence_read(ld->srv->presence, ld->id, on_presence_read, ld) == 0)
		return;
	finish_load(ld, 200);
}

/* An edit the snapshot lacks: merged into the document. */
static void on_edit(void *ud, uint64_t seq, const uint8_t *ops, size_t len)
{
	struct load *ld = ud;
	int rc;

	if (!ops)
		return;
	rc = room_load_snapshot(ld->room, ops, len);
	if (rc) {
		log_event(LOG_ERROR, "room.load", "room=%s step=replay seq=%llu error=%s", ld->id,
			  (unsigned long long)seq, crdt_strerror(rc));
		ld->replay_failed = true;
	}
}

static void on_timeline(void *ud, int err)
{
	struct load *ld = ud;

	if (err) {
		log_event(LOG_ERROR, "room.load", "room=%s step=timeline error=%s", ld->id,
			  timeline_strerror(err));
		finish_load(ld, 503);
		return;
	}
	loaded(ld);
}

static void on_agents(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct load *ld = ud;

	if (err) {
		log_event(LOG_ERROR, "room.load", "room=%s step=agents error=%s", ld->id, errmsg);
		finish_load(ld, 503);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		unsigned long agent = strtoul(PQgetvalue(res, i, 0), NULL, 10);

		room_add_owner(ld->room, (uint32_t)agent, proto_seat_parse(PQgetvalue(res, i, 1)));
	}
	if (room_timeline(ld->room)) {
		if (timeline_load(room_timeline(ld->room), ld->snap_seq, on_edit, on_timeline, ld))
			finish_load(ld, 503);
		return;
	}
	loaded(ld);
}

static void on_doc(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct load *ld = ud;
	const char *id = ld->id;

	if (err) {
		log_event(LOG_ERROR, "room.load", "room=%s step=doc error=%s", ld->id, errmsg);
		finish_load(ld, 503);
		return;
	}
	if (PQntuples(res) == 1) {
		const unsigned char *sq = (const unsigned char *)PQgetvalue(res, 0, 1);
		int rc;

		/* seq comes back as a binary int8: eight bytes, big-endian. */
		if (PQgetlength(res, 0, 1) == 8)
			for (int i = 0; i < 8; i++)
				ld->snap_seq = ld->snap_seq << 8 | sq[i];
		rc = room_load_snapshot(ld->room, (const uint8_t *)PQgetvalue(res, 0, 0),
					(size_t)PQgetlength(res, 0, 0));

		if (rc) {
			log_event(LOG_ERROR, "room.load", "room=%s step=snapshot error=%s", ld->id,
				  crdt_strerror(rc));
			finish_load(ld, 503);
			return;
		}
	}
	if (db_query(ld->srv->db, "SELECT agent, seat FROM room_agents WHERE room = $1", 1, &id,
		     on_agents, ld))
		finish_load(ld, 503);
}

static void on_room_row(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct load *ld = ud;
	const char *id = ld->id;

	if (err) {
		log_event(LOG_ERROR, "room.load", "room=%s step=room error=%s", ld->id, errmsg);
		finish_load(ld, 503);
		return;
	}
	if (PQntuples(res) != 1) {
		finish_load(ld, 404);
		return;
	}
	/* Someone may have created it meanwhile (it cannot: ids are random). */
	ld->room = room_find(ld->srv, ld->id);
	if (!ld->room)
		ld->room = room_create(ld->srv, ld->id, PQgetvalue(res, 0, 0));
	if (!ld->room) {
		finish_load(ld, 503);
		return;
	}
	room_mark_loaded(ld->room, strcmp(PQgetvalue(res, 0, 1), "t") == 0,
			 strtoll(PQgetvalue(res, 0, 2), NULL, 10));
	if (db_query_params(ld->srv->db, "SELECT snapshot, seq FROM room_docs WHERE room = $1", 1,
			    &id, NULL, NULL, 1, on_doc, ld))
		finish_load(ld, 503);
}

int store_get_room(struct server *srv, const char *id, store_room_cb *cb, void *ud)
{
	struct room *r;
	struct waiter *w;
	struct load *ld;
	const char *param = id;

	/*
	 * A room being loaded is registered before its load ends (its row comes
	 * first): askers wait for the whole load, never see it half-built.
	 */
	for (ld = loads; ld; ld = ld->next)
		if (strcmp(ld->id, id) == 0)
			break;
	r = ld ? NULL : room_find(srv, id);
	if (r) {
		cb(ud, r, 200);
		return 0;
	}
	if (!srv->db || strlen(id) >= sizeof(ld->id)) {
		cb(ud, NULL, 404);
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->cb = cb;
	w->ud = ud;
	for (ld = loads; ld; ld = ld->next)
		if (strcmp(ld->id, id) == 0) {
			w->next = ld->waiters;
			ld->waiters = w;
			return 0;
		}
	ld = calloc(1, sizeof(*ld));
	if (!ld) {
		free(w);
		return -1;
	}
	ld->srv = srv;
	snprintf(ld->id, sizeof(ld->id), "%s", id);
	ld->waiters = w;
	if (db_query(srv->db,
		     "SELECT coalesce(problem, ''), closed_at IS NOT NULL, token_epoch FROM rooms "
		     "WHERE id = $1",
		     1, &param, on_room_row, ld)) {
		free(ld);
		free(w);
		return -1;
	}
	ld->next = loads;
	loads = ld;
	return 0;
}

void store_cancel(void *ud)
{
	for (struct load *ld = loads; ld; ld = ld->next)
		for (struct waiter **p = &ld->waiters; *p;) {
			if ((*p)->ud == ud) {
				struct waiter *w = *p;

				*p = w->next;
				free(w);
			} else {
				p = &(*p)->next;
			}
		}
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

static int write_query(struct server *srv, const char *what, const char *sql, int n,
		       const char *const *params, const int *lengths, const int *formats,
		       store_done_cb *cb, void *ud)
{
	struct done_ctx *d;

	if (!srv->db)
		return -1;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->cb = cb;
	d->ud = ud;
	snprintf(d->what, sizeof(d->what), "%s", what);
	if (db_query_params(srv->db, sql, n, params, lengths, formats, 0, on_write, d)) {
		free(d);
		return -1;
	}
	return 0;
}

int store_create_room(struct server *srv, const char *id, const char *problem, store_done_cb *cb,
		      void *ud)
{
	const char *p[2] = { id, problem };

	return write_query(srv, "room.create", "INSERT INTO rooms (id, problem) VALUES ($1, $2)", 2,
			   p, NULL, NULL, cb, ud);
}

int store_set_problem(struct server *srv, const char *id, const char *problem)
{
	const char *p[2] = { id, problem };

	return write_query(srv, "room.problem", "UPDATE rooms SET problem = $2 WHERE id = $1", 2, p,
			   NULL, NULL, NULL, NULL);
}

int store_close_room(struct server *srv, const char *id, store_done_cb *cb, void *ud)
{
	return write_query(srv, "room.close",
			   "UPDATE rooms SET closed_at = now(), token_epoch = token_epoch + 1 "
			   "WHERE id = $1 AND closed_at IS NULL",
			   1, &id, NULL, NULL, cb, ud);
}

int store_add_agent(struct server *srv, const char *room, uint32_t agent, const char *seat)
{
	char a[16];
	const char *p[3] = { room, a, seat };

	snprintf(a, sizeof(a), "%u", agent);
	return write_query(srv, "room.agent",
			   "INSERT INTO room_agents (room, agent, seat) VALUES ($1, $2, $3) "
			   "ON CONFLICT DO NOTHING",
			   3, p, NULL, NULL, NULL, NULL);
}

int store_save_doc(struct server *srv, const char *room, const uint8_t *snap, size_t snap_len,
		   const uint8_t *ver, size_t ver_len, uint64_t seq, store_done_cb *cb, void *ud)
{
	char sq[24];
	const char *p[4] = { room, (const char *)snap, (const char *)ver, sq };
	int lengths[4] = { 0, (int)snap_len, (int)ver_len, 0 };
	int formats[4] = { 0, 1, 1, 0 };

	snprintf(sq, sizeof(sq), "%llu", (unsigned long long)seq);
	/* Saves race only with themselves; a snapshot never moves back in seq. */
	return write_query(srv, "room.doc",
			   "INSERT INTO room_docs (room, snapshot, version, seq) "
			   "VALUES ($1, $2, $3, $4::bigint) "
			   "ON CONFLICT (room) DO UPDATE SET snapshot = excluded.snapshot, "
			   "version = excluded.version, seq = excluded.seq, updated_at = now() "
			   "WHERE room_docs.seq <= excluded.seq",
			   4, p, lengths, formats, cb, ud);
}
