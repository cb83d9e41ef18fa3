/*
 * store.h - rooms in PostgreSQL (see store.c).
 *
 * Every call is asynchronous and never blocks; callbacks run later on the
 * loop thread.  Without a database (srv->db == NULL) rooms live in memory
 * only and the calls say so (store_get_room answers 404 for unknown
 * rooms, writes return -1).
 */
#ifndef TANDEM_STORE_H
#define TANDEM_STORE_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct room;

/* status: 200 (room), 404 (no such room), 503 (database trouble). */
typedef void store_room_cb(void *ud, struct room *room, int status);
/* err: 0 written, -1 failed (already logged). */
typedef void store_done_cb(void *ud, int err);

/*
 * Finds room id in memory or loads it (row, snapshot, agents, presence).
 * cb is called exactly once, possibly before this returns, unless
 * store_cancel(ud) is called first.  Returns 0, or -1 on OOM (cb not called).
 */
int store_get_room(struct server *srv, const char *id, store_room_cb *cb, void *ud);
/* Forgets every pending store_get_room() callback for ud. */
void store_cancel(void *ud);

int store_create_room(struct server *srv, const char *id, const char *problem, store_done_cb *cb,
		      void *ud);
/*
 * Records that room id is closed (closed_at set, token_epoch bumped), once:
 * closing a closed room changes nothing and reports success.
 */
/* Records the room's problem (NULL: none); failures are logged. */
int store_set_problem(struct server *srv, const char *id, const char *problem);
int store_close_room(struct server *srv, const char *id, store_done_cb *cb, void *ud);
/* Records that agent belongs to seat in room (fire and forget; failures are logged). */
int store_add_agent(struct server *srv, const char *room, uint32_t agent, const char *seat);
/*
 * Upserts the room's snapshot and version (both copied) with the timeline
 * seq it covers (every event up to seq is in it; a load replays the later
 * ones).
 */
int store_save_doc(struct server *srv, const char *room, const uint8_t *snap, size_t snap_len,
		   const uint8_t *ver, size_t ver_len, uint64_t seq, store_done_cb *cb, void *ud);

#endif
