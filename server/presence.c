/*
 * presence.c - room presence in Redis over hiredis async (see presence.h).
 *
 * Why it is built this way: presence must never make a room wait.  The
 * truth for this node's own members is the local table below (state, name,
 * LEFT timer); Redis is the shared copy other nodes and a restarted server
 * read.  Writes go out as MULTI/HSET/PEXPIRE/PUBLISH/EXEC so the hash and
 * the announcement never disagree; when Redis is away they are skipped and
 * the whole table is written again on reconnect.
 *
 * The two connections (commands; the subscriber, opened by the first
 * watch) keep themselves up in redisconn.c: backoff, connect deadline and
 * command watchdog.  hiredis 0.14 calls pending reply callbacks with a NULL
 * reply when a context is freed or its connection drops; the callbacks here
 * count that as a failure.  Memory of the module is released in libuv
 * close callbacks, never while hiredis may still call back into it.
 *
 * This file must never call a blocking hiredis function.
 */
#include "presence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "auth.h"
#include "log.h"
#include "redisconn.h"

const char *presence_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define PRESENCE_STRERROR_CASE(name, value, text) \
	case PRESENCE_E_##name:                   \
		return text;
		PRESENCE_ERRNO_MAP(PRESENCE_STRERROR_CASE)
#undef PRESENCE_STRERROR_CASE
	default:
		return "unknown presence error";
	}
}

static const char *const state_names[] = { "PRESENT", "DISCONNECTED", "LEFT", "COMPLETED" };

const char *presence_state_name(enum presence_state state)
{
	if ((unsigned)state > PRESENCE_COMPLETED)
		return NULL;
	return state_names[state];
}

int presence_state_parse(const char *name, enum presence_state *out)
{
	for (int i = 0; i <= PRESENCE_COMPLETED; i++) {
		if (name != NULL && strcmp(name, state_names[i]) == 0) {
			*out = (enum presence_state)i;
			return 0;
		}
	}
	return PRESENCE_E_INVAL;
}

/*
 * A member this node owns.  It carries its LEFT timer, so it lives until
 * that timer's close callback, even after it has left the table.
 */
struct member {
	struct member *next; /* bucket chain */
	struct presence *p;
	char *room;
	char *id;
	char *name;
	enum presence_state state;
	int64_t since_ms;
	uv_timer_t left_timer;
};

/* A room this node subscribes to. */
struct watch {
	struct watch *next;
	char *room;
};

#define NBUCKETS 1024

struct presence {
	uv_loop_t *loop;
	struct presence_options opt;
	char *host;
	char node[32];

	struct redisconn cmd, sub; /* commands; the subscriber (from the first watch) */
	uv_timer_t heartbeat;
	size_t sweep; /* the heartbeat's next bucket (heartbeat_cb) */

	struct member *buckets[NBUCKETS];
	struct watch *watches;

	unsigned open_handles;
	bool destroying;
};

enum req_kind { REQ_WRITE, REQ_READ, REQ_INTERNAL };

/* An outstanding tracked command; freed by its reply callback. */
struct req {
	struct presence *p;
	enum req_kind kind;
	presence_done_cb done;
	presence_read_cb read;
	void *ud;
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t hash2(const char *a, const char *b)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *s = (const unsigned char *)a; *s; s++)
		h = (h ^ *s) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (const unsigned char *s = (const unsigned char *)b; *s; s++)
		h = (h ^ *s) * 16777619u;
	return h;
}

static void hash_key(char *buf, size_t n, const char *room)
{
	snprintf(buf, n, "tandem:room:%s:presence", room);
}

static void chan_key(char *buf, size_t n, const char *room)
{
	snprintf(buf, n, "tandem:room:%s:events", room);
}

/* ---- handles ---------------------------------------------------------- */

static void handle_closed(struct presence *p)
{
	if (--p->open_handles == 0) {
		free(p->host);
		free(p);
	}
}

static void plain_close_cb(uv_handle_t *h)
{
	handle_closed(h->data);
}

static void member_close_cb(uv_handle_t *h)
{
	struct member *m = h->data;
	struct presence *p = m->p;

	free(m->room);
	free(m->id);
	free(m->name);
	free(m);
	handle_closed(p);
}

/* ---- members ---------------------------------------------------------- */

