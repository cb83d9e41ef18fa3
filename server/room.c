/*
 * room.c - a room: two editing seats, observers, one CRDT document; its
 * registry, life cycle, loading, presence, joins and leaves.
 *
 * This is where the server decides what a message means (with room-edit.c
 * for CRDT updates and room-msg.c for runs and control messages, which
 * share struct room through room-internal.h).  It trusts nothing a client
 * says: the seat comes from the verified token, a CRDT update is checked
 * to contain only operations of agents this server handed to that seat
 * before it is merged, and every limit is enforced here.  It never touches
 * a socket directly (conn.c queues frames) and never blocks.  Every event
 * of the room goes to its timeline (timeline.c), and an edit is
 * acknowledged to its sender only once the timeline says it is durable, in
 * the order the edits arrived.
 *
 * A room not in memory is loaded the first time someone asks for it (a
 * join, a REST call: room_get), with every asker waiting on one load: its
 * stored row, snapshot and agents (store.c), then every edit the timeline
 * has after the seq the snapshot covers (from PostgreSQL and from the Redis
 * Stream entries not flushed yet, so a kill -9 loses nothing that was
 * acknowledged), then its presence.  An empty room is freed once
 * everything about it is stored.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "presence.h"
#include "room-internal.h"
#include "room.h"
#include "store.h"
#include "timeline.h"

static const char *const pstate_names[] = { "NONE", "PRESENT", "DISCONNECTED", "LEFT",
					    "COMPLETED" };

int room__seat_index(enum seat s)
{
	return s == SEAT_INTERVIEWER ? 0 : s == SEAT_CANDIDATE ? 1 : -1;
}

/* ---- the registry ------------------------------------------------------- */

static uint64_t hash_id(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

struct room *room_find(struct server *srv, const char *id)
{
	size_t i;

	if (!srv->rooms_cap || !id)
		return NULL;
	for (i = hash_id(id) & (srv->rooms_cap - 1); srv->rooms[i];
	     i = (i + 1) & (srv->rooms_cap - 1))
		if (strcmp(srv->rooms[i]->id, id) == 0)
			return srv->rooms[i];
	return NULL;
}

static int registry_put(struct server *srv, struct room *r)
{
	size_t i;

	if ((srv->nrooms + 1) * 2 > srv->rooms_cap) {
		size_t ncap = srv->rooms_cap ? srv->rooms_cap * 2 : 64;
		struct room **nt = calloc(ncap, sizeof(*nt));

		if (!nt)
			return -1;
		for (size_t k = 0; k < srv->rooms_cap; k++) {
			struct room *o = srv->rooms[k];

			if (!o)
				continue;
			for (i = hash_id(o->id) & (ncap - 1); nt[i]; i = (i + 1) & (ncap - 1))
				;
			nt[i] = o;
		}
		free(srv->rooms);
		srv->rooms = nt;
		srv->rooms_cap = ncap;
	}
	for (i = hash_id(r->id) & (srv->rooms_cap - 1); srv->rooms[i];
	     i = (i + 1) & (srv->rooms_cap - 1))
		;
	srv->rooms[i] = r;
	srv->nrooms++;
	return 0;
}

static void registry_del(struct server *srv, struct room *r)
{
	size_t mask = srv->rooms_cap - 1, i, j;

	for (i = hash_id(r->id) & mask; srv->rooms[i] && srv->rooms[i] != r; i = (i + 1) & mask)
		;
	if (!srv->rooms[i])
		return;
	srv->rooms[i] = NULL;
	srv->nrooms--;
	/* Shift back the entries of the probe run that follows, so lookups still find them. */
	for (j = (i + 1) & mask; srv->rooms[j]; j = (j + 1) & mask) {
		struct room *o = srv->rooms[j];
		size_t home = hash_id(o->id) & mask;

		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			srv->rooms[i] = o;
			srv->rooms[j] = NULL;
			i = j;
		}
	}
}

struct room *room_create(struct server *srv, const char *id, const char *problem)
{
	struct room *r;

	if (strlen(id) >= sizeof(r->id) || (problem && strlen(problem) >= sizeof(r->problem)) ||
	    room_find(srv, id))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->srv = srv;
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->problem, sizeof(r->problem), "%s", problem ? problem : "");
	r->doc = crdt_doc_create(NULL);
	r->next_agent = 1;
	if (srv->timeline && !(r->tl = timeline_room(srv->timeline, r->id))) {
		crdt_doc_destroy(r->doc);
		free(r);
		return NULL;
	}
	for (int k = 0; k < 2; k++) {
		r->member[k].room = r;
		r->member[k].idx = k;
	}
	if (!r->doc || registry_put(srv, r)) {
		crdt_doc_destroy(r->doc);
		free(r);
		return NULL;
	}
	return r;
}

const char *room_id(const struct room *r)
{
	return r->id;
}

