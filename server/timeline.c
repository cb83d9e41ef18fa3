/*
 * timeline.c - the room timeline: numbered events, Redis Stream as the hot
 * log, PostgreSQL as the durable record, and the scrub index (see
 * timeline.h for the life of an event).  This file holds the in-memory
 * FIFO, rooms, appending and the module's life cycle; the other parts are
 * in timeline-redis.c, timeline-pg.c, timeline-load.c and tlindex.c
 * (timeline-internal.h says what they share).
 *
 * Why it is built this way: an edit is acknowledged to its author only
 * once it is durable, and nothing acknowledged may be lost, whatever is
 * down.  So every event stays in one in-memory FIFO until PostgreSQL has
 * confirmed it, whatever else happened to it; the Redis Stream is only an
 * earlier point of durability (an XADD answers in well under a millisecond,
 * a batched INSERT every 200 ms) and the thing a restarted server reads
 * back to find what the dead one had not flushed.  Sequence numbers, not
 * stream ids, identify events, so an event written twice (an XADD whose
 * answer was lost and that was sent again, a batch flushed twice) is still
 * stored once.
 *
 * The scrub index (tlindex.c) keeps, per loaded room, one mark per edit
 * (time, seq and the version entries of its authors) and every 256 marks
 * the whole version vector: the version of any moment is a binary search,
 * one copy and at most 255 merges, never a replay.
 *
 * This file must never call a blocking hiredis or libpq function, and never
 * free an event that a Redis reply callback may still receive.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "log.h"
#include "timeline-internal.h"

const char *timeline_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define TIMELINE_STRERROR_CASE(name, value, text) \
	case TIMELINE_E_##name:                   \
		return text;
		TIMELINE_ERRNO_MAP(TIMELINE_STRERROR_CASE)
#undef TIMELINE_STRERROR_CASE
	default:
		return "unknown timeline error";
	}
}

/* ---- small helpers -------------------------------------------------------- */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t hash_id(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/*
 * Writes the key of a room's stream, NUL-terminated, at buf (ROOM_MAX + 32
 * bytes; a room id is at most ROOM_MAX) and returns its length.  Built with
 * memcpy: every XADD names one.
 */
size_t timeline__stream_key(char *buf, const char *room, size_t len)
{
	static const char prefix[] = "tandem:room:", suffix[] = ":timeline";

	if (len > ROOM_MAX)
		len = ROOM_MAX;
	memcpy(buf, prefix, sizeof(prefix) - 1);
	memcpy(buf + sizeof(prefix) - 1, room, len);
	memcpy(buf + sizeof(prefix) - 1 + len, suffix, sizeof(suffix));
	return sizeof(prefix) - 1 + len + sizeof(suffix) - 1;
}

void timeline__gauge(struct timeline *tl)
{
	if (tl->opt.backlog_gauge)
		*tl->opt.backlog_gauge = tl->qlen;
}

/*
 * One allocation holds the event and its strings and ops (an edit is
 * thousands a second).  actor may be NULL; the rest is zeroed.  payload
 * NULL makes room for plen bytes of it, written later.
 */
struct tl_event *timeline__event_new(const char *kind, size_t klen, const char *actor, size_t alen,
				     const char *payload, size_t plen, const uint8_t *ops,
				     size_t ops_len)
{
	struct tl_event *ev =
		malloc(sizeof(*ev) + klen + 1 + (actor ? alen + 1 : 0) + plen + 1 + ops_len);
	char *p;

	if (!ev)
		return NULL;
	memset(ev, 0, sizeof(*ev));
	p = (char *)(ev + 1);
	ev->kind = p;
	memcpy(p, kind, klen);
	p[klen] = '\0';
	p += klen + 1;
	if (actor) {
		ev->actor = p;
		memcpy(p, actor, alen);
		p[alen] = '\0';
		p += alen + 1;
	}
	ev->payload = p;
	if (payload)
		memcpy(p, payload, plen);
	p[payload ? plen : 0] = '\0';
	p += plen + 1;
	if (ops_len) {
		ev->ops = (uint8_t *)p;
		memcpy(p, ops, ops_len);
	}
	ev->ops_len = ops_len;
	ev->klen = (uint32_t)klen;
	ev->alen = actor ? (uint32_t)alen : 0;
	ev->plen = (uint32_t)plen;
	ev->bytes = sizeof(*ev) + klen + alen + plen + ops_len + 64;
	return ev;
}

void timeline__event_free(struct tl_event *ev)
{
	if (!ev)
		return;
	if (ev->tr)
		ev->tr->nevents--;
	free(ev);
}

/* ---- the scrub index (tlindex.c) ----------------------------------------- */

int timeline_version_at(const struct timeline_room *tr, int64_t at_ms, struct crdt_version *ver,
			uint64_t *seq)
{
	return tlindex_version_at(&tr->ix, at_ms, ver, seq);
}

/* ---- durability ----------------------------------------------------------- */

/* Pops the room's durable prefix and reports how far it now reaches. */
void timeline__advance(struct timeline_room *tr)
{
	struct timeline *tl = tr->tl;
	uint64_t before = tr->durable_seq;

	while (tr->uhead && tr->uhead->durable) {
		struct tl_event *ev = tr->uhead;

		tr->uhead = ev->rnext;
		if (!tr->uhead)
			tr->utail = NULL;
		ev->rnext = NULL;
		tr->durable_seq = ev->seq;
	}
	if (tr->durable_seq != before && tl->opt.on_durable && !tl->destroying)
		tl->opt.on_durable(tl->opt.ud, tr->id, tr->durable_seq);
}

void timeline__mark_durable(struct tl_event *ev)
{
	if (ev->durable)
		return;
	ev->durable = true;
	ev->tr->tl->undurable--;
}

size_t timeline_backlog(const struct timeline *tl)
{
	return tl ? tl->qlen : 0;
}

size_t timeline_undurable(const struct timeline *tl)
{
	return tl ? tl->undurable : 0;
}

bool timeline_room_full(const struct timeline_room *tr)
{
	return tr->next_seq > UINT32_MAX;
}

bool timeline_overloaded(const struct timeline *tl)
{
	return tl &&
	       (tl->qlen >= tl->opt.queue_max_events || tl->qbytes >= tl->opt.queue_max_bytes);
}

bool timeline_busy(const struct timeline *tl)
{
	return tl && (tl->qlen >= tl->opt.queue_max_events / 2 ||
		      tl->qbytes >= tl->opt.queue_max_bytes / 2);
}

bool timeline_redis_up(const struct timeline *tl)
{
	return tl && redisconn_up(&tl->redis);
}

/* ---- rooms and appending -------------------------------------------------- */

struct timeline_room *timeline_room(struct timeline *tl, const char *id)
{
	struct timeline_room **pp, *tr;

	if (!tl || !id || !id[0] || strlen(id) > ROOM_MAX)
		return NULL;
	for (pp = &tl->buckets[hash_id(id) % NBUCKETS]; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->id, id) == 0)
			return *pp;
	tr = calloc(1, sizeof(*tr));
	if (!tr)
		return NULL;
	tr->tl = tl;
	tr->idlen = (size_t)snprintf(tr->id, sizeof(tr->id), "%s", id);
	tr->next_seq = 1;
	*pp = tr;
	return tr;
}

