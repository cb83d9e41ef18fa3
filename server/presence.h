/*
 * presence.h - who is in a room, kept in Redis and shared between nodes.
 *
 * Boundary: this module talks to Redis through hiredis' async API on the
 * caller's libuv loop and knows nothing of sockets or the protocol: the
 * room tells it "member X of room R is now in state S", and it tells the
 * room about transitions that happened without the room asking (a
 * DISCONNECTED member's timer ran out, another node published a change).
 * Nothing here blocks, and nothing here makes a room wait for Redis: while
 * Redis is down the local state and timers keep working and the calls that
 * need Redis fail fast with PRESENCE_E_DOWN.
 *
 * States (DESIGN.md, Presence):
 *   PRESENT       a socket of that member is connected
 *   DISCONNECTED  its socket is gone (a LEFT timer of left_after_ms runs)
 *   LEFT          disconnected for left_after_ms
 *   COMPLETED     the room was closed while the member was present
 *
 * Redis layout (per room id R; a member is a seat name, or seat:conn for
 * observers — any string the caller picks):
 *   tandem:room:R:presence   hash: member -> JSON
 *                            {"state","name","since","seen","node"}
 *                            since/seen: unix ms of the transition / the
 *                            last heartbeat.  The key's TTL (ttl_ms) is
 *                            refreshed by every write and heartbeat, so an
 *                            abandoned room's presence disappears.
 *   tandem:room:R:events     pub/sub channel: one JSON message per
 *                            transition {"room","member","state","name",
 *                            "since","node"}.
 * Every heartbeat_ms the module rewrites the "seen" of each PRESENT member
 * it owns.  A reader (presence_read) reports a PRESENT member whose "seen"
 * is older than 3 heartbeats as DISCONNECTED (its node died), and a
 * DISCONNECTED member older than left_after_ms as LEFT.  After Redis comes
 * back, every member this node tracks is written again, so Redis catches up
 * with what happened while it was away.
 *
 * Connections: one for commands, one for subscriptions (Redis requires
 * that).  hiredis 0.14 has no timeouts of its own, so libuv timers bound
 * each connection attempt (connect_timeout_ms) and each command
 * (command_timeout_ms: a Redis that stops answering is dropped and
 * reconnected); reconnects back off exponentially with jitter.
 */
#ifndef TANDEM_PRESENCE_H
#define TANDEM_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define PRESENCE_ERRNO_MAP(X)                                 \
	X(DOWN, -1, "Redis is not connected")                 \
	X(REDIS, -2, "Redis answered with an error")          \
	X(LOST, -3, "Redis connection lost before the reply") \
	X(DESTROYED, -4, "presence destroyed")                \
	X(NOMEM, -5, "out of memory")                         \
	X(INVAL, -6, "invalid argument")                      \
	X(BADDATA, -7, "unreadable presence data in Redis")

enum {
#define PRESENCE_ERRNO_ENUM(name, value, text) PRESENCE_E_##name = (value),
	PRESENCE_ERRNO_MAP(PRESENCE_ERRNO_ENUM)
#undef PRESENCE_ERRNO_ENUM
};

/* A static string for 0 or a PRESENCE_E_* code. */
const char *presence_strerror(int err);

enum presence_state {
	PRESENCE_PRESENT = 0,
	PRESENCE_DISCONNECTED = 1,
	PRESENCE_LEFT = 2,
	PRESENCE_COMPLETED = 3,
};

/* "PRESENT", "DISCONNECTED", "LEFT", "COMPLETED"; NULL for anything else. */
const char *presence_state_name(enum presence_state state);
/* Parses a state name; returns 0 or PRESENCE_E_INVAL. */
int presence_state_parse(const char *name, enum presence_state *out);

/* A transition, as told to presence_options.on_event.  All strings borrowed for the call. */
struct presence_event {
	const char *room;
	const char *member;
	const char *name; /* display name, "" when unknown */
	enum presence_state state;
	int64_t since_ms; /* unix ms of the transition */
	const char *node; /* node that made it */
	bool remote;	  /* false: this node's LEFT timer; true: another node's publish */
};

typedef void (*presence_event_cb)(void *ud, const struct presence_event *ev);

/* Tunables; zero/NULL fields take the defaults in brackets. */
struct presence_options {
	const char *host;	     /* Redis host, numeric preferred ["127.0.0.1"] */
	int port;		     /* [6379] */
	int db;			     /* SELECTed after connecting [0] */
	uint64_t left_after_ms;	     /* DISCONNECTED -> LEFT [300000] */
	uint64_t heartbeat_ms;	     /* refresh of PRESENT members [10000] */
	uint64_t ttl_ms;	     /* expiry of a room's presence hash [86400000] */
	unsigned connect_timeout_ms; /* [2000] */
	unsigned command_timeout_ms; /* [3000] */
	unsigned backoff_min_ms;     /* [50] */
	unsigned backoff_max_ms;     /* [2000] */
	const char *node_id;	     /* this node's name in Redis [random 12 chars] */
	presence_event_cb on_event;  /* may be NULL */
	void *ud;		     /* passed to on_event */
};