const char *room_problem(const struct room *r)
{
	return r->problem;
}

bool room_closed(const struct room *r)
{
	return r->closed;
}

static void room_free(struct room *r)
{
	lws_sul_cancel(&r->idle_sul);
	/* Its timeline's index goes too, unless events of it still wait (they keep it). */
	if (r->tl && r->srv->timeline)
		timeline_room_release(r->tl);
	while (r->acks) {
		struct pending_ack *a = r->acks;

		r->acks = a->next;
		free(a);
	}
	if (r->srv->presence)
		presence_forget_room(r->srv->presence, r->id);
	room__problem_free(r);
	crdt_doc_destroy(r->doc);
	free(r->owners);
	free(r->member[0].name);
	free(r->member[1].name);
	free(r);
}

void room_discard(struct room *r)
{
	for (struct conn *c = r->conns; c; c = c->room_next)
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "room discarded");
	while (r->conns)
		room_leave(r->conns);
	registry_del(r->srv, r);
	room_free(r);
}

void rooms_free(struct server *srv)
{
	for (size_t i = 0; i < srv->rooms_cap; i++)
		if (srv->rooms[i])
			room_free(srv->rooms[i]);
	free(srv->rooms);
	srv->rooms = NULL;
	srv->rooms_cap = srv->nrooms = 0;
}

static int load_snapshot(struct room *r, const uint8_t *data, size_t len)
{
	struct crdt_version v;
	int rc = crdt_apply(r->doc, data, len);

	if (rc)
		return rc;
	/* Agent ids only grow: never hand out one the document has seen. */
	crdt_version_init(&v, NULL);
	if (crdt_doc_version(r->doc, &v) == 0)
		for (size_t i = 0; i < v.len; i++)
			if (v.v[i].agent >= r->next_agent && v.v[i].agent < UINT32_MAX)
				r->next_agent = v.v[i].agent + 1;
	crdt_version_finish(&v);
	return 0;
}

int64_t room_token_epoch(const struct room *r)
{
	return r->token_epoch;
}

static void idle_due(lws_sorted_usec_list_t *sul);

/*
 * Arms the idle timer of an empty room: after the LEFT timers of its seats
 * would have run (presence keeps no timers for a freed room), plus a margin.
 */
static void arm_idle(struct room *r, uint64_t ms)
{
	if (r->conns || !r->persisted || !r->srv->ctx || r->srv->stopping)
		return;
	lws_sul_schedule(r->srv->ctx, 0, &r->idle_sul, idle_due, (lws_usec_t)ms * LWS_US_PER_MS);
}

static void idle_due(lws_sorted_usec_list_t *sul)
{
	struct room *r = lws_container_of(sul, struct room, idle_sul);

	if (r->conns || r->srv->stopping)
		return;
	/* Not yet all in PostgreSQL: look again a little later. */
	if (r->dirty || r->saving || r->run || r->prob_loading || r->acks ||
	    (r->tl && r->srv->timeline && timeline_room_release(r->tl))) {
		if (r->dirty)
			room_save(r);
		arm_idle(r, 5000);
		return;
	}
	r->tl = NULL; /* released above */
	log_event(LOG_INFO, "room.free", "room=%s msg=%s", r->id, "idle and persisted");
	registry_del(r->srv, r);
	room_free(r);
}

void room_mark_persisted(struct room *r)
{
	r->persisted = true;
	arm_idle(r, (uint64_t)r->srv->lim.left_after_ms + 5000);
}

static uint64_t snapshot_wait(void);

static void on_saved(void *ud, int err)
{
	struct room *r = ud;

	r->saving = false;
	if (err) {
		r->dirty = true; /* try again a while later, or at shutdown */
		if (!r->save_at)
			r->save_at = uv_now(r->srv->loop) + snapshot_wait();
	}
}

/* Writes the room's snapshot now if it changed since the last save. */
int room_save(struct room *r)
{
	struct crdt_buf snap, ver;
	struct crdt_version v;
	int rc;

	uint64_t seq = r->tl ? timeline_last_seq(r->tl) : 0;

	if (!r->dirty || r->saving || !r->srv->db)
		return 0;
	/*
	 * A snapshot records the seq it covers; a load replays only later
	 * events.  Save only when every event so far is durable, so no
	 * snapshot ever holds an edit the timeline could still lose.
	 */
	if (r->tl && timeline_durable_seq(r->tl) != seq) {
		if (!r->srv->stopping)
			r->save_at = uv_now(r->srv->loop) + 200;
		return 0;
	}
	crdt_buf_init(&snap, NULL);
	crdt_buf_init(&ver, NULL);
	crdt_version_init(&v, NULL);
	rc = crdt_encode_doc(r->doc, &snap);
	if (!rc)
		rc = crdt_doc_version(r->doc, &v);
	if (!rc)
		rc = crdt_version_encode(&v, &ver);
	if (!rc)
		rc = store_save_doc(r->srv->db, r->id, snap.data, snap.len, ver.data, ver.len, seq,
				    on_saved, r);
	if (!rc) {
		r->dirty = false;
		r->saving = true;
	}
	crdt_buf_finish(&snap);
	crdt_buf_finish(&ver);
	crdt_version_finish(&v);
	return rc;
}

