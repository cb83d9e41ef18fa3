/*
 * timeline-internal.h - what the timeline's source files share (timeline.c,
 * timeline-redis.c, timeline-pg.c, timeline-load.c).
 *
 * Nothing outside the timeline module includes this file: rooms use
 * timeline.h.  Names carry the timeline__ prefix.  The module is split
 * along its parts: the in-memory FIFO, rooms and appending (timeline.c),
 * the Redis Stream (timeline-redis.c), PostgreSQL's flush and listing
 * (timeline-pg.c), loading a room after a restart (timeline-load.c), and
 * the scrub index (tlindex.c, a module of its own).
 */
#ifndef TANDEM_TIMELINE_INTERNAL_H
#define TANDEM_TIMELINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "redisconn.h"
#include "timeline.h"
#include "tlindex.h"

#define NBUCKETS   256
#define ROOM_MAX   64
#define BATCH_MAXB (8u << 20)
#define TRIM_MAX   100000

enum xstate { X_NONE, X_SENT, X_DONE };

/*
 * One event in memory.  It sits in the global FIFO until PostgreSQL
 * confirms it, and in its room's list until it is durable.  An event that
 * left the FIFO while its XADD was still unanswered is an orphan: the XADD
 * reply frees it.
 */
struct tl_event {
	struct tl_event *next;	/* global FIFO */
	struct tl_event *rnext; /* room's not-yet-durable list */
	struct timeline_room *tr;
	uint64_t seq;
	int64_t at;
	char *kind, *actor, *payload; /* actor may be NULL */
	uint32_t klen, alen, plen;    /* their lengths, for the XADD and the flush */
	uint8_t *ops;
	size_t ops_len, bytes;
	char sid[48];
	enum xstate xadd;
	bool durable, pg_sending, orphan;
};

struct timeline_room {
	struct timeline_room *next; /* bucket chain */
	struct timeline *tl;
	char id[ROOM_MAX + 1];
	size_t idlen;
	uint64_t next_seq, durable_seq;
	int64_t last_at;
	size_t nevents; /* events in memory that point here (queued, or waiting for an XADD reply)
			 */
	struct tl_event *uhead, *utail; /* not yet durable, in seq order */
	bool loading;
	bool reserved; /* an edit is reserved (timeline_reserve()) */

	struct tlindex ix; /* the scrub index: one mark per edit */
};

/* A stream entry PostgreSQL confirmed while Redis was away. */
struct tl_trim {
	char room[ROOM_MAX + 1];
	char sid[48];
};

struct flush_ctx {
	struct timeline *tl; /* NULL once the timeline is destroyed */
	size_t n;
};

struct timeline {
	uv_loop_t *loop;
	struct timeline_options opt;
	char *host;
	bool use_redis, destroying;

	struct redisconn redis; /* one command connection, kept up by redisconn.c */

	/* the FIFO of events not yet in PostgreSQL */
	struct tl_event *qhead, *qtail;
	size_t qlen, qbytes, undurable;

	uv_timer_t ftimer;
	struct flush_ctx *flush; /* in flight */
	uint64_t retry_at;
	unsigned flush_backoff;
	bool flush_logged;

	struct tl_trim *trims;
	size_t ntrims, captrims;

	struct timeline_room *buckets[NBUCKETS];
	unsigned open_handles;
	struct tl_load *loads;
};

struct tl_load;

/* ---- timeline.c ---------------------------------------------------------- */

/*
 * Writes the key of a room's stream, NUL-terminated, at buf (ROOM_MAX + 32
 * bytes) and returns its length.
 */
size_t timeline__stream_key(char *buf, const char *room, size_t len);
/* Keeps opt.backlog_gauge equal to the FIFO's length. */
void timeline__gauge(struct timeline *tl);
/*
 * A new event in one allocation with its strings and ops (copied); actor
 * may be NULL; payload NULL makes room for plen bytes written later.  NULL
 * on OOM.  Freed with timeline__event_free() (accepts NULL).
 */
struct tl_event *timeline__event_new(const char *kind, size_t klen, const char *actor, size_t alen,
				     const char *payload, size_t plen, const uint8_t *ops,
				     size_t ops_len);
void timeline__event_free(struct tl_event *ev);
/* ev is durable now (an XADD answered, or PostgreSQL confirmed it). */
void timeline__mark_durable(struct tl_event *ev);
/* Pops tr's durable prefix and reports how far it now reaches. */
void timeline__advance(struct timeline_room *tr);
/* Appends ev (owned by the FIFO from now on) and starts a flush when enough wait. */
void timeline__enqueue(struct timeline *tl, struct tl_event *ev);

/* ---- timeline-redis.c ---------------------------------------------------- */

/* XADDs ev to its room's stream if Redis is up and it is not sent yet. */
void timeline__xadd(struct timeline *tl, struct tl_event *ev);
/* XDELs stream entries ids[0..n) of room (or remembers them while Redis is away). */
void timeline__xdel(struct timeline *tl, const char *room, const char *const *ids, size_t n);
/* redisconn's up callback: trims and XADDs what waited while Redis was away. */
void timeline__redis_up(void *ud);

/* ---- timeline-pg.c ------------------------------------------------------- */

/* Sends the oldest events to PostgreSQL, unless a flush is in flight or backing off. */
void timeline__flush_start(struct timeline *tl);
/* The flush timer (every flush_ms). */
void timeline__ftimer_cb(uv_timer_t *t);

/* ---- timeline-load.c ----------------------------------------------------- */

/* Ends every load of a timeline being destroyed (TIMELINE_E_DESTROYED). */
void timeline__loads_destroy(struct timeline *tl);

#endif
