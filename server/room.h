/*
 * room.h - rooms: the registry of rooms in memory, each room's life, and
 * what every message a connection sends means (room.c, room-edit.c,
 * room-msg.c).
 *
 * Owns: every struct room (private: room-internal.h), its CRDT document,
 * its seats and their presence, its pending acks and runs; the loading of
 * a room from PostgreSQL and its timeline (find-or-load, room_get) and its
 * freeing once idle and stored.  Above it, ws.c hands it connections'
 * messages and http.c its REST calls; below it, it drives conn.c (frames
 * out), store.c (rows), timeline.c, presence.c and jclient.c, whose
 * callbacks come back through the functions at the end.  Everything runs
 * on the loop thread and nothing here blocks.  A struct room pointer is
 * borrowed: valid until the loop runs again unless a connection of the
 * room is attached (a room with connections is never freed).
 */
#ifndef TANDEM_ROOM_H
#define TANDEM_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "crdt.h"
#include "proto.h"

struct conn;
struct presence_event;
struct room;
struct server;
struct timeline_room;

/* ---- the registry and life cycle ---- */

/* The room id if it is in memory (borrowed: valid until the loop runs again), else NULL. */
struct room *room_find(struct server *srv, const char *id);
/* status: 200 (room), 404 (no such room), 503 (database trouble). */
typedef void room_get_cb(void *ud, struct room *room, int status);
/*
 * Finds room id in memory or loads it (row, snapshot, agents, the
 * timeline after the snapshot, presence), every asker for the same room
 * waiting on one load; a room being loaded is never seen half-built.  cb
 * is called exactly once, possibly before this returns, unless
 * room_get_cancel(ud) is called first; the room it gets is borrowed (valid
 * until the loop runs again).  Returns 0, or -1 on out of memory (cb not
 * called).
 */
int room_get(struct server *srv, const char *id, room_get_cb *cb, void *ud);
/* Forgets every pending room_get() callback for ud. */
void room_get_cancel(void *ud);
/* Creates a room in memory; NULL on OOM or duplicate id. */
struct room *room_create(struct server *srv, const char *id, const char *problem);
const char *room_id(const struct room *r);
const char *room_problem(const struct room *r);
bool room_closed(const struct room *r);
/* err: 0 done (stored, or in memory only without a database), -1 not stored (logged). */
typedef void room_done_cb(void *ud, int err);
/*
 * Stores the row of r, just made with room_create(): once PostgreSQL has
 * it r is persisted (room_mark_persisted); if it cannot be stored, r is
 * discarded (it does not exist).  done is called once (at once without a
 * database).  Returns 0, or -1 when the write could not even be queued (r
 * discarded, done not called).
 */
int room_store_new(struct room *r, room_done_cb *done, void *ud);
/*
 * Closes room id durably: PostgreSQL first (closed_at, token epoch: once),
 * then, when that succeeded, the room in memory if it is loaded
 * (room_close).  A close that fails changes nothing.  done is called once
 * (at once without a database).  Returns 0, or -1 when the write could not
 * be queued (nothing changed, done not called).
 */
int room_close_durably(struct server *srv, const char *id, room_done_cb *done, void *ud);
/*
 * One page of the room list from PostgreSQL (store_list_rooms: page and
 * callback as store.h says), so REST reaches the store through room.c.
 * Returns 0, or -1 (no database, out of memory; cb not called).
 */
struct store_page;
struct store_listed;
int room_list(struct server *srv, const struct store_page *page,
	      void (*cb)(void *ud, int status, const struct store_listed *rooms, size_t n,
			 bool more),
	      void *ud);
/* Unregisters and frees r (its connections are closed with 1001). */
void room_discard(struct room *r);
/* Tokens whose epoch ("ep") is older than this are revoked (closing bumps it). */
int64_t room_token_epoch(const struct room *r);
/*
 * The room's row is in PostgreSQL (loaded, or its creation confirmed): once
 * it is empty and everything about it is stored, it may be freed (the next
 * join or REST call loads it again).  Until then it stays in memory.
 */
void room_mark_persisted(struct room *r);
/* Saves r's snapshot if it changed; rooms_save_all for every room (shutdown). */
int room_save(struct room *r);
void rooms_save_all(struct server *srv);
/* save_timer's callback, every SAVE_TICK_MS: writes the snapshots that are due. */
#define SAVE_TICK_MS 200
void rooms_save_due(uv_timer_t *t);
/* The room's document version (v's old contents replaced). */
int room_doc_version(const struct room *r, struct crdt_version *v);
/* Server shutdown: every connection closes with 1001 (state kept). */
void room_shutdown(struct room *r);
/*
 * Closes the room in memory (once PostgreSQL has the close: http.c): its
 * token epoch goes up by one, members see COMPLETED, connections close
 * with 4002.  Closing a closed room does nothing.
 */
void room_close(struct room *r);
/* Presence of every seat as a JSON array (new reference). */
json_t *room_presence_json(const struct room *r);

/* ---- connections and their messages ---- */

/*
 * A join message (the connection's first): checks its token (signature,
 * expiry, room, epoch), finds or loads the room, then room_join()s c, or
 * closes c with the reason (1008, or 1001 when the database is down).
 */
void room_on_join(struct conn *c, json_t *msg);
/* A client's join was verified for room r and seat: attach c. */
void room_join(struct room *r, struct conn *c, const char *name, const struct crdt_version *have,
	       json_t *id);
/* c is going away (socket closed), joined or not, or with its join in progress. */
void room_leave(struct conn *c);
/*
 * A JSON control message from a joined connection (role already checked):
 * msg parsed from the len bytes at raw, which an awareness is relayed
 * from as sent.
 */
void room_on_json(struct conn *c, enum proto_msg m, json_t *msg, const char *raw, size_t len);
/* A binary CRDT update from a joined connection. */
void room_on_update(struct conn *c, const uint8_t *data, size_t len);
/* The connection's send queue overflowed and was dropped: build its catch-up. */
void room_resync(struct conn *c);
/* Everything queued for c was written: c->delivered is the document's version. */
void room_drained(struct conn *c);
/* ---- the layers below, calling up ---- */

/* A presence transition the presence module saw (LEFT timer, another node). */
void room_presence_event(struct server *srv, const struct presence_event *ev);
/* Frees every room (shutdown). */
void rooms_free(struct server *srv);
/* timeline.c says room's events up to seq are durable: send the acks they cover. */
void room_timeline_durable(struct server *srv, const char *room, uint64_t seq);
/* The room's timeline (NULL without one); valid as long as srv->timeline. */
struct timeline_room *room_timeline(const struct room *r);
/*
 * The text at unix ms at_ms (read-at-version, see timeline_version_at):
 * *text is malloc'd (the caller frees it), *seq the last edit applied
 * (0: none).  Returns 0 or -1 (no timeline, out of memory).
 */
int room_text_at(const struct room *r, int64_t at_ms, char **text, size_t *len, uint64_t *seq);

#endif /* TANDEM_ROOM_H */