/*
 * The snapshots that are due.  One timer sweeps the rooms every
 * SAVE_TICK_MS instead of a timer per room: lws keeps its timers in one
 * sorted list that an insertion walks from the front, and with a thousand
 * connections' own timers in it, each room's 30 s timer cost ~250 us to set
 * (4% of the server's CPU under the load benchmark, for 17 saves a second).
 */
void rooms_save_due(uv_timer_t *t)
{
	struct server *srv = t->data;
	uint64_t now = uv_now(srv->loop);

	for (size_t i = 0; i < srv->rooms_cap; i++) {
		struct room *r = srv->rooms[i];

		if (r && r->save_at && r->save_at <= now) {
			r->save_at = 0;
			room_save(r);
		}
	}
}

/*
 * How long a changed document waits for its snapshot.  The timeline holds
 * every edit durably, so a snapshot only bounds the replay when a room is
 * loaded (a busy room's 30 s are ~300 events, a millisecond to apply); a
 * shorter wait would re-encode every busy document over and over (at one
 * second, 500 typing rooms cost PostgreSQL more than their edits).  An
 * empty room is saved before it is freed, and every room at shutdown.
 */
#define SNAPSHOT_AFTER_MS 30000

/*
 * The wait is drawn from 15..45 s.  Rooms whose typing starts together (a
 * restart reloading them all, interviews booked on the hour, the load
 * benchmark) would otherwise all save within the same few hundred
 * milliseconds, every 30 s: 500 documents encoded in one loop iteration and
 * 500 upserts landing on PostgreSQL at once, which every keystroke in
 * flight then waits behind.  Any PRNG will do; xorshift64 keeps it cheap.
 */
static uint64_t snapshot_wait(void)
{
	static uint64_t x;

	if (!x)
		x = uv_hrtime() | 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return SNAPSHOT_AFTER_MS / 2 + x % SNAPSHOT_AFTER_MS;
}

void room__mark_dirty(struct room *r)
{
	if (r->dirty)
		return;
	r->dirty = true;
	r->save_at = uv_now(r->srv->loop) + snapshot_wait();
}

void rooms_save_all(struct server *srv)
{
	for (size_t i = 0; i < srv->rooms_cap; i++)
		if (srv->rooms[i])
			room_save(srv->rooms[i]);
}

/* ---- fan-out ------------------------------------------------------------ */

/* c gets m, delivered as how says, from `from` (proto.h's table). */
static bool delivered_to(enum proto_msg m, unsigned how, const struct conn *c,
			 const struct conn *from)
{
	return proto_receives(m, c->seat) && !((how & PROTO_OTHERS) && c == from);
}

/*
 * Sends msg (consumed), a message of type m, as proto.h's table says: to
 * every joined connection whose seat receives m, except `from` when m goes
 * to the others (from may be NULL), superseded rather than queued for a
 * connection far behind when m is PROTO_LATEST.  Replies to one connection
 * go through room__reply().
 */
void room__send(struct room *r, enum proto_msg m, json_t *msg, const struct conn *from)
{
	unsigned how = proto_delivery(m);
	char *text = NULL;
	size_t len = 0;

	assert(how & (PROTO_ROOM | PROTO_OTHERS));
	for (struct conn *c = r->conns; msg && c; c = c->room_next) {
		if (!delivered_to(m, how, c, from))
			continue;
		/* Serialized once, for the first connection that receives it. */
		if (!text && !(text = json_dumps(msg, JSON_COMPACT)))
			break;
		if (!len)
			len = strlen(text);
		conn_send_text(c, text, len, how & PROTO_LATEST);
	}
	free(text);
	json_decref(msg);
}

void room__send_text(struct room *r, enum proto_msg m, const char *text, size_t len,
		     const struct conn *from)
{
	unsigned how = proto_delivery(m);

	assert(how & (PROTO_ROOM | PROTO_OTHERS));
	for (struct conn *c = r->conns; c; c = c->room_next)
		if (delivered_to(m, how, c, from))
			conn_send_text(c, text, len, how & PROTO_LATEST);
}

/* Sends msg (consumed), a reply of type m, to c, if c's seat receives m. */
void room__reply(struct conn *c, enum proto_msg m, json_t *msg)
{
	assert(proto_delivery(m) & PROTO_REPLY);
	if (proto_receives(m, c->seat))
		conn_send_json(c, msg);
	else
		json_decref(msg);
}