static struct member **member_slot(struct presence *p, const char *room, const char *id)
{
	struct member **pp = &p->buckets[hash2(room, id) % NBUCKETS];

	while (*pp != NULL && (strcmp((*pp)->room, room) != 0 || strcmp((*pp)->id, id) != 0))
		pp = &(*pp)->next;
	return pp;
}

/* Unlinks m from the table and schedules its release. */
/*
 * A newly tracked member with copies of its names and an initialised LEFT
 * timer (counted in open_handles); NULL on OOM.  State and times are the
 * caller's to set.
 */
static struct member *member_new(struct presence *p, const char *room, const char *id,
				 const char *name)
{
	struct member *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->p = p;
	m->room = strdup(room);
	m->id = strdup(id);
	m->name = strdup(name != NULL ? name : "");
	if (m->room == NULL || m->id == NULL || m->name == NULL) {
		free(m->room);
		free(m->id);
		free(m->name);
		free(m);
		return NULL;
	}
	uv_timer_init(p->loop, &m->left_timer);
	m->left_timer.data = m;
	p->open_handles++;
	return m;
}

static void member_drop(struct member **slot)
{
	struct member *m = *slot;

	*slot = m->next;
	m->next = NULL;
	uv_timer_stop(&m->left_timer);
	uv_close((uv_handle_t *)&m->left_timer, member_close_cb);
}

static char *value_json(struct presence *p, const struct member *m, int64_t seen)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:s}", "state", presence_state_name(m->state),
			      "name", m->name, "since", (json_int_t)m->since_ms, "seen",
			      (json_int_t)seen, "node", p->node);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

static char *event_json(struct presence *p, const struct member *m)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "room", m->room, "member", m->id,
			      "state", presence_state_name(m->state), "name", m->name, "since",
			      (json_int_t)m->since_ms, "node", p->node);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

/*
 * Writes m's state to the hash and announces it, atomically.  With req
 * NULL the write is fire-and-forget (still tracked by the watchdog).
 * Returns 0 or a PRESENCE_E_* code; on error req is not consumed.
 */
static int write_member(struct presence *p, const struct member *m, bool publish, struct req *req)
{
	char key[AUTH_ROOM_MAX * 4 + 64], chan[AUTH_ROOM_MAX * 4 + 64], ttl[32];
	redisAsyncContext *ac = redisconn_ctx(&p->cmd);
	char *val, *ev = NULL;
	struct req *own = NULL;

	if (ac == NULL)
		return PRESENCE_E_DOWN;
	val = value_json(p, m, wall_ms());
	if (publish)
		ev = event_json(p, m);
	if (req == NULL) {
		own = calloc(1, sizeof(*own));
		if (own != NULL) {
			own->p = p;
			own->kind = REQ_INTERNAL;
		}
		req = own;
	}
	if (val == NULL || (publish && ev == NULL) || req == NULL) {
		free(val);
		free(ev);
		free(own);
		return PRESENCE_E_NOMEM;
	}
	hash_key(key, sizeof(key), m->room);
	chan_key(chan, sizeof(chan), m->room);
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)p->opt.ttl_ms);

	redisAsyncCommand(ac, NULL, NULL, "MULTI");
	redisAsyncCommand(ac, NULL, NULL, "HSET %s %s %s", key, m->id, val);
	redisAsyncCommand(ac, NULL, NULL, "PEXPIRE %s %s", key, ttl);
	if (publish)
		redisAsyncCommand(ac, NULL, NULL, "PUBLISH %s %s", chan, ev);
	int rc = redisAsyncCommand(ac, on_reply, req, "EXEC");
	free(val);
	free(ev);
	if (rc != REDIS_OK) {
		/* The context is going away; its MULTI dies with it. */
		free(own);
		return PRESENCE_E_DOWN;
	}
	redisconn_sent(&p->cmd);
	return 0;
}

static void left_timer_cb(uv_timer_t *t)
{
	struct member *m = t->data;
	struct presence *p = m->p;
	struct member **slot = member_slot(p, m->room, m->id);
	struct presence_event ev;

	if (*slot != m)
		return;
	m->state = PRESENCE_LEFT;
	m->since_ms = wall_ms();
	write_member(p, m, true, NULL);
	/* Unlinked now, freed after the callback: m's strings stay valid for the event. */
	member_drop(slot);
	if (p->opt.on_event != NULL) {
		ev.room = m->room;
		ev.member = m->id;
		ev.name = m->name;
		ev.state = PRESENCE_LEFT;
		ev.since_ms = m->since_ms;
		ev.node = p->node;
		ev.remote = false;
		p->opt.on_event(p->opt.ud, &ev);
	}
}