/* A member as read back from Redis; strings borrowed for the callback. */
struct presence_entry {
	const char *member;
	const char *name;
	enum presence_state state;  /* effective state (see the top of this header) */
	enum presence_state stored; /* state as written */
	int64_t since_ms;
	int64_t seen_ms;
	const char *node;
};

/* Completion of a write: err is 0, PRESENCE_E_REDIS, _LOST or _DESTROYED. */
typedef void (*presence_done_cb)(void *ud, int err);

/*
 * Completion of presence_read: err 0 with n entries (any order), or an
 * error with entries NULL.  Entries that do not parse are skipped.
 */
typedef void (*presence_read_cb)(void *ud, int err, const struct presence_entry *entries, size_t n);

struct presence;

/*
 * Creates the module on loop (borrowed, must outlive it) and starts
 * connecting; Redis being down is not an error.  opts is copied (strings
 * too).  *out is freed with presence_destroy().  Returns 0,
 * PRESENCE_E_NOMEM or PRESENCE_E_INVAL.
 */
int presence_create(uv_loop_t *loop, const struct presence_options *opts, struct presence **out);

/*
 * Records that member of room is now in state (name may be NULL: keep the
 * known one).  Always updates this node's view at once: DISCONNECTED arms
 * the LEFT timer, PRESENT and COMPLETED disarm it; after LEFT or COMPLETED
 * the member is no longer tracked (no heartbeat, no timer).  Then writes
 * the hash and publishes the transition.  Strings are copied.
 * Returns 0 (cb, which may be NULL, is called once later with the outcome
 * of the Redis write) or PRESENCE_E_DOWN (the local change is done, Redis
 * missed it and is caught up after the reconnect; cb is never called),
 * PRESENCE_E_NOMEM, PRESENCE_E_INVAL or PRESENCE_E_DESTROYED.
 */
int presence_set(struct presence *p, const char *room, const char *member, const char *name,
		 enum presence_state state, presence_done_cb cb, void *ud);

/*
 * Reads room's members back from Redis.  room is copied.  Returns 0 (cb is
 * called once later), PRESENCE_E_DOWN, _NOMEM, _INVAL or _DESTROYED (cb
 * never called).
 */
int presence_read(struct presence *p, const char *room, presence_read_cb cb, void *ud);

/*
 * Takes over a member read back with presence_read() (after a restart) when
 * this node now hosts its room and that member has no socket here: an
 * entry whose state is DISCONNECTED, or PRESENT (its old node is gone), is
 * tracked as DISCONNECTED since its last sign of life (since_ms, or seen_ms
 * for PRESENT), with the LEFT timer armed for what remains of
 * left_after_ms (firing on the next loop turn if nothing remains), and
 * written back.  LEFT and COMPLETED entries, and members already tracked,
 * are left alone (returns 0).  A later presence_set() for the member (its
 * socket came back) works as usual.  Returns 0, PRESENCE_E_DOWN (tracked
 * locally, Redis written after the reconnect), _NOMEM, _INVAL or
 * _DESTROYED.  No callback.
 */
int presence_adopt(struct presence *p, const char *room, const struct presence_entry *e);

/*
 * Stops tracking every member of room on this node (timers disarmed,
 * heartbeats stopped) without writing anything: for a room being freed.
 * room is borrowed for the call.  Accepts NULL p.
 */
void presence_forget_room(struct presence *p, const char *room);

/*
 * Subscribes to room's transitions made by other nodes (delivered to
 * on_event with remote = true; this node's own publishes are ignored).
 * Kept across reconnects.  Idempotent.  Returns 0 or PRESENCE_E_NOMEM /
 * _INVAL / _DESTROYED.
 */
int presence_watch(struct presence *p, const char *room);
/* Undoes presence_watch(); room is borrowed for the call.  Accepts NULL p. */
void presence_unwatch(struct presence *p, const char *room);

/* True while the command connection is up (and, with watches, the subscriber). */
bool presence_healthy(const struct presence *p);

/* This node's id as written to Redis (borrowed, lives as long as p). */
const char *presence_node_id(const struct presence *p);

/*
 * Fails every outstanding request with PRESENCE_E_DESTROYED (callbacks run
 * inside), stops all timers and closes both connections.  libuv handles
 * close asynchronously: run the loop once more before uv_loop_close().
 * Accepts NULL.
 */
void presence_destroy(struct presence *p);

#endif