static json_t *version_json(const struct crdt_version *v)
{
	json_t *o = json_object();
	char key[16];

	for (size_t i = 0; o && i < v->len; i++) {
		snprintf(key, sizeof(key), "%u", v->v[i].agent);
		json_object_set_new(o, key, json_integer(v->v[i].next));
	}
	return o;
}

/*
 * Appends a non-edit event to the room's timeline (payload consumed).
 * This is not refused when the backlog is full: the server's own events
 * (joins, presence, runs) are few and small; what clients send (notes,
 * events) is refused before it gets here (timeline_refuses), as edits are
 * (room_on_update).
 */
void room__record(struct room *r, const char *kind, const char *actor, json_t *payload)
{
	int rc;

	if (r->tl && r->srv->timeline) {
		rc = timeline_append(r->tl, kind, actor, payload, NULL, 0, NULL, 0, NULL);
		if (rc)
			log_event(LOG_ERROR, "timeline.append", "room=%s kind=%s error=%s", r->id,
				  kind, timeline_strerror(rc));
	}
	json_decref(payload);
}

struct timeline_room *room_timeline(const struct room *r)
{
	return r->tl;
}

int room_text_at(const struct room *r, int64_t at_ms, char **text, size_t *len, uint64_t *seq)
{
	struct crdt_version v;
	struct crdt_buf buf;
	int rc;

	if (!r->tl)
		return -1;
	crdt_version_init(&v, NULL);
	crdt_buf_init(&buf, NULL);
	rc = timeline_version_at(r->tl, at_ms, &v, seq);
	if (!rc)
		rc = crdt_text_at(r->doc, &v, &buf);
	if (!rc) {
		*text = malloc(buf.len + 1);
		if (*text) {
			if (buf.len)
				memcpy(*text, buf.data, buf.len);
			(*text)[buf.len] = '\0';
			*len = buf.len;
		} else {
			rc = -1;
		}
	}
	crdt_version_finish(&v);
	crdt_buf_finish(&buf);
	return rc ? -1 : 0;
}

/*
 * A copy of a person's name, through malloc() itself (glibc's strdup()
 * allocates where the tests' allocation-failure wrappers cannot reach).
 */
static char *name_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	return d ? memcpy(d, s, n) : NULL;
}

/* A seat's person's name, "" while nobody has held it. */
static const char *member_name(const struct member *m)
{
	return m->name ? m->name : "";
}

json_t *room_presence_json(const struct room *r)
{
	json_t *a = json_array();

	for (int k = 0; k < 2; k++) {
		const struct member *m = &r->member[k];

		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s, s:I}", "seat",
				     proto_seat_name(k ? SEAT_CANDIDATE : SEAT_INTERVIEWER), "name",
				     member_name(m), "state", pstate_names[m->state], "since",
				     (json_int_t)m->since_ms));
	}
	return a;
}

static void publish_presence(struct room *r)
{
	json_t *msg = json_pack("{s:s, s:o, s:i}", PROTO_T(PROTO_PRESENCE), "members",
				room_presence_json(r), "observers", (int)r->observers);

	room__send(r, PROTO_PRESENCE, msg, NULL);
}

/* Moves seat k to st; write: also record it in Redis (not for Redis's own events). */
static void apply_state(struct room *r, int k, enum pstate st, bool write)
{
	struct member *m = &r->member[k];
	const char *seat = proto_seat_name(k ? SEAT_CANDIDATE : SEAT_INTERVIEWER);

	if (m->state == st)
		return;
	m->state = st;
	m->since_ms = server_now_ms();
	log_event(LOG_INFO, "presence", "room=%s seat=%s state=%s", r->id, seat, pstate_names[st]);
	room__record(r, "presence", seat,
		     json_pack("{s:s, s:s, s:s}", "seat", seat, "state", pstate_names[st], "name",
			       member_name(m)));
	/* The presence module also runs the DISCONNECTED -> LEFT timer and tells us. */
	if (write && r->srv->presence)
		presence_set(r->srv->presence, r->id, seat, member_name(m),
			     (enum presence_state)(st - P_PRESENT), NULL, NULL);
	publish_presence(r);
}

static void set_state(struct room *r, int k, enum pstate st)
{
	apply_state(r, k, st, true);
}

void room_presence_event(struct server *srv, const struct presence_event *ev)
{
	struct room *r = room_find(srv, ev->room);
	enum seat seat = proto_seat_parse(ev->member);
	int k = room__seat_index(seat);

	if (!r || k < 0 || r->closed)
		return;
	/* A LEFT from the timer only counts while the seat is still away. */
	if (ev->state == PRESENCE_LEFT && r->member[k].state != P_DISCONNECTED)
		return;
	if (ev->state == PRESENCE_LEFT || ev->remote)
		apply_state(r, k, (enum pstate)(ev->state + P_PRESENT), false);
}