static bool id_ok(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	}
	return true;
}

int presence_set(struct presence *p, const char *room, const char *member, const char *name,
		 enum presence_state state, presence_done_cb cb, void *ud)
{
	struct member **slot, *m;
	struct req *req = NULL;
	int rc;

	if (p == NULL || !id_ok(room, AUTH_ROOM_MAX) || !id_ok(member, 128) ||
	    presence_state_name(state) == NULL)
		return PRESENCE_E_INVAL;
	if (p->destroying)
		return PRESENCE_E_DESTROYED;

	slot = member_slot(p, room, member);
	m = *slot;
	if (m == NULL) {
		m = member_new(p, room, member, name);
		if (m == NULL)
			return PRESENCE_E_NOMEM;
		m->state = state;
		m->since_ms = wall_ms();
		*slot = m;
	} else {
		if (name != NULL && strcmp(name, m->name) != 0) {
			char *n = strdup(name);
			if (n == NULL)
				return PRESENCE_E_NOMEM;
			free(m->name);
			m->name = n;
		}
		if (m->state != state) {
			m->state = state;
			m->since_ms = wall_ms();
		}
	}

	if (state == PRESENCE_DISCONNECTED)
		uv_timer_start(&m->left_timer, left_timer_cb, p->opt.left_after_ms, 0);
	else
		uv_timer_stop(&m->left_timer);

	if (cb != NULL) {
		req = calloc(1, sizeof(*req));
		if (req == NULL) {
			rc = PRESENCE_E_NOMEM;
			goto out;
		}
		req->p = p;
		req->kind = REQ_WRITE;
		req->done = cb;
		req->ud = ud;
	}
	rc = write_member(p, m, true, req);
	if (rc < 0)
		free(req);
out:
	if (state == PRESENCE_LEFT || state == PRESENCE_COMPLETED)
		member_drop(slot);
	return rc;
}

int presence_adopt(struct presence *p, const char *room, const struct presence_entry *e)
{
	struct member **slot, *m;
	int64_t since, now = wall_ms(), left;

	if (p == NULL || e == NULL || !id_ok(room, AUTH_ROOM_MAX) || !id_ok(e->member, 128))
		return PRESENCE_E_INVAL;
	if (p->destroying)
		return PRESENCE_E_DESTROYED;
	if (e->state != PRESENCE_PRESENT && e->state != PRESENCE_DISCONNECTED)
		return 0;
	slot = member_slot(p, room, e->member);
	if (*slot != NULL)
		return 0;
	/* Its socket is not here: it has been away since its last sign of life. */
	since = e->state == PRESENCE_PRESENT ? e->seen_ms : e->since_ms;
	if (since > now)
		since = now;
	m = member_new(p, room, e->member, e->name);
	if (m == NULL)
		return PRESENCE_E_NOMEM;
	m->state = PRESENCE_DISCONNECTED;
	m->since_ms = since;
	*slot = m;
	left = since + (int64_t)p->opt.left_after_ms - now;
	uv_timer_start(&m->left_timer, left_timer_cb, left > 0 ? (uint64_t)left : 0, 0);
	return write_member(p, m, true, NULL);
}

void presence_forget_room(struct presence *p, const char *room)
{
	if (p == NULL || room == NULL)
		return;
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct member **pp = &p->buckets[b];
		while (*pp != NULL) {
			if (strcmp((*pp)->room, room) == 0)
				member_drop(pp);
			else
				pp = &(*pp)->next;
		}
	}
}

/* ---- replies ---------------------------------------------------------- */

static int reply_error(const redisReply *r)
{
	if (r == NULL)
		return PRESENCE_E_LOST;
	if (r->type == REDIS_REPLY_ERROR)
		return PRESENCE_E_REDIS;
	if (r->type == REDIS_REPLY_NIL) /* EXEC aborted */
		return PRESENCE_E_REDIS;
	if (r->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < r->elements; i++) {
			if (r->element[i]->type == REDIS_REPLY_ERROR)
				return PRESENCE_E_REDIS;
		}
	}
	return 0;
}

