/*
 * store.h - rooms in PostgreSQL: the rows of a room, read and written
 * (store.c).
 *
 * Owns the SQL of the room tables (rooms, room_docs, room_agents) and
 * nothing else: no room in memory, no waiting askers, no timeline (room.c
 * finds or loads a room, with every asker waiting on one load, and
 * replays its timeline; timeline.c owns timeline_events).  Every call goes
 * through db.c's asynchronous queue and never blocks; callbacks run later
 * on the loop thread, exactly once for a call that returned 0.  db may be
 * NULL (a server without PostgreSQL): loads answer 404, writes return -1.
 */
#ifndef TANDEM_STORE_H
#define TANDEM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct db;

/* An agent id a room handed out, and the seat that owns its operations. */
struct store_agent {
	uint32_t agent;
	enum seat seat;
};

/* What PostgreSQL holds of a room, as one load read it. */
struct store_room {
	const char *problem; /* "" when none */
	bool closed;
	int64_t token_epoch;
	const uint8_t *snapshot; /* latest saved document (crdt 'S'); NULL: none yet */
	size_t snapshot_len;
	uint64_t snap_seq; /* the timeline seq the snapshot covers (0: none) */
	const struct store_agent *agents;
	size_t nagents;
};

/*
 * status: 200 (row is the room; borrowed, valid during the call only),
 * 404 (no such room) or 503 (database trouble; already logged).
 */
typedef void store_room_cb(void *ud, int status, const struct store_room *row);
/* err: 0 written, -1 failed (already logged). */
typedef void store_done_cb(void *ud, int err);

/*
 * Reads room id: its row, latest snapshot and agents, then calls cb once.
 * Returns 0, or -1 (out of memory, database queue full; cb not called).
 */
int store_load_room(struct db *db, const char *id, store_room_cb *cb, void *ud);

int store_create_room(struct db *db, const char *id, const char *problem, store_done_cb *cb,
		      void *ud);
/*
 * Records that room id is closed (closed_at set, token_epoch bumped), once:
 * closing a closed room changes nothing and reports success.
 */
/* Records the room's problem (NULL: none); failures are logged. */
int store_set_problem(struct db *db, const char *id, const char *problem);
int store_close_room(struct db *db, const char *id, store_done_cb *cb, void *ud);
/* Records that agent belongs to seat in room (fire and forget; failures are logged). */
int store_add_agent(struct db *db, const char *room, uint32_t agent, enum seat seat);
/*
 * Upserts the room's snapshot and version (both copied) with the timeline
 * seq it covers (every event up to seq is in it; a load replays the later
 * ones).  A snapshot never moves back in seq.
 */
int store_save_doc(struct db *db, const char *room, const uint8_t *snap, size_t snap_len,
		   const uint8_t *ver, size_t ver_len, uint64_t seq, store_done_cb *cb, void *ud);

/* One page of the room list: newest first, after the cursor of the page before. */
struct store_page {
	int64_t after_us; /* created_at (unix us) of the previous page's last room; 0: first page */
	char after_id[64]; /* and its id (rooms created in the same microsecond) */
	unsigned limit;	   /* rooms on this page, 1..100 */
	int state;	   /* 0: every room, 1: open only, 2: closed only */
};

/* A room of a page; strings borrowed, valid during the callback only. */
struct store_listed {
	const char *id;
	const char *problem; /* "" when none */
	int64_t created_us;  /* unix microseconds */
	int64_t closed_ms;   /* unix milliseconds; 0: open */
};

/*
 * status 200 with n rooms (more: another page follows, after rooms[n-1]),
 * or 503 (database trouble; already logged) with none.
 */
typedef void store_list_cb(void *ud, int status, const struct store_listed *rooms, size_t n,
			   bool more);

/*
 * Reads one page of rooms, newest first (created_at, then id, both
 * descending); cb is called once.  Returns 0, or -1 (no database, out of
 * memory, queue full; cb not called).
 */
int store_list_rooms(struct db *db, const struct store_page *page, store_list_cb *cb, void *ud);

#endif /* TANDEM_STORE_H */
