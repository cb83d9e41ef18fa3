/*
 * timeline.h - every event of a room, numbered, made durable, replayable.
 *
 * Boundary: this module knows the timeline's storage (a Redis Stream per
 * room as the hot log, PostgreSQL's timeline_events as the durable record)
 * and the scrub index of loaded rooms; it knows nothing of sockets, seats
 * or the protocol.  The room says "this happened"; the module numbers it,
 * writes it and says when it is durable.  Nothing here blocks the loop.
 *
 * Life of an event:
 *   1. timeline_append() gives it the room's next sequence number and the
 *      server time (never earlier than the room's previous event), and
 *      queues it in memory.
 *   2. While Redis is up it is XADDed at once to tandem:room:<id>:timeline
 *      (fields seq, at, kind, actor, payload, ops).  The answer to the XADD
 *      makes it durable.
 *   3. Every flush_ms (or as soon as flush_max events wait) the oldest
 *      events go to PostgreSQL in one INSERT ... ON CONFLICT DO NOTHING
 *      keyed by (room, seq).  Confirmed events are durable too (this is the
 *      path while Redis is down) and are XDELed from the stream: only what
 *      PostgreSQL confirmed is ever trimmed.  A failed flush is retried
 *      with backoff; the events wait.
 *   4. on_durable(room, seq) reports, per room and in order, the highest
 *      seq up to which every event is durable.
 * Events that wait in memory (not yet in PostgreSQL) are bounded by
 * queue_max_events / queue_max_bytes: beyond, timeline_overloaded() says
 * so and the caller refuses new edits rather than lose acknowledged data.
 *
 * Kinds are short strings ("edit", "join", "leave", "presence", "run",
 * "run.result", "paste", "focus", "blur", "note", "close").  An edit
 * carries the encoded CRDT update in ops and, in its payload, "v": the
 * [agent, next] version entries of its authors after it was applied, from
 * which the scrub index rebuilds the version vector of any moment.
 */
#ifndef TANDEM_TIMELINE_H
#define TANDEM_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "crdt.h"
#include "tlindex.h"

#define TIMELINE_ERRNO_MAP(X)                                         \
	X(NOMEM, -1, "out of memory")                                 \
	X(INVAL, -2, "invalid argument")                              \
	X(OVERLOADED, -3, "timeline backlog full")                    \
	X(REDIS_DOWN, -4, "Redis unavailable; the stream is unknown") \
	X(DB, -5, "PostgreSQL query failed")                          \
	X(BADDATA, -6, "unreadable timeline entry")                   \
	X(DESTROYED, -7, "timeline destroyed")                        \
	X(BUSY, -8, "the room still has events in memory")            \
	X(LIMIT, -9, "the room's timeline is full (2^32 events)")

enum {
#define TIMELINE_ERRNO_ENUM(name, value, text) TIMELINE_E_##name = (value),
	TIMELINE_ERRNO_MAP(TIMELINE_ERRNO_ENUM)
#undef TIMELINE_ERRNO_ENUM
};

/* A static string for 0 or a TIMELINE_E_* code. */
const char *timeline_strerror(int err);

struct db;
struct timeline;
struct timeline_room;
struct tl_event;

/* The durable prefix of room advanced to seq.  room is borrowed for the call. */
typedef void timeline_durable_cb(void *ud, const char *room, uint64_t seq);

/* Tunables; zero fields take the defaults in brackets. */
struct timeline_options {
	const char *redis_host;	     /* numeric preferred ["127.0.0.1"] */
	int redis_port;		     /* [6379]; negative: no Redis (PostgreSQL only) */
	int redis_db;		     /* SELECTed after connecting [0] */
	struct db *db;		     /* borrowed, must outlive the timeline; NULL: no PostgreSQL */
	unsigned flush_ms;	     /* [200] */
	unsigned flush_max;	     /* events per INSERT [500] */
	size_t queue_max_events;     /* [100000] */
	size_t queue_max_bytes;	     /* [64 MiB] */
	unsigned connect_timeout_ms; /* [2000] */
	unsigned command_timeout_ms; /* [3000] */
	unsigned load_wait_ms;	     /* how long a load waits for Redis [5000] */
	unsigned redis_batch_ms;     /* commands wait this long to share a write [0: until the
					loop sleeps]; acks come later by as much */
	timeline_durable_cb *on_durable;
	void *ud;
	uint64_t *backlog_gauge; /* if set, kept equal to timeline_backlog() */
	/* The clock events are stamped with, unix ms [the wall clock]; for benchmarks. */
	int64_t (*clock_ms)(void *clock_ud);
	void *clock_ud;
};

