/*
 * timeline.c - the room timeline: numbered events, Redis Stream as the hot
 * log, PostgreSQL as the durable record, and the scrub index (see
 * timeline.h for the life of an event).
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
 * The scrub index keeps, per loaded room, one mark per edit (time, seq and
 * the version entries of its authors) and every 256 marks the whole version
 * vector: the version of any moment is a binary search, one copy and at
 * most 255 merges, never a replay.
 *
 * This file must never call a blocking hiredis or libpq function, and never
 * free an event that a Redis reply callback may still receive.
 */
#include "timeline.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "db.h"
#include "fmt.h"
#include "log.h"
#include "redisconn.h"

#define NBUCKETS   256
#define ROOM_MAX   64
#define BATCH_MAXB (8u << 20)
#define TRIM_MAX   100000

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
static size_t stream_key(char *buf, const char *room, size_t len)
{
	static const char prefix[] = "tandem:room:", suffix[] = ":timeline";

	if (len > ROOM_MAX)
		len = ROOM_MAX;
	memcpy(buf, prefix, sizeof(prefix) - 1);
	memcpy(buf + sizeof(prefix) - 1, room, len);
	memcpy(buf + sizeof(prefix) - 1 + len, suffix, sizeof(suffix));
	return sizeof(prefix) - 1 + len + sizeof(suffix) - 1;
}

static void gauge(struct timeline *tl)
{
	if (tl->opt.backlog_gauge)
		*tl->opt.backlog_gauge = tl->qlen;
}

static char *base64(const uint8_t *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = tab[(v >> 18) & 63];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/*
 * One allocation holds the event and its strings and ops (an edit is
 * thousands a second).  actor may be NULL; the rest is zeroed.  payload
 * NULL makes room for plen bytes of it, written later.
 */
static struct tl_event *event_new(const char *kind, size_t klen, const char *actor, size_t alen,
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

static void event_free(struct tl_event *ev)
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
static void advance(struct timeline_room *tr)
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

static void mark_durable(struct tl_event *ev)
{
	if (ev->durable)
		return;
	ev->durable = true;
	ev->tr->tl->undurable--;
}

/* ---- Redis ---------------------------------------------------------------- */

static void rsent(struct timeline *tl)
{
	redisconn_sent(&tl->redis);
}

static void rreplied(struct timeline *tl)
{
	redisconn_replied(&tl->redis);
}

static void xdel_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	(void)ac;
	if (r)
		rreplied(privdata);
}

/*
 * Remembers stream entries to trim while Redis is away (bounded: beyond
 * TRIM_MAX they stay in the stream until the room's next load trims them;
 * PostgreSQL has them either way).
 */
static void trim_later(struct timeline *tl, const char *room, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n && tl->ntrims < TRIM_MAX; i++) {
		if (tl->ntrims == tl->captrims) {
			size_t ncap = tl->captrims ? tl->captrims * 2 : 256;
			struct tl_trim *t = realloc(tl->trims, ncap * sizeof(*t));

			if (!t)
				return;
			tl->trims = t;
			tl->captrims = ncap;
		}
		snprintf(tl->trims[tl->ntrims].room, sizeof(tl->trims[0].room), "%s", room);
		snprintf(tl->trims[tl->ntrims].sid, sizeof(tl->trims[0].sid), "%s", ids[i]);
		tl->ntrims++;
	}
}

static void xdel(struct timeline *tl, const char *room, const char *const *ids, size_t n)
{
	const char **argv;
	char key[ROOM_MAX + 32];

	if (n == 0)
		return;
	if (!redisconn_up(&tl->redis)) {
		trim_later(tl, room, ids, n);
		return;
	}
	argv = malloc((n + 2) * sizeof(*argv));
	if (!argv)
		return;
	stream_key(key, room, strlen(room));
	argv[0] = "XDEL";
	argv[1] = key;
	memcpy(argv + 2, ids, n * sizeof(*ids));
	if (redisAsyncCommandArgv(redisconn_ctx(&tl->redis), xdel_cb, tl, (int)n + 2, argv, NULL) ==
	    REDIS_OK)
		rsent(tl);
	free(argv);
}

static void xadd_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct tl_event *ev = privdata;
	struct timeline *tl = ev->tr->tl;
	const redisReply *reply = r;

	(void)ac;
	if (reply)
		rreplied(tl);
	if (!reply || reply->type != REDIS_REPLY_STRING) {
		if (reply && reply->type == REDIS_REPLY_ERROR)
			log_event(LOG_WARN, "timeline.xadd", "room=%s seq=%llu error=%s",
				  ev->tr->id, (unsigned long long)ev->seq, reply->str);
		ev->xadd = X_NONE;
		if (ev->orphan)
			event_free(ev);
		return;
	}
	ev->xadd = X_DONE;
	{
		size_t n = reply->len < sizeof(ev->sid) ? reply->len : sizeof(ev->sid) - 1;

		memcpy(ev->sid, reply->str, n); /* an id: "<ms>-<n>", 41 bytes at most */
		ev->sid[n] = '\0';
	}
	if (ev->orphan) {
		/* PostgreSQL confirmed it first: the stream copy is not needed. */
		const char *id = ev->sid;

		xdel(tl, ev->tr->id, &id, 1);
		event_free(ev);
		return;
	}
	mark_durable(ev);
	advance(ev->tr);
}