static void deliver_read(struct presence *p, struct req *req, const redisReply *r)
{
	struct presence_entry *entries = NULL;
	json_t **docs = NULL;
	size_t n = 0, pairs;
	int64_t now = wall_ms();
	int err = reply_error(r);

	if (err == 0 && r->type != REDIS_REPLY_ARRAY)
		err = PRESENCE_E_BADDATA;
	if (err < 0) {
		req->read(req->ud, p->destroying ? PRESENCE_E_DESTROYED : err, NULL, 0);
		return;
	}
	pairs = r->elements / 2;
	entries = calloc(pairs > 0 ? pairs : 1, sizeof(*entries));
	docs = calloc(pairs > 0 ? pairs : 1, sizeof(*docs));
	if (entries == NULL || docs == NULL) {
		free(entries);
		free(docs);
		req->read(req->ud, PRESENCE_E_NOMEM, NULL, 0);
		return;
	}
	for (size_t i = 0; i < pairs; i++) {
		const redisReply *k = r->element[2 * i], *v = r->element[2 * i + 1];
		json_t *o, *st, *nm, *since, *seen, *node;
		struct presence_entry *e = &entries[n];

		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		o = json_loadb(v->str, (size_t)v->len, 0, NULL);
		st = json_object_get(o, "state");
		nm = json_object_get(o, "name");
		since = json_object_get(o, "since");
		seen = json_object_get(o, "seen");
		node = json_object_get(o, "node");
		if (!json_is_string(st) ||
		    presence_state_parse(json_string_value(st), &e->stored) < 0 ||
		    !json_is_integer(since)) {
			json_decref(o);
			continue;
		}
		docs[n] = o;
		e->member = k->str;
		e->name = json_is_string(nm) ? json_string_value(nm) : "";
		e->node = json_is_string(node) ? json_string_value(node) : "";
		e->since_ms = json_integer_value(since);
		e->seen_ms = json_is_integer(seen) ? json_integer_value(seen) : e->since_ms;
		e->state = e->stored;
		if (e->state == PRESENCE_PRESENT &&
		    now - e->seen_ms > 3 * (int64_t)p->opt.heartbeat_ms) {
			/* Its node stopped refreshing it: treat it as a dropped socket. */
			e->state = PRESENCE_DISCONNECTED;
			e->since_ms = e->seen_ms;
		}
		if (e->state == PRESENCE_DISCONNECTED &&
		    now - e->since_ms >= (int64_t)p->opt.left_after_ms) {
			e->state = PRESENCE_LEFT;
			e->since_ms += (int64_t)p->opt.left_after_ms;
		}
		n++;
	}
	req->read(req->ud, 0, entries, n);
	for (size_t i = 0; i < n; i++)
		json_decref(docs[i]);
	free(docs);
	free(entries);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct req *req = privdata;
	struct presence *p = req->p;
	const redisReply *reply = r;

	if (reply != NULL)
		redisconn_replied(&p->cmd);
	switch (req->kind) {
	case REQ_WRITE: {
		int err = reply_error(reply);
		if (err == PRESENCE_E_LOST && p->destroying)
			err = PRESENCE_E_DESTROYED;
		req->done(req->ud, err);
		break;
	}
	case REQ_READ:
		deliver_read(p, req, reply);
		break;
	case REQ_INTERNAL:
		if (reply != NULL && reply_error(reply) < 0)
			log_event(LOG_WARN, "redis.error", "conn=cmd error=%s",
				  reply->type == REDIS_REPLY_ERROR ? reply->str : "EXEC failed");
		break;
	}
	free(req);
}

int presence_read(struct presence *p, const char *room, presence_read_cb cb, void *ud)
{
	char key[AUTH_ROOM_MAX * 4 + 64];
	struct req *req;

	if (p == NULL || cb == NULL || !id_ok(room, AUTH_ROOM_MAX))
		return PRESENCE_E_INVAL;
	if (p->destroying)
		return PRESENCE_E_DESTROYED;
	if (!redisconn_up(&p->cmd))
		return PRESENCE_E_DOWN;
	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return PRESENCE_E_NOMEM;
	req->p = p;
	req->kind = REQ_READ;
	req->read = cb;
	req->ud = ud;
	hash_key(key, sizeof(key), room);
	if (redisAsyncCommand(redisconn_ctx(&p->cmd), on_reply, req, "HGETALL %s", key) !=
	    REDIS_OK) {
		free(req);
		return PRESENCE_E_DOWN;
	}
	redisconn_sent(&p->cmd);
	return 0;
}