static void presence_loaded(struct room *r, const struct presence_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int k = room__seat_index(proto_seat_parse(e[i].member));
		struct member *m;

		if (k < 0 || r->member[k].state != P_NONE)
			continue;
		m = &r->member[k];
		m->state = (enum pstate)(e[i].state + P_PRESENT);
		m->since_ms = (uint64_t)e[i].since_ms;
		if (e[i].name) {
			char *name = name_dup(e[i].name);

			if (name) { /* without it the seat is only nameless */
				free(m->name);
				m->name = name;
			}
		}
		if ((m->state != P_PRESENT && m->state != P_DISCONNECTED) || r->seat_conn[k])
			continue;
		/*
		 * No socket here: the node that had it died or restarted (one node
		 * per room today), so the seat is away since its last sign of
		 * life.  presence.c takes it over and runs its LEFT timer, which
		 * comes back through room_presence_event().
		 */
		if (m->state == P_PRESENT) {
			m->state = P_DISCONNECTED;
			m->since_ms = (uint64_t)e[i].seen_ms;
			room__record(r, "presence", e[i].member,
				     json_pack("{s:s, s:s, s:s}", "seat", e[i].member, "state",
					       "DISCONNECTED", "name", member_name(m)));
		}
		if (r->srv->presence)
			presence_adopt(r->srv->presence, r->id, &e[i]);
	}
}

/* ---- storing what REST does ------------------------------------------------- */

struct stored {
	struct server *srv;
	char id[48];
	room_done_cb *done;
	void *ud;
};

static struct stored *stored_new(struct server *srv, const char *id, room_done_cb *done, void *ud)
{
	struct stored *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->srv = srv;
	snprintf(st->id, sizeof(st->id), "%s", id);
	st->done = done;
	st->ud = ud;
	return st;
}

static void on_created(void *ud, int err)
{
	struct stored *st = ud;
	/* By id: nothing else knows the room yet, but be as careful as on_closed. */
	struct room *r = room_find(st->srv, st->id);

	if (r && err)
		room_discard(r);
	else if (r)
		room_mark_persisted(r);
	st->done(st->ud, err ? -1 : 0);
	free(st);
}

int room_list(struct server *srv, const struct store_page *page, store_list_cb *cb, void *ud)
{
	return srv->db ? store_list_rooms(srv->db, page, cb, ud) : -1;
}

int room_store_new(struct room *r, room_done_cb *done, void *ud)
{
	struct stored *st;

	if (!r->srv->db) {
		done(ud, 0);
		return 0;
	}
	st = stored_new(r->srv, r->id, done, ud);
	if (!st || store_create_room(r->srv->db, r->id, r->problem[0] ? r->problem : NULL,
				     on_created, st)) {
		free(st);
		room_discard(r);
		return -1;
	}
	return 0;
}

/*
 * PostgreSQL answered the close.  Only now is the room closed in memory: a
 * close is closed once it is durable, and one that failed leaves the room
 * as it was.
 */
static void on_closed(void *ud, int err)
{
	struct stored *st = ud;
	/* By id: an empty room may have been freed meanwhile (it loads closed). */
	struct room *r = room_find(st->srv, st->id);

	if (!err && r)
		room_close(r);
	st->done(st->ud, err ? -1 : 0);
	free(st);
}

int room_close_durably(struct server *srv, const char *id, room_done_cb *done, void *ud)
{
	struct stored *st;

	if (!srv->db) {
		struct room *r = room_find(srv, id);

		if (r)
			room_close(r);
		done(ud, 0);
		return 0;
	}
	st = stored_new(srv, id, done, ud);
	if (!st || store_close_room(srv->db, id, on_closed, st)) {
		free(st);
		return -1;
	}
	return 0;
}

/* ---- loading ---------------------------------------------------------------- */

struct waiter {
	room_get_cb *cb;
	void *ud;
	struct waiter *next;
};

/* One load in flight; every asker for the same room waits on it. */
struct load {
	struct server *srv;
	char id[64];
	struct room *room;
	struct waiter *waiters;
	struct load *next;
	bool replay_failed;
};

static struct load *loads;

static void finish_load(struct load *ld, int status)
{
	struct load **p;

	for (p = &loads; *p && *p != ld; p = &(*p)->next)
		;
	if (*p)
		*p = ld->next;
	/* A half-loaded room must not stay in memory: the next asker loads it afresh. */
	if (status != 200 && ld->room) {
		room_discard(ld->room);
		ld->room = NULL;
	}
	if (status == 200)
		room_mark_persisted(ld->room);
	while (ld->waiters) {
		struct waiter *w = ld->waiters;

		ld->waiters = w->next;
		w->cb(w->ud, status == 200 ? ld->room : NULL, status);
		free(w);
	}
	free(ld);
}

static void on_presence_read(void *ud, int err, const struct presence_entry *e, size_t n)
{
	struct load *ld = ud;

	if (!err)
		presence_loaded(ld->room, e, n);
	finish_load(ld, 200);
}