/*
 * Appends one RESP bulk string ("$len\r\nbytes\r\n") at p.  XADDs are built
 * here rather than by hiredis, whose formatter prints every argument's
 * length with sprintf: fifteen arguments, five thousand XADDs a second.
 */
static char *resp_bulk(char *p, const void *s, size_t n)
{
	*p++ = '$';
	p += fmt_u64(p, n);
	*p++ = '\r';
	*p++ = '\n';
	memcpy(p, s, n);
	p += n;
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

static void xadd(struct timeline *tl, struct tl_event *ev)
{
	char key[ROOM_MAX + 32], seq[24], at[24], small[1024], *cmd, *p;
	const char *argv[15];
	size_t len[15], total = 5;
	int n = 0;

	if (!redisconn_up(&tl->redis) || ev->xadd != X_NONE)
		return;
#define ARG(s, l) (argv[n] = (s), len[n] = (l), n++)
	ARG("XADD", 4);
	ARG(key, stream_key(key, ev->tr->id, ev->tr->idlen));
	ARG("*", 1);
	ARG("seq", 3);
	ARG(seq, fmt_u64(seq, ev->seq));
	ARG("at", 2);
	ARG(at, fmt_i64(at, ev->at));
	ARG("kind", 4);
	ARG(ev->kind, ev->klen);
	ARG("actor", 5);
	ARG(ev->actor ? ev->actor : "", ev->alen);
	ARG("payload", 7);
	ARG(ev->payload, ev->plen);
	ARG("ops", 3);
	ARG(ev->ops ? (const char *)ev->ops : "", ev->ops_len);
#undef ARG
	for (int i = 0; i < n; i++)
		total += len[i] + 25; /* "$", up to 20 digits, two CRLFs */
	cmd = total <= sizeof(small) ? small : malloc(total);
	if (!cmd)
		return;
	p = cmd;
	memcpy(p, "*15\r\n", 5);
	p += 5;
	for (int i = 0; i < n; i++)
		p = resp_bulk(p, argv[i], len[i]);
	if (redisAsyncFormattedCommand(redisconn_ctx(&tl->redis), xadd_cb, ev, cmd,
				       (size_t)(p - cmd)) == REDIS_OK) {
		ev->xadd = X_SENT;
		rsent(tl);
	}
	if (cmd != small)
		free(cmd);
}

/* Redis is (back) up: what waited goes out. */
static void redis_up(void *ud)
{
	struct timeline *tl = ud;

	/* What PostgreSQL confirmed while Redis was away leaves the stream now. */
	{
		size_t n = tl->ntrims;

		tl->ntrims = 0;
		for (size_t i = 0; i < n && redisconn_up(&tl->redis); i++) {
			const char *id = tl->trims[i].sid;

			xdel(tl, tl->trims[i].room, &id, 1);
		}
	}
	/* What waited while Redis was away goes out now, in order. */
	for (struct tl_event *ev = tl->qhead; ev && redisconn_up(&tl->redis); ev = ev->next)
		if (!ev->pg_sending)
			xadd(tl, ev);
}

/* ---- flushing to PostgreSQL ----------------------------------------------- */

static void flush_start(struct timeline *tl);

/* Trims events PostgreSQL confirmed from their room's stream, then frees them. */
static void drop_streamed(struct timeline *tl, struct timeline_room *tr, struct tl_event **hold,
			  size_t *n)
{
	const char *ids[64];

	for (size_t i = 0; i < *n; i++)
		ids[i] = hold[i]->sid;
	xdel(tl, tr->id, ids, *n);
	for (size_t i = 0; i < *n; i++)
		event_free(hold[i]);
	*n = 0;
}

static void flush_done(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct flush_ctx *fc = ud;
	struct timeline *tl = fc->tl;
	struct timeline_room *last_tr = NULL;
	struct tl_event *hold[64];
	size_t nids = 0;

	(void)res;
	if (!tl) {
		free(fc);
		return;
	}
	tl->flush = NULL;
	if (err) {
		struct tl_event *ev = tl->qhead;

		for (size_t i = 0; i < fc->n && ev; i++, ev = ev->next)
			ev->pg_sending = false;
		if (!tl->flush_logged)
			log_event(LOG_WARN, "timeline.flush", "error=%s backlog=%zu",
				  errmsg ? errmsg : db_strerror(err), tl->qlen);
		tl->flush_logged = true;
		tl->retry_at = uv_now(tl->loop) + tl->flush_backoff;
		tl->flush_backoff = tl->flush_backoff < 2000 ? tl->flush_backoff * 2 : 2000;
		/* Events that waited for this batch may go to Redis now. */
		for (ev = tl->qhead; ev; ev = ev->next)
			xadd(tl, ev);
		free(fc);
		return;
	}
	if (tl->flush_logged)
		log_event(LOG_INFO, "timeline.flush", "msg=%s backlog=%zu", "flushing again",
			  tl->qlen);
	tl->flush_logged = false;
	tl->flush_backoff = 100;
	for (size_t i = 0; i < fc->n && tl->qhead; i++) {
		struct tl_event *ev = tl->qhead;

		tl->qhead = ev->next;
		if (!tl->qhead)
			tl->qtail = NULL;
		ev->next = NULL;
		tl->qlen--;
		tl->qbytes -= ev->bytes;
		mark_durable(ev);
		advance(ev->tr);
		if (nids && (ev->tr != last_tr || nids == 64))
			drop_streamed(tl, last_tr, hold, &nids);
		if (ev->xadd == X_SENT) {
			ev->orphan = true; /* the XADD reply frees it */
		} else if (ev->xadd == X_DONE) {
			last_tr = ev->tr;
			hold[nids++] = ev;
		} else {
			event_free(ev);
		}
	}
	if (nids)
		drop_streamed(tl, last_tr, hold, &nids);
	free(fc);
	gauge(tl);
	if (tl->qlen >= tl->opt.flush_max)
		flush_start(tl);
}

/*
 * A batch goes to PostgreSQL as seven arrays, one per column, in the binary
 * array format (array_recv: dimensions, null flag, element type, length and
 * lower bound, then each element as a 4-byte length, -1 for NULL, and its
 * bytes), unpacked by one unnest().  The statement is the same 300 bytes
 * whatever the batch: PostgreSQL parses and plans no VALUES list of
 * thousands of rows, and converts no number or timestamp from text.
 */
enum { OID_BYTEA = 17, OID_INT8 = 20, OID_TEXT = 25, OID_TIMESTAMPTZ = 1184, OID_JSONB = 3802 };

#define PG_EPOCH_MS 946684800000LL /* 2000-01-01T00:00:00Z, PostgreSQL's epoch */
#define ARRAY_HEAD  20

static const char flush_sql[] =
	"INSERT INTO timeline_events (room, seq, at, kind, actor, payload, ops) "
	"SELECT v.* FROM unnest($1::text[], $2::int8[], $3::timestamptz[], $4::text[], "
	"$5::text[], $6::jsonb[], $7::bytea[]) AS v(room, seq, at, kind, actor, payload, ops) "
	"WHERE EXISTS (SELECT 1 FROM rooms r WHERE r.id = v.room) "
	"ON CONFLICT DO NOTHING";

static uint8_t *put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static uint8_t *put_be64(uint8_t *p, uint64_t v)
{
	return put_be32(put_be32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

static uint8_t *array_head(uint8_t *p, uint32_t oid, size_t n, bool nulls)
{
	p = put_be32(p, 1); /* dimensions */
	p = put_be32(p, nulls);
	p = put_be32(p, oid);
	p = put_be32(p, (uint32_t)n);
	return put_be32(p, 1); /* lower bound */
}

/* An element of len bytes; NULL data is SQL NULL.  prefix (jsonb's format
 * version) goes before the bytes when not 0. */
static uint8_t *array_elem(uint8_t *p, const void *data, size_t len, uint8_t prefix)
{
	if (!data)
		return put_be32(p, UINT32_MAX);
	p = put_be32(p, (uint32_t)(len + (prefix != 0)));
	if (prefix)
		*p++ = prefix;
	memcpy(p, data, len);
	return p + len;
}

static void flush_start(struct timeline *tl)
{
	struct flush_ctx *fc;
	struct tl_event *ev;
	size_t n = 0, bytes = 0, size[7], i;
	uint8_t *buf = NULL, *p[7];
	const char *params[7];
	int lengths[7], formats[7];
	bool nulls[7] = { false }; /* a column holds a NULL: actor, ops */
	int rc;

	if (tl->flush || !tl->opt.db || !tl->qhead || tl->destroying)
		return;
	size[0] = size[1] = size[2] = size[3] = size[4] = size[5] = size[6] = ARRAY_HEAD;
	for (ev = tl->qhead; ev && n < tl->opt.flush_max && bytes < BATCH_MAXB; ev = ev->next) {
		n++;
		bytes += ev->bytes;
		size[0] += 4 + ev->tr->idlen;
		size[1] += 4 + 8;
		size[2] += 4 + 8;
		size[3] += 4 + ev->klen;
		size[4] += 4 + ev->alen;
		size[5] += 4 + 1 + ev->plen;
		size[6] += 4 + ev->ops_len;
		nulls[4] |= !ev->actor;
		nulls[6] |= !ev->ops;
	}
	bytes = 0;
	for (int k = 0; k < 7; k++)
		bytes += size[k];
	fc = calloc(1, sizeof(*fc));
	buf = malloc(bytes);
	if (!fc || !buf)
		goto err_alloc;
	for (int k = 0, off = 0; k < 7; off += (int)size[k], k++) {
		static const uint32_t oid[7] = { OID_TEXT, OID_INT8,  OID_TIMESTAMPTZ, OID_TEXT,
						 OID_TEXT, OID_JSONB, OID_BYTEA };

		p[k] = array_head(buf + off, oid[k], n, nulls[k]);
		params[k] = (const char *)(buf + off);
		lengths[k] = (int)size[k];
		formats[k] = 1;
	}
	for (ev = tl->qhead, i = 0; i < n; ev = ev->next, i++) {
		p[0] = array_elem(p[0], ev->tr->id, ev->tr->idlen, 0);
		p[1] = put_be64(put_be32(p[1], 8), ev->seq);
		p[2] = put_be64(put_be32(p[2], 8), (uint64_t)((ev->at - PG_EPOCH_MS) * 1000));
		p[3] = array_elem(p[3], ev->kind, ev->klen, 0);
		p[4] = array_elem(p[4], ev->actor, ev->alen, 0);
		p[5] = array_elem(p[5], ev->payload, ev->plen, 1);
		p[6] = array_elem(p[6], ev->ops, ev->ops_len, 0);
	}
	fc->tl = tl;
	fc->n = n;
	rc = db_query_params(tl->opt.db, flush_sql, 7, params, lengths, formats, 0, flush_done, fc);
	if (rc) {
		tl->retry_at = uv_now(tl->loop) + tl->flush_backoff;
		goto err_alloc;
	}
	tl->flush = fc;
	fc = NULL;
	for (ev = tl->qhead, i = 0; i < n; ev = ev->next, i++)
		ev->pg_sending = true;
err_alloc:
	free(fc);
	free(buf);
}

static void ftimer_cb(uv_timer_t *t)
{
	struct timeline *tl = t->data;

	if (tl->qhead && !tl->flush && uv_now(tl->loop) >= tl->retry_at)
		flush_start(tl);
}

void timeline_flush(struct timeline *tl)
{
	if (tl) {
		tl->retry_at = 0;
		flush_start(tl);
	}
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
static void enqueue(struct timeline *tl, struct tl_event *ev)
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
	gauge(tl);
	if (tl->qlen >= tl->opt.flush_max)
		flush_start(tl);
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
	ev = event_new(kind, strlen(kind), actor, actor ? strlen(actor) : 0, ptext, plen, ops,
		       ops_len);
	if (!ev)
		return TIMELINE_E_NOMEM;
	ev->tr = tr;
	tr->nevents++;
	ev->at = append_time(tr);
	ev->seq = tr->next_seq;
	if (nver && (rc = tlindex_reserve(&tr->ix, ev->at, ev->seq, ver, nver, &res->ix)) != 0) {
		event_free(ev);
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
	enqueue(tr->tl, ev);
	xadd(tr->tl, ev);
	res->tr = NULL;
	res->ev = NULL;
	return ev->seq;
}

void timeline_cancel(struct timeline_resv *res)
{
	if (!res->tr)
		return;
	res->tr->reserved = false;
	event_free(res->ev);
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

/* ---- loading -------------------------------------------------------------- */

struct tl_load {
	struct tl_load *next;
	struct timeline *tl; /* NULL: the timeline went away */
	struct timeline_room *tr;
	uint64_t snap_seq, pg_max, max_seq;
	int64_t max_at; /* of every event read back: new ones are never earlier */
	timeline_edit_cb *edit;
	timeline_loaded_cb *loaded;
	void *ud;
	uint64_t give_up_at, started;
	uv_timer_t wait; /* polls for Redis while it is down */
	bool waiting;
};

static void load_unlink(struct tl_load *ld)
{
	if (!ld->tl)
		return;
	for (struct tl_load **pp = &ld->tl->loads; *pp; pp = &(*pp)->next)
		if (*pp == ld) {
			*pp = ld->next;
			break;
		}
}

static void load_wait_closed(uv_handle_t *h)
{
	free(h->data);
}

static void load_end(struct tl_load *ld, int err)
{
	struct timeline_room *tr = ld->tl ? ld->tr : NULL; /* freed with a destroyed timeline */

	load_unlink(ld);
	if (tr && err) {
		/* The room is dropped; a later load starts from nothing again. */
		tlindex_finish(&tr->ix);
		tr->last_at = 0;
	}
	if (tr && !err) {
		tr->next_seq = ld->max_seq + 1;
		tr->durable_seq = ld->max_seq;
		if (tlindex_len(&tr->ix) && tlindex_last_at(&tr->ix) > ld->max_at)
			ld->max_at = tlindex_last_at(&tr->ix);
		if (ld->max_at > tr->last_at)
			tr->last_at = ld->max_at;
	}
	if (tr)
		tr->loading = false;
	ld->loaded(ld->ud, err);
	if (ld->waiting) {
		ld->wait.data = ld;
		uv_close((uv_handle_t *)&ld->wait, load_wait_closed);
	} else {
		free(ld);
	}
}

/* Parses a payload's "v" ([[agent, next], ...]) into entries; returns the count or -1. */
static long parse_version(const char *text, size_t len, struct crdt_version_entry **out)
{
	json_t *o = json_loadb(text, len, 0, NULL),
	       *v = json_is_object(o) ? json_object_get(o, "v") : o;
	struct crdt_version_entry *e;
	size_t n = json_array_size(v);

	*out = NULL;
	if (!json_is_array(v)) {
		json_decref(o);
		return -1;
	}
	e = calloc(n ? n : 1, sizeof(*e));
	if (!e) {
		json_decref(o);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *p = json_array_get(v, i);
		json_int_t a = json_integer_value(json_array_get(p, 0)),
			   c = json_integer_value(json_array_get(p, 1));

		if (a <= 0 || a >= UINT32_MAX || c < 0 || c > UINT32_MAX) {
			free(e);
			json_decref(o);
			return -1;
		}
		e[i].agent = (uint32_t)a;
		e[i].next = (uint32_t)c;
	}
	json_decref(o);
	*out = e;
	return (long)n;
}

/*
 * The fast path of loading a room's index: "[[agent, next], ...]" as
 * PostgreSQL prints a jsonb array of pairs, read without a JSON parser
 * (jansson costs about a microsecond a row, which a 50,000-edit room would
 * spend on the loop).  Returns the number of pairs, or -1 for anything
 * else (then parse_version() reads it).
 */
static long parse_pairs(const char *s, size_t len, struct crdt_version_entry *e, size_t cap)
{
	const char *p = s, *end = s + len;
	uint64_t num[2];
	size_t n = 0;
	int k;

	while (p < end && *p == ' ')
		p++;
	if (p == end || *p++ != '[')
		return -1;
	for (;;) {
		while (p < end && (*p == ' ' || *p == ','))
			p++;
		if (p < end && *p == ']')
			break;
		if (p == end || *p++ != '[' || n == cap)
			return -1;
		for (k = 0; k < 2; k++) {
			while (p < end && (*p == ' ' || (k == 1 && *p == ',')))
				p++;
			if (p == end || *p < '0' || *p > '9')
				return -1;
			for (num[k] = 0; p < end && *p >= '0' && *p <= '9'; p++) {
				num[k] = num[k] * 10 + (uint64_t)(*p - '0');
				if (num[k] > UINT32_MAX)
					return -1;
			}
		}
		while (p < end && *p == ' ')
			p++;
		if (p == end || *p++ != ']' || num[0] == 0 || num[0] == UINT32_MAX)
			return -1;
		e[n].agent = (uint32_t)num[0];
		e[n].next = (uint32_t)num[1];
		n++;
	}
	return (long)n;
}

/* One stream entry read back. */
struct sentry {
	const redisReply *fields;
	const char *sid;
	uint64_t seq;
};

static const redisReply *field(const redisReply *f, const char *name)
{
	for (size_t i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(f->element[i]->str, name) == 0)
			return f->element[i + 1]->type == REDIS_REPLY_STRING ? f->element[i + 1]
									     : NULL;
	return NULL;
}

static int cmp_sentry(const void *a, const void *b)
{
	const struct sentry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Adopts one unflushed stream entry: index, document, and the flush queue. */
static int adopt_entry(struct tl_load *ld, const struct sentry *se)
{
	struct timeline *tl = ld->tl;
	const redisReply *at = field(se->fields, "at"), *kind = field(se->fields, "kind"),
			 *actor = field(se->fields, "actor"),
			 *payload = field(se->fields, "payload"), *ops = field(se->fields, "ops");
	struct tl_event *ev;

	if (!at || !kind || !payload || !ops || kind->len == 0)
		return TIMELINE_E_BADDATA;
	ev = event_new(kind->str, (size_t)kind->len, actor && actor->len ? actor->str : NULL,
		       actor && actor->len ? (size_t)actor->len : 0, payload->str,
		       (size_t)payload->len, (const uint8_t *)ops->str, (size_t)ops->len);
	if (!ev)
		return TIMELINE_E_NOMEM;
	ev->tr = ld->tr;
	ld->tr->nevents++;
	ev->seq = se->seq;
	ev->at = strtoll(at->str, NULL, 10);
	snprintf(ev->sid, sizeof(ev->sid), "%s", se->sid);
	ev->xadd = X_DONE;
	ev->durable = true;
	if (strcmp(ev->kind, "edit") == 0) {
		struct crdt_version_entry *e;
		long n = parse_version(ev->payload, strlen(ev->payload), &e);

		int rc = n < 0 ? TIMELINE_E_BADDATA
			       : tlindex_add(&ld->tr->ix, ev->at, ev->seq, e, (size_t)n);

		if (rc) {
			free(e);
			event_free(ev);
			return rc;
		}
		free(e);
		ld->edit(ld->ud, ev->seq, ev->seq > ld->snap_seq ? ev->ops : NULL,
			 ev->seq > ld->snap_seq ? ev->ops_len : 0);
	}
	enqueue(tl, ev);
	return 0;
}

static void load_stream_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct tl_load *ld = privdata;
	const redisReply *reply = r;
	struct sentry *se = NULL;
	size_t n = 0;
	int err = 0;

	(void)ac;
	if (!ld->tl) {
		load_end(ld, TIMELINE_E_DESTROYED);
		return;
	}
	if (reply)
		rreplied(ld->tl);
	if (!reply || reply->type != REDIS_REPLY_ARRAY) {
		load_end(ld, reply ? TIMELINE_E_BADDATA : TIMELINE_E_REDIS_DOWN);
		return;
	}
	se = calloc(reply->elements ? reply->elements : 1, sizeof(*se));
	if (!se) {
		load_end(ld, TIMELINE_E_NOMEM);
		return;
	}
	for (size_t i = 0; i < reply->elements; i++) {
		const redisReply *e = reply->element[i], *s;

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		s = field(e->element[1], "seq");
		if (!s)
			continue;
		se[n].sid = e->element[0]->str;
		se[n].fields = e->element[1];
		se[n].seq = strtoull(s->str, NULL, 10);
		n++;
	}
	qsort(se, n, sizeof(*se), cmp_sentry);
	for (size_t i = 0; i < n && !err; i++) {
		/* Already in PostgreSQL, or a second copy of one XADD: only trim it. */
		if (se[i].seq <= ld->pg_max || (i && se[i].seq == se[i - 1].seq)) {
			xdel(ld->tl, ld->tr->id, &se[i].sid, 1);
			continue;
		}
		err = adopt_entry(ld, &se[i]);
		if (!err && se[i].seq > ld->max_seq)
			ld->max_seq = se[i].seq;
		if (!err && ld->tl->qtail && ld->tl->qtail->at > ld->max_at)
			ld->max_at = ld->tl->qtail->at;
	}
	log_event(n ? LOG_INFO : LOG_DEBUG, "timeline.load",
		  "room=%s edits=%zu stream_entries=%zu pg_max=%llu ms=%llu", ld->tr->id,
		  tlindex_len(&ld->tr->ix), n, (unsigned long long)ld->pg_max,
		  (unsigned long long)(uv_now(ld->tl->loop) - ld->started));
	free(se);
	load_end(ld, err);
}

static void load_stream(struct tl_load *ld);

static void load_wait_cb(uv_timer_t *t)
{
	load_stream(t->data);
}

static void load_stream(struct tl_load *ld)
{
	struct timeline *tl = ld->tl;
	char key[ROOM_MAX + 32];

	if (!tl->use_redis) {
		load_end(ld, 0);
		return;
	}
	if (redisconn_up(&tl->redis)) {
		stream_key(key, ld->tr->id, ld->tr->idlen);
		if (redisAsyncCommand(redisconn_ctx(&tl->redis), load_stream_cb, ld,
				      "XRANGE %s - +", key) == REDIS_OK) {
			rsent(tl);
			return;
		}
	}
	/* The stream may hold acknowledged edits: wait for Redis, within reason. */
	if (uv_now(tl->loop) >= ld->give_up_at) {
		log_event(LOG_WARN, "timeline.load", "room=%s error=%s", ld->tr->id,
			  timeline_strerror(TIMELINE_E_REDIS_DOWN));
		load_end(ld, TIMELINE_E_REDIS_DOWN);
		return;
	}
	if (!ld->waiting) {
		uv_timer_init(tl->loop, &ld->wait);
		ld->wait.data = ld;
		ld->waiting = true;
	}
	uv_timer_start(&ld->wait, load_wait_cb, 100, 0);
}

static void load_edits_cb(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct tl_load *ld = ud;
	int rc = 0;
	uint64_t t0 = uv_hrtime();

	if (!ld->tl) {
		load_end(ld, TIMELINE_E_DESTROYED);
		return;
	}
	if (err) {
		log_event(LOG_ERROR, "timeline.load", "room=%s error=%s", ld->tr->id, errmsg);
		load_end(ld, TIMELINE_E_DB);
		return;
	}
	for (int i = 0; i < PQntuples(res) && !rc; i++) {
		uint64_t seq = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		int64_t at = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		struct crdt_version_entry few[8], *e = NULL;
		long n = parse_pairs(PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2), few, 8);
		unsigned char *ops = NULL;
		size_t ops_len = 0;

		if (n < 0)
			n = parse_version(PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2),
					  &e);
		if (n < 0) {
			rc = TIMELINE_E_BADDATA;
			break;
		}
		rc = tlindex_add(&ld->tr->ix, at, seq, e ? e : few, (size_t)n);
		free(e);
		if (!rc && !PQgetisnull(res, i, 3)) {
			ops = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 3),
					      &ops_len);
			if (!ops)
				rc = TIMELINE_E_NOMEM;
		}
		if (!rc)
			ld->edit(ld->ud, seq, ops, ops_len);
		PQfreemem(ops);
	}
	if (rc) {
		log_event(LOG_ERROR, "timeline.load", "room=%s error=%s", ld->tr->id,
			  timeline_strerror(rc));
		load_end(ld, rc);
		return;
	}
	log_event(LOG_DEBUG, "timeline.load", "room=%s edits=%d index_ms=%.1f", ld->tr->id,
		  PQntuples(res), (double)(uv_hrtime() - t0) / 1e6);
	load_stream(ld);
}

static void load_max_cb(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct tl_load *ld = ud;
	char snap[24];
	const char *p[2] = { ld->tr->id, snap };

	if (!ld->tl) {
		load_end(ld, TIMELINE_E_DESTROYED);
		return;
	}
	if (err) {
		log_event(LOG_ERROR, "timeline.load", "room=%s error=%s", ld->tr->id, errmsg);
		load_end(ld, TIMELINE_E_DB);
		return;
	}
	ld->pg_max = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	ld->max_at = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	if (ld->pg_max > ld->max_seq)
		ld->max_seq = ld->pg_max;
	snprintf(snap, sizeof(snap), "%llu", (unsigned long long)ld->snap_seq);
	if (db_query(ld->tl->opt.db,
		     "SELECT seq, round(extract(epoch FROM at) * 1000)::bigint, payload->'v', "
		     "CASE WHEN seq > $2::bigint THEN ops END FROM timeline_events "
		     "WHERE room = $1 AND kind = 'edit' ORDER BY seq",
		     2, p, load_edits_cb, ld))
		load_end(ld, TIMELINE_E_DB);
}

int timeline_load(struct timeline_room *tr, uint64_t snap_seq, timeline_edit_cb *edit,
		  timeline_loaded_cb *loaded, void *ud)
{
	struct timeline *tl;
	struct tl_load *ld;
	const char *id;

	if (!tr || !edit || !loaded || tr->loading || tr->next_seq != 1)
		return TIMELINE_E_INVAL;
	tl = tr->tl;
	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return TIMELINE_E_NOMEM;
	ld->tl = tl;
	ld->tr = tr;
	ld->snap_seq = ld->max_seq = snap_seq;
	ld->edit = edit;
	ld->loaded = loaded;
	ld->ud = ud;
	ld->started = uv_now(tl->loop);
	ld->give_up_at = ld->started + tl->opt.load_wait_ms;
	id = tr->id;
	tr->loading = true;
	ld->next = tl->loads;
	tl->loads = ld;
	if (!tl->opt.db) {
		load_stream(ld);
		return 0;
	}
	if (db_query(tl->opt.db,
		     /* A room's times never go backwards (timeline_append), so the
		      * newest time is the time of the highest seq: both from the
		      * primary key. */
		     "SELECT coalesce(max(seq), 0), coalesce((SELECT "
		     "round(extract(epoch FROM at) * 1000)::bigint FROM timeline_events "
		     "WHERE room = $1 ORDER BY seq DESC LIMIT 1), 0) "
		     "FROM timeline_events WHERE room = $1",
		     1, &id, load_max_cb, ld)) {
		load_unlink(ld);
		tr->loading = false;
		free(ld);
		return TIMELINE_E_NOMEM;
	}
	return 0;
}

/* ---- listing -------------------------------------------------------------- */

struct tl_list {
	struct timeline *tl;
	char room[ROOM_MAX + 1]; /* by name: the room may be released meanwhile */
	uint64_t after;
	unsigned limit;
	timeline_list_cb *cb;
	void *ud;
};

static json_t *event_json(uint64_t seq, int64_t at, const char *kind, const char *actor,
			  const char *payload, json_t *ops)
{
	json_t *o = json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)seq, "at", (json_int_t)at,
			      "kind", kind);
	json_t *p = payload ? json_loads(payload, 0, NULL) : NULL;

	json_object_set_new(o, "actor", actor ? json_string(actor) : json_null());
	json_object_set_new(o, "payload", p ? p : json_null());
	if (ops)
		json_object_set_new(o, "ops", ops);
	return o;
}