/* ---- heartbeat and catch-up ------------------------------------------- */

/* After a reconnect: rewrites and republishes every tracked member. */
static void republish_all(struct presence *p)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		for (struct member *m = p->buckets[b]; m != NULL; m = m->next) {
			if (write_member(p, m, true, NULL) == PRESENCE_E_DOWN)
				return;
		}
	}
}

/*
 * The heartbeat rewrites every member present, a slice at a time: a
 * thousand members in one go (four commands each) held the loop for 7 to 12
 * ms, and every keystroke read in that turn waited as long.  A slice ends
 * after PRESENCE_SLICE_US, at a bucket's end, and the next one comes at
 * once on the same timer, after the loop read its sockets; the sweep over,
 * the timer waits heartbeat_ms again.
 */
#define PRESENCE_SLICE_US 250

static void heartbeat_cb(uv_timer_t *t)
{
	struct presence *p = t->data;
	uint64_t t0 = uv_hrtime();
	bool down = false;

	while (p->sweep < NBUCKETS && !down && uv_hrtime() - t0 <= PRESENCE_SLICE_US * 1000u) {
		for (struct member *m = p->buckets[p->sweep]; m != NULL && !down; m = m->next)
			down = m->state == PRESENCE_PRESENT &&
			       write_member(p, m, false, NULL) == PRESENCE_E_DOWN;
		p->sweep++;
	}
	if (p->sweep < NBUCKETS && !down) {
		uv_timer_start(t, heartbeat_cb, 0, p->opt.heartbeat_ms);
		return;
	}
	p->sweep = 0;
	uv_timer_start(t, heartbeat_cb, p->opt.heartbeat_ms, p->opt.heartbeat_ms);
}

static void on_cmd_up(void *ud)
{
	republish_all(ud);
}

/* ---- subscriptions ---------------------------------------------------- */

static void on_message(redisAsyncContext *ac, void *r, void *privdata)
{
	struct presence *p = privdata;
	const redisReply *reply = r;
	json_t *o;
	struct presence_event ev;
	const char *st;

	if (reply == NULL || p->destroying || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3 || reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(reply->element[0]->str, "message") != 0 ||
	    reply->element[2]->type != REDIS_REPLY_STRING)
		return;
	json_int_t since = 0;
	o = json_loadb(reply->element[2]->str, (size_t)reply->element[2]->len, 0, NULL);
	if (json_unpack(o, "{s:s, s:s, s:s, s:s, s:I, s:s}", "room", &ev.room, "member", &ev.member,
			"state", &st, "name", &ev.name, "since", &since, "node", &ev.node) != 0 ||
	    presence_state_parse(st, &ev.state) < 0 || strcmp(ev.node, p->node) == 0) {
		json_decref(o);
		return;
	}
	ev.since_ms = since;
	ev.remote = true;
	if (p->opt.on_event != NULL)
		p->opt.on_event(p->opt.ud, &ev);
	json_decref(o);
}

static void subscribe(struct presence *p, const char *room, bool on)
{
	char chan[AUTH_ROOM_MAX * 4 + 64];

	redisAsyncContext *ac = redisconn_ctx(&p->sub);

	if (ac == NULL)
		return;
	chan_key(chan, sizeof(chan), room);
	if (on)
		redisAsyncCommand(ac, on_message, p, "SUBSCRIBE %s", chan);
	else
		redisAsyncCommand(ac, NULL, NULL, "UNSUBSCRIBE %s", chan);
}

static void on_sub_up(void *ud)
{
	struct presence *p = ud;

	for (struct watch *w = p->watches; w != NULL; w = w->next)
		subscribe(p, w->room, true);
}

int presence_watch(struct presence *p, const char *room)
{
	struct watch *w;

	if (p == NULL || !id_ok(room, AUTH_ROOM_MAX))
		return PRESENCE_E_INVAL;
	if (p->destroying)
		return PRESENCE_E_DESTROYED;
	for (w = p->watches; w != NULL; w = w->next) {
		if (strcmp(w->room, room) == 0)
			return 0;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL || (w->room = strdup(room)) == NULL) {
		free(w);
		return PRESENCE_E_NOMEM;
	}
	w->next = p->watches;
	p->watches = w;
	/* The subscriber connects on first use (and subscribes to every watch once up). */
	redisconn_start(&p->sub);
	subscribe(p, room, true);
	return 0;
}