int timeline_room_release(struct timeline_room *tr)
{
	struct timeline *tl;
	struct timeline_room **pp;

	if (!tr)
		return 0;
	tl = tr->tl;
	if (tr->nevents || tr->loading || tl->destroying)
		return TIMELINE_E_BUSY;
	for (pp = &tl->buckets[hash_id(tr->id) % NBUCKETS]; *pp; pp = &(*pp)->next)
		if (*pp == tr) {
			*pp = tr->next;
			break;
		}
	tlindex_finish(&tr->ix);
	free(tr);
	return 0;
}

uint64_t timeline_last_seq(const struct timeline_room *tr)
{
	return tr->next_seq - 1;
}

uint64_t timeline_durable_seq(const struct timeline_room *tr)
{
	return tr->durable_seq;
}

/* Puts ev at the end of the FIFO (and, if not durable, of its room's list). */
void timeline__enqueue(struct timeline *tl, struct tl_event *ev)
{
	if (tl->qtail)
		tl->qtail->next = ev;
	else
		tl->qhead = ev;
	tl->qtail = ev;
	tl->qlen++;
	tl->qbytes += ev->bytes;
	if (!ev->durable) {
		struct timeline_room *tr = ev->tr;

		tl->undurable++;
		if (tr->utail)
			tr->utail->rnext = ev;
		else
			tr->uhead = ev;
		tr->utail = ev;
	}
	timeline__gauge(tl);
	if (tl->qlen >= tl->opt.flush_max)
		timeline__flush_start(tl);
}

/*
 * PostgreSQL's jsonb cannot hold U+0000 (a NUL in a run's output, say):
 * its escape becomes U+FFFD in place, or the event could never be stored.
 */
static void jsonb_safe(char *s)
{
	for (char *p = s; *p; p++) {
		if (*p != '\\')
			continue;
		if (p[1] == 'u' && strncmp(p + 2, "0000", 4) == 0)
			memcpy(p + 2, "fffd", 4);
		if (p[1])
			p++; /* skip the escaped character: "\\u0000" is text */
	}
}

/* Room for an edit's payload with nver version entries. */
#define EDIT_PAYLOAD_MAX(nver) (16 + (nver)*24)

/* An edit's payload, {"v":[[agent,next],...]}, at out (EDIT_PAYLOAD_MAX(nver) bytes); its length.
 */
