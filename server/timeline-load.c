/*
 * timeline-load.c - loading a room's timeline after a restart.
 *
 * A room that comes back must number its next event after every event the
 * dead server recorded, and its scrub index must hold every edit: the
 * edits come from PostgreSQL (what was flushed) and from the room's Redis
 * Stream (what was not yet), merged by seq.  While Redis is down a load
 * waits for it, within load_wait_ms: the stream may hold acknowledged
 * edits.  This file must never call a blocking hiredis or libpq function.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "db.h"
#include "log.h"
#include "timeline-internal.h"

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
	ev = timeline__event_new(kind->str, (size_t)kind->len,
				 actor && actor->len ? actor->str : NULL,
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
			timeline__event_free(ev);
			return rc;
		}
		free(e);
		ld->edit(ld->ud, ev->seq, ev->seq > ld->snap_seq ? ev->ops : NULL,
			 ev->seq > ld->snap_seq ? ev->ops_len : 0);
	}
	timeline__enqueue(tl, ev);
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
		redisconn_replied(&ld->tl->redis);
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
			timeline__xdel(ld->tl, ld->tr->id, &se[i].sid, 1);
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
		timeline__stream_key(key, ld->tr->id, ld->tr->idlen);
		if (redisAsyncCommand(redisconn_ctx(&tl->redis), load_stream_cb, ld,
				      "XRANGE %s - +", key) == REDIS_OK) {
			redisconn_sent(&tl->redis);
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

/* The start of every database answer: false when it ended the load. */
static bool answer_ok(struct tl_load *ld, int err, const char *errmsg)
{
	if (!ld->tl) {
		load_end(ld, TIMELINE_E_DESTROYED);
		return false;
	}
	if (err) {
		log_event(LOG_ERROR, "timeline.load", "room=%s error=%s", ld->tr->id, errmsg);
		load_end(ld, TIMELINE_E_DB);
		return false;
	}
	return true;
}

static void load_edits_cb(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct tl_load *ld = ud;
	int rc = 0;
	uint64_t t0 = uv_hrtime();

	if (!answer_ok(ld, err, errmsg))
		return;
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

	if (!answer_ok(ld, err, errmsg))
		return;
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

/* Ends every load of a timeline being destroyed (TIMELINE_E_DESTROYED). */
void timeline__loads_destroy(struct timeline *tl)
{
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
}