void presence_unwatch(struct presence *p, const char *room)
{
	if (p == NULL || room == NULL)
		return;
	for (struct watch **pp = &p->watches; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->room, room) == 0) {
			struct watch *w = *pp;
			*pp = w->next;
			if (!p->destroying)
				subscribe(p, w->room, false);
			free(w->room);
			free(w);
			return;
		}
	}
}

/* ---- life cycle ------------------------------------------------------- */

bool presence_healthy(const struct presence *p)
{
	if (p == NULL || !redisconn_up(&p->cmd))
		return false;
	return p->watches == NULL || redisconn_up(&p->sub);
}

const char *presence_node_id(const struct presence *p)
{
	return p->node;
}

static void conn_init(struct presence *p, struct redisconn *rc, const char *name,
		      void (*up)(void *ud))
{
	struct redisconn_options o = {
		.host = p->host,
		.port = p->opt.port,
		.db = p->opt.db,
		.connect_timeout_ms = p->opt.connect_timeout_ms,
		.command_timeout_ms = p->opt.command_timeout_ms,
		.backoff_min_ms = p->opt.backoff_min_ms,
		.backoff_max_ms = p->opt.backoff_max_ms,
		.name = name,
		.up = up,
		.ud = p,
	};

	redisconn_init(rc, p->loop, &o);
	p->open_handles++;
}

int presence_create(uv_loop_t *loop, const struct presence_options *opts, struct presence **out)
{
	struct presence *p;

	if (loop == NULL || out == NULL)
		return PRESENCE_E_INVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return PRESENCE_E_NOMEM;
	if (opts != NULL)
		p->opt = *opts;
	p->host = strdup(p->opt.host != NULL ? p->opt.host : "127.0.0.1");
	if (p->host == NULL) {
		free(p);
		return PRESENCE_E_NOMEM;
	}
	p->opt.host = NULL;
	if (p->opt.port == 0)
		p->opt.port = 6379;
	if (p->opt.left_after_ms == 0)
		p->opt.left_after_ms = 300000;
	if (p->opt.heartbeat_ms == 0)
		p->opt.heartbeat_ms = 10000;
	if (p->opt.ttl_ms == 0)
		p->opt.ttl_ms = 86400000;
	/* The connections' timeouts and backoff take their defaults in redisconn.c. */
	if (p->opt.node_id != NULL && id_ok(p->opt.node_id, sizeof(p->node) - 1))
		snprintf(p->node, sizeof(p->node), "%s", p->opt.node_id);
	else if (auth_random_id(p->node, 13) < 0)
		snprintf(p->node, sizeof(p->node), "node-%llx", (unsigned long long)uv_hrtime());
	p->opt.node_id = NULL;
	p->loop = loop;

	conn_init(p, &p->cmd, "cmd", on_cmd_up);
	conn_init(p, &p->sub, "sub", on_sub_up);
	uv_timer_init(loop, &p->heartbeat);
	p->heartbeat.data = p;
	p->open_handles++;
	uv_timer_start(&p->heartbeat, heartbeat_cb, p->opt.heartbeat_ms, p->opt.heartbeat_ms);
	redisconn_start(&p->cmd);
	*out = p;
	return 0;
}

static void conn_closed(void *ud)
{
	handle_closed(ud);
}

void presence_destroy(struct presence *p)
{
	if (p == NULL || p->destroying)
		return;
	p->destroying = true;
	/* Pending requests get NULL replies and fail with PRESENCE_E_DESTROYED. */
	redisconn_finish(&p->cmd, conn_closed);
	redisconn_finish(&p->sub, conn_closed);
	uv_timer_stop(&p->heartbeat);
	uv_close((uv_handle_t *)&p->heartbeat, plain_close_cb);
	for (size_t b = 0; b < NBUCKETS; b++) {
		while (p->buckets[b] != NULL)
			member_drop(&p->buckets[b]);
	}
	while (p->watches != NULL) {
		struct watch *w = p->watches;
		p->watches = w->next;
		free(w->room);
		free(w);
	}
}