/* An edit the snapshot lacks: merged into the document. */
static void on_edit(void *ud, uint64_t seq, const uint8_t *ops, size_t len)
{
	struct load *ld = ud;
	int rc;

	if (!ops)
		return;
	rc = load_snapshot(ld->room, ops, len);
	if (rc) {
		log_event(LOG_ERROR, "room.load", "room=%s step=replay seq=%llu error=%s", ld->id,
			  (unsigned long long)seq, crdt_strerror(rc));
		ld->replay_failed = true;
	}
}

/* The timeline after the snapshot is in the document: presence is last. */
static void on_timeline(void *ud, int err)
{
	struct load *ld = ud;

	if (err || ld->replay_failed) {
		if (err)
			log_event(LOG_ERROR, "room.load", "room=%s step=timeline error=%s", ld->id,
				  timeline_strerror(err));
		finish_load(ld, 503);
		return;
	}
	log_event(LOG_INFO, "room.load", "room=%s", ld->id);
	if (ld->srv->presence &&
	    presence_read(ld->srv->presence, ld->id, on_presence_read, ld) == 0)
		return;
	finish_load(ld, 200);
}

/* store.c read the room's row, snapshot and agents: build the room from them. */
static void on_stored(void *ud, int status, const struct store_room *row)
{
	struct load *ld = ud;
	struct room *r;
	int rc;

	if (status != 200) {
		finish_load(ld, status);
		return;
	}
	/* Someone may have created it meanwhile (it cannot: ids are random). */
	r = room_find(ld->srv, ld->id);
	if (!r)
		r = room_create(ld->srv, ld->id, row->problem);
	if (!r) {
		finish_load(ld, 503);
		return;
	}
	ld->room = r;
	r->closed = row->closed;
	r->token_epoch = row->token_epoch;
	if (row->snapshot && (rc = load_snapshot(r, row->snapshot, row->snapshot_len)) != 0) {
		log_event(LOG_ERROR, "room.load", "room=%s step=snapshot error=%s", ld->id,
			  crdt_strerror(rc));
		finish_load(ld, 503);
		return;
	}
	for (size_t i = 0; i < row->nagents; i++)
		if (room__add_owner(r, row->agents[i].agent, row->agents[i].seat)) {
			finish_load(ld, 503);
			return;
		}
	if (r->tl) {
		if (timeline_load(r->tl, row->snap_seq, on_edit, on_timeline, ld))
			finish_load(ld, 503);
		return;
	}
	on_timeline(ld, 0);
}