/*
 * Creates the module on loop (borrowed) and starts connecting to Redis;
 * Redis being down is not an error.  opts is copied (strings too).  *out is
 * freed with timeline_destroy().  Returns 0, TIMELINE_E_NOMEM or _INVAL.
 */
int timeline_create(uv_loop_t *loop, const struct timeline_options *opts, struct timeline **out);

/*
 * Drops everything still in memory (what is not durable is lost, as with
 * kill -9; call timeline_flush() and wait for timeline_backlog() to reach 0
 * first for a clean stop), closes Redis and fails pending loads and lists
 * with TIMELINE_E_DESTROYED (callbacks run inside).  libuv handles close
 * asynchronously: run the loop once more.  Database callbacks still
 * outstanding are ignored when they come (db_destroy() runs them).
 * Accepts NULL.
 */
void timeline_destroy(struct timeline *tl);

/* Starts a flush now (shutdown), instead of at the next tick. */
void timeline_flush(struct timeline *tl);
/* Events in memory not yet confirmed by PostgreSQL. */
size_t timeline_backlog(const struct timeline *tl);
/* Events in memory not yet durable anywhere (neither XADD answered nor in PostgreSQL). */
size_t timeline_undurable(const struct timeline *tl);
/* True when the backlog bound is reached: refuse new edits. */
bool timeline_overloaded(const struct timeline *tl);
/*
 * True from half the backlog bound on: what is not an edit (notes, events)
 * is refused from there, so a flood of those can never take the room that
 * every room's edits need (the upper half is theirs alone).
 */
bool timeline_busy(const struct timeline *tl);
/* True while the Redis connection is up. */
bool timeline_redis_up(const struct timeline *tl);

/* ---- rooms ---------------------------------------------------------------- */

/*
 * The timeline of room id (copied), created empty on first use (next seq 1).
 * The handle stays valid until timeline_room_release() or
 * timeline_destroy(); opening the same id again returns the same handle.
 * NULL on OOM or a bad id.
 */
struct timeline_room *timeline_room(struct timeline *tl, const char *id);

/*
 * Forgets a room's timeline (its index; a later timeline_room() for the id
 * starts empty, to be loaded again): for a room freed while idle.  Refused
 * with TIMELINE_E_BUSY while any of its events is still in memory (not yet
 * in PostgreSQL, or awaiting an XADD reply) or it is loading; then tr stays
 * valid.  Returns 0 (tr is freed) or TIMELINE_E_BUSY.  Accepts NULL.
 */
int timeline_room_release(struct timeline_room *tr);

/* The last seq assigned (0: none), and the durable prefix. */
uint64_t timeline_last_seq(const struct timeline_room *tr);
uint64_t timeline_durable_seq(const struct timeline_room *tr);
/*
 * True once the room has numbered 2^32 - 1 events: the scrub index keeps
 * 32-bit seqs, so an edit would fail with TIMELINE_E_LIMIT.  Refuse edits
 * before merging them (other events may still be appended).
 */
bool timeline_room_full(const struct timeline_room *tr);

/*
 * Appends an event: kind and actor (may be NULL) are copied; payload (may
 * be NULL) is a JSON object, borrowed (serialised here); ops/ops_len the
 * CRDT update of an edit (copied; NULL for other kinds); ver/nver the
 * version entries of an edit's authors (copied into the payload as "v" and
 * into the scrub index).  On success *seq (may be NULL) is the event's seq.
 * Returns 0, TIMELINE_E_NOMEM or TIMELINE_E_INVAL.  It never refuses for
 * the backlog: the caller checks timeline_overloaded() first.
 */
int timeline_append(struct timeline_room *tr, const char *kind, const char *actor,
		    const json_t *payload, const uint8_t *ops, size_t ops_len,
		    const struct crdt_version_entry *ver, size_t nver, uint64_t *seq);