static size_t edit_payload(char *out, const struct crdt_version_entry *ver, size_t nver)
{
	char *p = out;

	*p++ = '{';
	if (nver) {
		memcpy(p, "\"v\":[", 5);
		p += 5;
		for (size_t i = 0; i < nver; i++) {
			if (i)
				*p++ = ',';
			*p++ = '[';
			p += fmt_u64(p, ver[i].agent);
			*p++ = ',';
			p += fmt_u64(p, ver[i].next);
			*p++ = ']';
		}
		*p++ = ']';
	}
	*p++ = '}';
	*p = '\0';
	return (size_t)(p - out);
}

/* payload (an object) as text, with "v": the version entries ver/nver; NULL on OOM. */
static char *payload_with_version(const json_t *payload, const struct crdt_version_entry *ver,
				  size_t nver)
{
	json_t *o = json_deep_copy(payload);
	char *s;

	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	if (nver) {
		json_t *v = json_array();

		for (size_t i = 0; i < nver; i++)
			json_array_append_new(v, json_pack("[I,I]", (json_int_t)ver[i].agent,
							   (json_int_t)ver[i].next));
		json_object_set_new(o, "v", v);
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s)
		jsonb_safe(s);
	return s;
}

/* Whether tr takes an append now: 0, or why not. */
static int append_check(const struct timeline_room *tr, const char *kind,
			const struct crdt_version_entry *ver, size_t nver)
{
	if (!tr || !kind || !kind[0] || (nver && !ver))
		return TIMELINE_E_INVAL;
	if (tr->tl->destroying)
		return TIMELINE_E_DESTROYED;
	if (tr->loading || tr->reserved)
		return TIMELINE_E_INVAL; /* its next seq is not known yet, or is promised */
	return 0;
}

static int64_t append_time(const struct timeline_room *tr)
{
	const struct timeline *tl = tr->tl;
	int64_t now = tl->opt.clock_ms ? tl->opt.clock_ms(tl->opt.clock_ud) : wall_ms();

	return now > tr->last_at ? now : tr->last_at;
}

/* timeline_reserve(), with the payload's text given (ptext) or room for plen bytes of it. */
static int reserve(struct timeline_room *tr, const char *kind, const char *actor, const char *ptext,
		   size_t plen, const uint8_t *ops, size_t ops_len,
		   const struct crdt_version_entry *ver, size_t nver, struct timeline_resv *res)
{
	struct tl_event *ev;
	int rc;

	memset(res, 0, sizeof(*res));
	crdt_version_init(&res->ix.cpv, NULL);
	if ((rc = append_check(tr, kind, ver, nver)) != 0)
		return rc;
	if (nver && timeline_room_full(tr))
		return TIMELINE_E_LIMIT; /* before allocating; tlindex_reserve would say so too */
	ev = timeline__event_new(kind, strlen(kind), actor, actor ? strlen(actor) : 0, ptext, plen,
				 ops, ops_len);
	if (!ev)
		return TIMELINE_E_NOMEM;
	ev->tr = tr;
	tr->nevents++;
	ev->at = append_time(tr);
	ev->seq = tr->next_seq;
	if (nver && (rc = tlindex_reserve(&tr->ix, ev->at, ev->seq, ver, nver, &res->ix)) != 0) {
		timeline__event_free(ev);
		return rc;
	}
	res->tr = tr;
	res->ev = ev;
	res->nver = nver;
	res->written = ptext != NULL;
	tr->reserved = true;
	return 0;
}

int timeline_reserve(struct timeline_room *tr, const char *kind, const char *actor,
		     const uint8_t *ops, size_t ops_len, const struct crdt_version_entry *ver,
		     size_t nver, struct timeline_resv *res)
{
	return reserve(tr, kind, actor, NULL, EDIT_PAYLOAD_MAX(nver), ops, ops_len, ver, nver, res);
}

uint64_t timeline_commit(struct timeline_resv *res, const struct crdt_version_entry *ver,
			 size_t nver)
{
	struct timeline_room *tr = res->tr;
	struct tl_event *ev = res->ev;

	assert(tr && ev && nver <= res->nver);
	if (!res->written) {
		ev->plen = (uint32_t)edit_payload(ev->payload, ver, nver);
		ev->bytes = sizeof(*ev) + ev->klen + ev->alen + ev->plen + ev->ops_len + 64;
	}
	if (nver)
		tlindex_put(&tr->ix, ev->seq, ver, nver, &res->ix);
	else
		tlindex_unreserve(&res->ix);
	tr->reserved = false;
	tr->next_seq++;
	tr->last_at = ev->at;
	timeline__enqueue(tr->tl, ev);
	timeline__xadd(tr->tl, ev);
	res->tr = NULL;
	res->ev = NULL;
	return ev->seq;
}