static void list_cb(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct tl_list *ls = ud;
	struct timeline *tl = ls->tl;
	json_t *out;
	int i = 0, nrows;
	struct tl_event *ev;
	unsigned count = 0;
	uint64_t last = 0;
	bool more = false;

	if (!tl || tl->destroying) {
		ls->cb(ls->ud, TIMELINE_E_DESTROYED, NULL, 0);
		free(ls);
		return;
	}
	if (err) {
		log_event(LOG_WARN, "timeline.list", "room=%s error=%s", ls->room, errmsg);
		ls->cb(ls->ud, TIMELINE_E_DB, NULL, 0);
		free(ls);
		return;
	}
	nrows = res ? PQntuples(res) : 0;
	out = json_array();
	/* Merge PostgreSQL's rows with the events still in memory, both in seq order. */
	for (ev = tl->qhead; ev && (strcmp(ev->tr->id, ls->room) || ev->seq <= ls->after);
	     ev = ev->next)
		;
	while (out && (i < nrows || ev)) {
		uint64_t rseq = i < nrows ? strtoull(PQgetvalue(res, i, 0), NULL, 10) : UINT64_MAX;
		json_t *o;

		if (count == ls->limit) {
			more = true;
			break;
		}
		if (ev && ev->seq <= rseq) {
			char *b = ev->ops ? base64(ev->ops, ev->ops_len) : NULL;

			o = event_json(ev->seq, ev->at, ev->kind, ev->actor, ev->payload,
				       b ? json_string(b) : NULL);
			free(b);
			if (ev->seq == rseq)
				i++;
			last = ev->seq;
			for (ev = ev->next; ev && strcmp(ev->tr->id, ls->room); ev = ev->next)
				;
		} else {
			o = event_json(rseq, strtoll(PQgetvalue(res, i, 1), NULL, 10),
				       PQgetvalue(res, i, 2),
				       PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3),
				       PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4),
				       PQgetisnull(res, i, 5) ? NULL
							      : json_string(PQgetvalue(res, i, 5)));
			last = rseq;
			i++;
		}
		json_array_append_new(out, o);
		count++;
	}
	if (!out) {
		ls->cb(ls->ud, TIMELINE_E_NOMEM, NULL, 0);
		free(ls);
		return;
	}
	ls->cb(ls->ud, 0, out, more ? last : 0);
	free(ls);
}