/*
 * An edit appended in two steps, for a caller that must not fail once it
 * has merged the edit into its document (an edit the document holds must
 * be in the timeline, or an acknowledged edit could be lost with a later
 * restart): timeline_reserve() before the merge takes everything the
 * append needs (the event's memory, room in the scrub index, its time and
 * seq) and may fail; timeline_commit() after it cannot; timeline_cancel()
 * drops an edit not made.  Nothing else may be appended to the room in
 * between (timeline_append() and timeline_reserve() are refused with
 * TIMELINE_E_INVAL meanwhile).  The fields are timeline.c's.
 */
struct timeline_resv {
	struct timeline_room *tr;
	struct tl_event *ev;
	size_t nver;
	bool written; /* the payload is (else it is made from the version entries) */
	struct tlindex_resv ix;
};

/*
 * Reserves an edit event: kind and actor (may be NULL) copied, ops/ops_len
 * its CRDT update (copied), ver/nver the version entries it will carry
 * (only the agents count; their next seqs are given to timeline_commit()).
 * Returns 0 (then commit or cancel res), TIMELINE_E_NOMEM, _INVAL, _LIMIT
 * (the room is full: see timeline_room_full()) or _DESTROYED.  Like
 * timeline_append(), it never refuses for the backlog.
 */
int timeline_reserve(struct timeline_room *tr, const char *kind, const char *actor,
		     const uint8_t *ops, size_t ops_len, const struct crdt_version_entry *ver,
		     size_t nver, struct timeline_resv *res);
/*
 * Appends the reserved event with the version entries ver/nver: the agents
 * reserved or some of them, in the same order.  Returns its seq.
 */
uint64_t timeline_commit(struct timeline_resv *res, const struct crdt_version_entry *ver,
			 size_t nver);
/* Gives a reservation back. */
void timeline_cancel(struct timeline_resv *res);

/*
 * The version vector of the room's document at unix ms at_ms: the version
 * entries of every edit up to at_ms (a binary search in the index plus at
 * most 255 entries), into ver (old contents replaced).  *seq is the last
 * edit at or before at_ms (0: none, ver empty).  Returns 0 or
 * TIMELINE_E_NOMEM.
 */
int timeline_version_at(const struct timeline_room *tr, int64_t at_ms, struct crdt_version *ver,
			uint64_t *seq);

/* ---- loading a room after a restart --------------------------------------- */

/*
 * Called for each edit event found while loading, in seq order, with its
 * ops (borrowed for the call) when its seq is above the snapshot's, else
 * with ops NULL (the snapshot has it; only the index needs it).
 */
typedef void timeline_edit_cb(void *ud, uint64_t seq, const uint8_t *ops, size_t ops_len);
/* err is 0 (next seq set on the room), TIMELINE_E_REDIS_DOWN, _DB, _BADDATA or _DESTROYED. */
typedef void timeline_loaded_cb(void *ud, int err);

/*
 * Reads room tr's timeline back: every edit from PostgreSQL (the index;
 * ops of those after snap_seq), then the stream entries PostgreSQL does not
 * have yet (a crash lost nothing that was durable: they are queued to be
 * flushed), and sets the next seq after the largest of snap_seq and every
 * seq seen.  While Redis is down the stream cannot be read and the load
 * waits up to load_wait_ms for it, then fails with TIMELINE_E_REDIS_DOWN.
 * Call it once, on a room with no events appended yet.  Returns 0 (loaded
 * is called exactly once, later) or TIMELINE_E_NOMEM / _INVAL.
 */
int timeline_load(struct timeline_room *tr, uint64_t snap_seq, timeline_edit_cb *edit,
		  timeline_loaded_cb *loaded, void *ud);

/* ---- reading the timeline ------------------------------------------------- */

/*
 * Result of timeline_list: events is a new JSON array reference
 * ([{"seq","at","kind","actor","payload","ops"(base64, edits only)}]),
 * next the seq to pass as after for the following page, 0 when there is
 * none.  err is 0 or TIMELINE_E_DB / _NOMEM / _DESTROYED (events NULL).
 */
typedef void timeline_list_cb(void *ud, int err, json_t *events, uint64_t next);

/*
 * Lists room tr's events with seq > after, in order, at most limit (1..1000):
 * from PostgreSQL and from memory (events not flushed yet).  Returns 0 (cb
 * called exactly once, later) or TIMELINE_E_NOMEM / _INVAL.
 */
int timeline_list(struct timeline_room *tr, uint64_t after, unsigned limit, timeline_list_cb *cb,
		  void *ud);

#endif /* TANDEM_TIMELINE_H */
