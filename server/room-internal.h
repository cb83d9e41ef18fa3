/*
 * room-internal.h - what the files of the room module share (room.c,
 * room-edit.c, room-msg.c) and nothing else includes.
 *
 * struct room is private to them: the rest of the server sees only
 * room.h's functions.  Names here carry the room__ prefix when they are
 * functions (STYLE.md: internal, non-static).
 */
#ifndef TANDEM_ROOM_INTERNAL_H
#define TANDEM_ROOM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "bucket.h"
#include "crdt.h"
#include "proto.h"
#include "server.h"

enum pstate { P_NONE = 0, P_PRESENT, P_DISCONNECTED, P_LEFT, P_COMPLETED };

/* An agent id this room handed out, and the seat that owns its operations. */
struct owner {
	uint32_t agent;
	enum seat seat;
};

/* Presence of one editing seat. */
struct member {
	enum pstate state;
	char name[132];
	uint64_t since_ms;
	struct room *room;
	int idx;
};

/* An acknowledgement waiting for its edit's event to become durable. */
struct pending_ack {
	struct pending_ack *next;
	uint64_t seq;
	struct conn *c; /* NULL once the connection left */
	size_t n;
	struct crdt_version_entry v[8]; /* the sender's agents: next seq held */
};

struct room {
	struct server *srv;
	char id[48];
	char problem[128];
	struct crdt_doc *doc;
	uint32_t next_agent;
	struct owner *owners;
	size_t nowners, capowners;
	struct conn *conns; /* every joined connection */
	struct conn *seat_conn[2];
	struct member member[2]; /* interviewer, candidate */
	unsigned observers;
	bool closed;
	int64_t token_epoch; /* tokens of an older epoch are revoked; closing bumps it */

	struct timeline_room *tl; /* NULL without a timeline */
	struct pending_ack *acks, *acks_tail;

	/*
	 * persistence: a snapshot is saved 15-45 s after the first unsaved
	 * change (snapshot_wait), at save_at (uv_now() ms; 0: none due), by
	 * rooms_save_due()
	 */
	bool dirty, saving;
	uint64_t save_at;

	/*
	 * An empty room is freed once everything about it is in PostgreSQL
	 * (DESIGN.md section 4: rooms kept after the last client left made
	 * peers' servers grow for days); the next join loads it again.
	 */
	bool persisted; /* its row is in PostgreSQL (loaded, or created and confirmed) */
	lws_sorted_usec_list_t idle_sul;

	/* runs */
	bool run_busy;
	uint64_t run_id;
	uint64_t run_started_ms;
	struct bucket run_budget[2]; /* runs_per_min per editing seat */
};

/* 0 for the interviewer, 1 for the candidate, -1 for an observer. */
int room__seat_index(enum seat s);
/* The seat an agent id of the room belongs to (SEAT_NONE: not the room's). */
enum seat room__owner_of(const struct room *r, uint32_t agent);
/* The document changed: a snapshot is due 15-45 s from now. */
void room__mark_dirty(struct room *r);
/*
 * Sends msg (consumed), a message of type m, as proto.h's table says: to
 * every joined connection whose seat receives m, except `from` when m goes
 * to the others (from may be NULL), superseded rather than queued for a
 * connection far behind when m is PROTO_LATEST.
 */
void room__send(struct room *r, enum proto_msg m, json_t *msg, const struct conn *from);
/* Sends msg (consumed), a reply of type m, to c, if c's seat receives m. */
void room__reply(struct conn *c, enum proto_msg m, json_t *msg);
/*
 * Appends a non-edit event to the room's timeline (payload consumed).
 * This is not refused when the backlog is full: the server's own events
 * (joins, presence, runs) are few and small; what clients send (notes,
 * events) is refused before it gets here, as edits are (room_on_update).
 */
void room__record(struct room *r, const char *kind, const char *actor, json_t *payload);

#endif /* TANDEM_ROOM_INTERNAL_H */