int room_get(struct server *srv, const char *id, room_get_cb *cb, void *ud)
{
	struct room *r;
	struct waiter *w;
	struct load *ld;

	/*
	 * A room being loaded is registered before its load ends (its row comes
	 * first): askers wait for the whole load, never see it half-built.
	 */
	for (ld = loads; ld; ld = ld->next)
		if (strcmp(ld->id, id) == 0)
			break;
	r = ld ? NULL : room_find(srv, id);
	if (r) {
		cb(ud, r, 200);
		return 0;
	}
	if (!srv->db || strlen(id) >= sizeof(ld->id)) {
		cb(ud, NULL, 404);
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->cb = cb;
	w->ud = ud;
	if (ld) {
		w->next = ld->waiters;
		ld->waiters = w;
		return 0;
	}
	ld = calloc(1, sizeof(*ld));
	if (!ld) {
		free(w);
		return -1;
	}
	ld->srv = srv;
	snprintf(ld->id, sizeof(ld->id), "%s", id);
	ld->waiters = w;
	ld->next = loads;
	loads = ld;
	if (store_load_room(srv->db, id, on_stored, ld)) {
		loads = ld->next;
		free(ld);
		free(w);
		return -1;
	}
	return 0;
}

void room_get_cancel(void *ud)
{
	for (struct load *ld = loads; ld; ld = ld->next)
		for (struct waiter **p = &ld->waiters; *p;) {
			if ((*p)->ud == ud) {
				struct waiter *w = *p;

				*p = w->next;
				free(w);
			} else {
				p = &(*p)->next;
			}
		}
}

/* ---- join / leave -------------------------------------------------------- */

int room__add_owner(struct room *r, uint32_t agent, enum seat seat)
{
	if (agent >= r->next_agent)
		r->next_agent = agent + 1;
	if (r->nowners == r->capowners) {
		size_t ncap = r->capowners ? r->capowners * 2 : 8;
		struct owner *n = realloc(r->owners, ncap * sizeof(*n));

		if (!n)
			return -1;
		r->owners = n;
		r->capowners = ncap;
	}
	r->owners[r->nowners].agent = agent;
	r->owners[r->nowners].seat = seat;
	r->nowners++;
	return 0;
}

enum seat room__owner_of(const struct room *r, uint32_t agent)
{
	for (size_t i = 0; i < r->nowners; i++)
		if (r->owners[i].agent == agent)
			return r->owners[i].seat;
	return SEAT_NONE;
}

void room_join(struct room *r, struct conn *c, const char *name, const struct crdt_version *have,
	       json_t *id)
{
	struct crdt_version cur;
	struct crdt_buf buf;
	int k = room__seat_index(c->seat);
	char *member = NULL;
	json_t *welcome;
	int rc;

	if (name != c->name || !c->name) {
		char *n = name_dup(name ? name : "");

		if (!n) {
			conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of memory");
			return;
		}
		free(c->name);
		c->name = n;
	}
	if (k >= 0 && !(member = name_dup(c->name))) {
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of memory");
		return;
	}
	if (r->next_agent == UINT32_MAX || room__add_owner(r, r->next_agent, c->seat)) {
		free(member);
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of agent ids");
		return;
	}
	c->agent = r->next_agent - 1;
	store_add_agent(r->srv->db, r->id, c->agent, c->seat);
	c->room = r;
	c->room_prev = NULL;
	c->room_next = r->conns;
	if (r->conns)
		r->conns->room_prev = c;
	r->conns = c;

	/* A newer connection for an editing seat replaces the older one. */
	if (k >= 0) {
		struct conn *old = r->seat_conn[k];

		r->seat_conn[k] = c;
		if (old)
			conn_close(old, PROTO_CLOSE_REPLACED, "replaced by a newer connection");
		free(r->member[k].name);
		r->member[k].name = member; /* the room's now */
	} else {
		r->observers++;
	}

	crdt_version_init(&cur, NULL);
	crdt_buf_init(&buf, NULL);
	rc = crdt_doc_version(r->doc, &cur);
	/* A client with nothing gets the compact snapshot, not every operation as an update. */
	if (!rc)
		rc = have->len ? crdt_encode_since(r->doc, have, &buf)
			       : crdt_encode_doc(r->doc, &buf);
	if (!rc)
		rc = crdt_version_copy(&c->delivered, have);
	if (rc) {
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of memory");
		goto out;
	}
	welcome =
		json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:o, s:o, s:{s:I, s:I, s:i, s:i}}",
			  PROTO_T(PROTO_WELCOME), "seat", proto_seat_name(c->seat), "agent",
			  (int)c->agent, "room", r->id, "name", c->name, "problem", r->problem,
			  "version", version_json(&cur), "presence", room_presence_json(r),
			  "limits", "max_frame", (json_int_t)r->srv->lim.max_frame, "max_doc",
			  (json_int_t)r->srv->lim.max_doc, "ops_per_s", (int)r->srv->lim.ops_per_s,
			  "runs_per_min", (int)r->srv->lim.runs_per_min);
	if (welcome && id)
		json_object_set(welcome, "id", id);
	room__reply(c, PROTO_WELCOME, welcome);
	conn_send_catchup(c, buf.data, buf.len);
	room__problem_on_join(r, c);
	log_event(LOG_INFO, "room.join", "room=%s conn=%llu seat=%s agent=%u", r->id,
		  (unsigned long long)c->id, proto_seat_name(c->seat), c->agent);
	room__record(r, "join", proto_seat_name(c->seat),
		     json_pack("{s:i, s:s, s:I}", "agent", (int)c->agent, "name", c->name, "conn",
			       (json_int_t)c->id));
	if (k >= 0)
		set_state(r, k, P_PRESENT);
	else
		publish_presence(r);
out:
	crdt_version_finish(&cur);
	crdt_buf_finish(&buf);
}

/*
 * A join waiting for its room (room_get): what it asked for, until
 * join_room() has the room.  Apart from struct conn because a connection
 * needs it only while it joins.  Owned by its connection (c->join) from
 * room_on_join() on; freed by join_room() or room_leave().
 */
struct join_wait {
	struct crdt_version have;
	json_t *id;
	int64_t epoch; /* of the join's token */
};

static void join_wait_free(struct join_wait *j)
{
	if (!j)
		return;
	crdt_version_finish(&j->have);
	json_decref(j->id);
	free(j);
}

/* The room of a join is in memory now (or is not to be had). */
static void join_room(void *ud, struct room *r, int status)
{
	struct conn *c = ud;
	struct join_wait *j = c->join;

	c->join = NULL;
	if (!r || room_closed(r) || j->epoch < room_token_epoch(r)) {
		conn_close(c, status == 503 ? PROTO_CLOSE_GOING_AWAY : PROTO_CLOSE_POLICY,
			   !r ? (status == 503 ? "database unavailable" : "no such room")
			   : room_closed(r) ? "room closed"
					    : "token revoked");
		c->seat = SEAT_NONE;
	} else {
		room_join(r, c, c->name, &j->have, j->id);
	}
	join_wait_free(j);
}