void timeline_cancel(struct timeline_resv *res)
{
	if (!res->tr)
		return;
	res->tr->reserved = false;
	timeline__event_free(res->ev);
	tlindex_unreserve(&res->ix);
	res->tr = NULL;
	res->ev = NULL;
}

int timeline_append(struct timeline_room *tr, const char *kind, const char *actor,
		    const json_t *payload, const uint8_t *ops, size_t ops_len,
		    const struct crdt_version_entry *ver, size_t nver, uint64_t *seq)
{
	struct timeline_resv res;
	char *ptext = NULL;
	uint64_t s;
	int rc;

	if (payload && !(ptext = payload_with_version(payload, ver, nver)))
		return tr ? TIMELINE_E_NOMEM : TIMELINE_E_INVAL;
	rc = reserve(tr, kind, actor, ptext, ptext ? strlen(ptext) : EDIT_PAYLOAD_MAX(nver), ops,
		     ops_len, ver, nver, &res);
	free(ptext);
	if (rc)
		return rc;
	s = timeline_commit(&res, ver, nver);
	if (seq)
		*seq = s;
	return 0;
}

/* ---- life cycle ----------------------------------------------------------- */

static void closed(struct timeline *tl)
{
	if (--tl->open_handles == 0) {
		free(tl->host);
		free(tl);
	}
}

static void handle_closed(uv_handle_t *h)
{
	closed(h->data);
}

static void redis_closed(void *ud)
{
	closed(ud);
}

int timeline_create(uv_loop_t *loop, const struct timeline_options *opts, struct timeline **out)
{
	struct timeline *tl;

	if (!loop || !out)
		return TIMELINE_E_INVAL;
	tl = calloc(1, sizeof(*tl));
	if (!tl)
		return TIMELINE_E_NOMEM;
	if (opts)
		tl->opt = *opts;
	tl->use_redis = tl->opt.redis_port >= 0;
	tl->host = strdup(tl->opt.redis_host ? tl->opt.redis_host : "127.0.0.1");
	if (!tl->host) {
		free(tl);
		return TIMELINE_E_NOMEM;
	}
	tl->opt.redis_host = NULL;
	if (tl->opt.redis_port == 0)
		tl->opt.redis_port = 6379;
	if (!tl->opt.flush_ms)
		tl->opt.flush_ms = 200;
	if (!tl->opt.flush_max)
		tl->opt.flush_max = 4000;
	if (!tl->opt.queue_max_events)
		tl->opt.queue_max_events = 100000;
	if (!tl->opt.queue_max_bytes)
		tl->opt.queue_max_bytes = 64u << 20;
	if (!tl->opt.load_wait_ms)
		tl->opt.load_wait_ms = 5000;
	tl->loop = loop;
	tl->flush_backoff = 100;
	{
		struct redisconn_options o = {
			.host = tl->host,
			.port = tl->opt.redis_port,
			.db = tl->opt.redis_db,
			.connect_timeout_ms = tl->opt.connect_timeout_ms,
			.command_timeout_ms = tl->opt.command_timeout_ms,
			.batch_ms = tl->opt.redis_batch_ms,
			.name = "timeline",
			.up = timeline__redis_up,
			.ud = tl,
		};

		redisconn_init(&tl->redis, loop, &o);
	}
	uv_timer_init(loop, &tl->ftimer);
	tl->ftimer.data = tl;
	tl->open_handles = 2;
	uv_timer_start(&tl->ftimer, timeline__ftimer_cb, tl->opt.flush_ms, tl->opt.flush_ms);
	if (tl->use_redis)
		redisconn_start(&tl->redis);
	*out = tl;
	return 0;
}

void timeline_destroy(struct timeline *tl)
{
	if (!tl || tl->destroying)
		return;
	tl->destroying = true;
	if (tl->flush)
		tl->flush->tl = NULL;
	/* Pending replies arrive as NULL now: XADDs fall back to X_NONE, orphans are freed. */
	redisconn_finish(&tl->redis, redis_closed);
	timeline__loads_destroy(tl);
	while (tl->qhead) {
		struct tl_event *ev = tl->qhead;

		tl->qhead = ev->next;
		timeline__event_free(ev);
	}
	tl->qtail = NULL;
	tl->qlen = 0;
	timeline__gauge(tl);
	free(tl->trims);
	tl->trims = NULL;
	tl->ntrims = 0;
	for (size_t b = 0; b < NBUCKETS; b++)
		while (tl->buckets[b]) {
			struct timeline_room *tr = tl->buckets[b];

			tl->buckets[b] = tr->next;
			tlindex_finish(&tr->ix);
			free(tr);
		}
	uv_timer_stop(&tl->ftimer);
	uv_close((uv_handle_t *)&tl->ftimer, handle_closed);
}
