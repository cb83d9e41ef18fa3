/*
 * timeline-pg.c - the timeline's durable record: batched INSERTs into
 * PostgreSQL's timeline_events, and reading it back for GET .../timeline.
 *
 * A flush sends the oldest events of the FIFO in one binary-array INSERT
 * ... ON CONFLICT DO NOTHING keyed by (room, seq), so a batch sent twice
 * is stored once; a failed flush is retried with backoff and the events
 * wait.  This file must never call a blocking libpq function (db.c is
 * non-blocking) and must ignore an answer that comes after the timeline
 * was destroyed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "timeline-internal.h"

/* ---- flushing to PostgreSQL ----------------------------------------------- */

/* Trims events PostgreSQL confirmed from their room's stream, then frees them. */
static void drop_streamed(struct timeline *tl, struct timeline_room *tr, struct tl_event **hold,
			  size_t *n)
{
	const char *ids[64];

	for (size_t i = 0; i < *n; i++)
		ids[i] = hold[i]->sid;
	timeline__xdel(tl, tr->id, ids, *n);
	for (size_t i = 0; i < *n; i++)
		timeline__event_free(hold[i]);
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
			timeline__xadd(tl, ev);
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
		timeline__mark_durable(ev);
		timeline__advance(ev->tr);
		if (nids && (ev->tr != last_tr || nids == 64))
			drop_streamed(tl, last_tr, hold, &nids);
		if (ev->xadd == X_SENT) {
			ev->orphan = true; /* the XADD reply frees it */
		} else if (ev->xadd == X_DONE) {
			last_tr = ev->tr;
			hold[nids++] = ev;
		} else {
			timeline__event_free(ev);
		}
	}
	if (nids)
		drop_streamed(tl, last_tr, hold, &nids);
	free(fc);
	timeline__gauge(tl);
	if (tl->qlen >= tl->opt.flush_max)
		timeline__flush_start(tl);
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

void timeline__flush_start(struct timeline *tl)
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

void timeline__ftimer_cb(uv_timer_t *t)
{
	struct timeline *tl = t->data;

	if (tl->qhead && !tl->flush && uv_now(tl->loop) >= tl->retry_at)
		timeline__flush_start(tl);
}

void timeline_flush(struct timeline *tl)
{
	if (tl) {
		tl->retry_at = 0;
		timeline__flush_start(tl);
	}
}

/* ---- listing -------------------------------------------------------------- */

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