int timeline_list(struct timeline_room *tr, uint64_t after, unsigned limit, timeline_list_cb *cb,
		  void *ud)
{
	struct tl_list *ls;
	char a[24], l[16];
	const char *p[3];

	if (!tr || !cb || limit == 0 || limit > 1000)
		return TIMELINE_E_INVAL;
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return TIMELINE_E_NOMEM;
	ls->tl = tr->tl;
	snprintf(ls->room, sizeof(ls->room), "%s", tr->id);
	ls->after = after;
	ls->limit = limit;
	ls->cb = cb;
	ls->ud = ud;
	if (!tr->tl->opt.db) {
		list_cb(ls, 0, NULL, NULL);
		return 0;
	}
	snprintf(a, sizeof(a), "%llu", (unsigned long long)after);
	snprintf(l, sizeof(l), "%u", limit + 1);
	p[0] = tr->id;
	p[1] = a;
	p[2] = l;
	if (db_query(tr->tl->opt.db,
		     "SELECT seq, round(extract(epoch FROM at) * 1000)::bigint, kind, actor, "
		     "payload::text, translate(encode(ops, 'base64'), E'\\n', '') "
		     "FROM timeline_events WHERE room = $1 AND seq > $2::bigint "
		     "ORDER BY seq LIMIT $3::int",
		     3, p, list_cb, ls)) {
		free(ls);
		return TIMELINE_E_NOMEM;
	}
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
			.up = redis_up,
			.ud = tl,
		};

		redisconn_init(&tl->redis, loop, &o);
	}
	uv_timer_init(loop, &tl->ftimer);
	tl->ftimer.data = tl;
	tl->open_handles = 2;
	uv_timer_start(&tl->ftimer, ftimer_cb, tl->opt.flush_ms, tl->opt.flush_ms);
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
	while (tl->loads) {
		struct tl_load *ld = tl->loads;

		tl->loads = ld->next;
		/* Its database query, if any, still holds ld: it ends the load when it returns. */
		ld->tl = NULL;
		if (ld->waiting) {
			uv_timer_stop(&ld->wait);
			ld->loaded(ld->ud, TIMELINE_E_DESTROYED);
			ld->wait.data = ld;
			uv_close((uv_handle_t *)&ld->wait, load_wait_closed);
		}
	}
	while (tl->qhead) {
		struct tl_event *ev = tl->qhead;

		tl->qhead = ev->next;
		event_free(ev);
	}
	tl->qtail = NULL;
	tl->qlen = 0;
	gauge(tl);
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