void room_on_join(struct conn *c, json_t *msg)
{
	struct server *srv = c->srv;
	const char *room_id = json_string_value(json_object_get(msg, "room"));
	const char *token = json_string_value(json_object_get(msg, "token"));
	struct auth_claims claims;
	struct join_wait *j;
	int rc;

	if (c->join)
		return; /* one join at a time; the first is being served */
	if (!room_id || !token) {
		conn_close(c, PROTO_CLOSE_POLICY, "join needs room and token");
		return;
	}
	rc = auth_token_verify(srv->secret, token, (int64_t)(server_now_ms() / 1000), &claims);
	if (rc) {
		log_event(LOG_INFO, "join.refused", "conn=%llu reason=%s",
			  (unsigned long long)c->id, auth_strerror(rc));
		conn_close(c, PROTO_CLOSE_POLICY, auth_strerror(rc));
		return;
	}
	if (strcmp(claims.room, room_id) != 0) {
		conn_close(c, PROTO_CLOSE_POLICY, "token not valid for this room");
		return;
	}
	c->seat = proto_seat_parse(auth_role_name(claims.role));
	if (c->seat == SEAT_NONE) {
		conn_close(c, PROTO_CLOSE_POLICY, "unknown seat");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		goto err_wait;
	crdt_version_init(&j->have, NULL);
	if (proto_parse_version(json_object_get(msg, "version"), &j->have)) {
		join_wait_free(j);
		conn_send_error(c, json_object_get(msg, "id"), PERR_BAD_REQUEST,
				"version must be an object of agent ids to counts", 0);
		c->seat = SEAT_NONE;
		return;
	}
	free(c->name);
	c->name = name_dup(claims.name);
	if (!c->name) {
		join_wait_free(j);
		goto err_wait;
	}
	j->epoch = claims.epoch;
	j->id = json_incref(json_object_get(msg, "id"));
	c->join = j;
	lws_sul_cancel(&c->join_sul);
	if (room_get(srv, room_id, join_room, c))
		goto err_get;
	return;

err_get:
	c->join = NULL;
	join_wait_free(j);
err_wait:
	conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of memory");
}

void room_leave(struct conn *c)
{
	struct room *r = c->room;
	int k = room__seat_index(c->seat);

	if (c->join) { /* its room is still loading: forget the join */
		room_get_cancel(c);
		join_wait_free(c->join);
		c->join = NULL;
	}
	if (!r)
		return;
	if (c->room_prev)
		c->room_prev->room_next = c->room_next;
	else
		r->conns = c->room_next;
	if (c->room_next)
		c->room_next->room_prev = c->room_prev;
	c->room = NULL;
	log_event(LOG_INFO, "room.leave", "room=%s conn=%llu seat=%s", r->id,
		  (unsigned long long)c->id, proto_seat_name(c->seat));
	/* Its pending acks have no one to go to; a reconnect resends unacknowledged ops. */
	for (struct pending_ack *a = r->acks; a; a = a->next)
		if (a->c == c)
			a->c = NULL;
	room__record(r, "leave", proto_seat_name(c->seat),
		     json_pack("{s:i, s:I}", "agent", (int)c->agent, "conn", (json_int_t)c->id));
	if (!r->conns)
		arm_idle(r, (uint64_t)r->srv->lim.left_after_ms + 5000);
	if (r->srv->stopping) {
		/* The socket is gone even if we are going too: say so in Redis. */
		if (k >= 0 && r->seat_conn[k] == c && r->srv->presence && !r->closed)
			presence_set(r->srv->presence, r->id, proto_seat_name(c->seat),
				     member_name(&r->member[k]), PRESENCE_DISCONNECTED, NULL, NULL);
		return;
	}
	if (k < 0) {
		r->observers--;
		publish_presence(r);
		return;
	}
	if (r->seat_conn[k] != c)
		return; /* replaced: the seat is still present */
	r->seat_conn[k] = NULL;
	if (r->closed)
		return;
	set_state(r, k, P_DISCONNECTED);
}

int room_doc_version(const struct room *r, struct crdt_version *v)
{
	return crdt_doc_version(r->doc, v);
}

void room_shutdown(struct room *r)
{
	for (struct conn *c = r->conns; c; c = c->room_next)
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "server shutting down");
}

void room_close(struct room *r)
{
	if (r->closed)
		return;
	r->closed = true;
	r->token_epoch++; /* as store_close_room() did in PostgreSQL */
	for (int k = 0; k < 2; k++)
		if (r->member[k].state == P_PRESENT)
			set_state(r, k, P_COMPLETED);
	for (struct conn *c = r->conns; c; c = c->room_next)
		conn_close(c, PROTO_CLOSE_ROOM_CLOSED, "room closed");
	log_event(LOG_INFO, "room.close", "room=%s", r->id);
	room__record(r, "close", NULL, json_object());
}
