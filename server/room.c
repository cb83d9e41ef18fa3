/*
 * room.c - a room: two editing seats, observers, one CRDT document, runs.
 *
 * This is where the server decides what a message means.  It trusts
 * nothing a client says: the seat comes from the verified token, a CRDT
 * update is checked to contain only operations of agents this server
 * handed to that seat before it is merged, and every limit is enforced
 * here.  It never touches a socket directly (ws.c queues frames) and never
 * blocks.  Every event of the room goes to its timeline (timeline.c), and
 * an edit is acknowledged to its sender only once the timeline says it is
 * durable, in the order the edits arrived.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "bank.h"
#include "log.h"
#include "presence.h"
#include "problem.h"
#include "server.h"
#include "subs.h"
#include "store.h"
#include "timeline.h"

enum pstate { P_NONE = 0, P_PRESENT, P_DISCONNECTED, P_LEFT, P_COMPLETED };

/* What the run in flight is (docs/protocol.md, "Test runs and submissions"). */
enum run_kind { RUN_SCRIPT, RUN_TESTS, RUN_SUBMIT, RUN_COMPLEXITY };
static const char *const run_kind_names[] = { "script", "tests", "submit", "complexity" };

static const char *const pstate_names[] = { "NONE", "PRESENT", "DISCONNECTED", "LEFT",
					    "COMPLETED" };

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
	double run_tokens[2];
	uint64_t run_stamp[2];

	/*
	 * The room's problem (bank.h), NULL while none or while it loads; and
	 * the test run or estimate in flight, which keeps the problem it started
	 * with (a switch meanwhile does not change what it is judged against).
	 */
	struct bank_problem *prob;
	bool prob_loading;
	enum run_kind run_kind;
	struct bank_problem *run_prob;
	json_t *run_custom; /* the custom tests, with their expected values */
	size_t run_n;	    /* problem tests in the run: samples, or all */
	/*
	 * A Submit runs in two sandboxes, one after the other: the samples,
	 * whose output and errors are shown, then the hidden tests, whose are
	 * not.  Code running beside the samples can read everything its
	 * process was given (the harness's request, through the stack or the
	 * garbage collector) and print it as a sample's output: so hidden
	 * arguments never share a process with anything shown.
	 */
	uint64_t run_public;	       /* the run number the seats know */
	size_t run_from, run_to;       /* problem tests of the sandbox in flight */
	struct judge_result run_first; /* the samples' result, while the hidden ones run */
	bool run_has_first;
	size_t run_streamed; /* tests of the sandbox in flight already sent, in order */
	enum seat run_seat;
	uint32_t run_agent;
	char *run_code;
	size_t run_code_len;
	json_t *run_summary; /* a submit's run.result while its row is stored */
};

uint64_t server_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t server_mono_ms(void)
{
	return uv_hrtime() / 1000000u;
}

uint64_t server_turn_us(struct server *srv)
{
	if (!srv->turn_us)
		srv->turn_us = uv_hrtime() / 1000u;
	return srv->turn_us;
}

static int seat_index(enum seat s)
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
	if (r->run_busy && r->srv->judge)
		jclient_forget(r->srv->judge, r->run_id);
	bank_unref(r->prob);
	bank_unref(r->run_prob);
	json_decref(r->run_custom);
	json_decref(r->run_summary);
	judge_result_finish(&r->run_first);
	free(r->run_code);
	crdt_doc_destroy(r->doc);
	free(r->owners);
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

int room_load_snapshot(struct room *r, const uint8_t *data, size_t len)
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

void room_mark_loaded(struct room *r, bool closed, int64_t token_epoch)
{
	r->closed = closed;
	r->token_epoch = token_epoch;
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
	if (r->dirty || r->saving || r->run_busy || r->prob_loading || r->acks ||
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
		rc = store_save_doc(r->srv, r->id, snap.data, snap.len, ver.data, ver.len, seq,
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

static void mark_dirty(struct room *r)
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

/* Sends a JSON message to every joined connection whose seat is in mask. */
static void broadcast(struct room *r, json_t *msg, unsigned mask, const struct conn *except)
{
	for (struct conn *c = r->conns; c; c = c->room_next)
		if (c != except && ((unsigned)c->seat & mask))
			conn_send_json(c, json_incref(msg));
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
 * Such events are not refused when the backlog is full: they are few and
 * small next to edits, which are refused first (room_on_update).
 */
static void record(struct room *r, const char *kind, const char *actor, json_t *payload)
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

json_t *room_presence_json(const struct room *r)
{
	json_t *a = json_array();

	for (int k = 0; k < 2; k++) {
		const struct member *m = &r->member[k];

		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s, s:I}", "seat",
				     proto_seat_name(k ? SEAT_CANDIDATE : SEAT_INTERVIEWER), "name",
				     m->name, "state", pstate_names[m->state], "since",
				     (json_int_t)m->since_ms));
	}
	return a;
}

static void publish_presence(struct room *r)
{
	json_t *msg = json_pack("{s:s, s:o, s:i}", "t", "presence", "members",
				room_presence_json(r), "observers", (int)r->observers);

	broadcast(r, msg, SEATS_ALL, NULL);
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
	record(r, "presence", seat,
	       json_pack("{s:s, s:s, s:s}", "seat", seat, "state", pstate_names[st], "name",
			 m->name));
	/* The presence module also runs the DISCONNECTED -> LEFT timer and tells us. */
	if (write && r->srv->presence)
		presence_set(r->srv->presence, r->id, seat, m->name,
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
	int k = seat_index(seat);

	if (!r || k < 0 || r->closed)
		return;
	/* A LEFT from the timer only counts while the seat is still away. */
	if (ev->state == PRESENCE_LEFT && r->member[k].state != P_DISCONNECTED)
		return;
	if (ev->state == PRESENCE_LEFT || ev->remote)
		apply_state(r, k, (enum pstate)(ev->state + P_PRESENT), false);
}

void room_presence_loaded(struct room *r, const struct presence_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int k = seat_index(proto_seat_parse(e[i].member));
		struct member *m;

		if (k < 0 || r->member[k].state != P_NONE)
			continue;
		m = &r->member[k];
		m->state = (enum pstate)(e[i].state + P_PRESENT);
		m->since_ms = (uint64_t)e[i].since_ms;
		snprintf(m->name, sizeof(m->name), "%s", e[i].name);
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
			record(r, "presence", e[i].member,
			       json_pack("{s:s, s:s, s:s}", "seat", e[i].member, "state",
					 "DISCONNECTED", "name", m->name));
		}
		if (r->srv->presence)
			presence_adopt(r->srv->presence, r->id, &e[i]);
	}
}

/* ---- join / leave -------------------------------------------------------- */

int room_add_owner(struct room *r, uint32_t agent, enum seat seat)
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

static enum seat owner_of(const struct room *r, uint32_t agent)
{
	for (size_t i = 0; i < r->nowners; i++)
		if (r->owners[i].agent == agent)
			return r->owners[i].seat;
	return SEAT_NONE;
}

static void send_problem_on_join(struct room *r, struct conn *c);

void room_join(struct room *r, struct conn *c, const char *name, const struct crdt_version *have,
	       json_t *id)
{
	struct crdt_version cur;
	struct crdt_buf buf;
	int k = seat_index(c->seat);
	json_t *welcome;
	int rc;

	if (r->next_agent == UINT32_MAX || room_add_owner(r, r->next_agent, c->seat)) {
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of agent ids");
		return;
	}
	c->agent = r->next_agent - 1;
	store_add_agent(r->srv, r->id, c->agent, proto_seat_name(c->seat));
	c->room = r;
	if (name != c->name)
		snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
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
		snprintf(r->member[k].name, sizeof(r->member[k].name), "%s", c->name);
	} else {
		r->observers++;
	}

	crdt_version_init(&cur, NULL);
	crdt_buf_init(&buf, NULL);
	rc = crdt_doc_version(r->doc, &cur);
	if (!rc)
		rc = crdt_encode_since(r->doc, have, &buf);
	if (!rc)
		rc = crdt_version_copy(&c->delivered, have);
	if (rc) {
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of memory");
		goto out;
	}
	welcome = json_pack(
		"{s:s, s:s, s:i, s:s, s:s, s:s, s:o, s:o, s:{s:I, s:I, s:i, s:i}}", "t", "welcome",
		"seat", proto_seat_name(c->seat), "agent", (int)c->agent, "room", r->id, "name",
		c->name, "problem", r->problem, "version", version_json(&cur), "presence",
		room_presence_json(r), "limits", "max_frame", (json_int_t)r->srv->lim.max_frame,
		"max_doc", (json_int_t)r->srv->lim.max_doc, "ops_per_s", (int)r->srv->lim.ops_per_s,
		"runs_per_min", (int)r->srv->lim.runs_per_min);
	if (welcome && id)
		json_object_set(welcome, "id", id);
	conn_send_json(c, welcome);
	conn_send_catchup(c, buf.data, buf.len);
	send_problem_on_join(r, c);
	log_event(LOG_INFO, "room.join", "room=%s conn=%llu seat=%s agent=%u", r->id,
		  (unsigned long long)c->id, proto_seat_name(c->seat), c->agent);
	record(r, "join", proto_seat_name(c->seat),
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

void room_leave(struct conn *c)
{
	struct room *r = c->room;
	int k = seat_index(c->seat);

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
	record(r, "leave", proto_seat_name(c->seat),
	       json_pack("{s:i, s:I}", "agent", (int)c->agent, "conn", (json_int_t)c->id));
	if (!r->conns)
		arm_idle(r, (uint64_t)r->srv->lim.left_after_ms + 5000);
	if (r->srv->stopping) {
		/* The socket is gone even if we are going too: say so in Redis. */
		if (k >= 0 && r->seat_conn[k] == c && r->srv->presence && !r->closed)
			presence_set(r->srv->presence, r->id, proto_seat_name(c->seat),
				     r->member[k].name, PRESENCE_DISCONNECTED, NULL, NULL);
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
	record(r, "close", NULL, json_object());
}

/* ---- edits --------------------------------------------------------------- */

/* Token bucket: refills rate per second up to rate; false when empty. */
static bool take_token(struct server *srv, double *tokens, uint64_t *stamp, double rate,
		       double per_ms)
{
	uint64_t now = server_turn_us(srv) / 1000u;

	if (*stamp == 0)
		*tokens = rate;
	else
		*tokens += (double)(now - *stamp) * per_ms;
	if (*tokens > rate)
		*tokens = rate;
	*stamp = now;
	if (*tokens < 1.0)
		return false;
	*tokens -= 1.0;
	return true;
}

/* Sends the acks whose events are durable, in the order the edits came. */
static void send_acks(struct room *r)
{
	uint64_t durable = r->tl ? timeline_durable_seq(r->tl) : UINT64_MAX;

	if (r->tl && !r->srv->timeline)
		return; /* shutting down: nothing more becomes durable here */

	while (r->acks && r->acks->seq <= durable) {
		struct pending_ack *a = r->acks;

		r->acks = a->next;
		if (!r->acks)
			r->acks_tail = NULL;
		if (a->c) {
			struct crdt_version v = { .v = a->v, .len = a->n, .cap = a->n };

			conn_ack(a->c, &v);
		}
		free(a);
	}
}

/* Holds c's ack of ver (at most 8 agents) until the room's events up to seq are durable. */
static void queue_ack(struct room *r, struct conn *c, uint64_t seq, const struct crdt_version *ver)
{
	struct pending_ack *a = malloc(sizeof(*a));

	if (!a)
		return; /* no ack: the client resends, which is harmless */
	a->next = NULL;
	a->seq = seq;
	a->c = c;
	a->n = ver->len < 8 ? ver->len : 8;
	memcpy(a->v, ver->v, a->n * sizeof(a->v[0]));
	if (r->acks_tail)
		r->acks_tail->next = a;
	else
		r->acks = a;
	r->acks_tail = a;
	send_acks(r);
}

void room_timeline_durable(struct server *srv, const char *room, uint64_t seq)
{
	struct room *r = room_find(srv, room);

	(void)seq;
	if (r)
		send_acks(r);
}

/* An update read at recv_us goes to every other connection of the room. */
static void fan_out(struct room *r, const struct conn *from, const uint8_t *data, size_t len,
		    uint64_t recv_us)
{
	for (struct conn *o = r->conns; o; o = o->room_next)
		if (o != from)
			conn_send_fanout(o, data, len, recv_us);
}

static bool is_author(const struct crdt_update_info *info, uint32_t agent)
{
	for (size_t i = 0; i < info->nauthors && i < 8; i++)
		if (info->authors[i] == agent)
			return true;
	return false;
}

/*
 * An update from `from` released operations that waited in the document
 * for it (docs/protocol.md, "Editing"): everyone, the sender included (it
 * may lack what was released: they were waiting for its operations), gets
 * one update of everything the document gained since vb.
 */
static void forward_released(struct room *r, const struct crdt_version *vb, uint64_t recv_us)
{
	struct crdt_buf buf;

	crdt_buf_init(&buf, NULL);
	if (crdt_encode_since(r->doc, vb, &buf) == 0) {
		for (struct conn *o = r->conns; o; o = o->room_next)
			conn_send_fanout(o, buf.data, buf.len, recv_us);
	} else {
		/* Out of memory: each connection gets a catch-up once memory allows. */
		for (struct conn *o = r->conns; o; o = o->room_next)
			conn_close(o, PROTO_CLOSE_GOING_AWAY, "out of memory");
	}
	crdt_buf_finish(&buf);
}

/*
 * The released operations in ver (entries of agents that are not the
 * update's authors) are acknowledged, once seq is durable, to the
 * connection now holding the seat that owns them: its client sent them
 * and still waits for the ack.
 */
static void ack_released(struct room *r, const struct crdt_update_info *info,
			 const struct crdt_version *ver, uint64_t seq)
{
	for (int k = 0; k < 2; k++) {
		struct conn *to = r->seat_conn[k];
		struct crdt_version_entry e[8];
		struct crdt_version v = { .v = e, .len = 0, .cap = 8 };

		if (!to)
			continue;
		for (size_t i = 0; i < ver->len; i++) {
			if (is_author(info, ver->v[i].agent) ||
			    seat_index(owner_of(r, ver->v[i].agent)) != k)
				continue;
			e[v.len++] = ver->v[i];
			if (v.len == 8) {
				queue_ack(r, to, seq, &v);
				v.len = 0;
			}
		}
		if (v.len)
			queue_ack(r, to, seq, &v);
	}
}

/* Refuses an update: counted, and the sender is told why. */
static void reject(struct conn *c, enum proto_err e, const char *message, unsigned retry_ms)
{
	c->srv->metrics.updates_rejected++;
	conn_send_error(c, NULL, e, message, retry_ms);
}

void room_on_update(struct conn *c, const uint8_t *data, size_t len)
{
	struct room *r = c->room;
	uint64_t recv_us = server_turn_us(r->srv);
	struct crdt_update_info info;
	struct crdt_version ver, vb;
	struct timeline_resv resv = { 0 };
	uint32_t before[8];
	bool changed = false, released = false, may_release;
	size_t pending;
	uint64_t seq;
	int rc;

	if (!((unsigned)c->seat & SEATS_EDIT)) { /* observers are read-only */
		reject(c, PERR_FORBIDDEN, "observers cannot edit", 0);
		return;
	}
	if (!take_token(r->srv, &c->op_tokens, &c->op_stamp_ms, r->srv->lim.ops_per_s,
			r->srv->lim.ops_per_s / 1000.0)) {
		reject(c, PERR_RATE_LIMITED, NULL,
		       1000 / (r->srv->lim.ops_per_s ? r->srv->lim.ops_per_s : 1) + 1);
		return;
	}
	rc = crdt_update_info(data, len, &info, NULL);
	if (rc) {
		reject(c, PERR_BAD_UPDATE, crdt_strerror(rc), 0);
		return;
	}
	for (size_t i = 0; i < info.nauthors; i++) {
		if (i >= 8 || owner_of(r, info.authors[i]) != c->seat) {
			reject(c, PERR_BAD_UPDATE, "the update holds operations of another agent",
			       0);
			log_event(LOG_WARN, "room.forged", "room=%s conn=%llu", r->id,
				  (unsigned long long)c->id);
			return;
		}
	}
#ifdef TANDEM_TRANSPORT_ONLY
	/*
	 * bench/: tandem-transport, the transport alone (BENCHMARKS.md, "Server
	 * load"): the update, checked as far as this, goes to the peer; nothing
	 * is merged, recorded or acknowledged.  Never built into tandem.
	 */
	fan_out(r, c, data, len, recv_us);
	return;
#endif
	if (crdt_len_bytes(r->doc) + info.ins_bytes > r->srv->lim.max_doc) {
		reject(c, PERR_DOC_TOO_LARGE, NULL, 0);
		return;
	}
	if (r->tl && r->srv->timeline && timeline_room_full(r->tl)) {
		/* Its edits can no longer be recorded, now or later: refused before merging. */
		reject(c, PERR_ROOM_FULL, NULL, 0);
		return;
	}
	if (timeline_overloaded(r->srv->timeline)) {
		/* Better refused, and resent by the client later, than acknowledged and lost. */
		reject(c, PERR_OVERLOADED, NULL, 1000);
		return;
	}
	/*
	 * The sender's agents (at most 8: checked above) before the merge, and
	 * their entries in ver made now, so that filling them in after the
	 * merge cannot fail.  While operations wait in the document for
	 * missing dependencies, this update may bring those and release them:
	 * then every agent of the room gets an entry too (the released ones
	 * must be in this event's version entries, or text?at and the scrub
	 * index would never see them), and the version before the merge is
	 * kept to tell what was released.
	 */
	crdt_version_init(&ver, NULL);
	crdt_version_init(&vb, NULL);
	for (size_t i = 0; i < info.nauthors; i++) {
		before[i] = crdt_doc_next(r->doc, info.authors[i]);
		if (crdt_version_set(&ver, info.authors[i], UINT32_MAX)) {
			reject(c, PERR_INTERNAL, NULL, 0);
			goto out;
		}
	}
	may_release = crdt_pending(r->doc) > 0;
	if (may_release) {
		if (crdt_doc_version(r->doc, &vb) || crdt_version_reserve(&ver, r->nowners)) {
			reject(c, PERR_INTERNAL, NULL, 0);
			goto out;
		}
		for (size_t i = 0; i < r->nowners; i++)
			if (!crdt_version_get(&ver, r->owners[i].agent))
				(void)crdt_version_set(&ver, r->owners[i].agent, UINT32_MAX);
	}
	/*
	 * Its timeline event made ready before the merge: an edit the document
	 * holds must be in the timeline (the document is rebuilt from it after
	 * a restart), so nothing may fail between the two.
	 */
	if (r->tl && r->srv->timeline) {
		rc = timeline_reserve(r->tl, "edit", proto_seat_name(c->seat), data, len, ver.v,
				      ver.len, &resv);
		if (rc) {
			log_event(LOG_ERROR, "timeline.append", "room=%s kind=edit error=%s", r->id,
				  timeline_strerror(rc));
			if (rc == TIMELINE_E_LIMIT)
				reject(c, PERR_ROOM_FULL, NULL, 0);
			else
				reject(c, PERR_INTERNAL, "edit not recorded; resend it", 1000);
			goto out;
		}
	}
	pending = crdt_pending(r->doc);
	rc = crdt_apply(r->doc, data, len);
	if (rc) {
		reject(c, PERR_BAD_UPDATE, crdt_strerror(rc), 0);
		if (rc != CRDT_ENOMEM && rc != CRDT_ELIMIT)
			goto out;
	}
	/* Ops kept pending (dependencies missing) are news too: the timeline must hold them. */
	if (crdt_pending(r->doc) > pending)
		changed = true;
	/*
	 * The sender's agents as far as the document now has them: both the
	 * ack and the edit event's version entries.  Other agents keep their
	 * entry only if operations of theirs were released (in place, or a
	 * removal: the entries left are some of those reserved, in order).
	 */
	for (size_t i = 0; i < info.nauthors; i++) {
		uint32_t n = crdt_doc_next(r->doc, info.authors[i]);

		crdt_version_set(&ver, info.authors[i], n);
		if (n > before[i])
			changed = true;
	}
	for (size_t i = 0; may_release && i < r->nowners; i++) {
		uint32_t a = r->owners[i].agent, n = crdt_doc_next(r->doc, a);

		if (is_author(&info, a))
			continue;
		if (n > crdt_version_get(&vb, a)) {
			crdt_version_set(&ver, a, n);
			released = changed = true;
		} else {
			crdt_version_set(&ver, a, 0);
		}
	}
	if (changed) {
		mark_dirty(r);
		r->srv->metrics.updates++;
		if (resv.tr)
			timeline_commit(&resv, ver.v, ver.len);
		if (released)
			forward_released(r, &vb, recv_us);
		else
			fan_out(r, c, data, len, recv_us);
	}
	/*
	 * Acknowledge once every event so far is durable: this edit's own, or
	 * for ops the room already had, whichever event brought them.  The
	 * released operations are acknowledged to their seats then too.
	 */
	seq = r->tl ? timeline_last_seq(r->tl) : 0;
	if (released)
		ack_released(r, &info, &ver, seq);
	for (size_t i = 0; i < ver.len;)
		if (is_author(&info, ver.v[i].agent))
			i++;
		else
			crdt_version_set(&ver, ver.v[i].agent, 0);
	queue_ack(r, c, seq, &ver);
out:
	timeline_cancel(&resv); /* a reservation not used */
	crdt_version_finish(&ver);
	crdt_version_finish(&vb);
}

void room_resync(struct conn *c)
{
	struct crdt_buf buf;

	if (!c->room)
		return;
	crdt_buf_init(&buf, NULL);
	if (crdt_encode_since(c->room->doc, &c->delivered, &buf) == 0)
		conn_send_catchup(c, buf.data, buf.len);
	else
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of memory");
	crdt_buf_finish(&buf);
}

/* ---- the problem --------------------------------------------------------- */

static struct conn *conn_by_id(struct room *r, uint64_t id)
{
	for (struct conn *c = r->conns; c; c = c->room_next)
		if (c->id == id)
			return c;
	return NULL;
}

/* The problem message (docs/protocol.md, "The room's problem"); new reference. */
static json_t *problem_msg(struct room *r, const char *reason, const char *by, json_t *id)
{
	json_t *m = json_pack("{s:s, s:s, s:O}", "t", "problem", "reason", reason, "problem",
			      r->prob && r->prob->view ? r->prob->view : json_null());

	json_object_set_new(m, "by", by ? json_string(by) : json_null());
	if (id)
		json_object_set(m, "id", id);
	return m;
}

/*
 * Puts the starter code into an empty document, as an edit of an agent of
 * the server's own (owned by the interviewer's seat, who chose the
 * problem): every connection receives it as an update and the timeline
 * records it (actor "server").  Returns whether it did.
 */
static bool insert_starter(struct room *r)
{
	const char *starter = r->prob ? r->prob->p->starter : NULL;
	struct crdt_version none, ver;
	struct timeline_resv resv = { 0 };
	struct crdt_buf buf;
	struct crdt_doc *tmp;
	uint32_t agent = r->next_agent;
	bool done = false;

	if (!starter || !starter[0] || crdt_len(r->doc) || crdt_pending(r->doc) ||
	    agent == UINT32_MAX || strlen(starter) > r->srv->lim.max_doc)
		return false;
	if ((r->tl && r->srv->timeline && timeline_room_full(r->tl)) ||
	    room_add_owner(r, agent, SEAT_INTERVIEWER))
		return false;
	store_add_agent(r->srv, r->id, agent, "interviewer");
	crdt_version_init(&none, NULL);
	crdt_version_init(&ver, NULL);
	crdt_buf_init(&buf, NULL);
	tmp = crdt_doc_create(NULL);
	if (!tmp || crdt_insert(tmp, agent, 0, starter, strlen(starter)) ||
	    crdt_encode_since(tmp, &none, &buf) || crdt_version_set(&ver, agent, UINT32_MAX))
		goto out;
	if (r->tl && r->srv->timeline &&
	    timeline_reserve(r->tl, "edit", "server", buf.data, buf.len, ver.v, ver.len, &resv))
		goto out;
	if (crdt_apply(r->doc, buf.data, buf.len))
		goto out;
	crdt_version_set(&ver, agent, crdt_doc_next(r->doc, agent));
	if (resv.tr)
		timeline_commit(&resv, ver.v, ver.len);
	mark_dirty(r);
	fan_out(r, NULL, buf.data, buf.len, server_turn_us(r->srv));
	done = true;
out:
	timeline_cancel(&resv);
	crdt_doc_destroy(tmp);
	crdt_buf_finish(&buf);
	crdt_version_finish(&none);
	crdt_version_finish(&ver);
	return done;
}

/* A problem load or switch in flight: the room may be gone when it answers. */
struct prob_req {
	struct server *srv;
	char room[48];
	uint64_t conn;
	json_t *id;
	bool change;
};

static void set_problem(struct room *r, struct bank_problem *bp, const char *reason, const char *by,
			json_t *id)
{
	bank_unref(r->prob);
	r->prob = bp;
	snprintf(r->problem, sizeof(r->problem), "%s", bp ? bp->id : "");
	bool starter = insert_starter(r);
	if (by) {
		store_set_problem(r->srv, r->id, bp ? bp->id : NULL);
		record(r, "problem", by,
		       json_pack("{s:s?, s:i, s:b}", "problem", bp ? bp->id : NULL, "revision",
				 bp ? bp->revision : 0, "starter", starter));
		log_event(LOG_INFO, "room.problem", "room=%s problem=%s", r->id, bp ? bp->id : "-");
	}
	broadcast(r, problem_msg(r, reason, by, id), SEATS_ALL, NULL);
}

static void prob_loaded(void *ud, struct bank_problem *bp, int status)
{
	struct prob_req *q = ud;
	struct room *r = room_find(q->srv, q->room);

	if (r && !q->change)
		r->prob_loading = false;
	if (!r) {
		bank_unref(bp);
	} else if (!bp && q->change) {
		struct conn *c = conn_by_id(r, q->conn);
		if (c)
			conn_send_error(
				c, q->id, status == 404 ? PERR_UNKNOWN_PROBLEM : PERR_INTERNAL,
				status == 404 ? NULL : "the problem could not be loaded; retry",
				status == 404 ? 0 : 1000);
	} else if (!bp) {
		log_event(LOG_WARN, "room.problem", "room=%s problem=%s status=%d", r->id,
			  r->problem, status);
		broadcast(r, problem_msg(r, "join", NULL, NULL), SEATS_ALL, NULL);
	} else if (!q->change && (r->prob || strcmp(r->problem, bp->id))) {
		/* The interviewer switched while this load was in flight: theirs stands. */
		bank_unref(bp);
	} else {
		set_problem(r, bp, q->change ? "change" : "join", q->change ? "interviewer" : NULL,
			    q->id);
	}
	json_decref(q->id);
	free(q);
}

static int load_problem(struct room *r, const char *pid, bool change, uint64_t conn, json_t *id)
{
	struct prob_req *q = calloc(1, sizeof(*q));

	if (!q || !r->srv->bank) {
		free(q);
		return -1;
	}
	q->srv = r->srv;
	snprintf(q->room, sizeof(q->room), "%s", r->id);
	q->conn = conn;
	q->id = json_incref(id);
	q->change = change;
	if (!change)
		r->prob_loading = true;
	if (bank_get(r->srv->bank, pid, prob_loaded, q)) {
		if (!change)
			r->prob_loading = false;
		json_decref(q->id);
		free(q);
		return -1;
	}
	return 0;
}

static void send_problem_on_join(struct room *r, struct conn *c)
{
	if (r->prob || !r->problem[0]) {
		conn_send_json(c, problem_msg(r, "join", NULL, NULL));
		return;
	}
	/* Loading: everyone gets it when it is there (prob_loaded). */
	if (!r->prob_loading && load_problem(r, r->problem, false, 0, NULL))
		conn_send_json(c, problem_msg(r, "join", NULL, NULL));
}

static void on_problem(struct conn *c, json_t *msg)
{
	struct room *r = c->room;
	json_t *id = json_object_get(msg, "id"), *pid = json_object_get(msg, "problem");

	if (!json_is_null(pid) &&
	    (!json_is_string(pid) || !json_string_length(pid) || json_string_length(pid) > 64)) {
		conn_send_error(c, id, PERR_BAD_REQUEST, "problem must be an id or null", 0);
		return;
	}
	if (json_is_null(pid)) {
		set_problem(r, NULL, "change", "interviewer", id);
		return;
	}
	if (load_problem(r, json_string_value(pid), true, c->id, id))
		conn_send_error(c, id, PERR_INTERNAL, "the problem could not be loaded; retry",
				1000);
}

/* ---- runs ---------------------------------------------------------------- */

static void run_output(void *ud, uint64_t run, const char *stream, const char *utf8)
{
	struct room *r = ud;

	broadcast(r,
		  json_pack("{s:s, s:I, s:s, s:s}", "t", "run.output", "run", (json_int_t)run,
			    "stream", stream, "data", utf8),
		  SEATS_ALL, NULL);
}

/* A payload for the timeline: msg without "t", its output cut to 16 KiB. */
static json_t *timeline_payload(const json_t *msg)
{
	static const char *const big[] = { "stdout", "stderr", "output" };
	json_t *p = json_deep_copy(msg);

	json_object_del(p, "t");
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		const char *v = json_string_value(json_object_get(p, big[i]));

		if (v && strlen(v) > 16384)
			json_object_set_new(p, big[i], json_stringn(v, 16384));
	}
	return p;
}

static void run_finished(struct room *r)
{
	r->run_busy = false;
	bank_unref(r->run_prob);
	r->run_prob = NULL;
	json_decref(r->run_custom);
	r->run_custom = NULL;
	free(r->run_code);
	r->run_code = NULL;
	judge_result_finish(&r->run_first);
	r->run_has_first = false;
	r->srv->metrics.runs++;
	metrics_observe(&r->srv->metrics.run, (double)(server_mono_ms() - r->run_started_ms));
}

static void run_done(void *ud, uint64_t run, json_t *result, const char *error)
{
	struct room *r = ud;
	json_t *msg;

	run_finished(r);
	if (result) {
		msg = json_deep_copy(result);
		json_object_set_new(msg, "t", json_string("run.result"));
		json_object_set_new(msg, "run", json_integer((json_int_t)run));
	} else {
		if (error && strcmp(error, "judge busy") == 0)
			/* Not the judge's fault and not a verdict: the run never started. */
			msg = json_pack("{s:s, s:I, s:n, s:s, s:s, s:i}", "t", "run.result", "run",
					(json_int_t)run, "verdict", "code", "judge_busy", "message",
					proto_err_message(PERR_JUDGE_BUSY), "retry_ms", 1000);
		else
			msg = json_pack("{s:s, s:I, s:s, s:s}", "t", "run.result", "run",
					(json_int_t)run, "verdict", "IE", "message",
					error ? error : "judge failed");
	}
	log_event(LOG_INFO, "run.done", "room=%s run=%llu verdict=%s", r->id,
		  (unsigned long long)run, json_string_value(json_object_get(msg, "verdict")));
	record(r, "run.result", NULL, timeline_payload(msg));
	broadcast(r, msg, SEATS_ALL, NULL);
}

/*
 * Sends test i of the run as run.test (to every seat and the timeline): a
 * hidden test as its name, verdict, time and memory only.
 */
static void send_test(struct room *r, size_t i, const struct judge_test_result *t)
{
	const struct problem *p = r->run_prob->p;
	size_t n = r->run_to - r->run_from;
	size_t pi = i < n ? r->run_from + i : p->ntests + (i - n);
	bool hidden = pi < p->ntests && p->tests[pi].hidden;
	enum judge_verdict v = problem_test_verdict(p, pi, r->run_custom, t);
	json_t *o = problem_test_json(p, pi, r->run_custom, t, v, hidden ? pi - p->nsamples + 1 : 0,
				      true);

	if (!o)
		return;
	json_object_set_new(o, "t", json_string("run.test"));
	json_object_set_new(o, "run", json_integer((json_int_t)r->run_public));
	json_object_set_new(o, "index", json_integer((json_int_t)(r->run_from + i)));
	record(r, "run.test", NULL, timeline_payload(o));
	broadcast(r, o, SEATS_ALL, NULL);
	r->run_streamed = i + 1;
}

static void run_test(void *ud, uint64_t run, size_t index, const json_t *line)
{
	struct room *r = ud;
	struct judge_test_result t;

	if (!r->run_busy || run != r->run_id || !r->run_prob || index < r->run_streamed)
		return;
	if (problem_test_result_from_json(line, &t))
		return;
	send_test(r, index, &t);
	problem_test_result_finish(&t);
}

static void summary_out(struct room *r, json_t *summary)
{
	log_event(LOG_INFO, "run.done", "room=%s run=%llu mode=%s verdict=%s", r->id,
		  (unsigned long long)r->run_public, run_kind_names[r->run_kind],
		  json_string_value(json_object_get(summary, "verdict")));
	record(r, "run.result", NULL, timeline_payload(summary));
	broadcast(r, summary, SEATS_ALL, NULL);
}

/* A submit's row is stored (or not): its run.result goes out now. */
static void sub_stored(void *ud, int err)
{
	struct subs_ctx *sc = ud;
	struct room *r = room_find(sc->srv, sc->room);

	if (r && r->run_summary && r->run_busy && r->run_public == sc->run) {
		json_t *summary = r->run_summary;

		r->run_summary = NULL;
		if (err) {
			json_object_set_new(summary, "submission", json_null());
			json_object_set_new(summary, "message",
					    json_string("the submission could not be stored"));
		} else {
			json_t *ev = json_deep_copy(summary);
			json_object_del(ev, "t");
			json_object_set_new(ev, "seat", json_string(proto_seat_name(r->run_seat)));
			json_object_set_new(ev, "agent", json_integer(r->run_agent));
			record(r, "submission", proto_seat_name(r->run_seat), ev);
		}
		summary_out(r, summary);
		run_finished(r);
	}
	subs_ctx_free(sc);
}

static json_t *tests_request(const struct problem *p, size_t from, size_t to, json_t *custom,
			     uint32_t cpu_ms);
static void tests_done(void *ud, uint64_t run, json_t *result, const char *error);

/*
 * The samples of a Submit are judged: the hidden tests go to a sandbox of
 * their own, with what is left of the CPU budget.  Returns false when they
 * cannot run (the caller then reports them as not run).
 */
static bool start_hidden(struct room *r, struct judge_result *first)
{
	const struct problem *p = r->run_prob->p;
	double left = (double)p->submit_cpu_ms - first->cpu_ms;
	json_t *req;
	uint64_t run;

	if (first->compile_error || first->verdict == JUDGE_VERDICT_IE || left < 1)
		return false;
	req = tests_request(p, p->nsamples, p->ntests, NULL, left < 100 ? 100 : (uint32_t)left);
	if (!req)
		return false;
	json_object_set_new(req, "code", json_stringn(r->run_code, r->run_code_len));
	if (jclient_run_tests(r->srv->judge, req, NULL, run_test, tests_done, r, &run))
		return false;
	r->run_first = *first;
	memset(first, 0, sizeof(*first));
	r->run_has_first = true;
	r->run_id = run;
	r->run_from = p->nsamples;
	r->run_to = p->ntests;
	r->run_streamed = 0;
	return true;
}

/*
 * A Submit's whole result: the samples' then the hidden tests' (those that
 * never ran are CE after a compile error, else SKIPPED).  Consumes both.
 */
static void join_results(const struct problem *p, struct judge_result *a, struct judge_result *b,
			 struct judge_result *out)
{
	memset(out, 0, sizeof(*out));
	*out = *a;
	out->ntests = p->ntests;
	out->tests = calloc(p->ntests ? p->ntests : 1, sizeof(*out->tests));
	if (!out->tests) {
		out->ntests = 0;
		judge_result_finish(b);
		memset(a, 0, sizeof(*a));
		return;
	}
	for (size_t i = 0; i < a->ntests && i < p->ntests; i++)
		out->tests[i] = a->tests[i];
	for (size_t i = 0; i < b->ntests && p->nsamples + i < p->ntests; i++)
		out->tests[p->nsamples + i] = b->tests[i];
	for (size_t i = p->nsamples + b->ntests; i < p->ntests; i++) {
		out->tests[i].verdict = a->compile_error ? JUDGE_VERDICT_CE : JUDGE_VERDICT_SKIPPED;
		out->tests[i].cpu_ms = -1;
	}
	out->cpu_ms = a->cpu_ms + b->cpu_ms;
	out->wall_ms = a->wall_ms + b->wall_ms;
	out->mem_kb = a->mem_kb > b->mem_kb ? a->mem_kb : b->mem_kb;
	if (b->ntests && b->verdict != JUDGE_VERDICT_OK)
		out->verdict = b->verdict;
	if (!out->message && b->message)
		out->message = b->message, b->message = NULL;
	free(a->tests);
	free(b->tests);
	b->tests = NULL;
	b->ntests = 0;
	judge_result_finish(b);
	memset(a, 0, sizeof(*a));
}

static void tests_done(void *ud, uint64_t run, json_t *result, const char *error)
{
	struct room *r = ud;
	const struct problem *p = r->run_prob->p;
	struct judge_result res, none;
	json_t *summary = NULL;

	if (!result || problem_result_from_json(result, &res)) {
		run_done(ud, run, NULL, result ? "bad result from the judge" : error);
		return;
	}
	/* Tests the harness never reported (SKIPPED, killed) were not streamed. */
	for (size_t i = r->run_streamed; i < res.ntests; i++)
		send_test(r, i, &res.tests[i]);
	if (r->run_kind == RUN_SUBMIT && !r->run_has_first) {
		if (p->ntests > p->nsamples && start_hidden(r, &res))
			return; /* tests_done comes again with the hidden tests */
		/* The hidden tests will not run: say so for each. */
		memset(&none, 0, sizeof(none));
		struct judge_result all;
		join_results(p, &res, &none, &all);
		r->run_from = p->nsamples;
		r->run_to = p->ntests;
		for (size_t i = p->nsamples; i < all.ntests; i++)
			send_test(r, i - p->nsamples, &all.tests[i]);
		res = all;
	} else if (r->run_kind == RUN_SUBMIT) {
		struct judge_result all;
		join_results(p, &r->run_first, &res, &all);
		r->run_has_first = false;
		res = all;
	}
	json_t *full = problem_result_json(p, r->run_custom, &res, r->run_n, false);
	judge_result_finish(&res);
	run = r->run_public;
	if (!full) {
		run_done(ud, run, NULL, "out of memory");
		return;
	}
	summary = json_deep_copy(full);
	json_object_del(summary, "tests");
	json_object_set_new(summary, "t", json_string("run.result"));
	json_object_set_new(summary, "run", json_integer((json_int_t)run));
	json_object_set_new(summary, "mode", json_string(run_kind_names[r->run_kind]));
	json_object_set_new(summary, "problem", json_string(r->run_prob->id));
	json_object_set_new(summary, "revision", json_integer(r->run_prob->revision));
	if (r->run_kind == RUN_SUBMIT) {
		char sid[24] = "s_";
		struct subs_row row = { .room = r->id,
					.seat = proto_seat_name(r->run_seat),
					.agent = r->run_agent,
					.problem = r->run_prob->id,
					.revision = r->run_prob->revision,
					.code = r->run_code,
					.summary = full };
		struct subs_ctx *sc = NULL;
		if (!auth_random_id(sid + 2, sizeof(sid) - 2) &&
		    (sc = subs_ctx_new(r->srv, r->id, run))) {
			row.id = sid;
			json_object_set_new(summary, "submission", json_string(sid));
			r->run_summary = summary;
			if (subs_store(r->srv, &row, sub_stored, sc) == 0) {
				json_decref(full);
				return; /* sub_stored sends the summary */
			}
			subs_ctx_free(sc);
			r->run_summary = NULL;
		}
		json_object_set_new(summary, "submission", json_null());
		json_object_set_new(summary, "message",
				    json_string("the submission could not be stored"));
	}
	json_decref(full);
	summary_out(r, summary);
	run_finished(r);
}

static void complexity_done(void *ud, uint64_t run, json_t *result, const char *error)
{
	struct room *r = ud;
	json_t *msg = result ? json_deep_copy(result)
			     : json_pack("{s:n, s:s, s:s}", "class", "verdict", "IE", "message",
					 error ? error : "judge failed");

	json_object_set_new(msg, "t", json_string("complexity.result"));
	json_object_set_new(msg, "run", json_integer((json_int_t)run));
	log_event(LOG_INFO, "complexity.done", "room=%s run=%llu class=%s", r->id,
		  (unsigned long long)run, json_string_value(json_object_get(msg, "class")));
	record(r, "complexity.result", NULL, timeline_payload(msg));
	broadcast(r, msg, SEATS_ALL, NULL);
	run_finished(r);
}

/*
 * The run request for the judge supervisor: p's tests [from, to) then the
 * custom ones (never an expected value); NULL on OOM.
 */
static json_t *tests_request(const struct problem *p, size_t from, size_t to, json_t *custom,
			     uint32_t cpu_ms)
{
	json_t *opts = problem_harness_options(p);
	json_t *all = problem_harness_tests(p, to, custom), *tests = json_array();

	for (size_t i = from; all && tests && i < json_array_size(all); i++)
		json_array_append(tests, json_array_get(all, i));
	json_decref(all);
	if (!opts || !tests || !all) {
		json_decref(opts);
		json_decref(tests);
		return NULL;
	}
	json_object_set_new(opts, "capture", json_integer((json_int_t)p->limits.output_kb * 1024));
	json_object_set_new(opts, "test_cpu_ms", json_integer(p->limits.cpu_ms));
	return json_pack("{s:s, s:s, s:o, s:o, s:{s:i, s:i, s:i, s:i}}", "mode",
			 judge_mode_str(p->kind), "entry", p->entry, "tests", tests, "options",
			 opts, "limits", "cpu_ms", (int)p->submit_cpu_ms, "wall_ms",
			 (int)(p->submit_cpu_ms * 2 + 3000), "mem_mb", (int)p->limits.mem_mb,
			 "output_kb", (int)p->limits.output_kb);
}

static void on_run(struct conn *c, json_t *msg, enum run_kind kind)
{
	struct room *r = c->room;
	int k = seat_index(c->seat);
	json_t *id = json_object_get(msg, "id");
	json_t *custom = json_object_get(msg, "tests"), *req = NULL;
	const struct problem *p = r->prob ? r->prob->p : NULL;
	char *why = NULL;
	size_t n;
	char *text;
	uint64_t run;
	int rc;

	if (kind != RUN_SCRIPT && !p) {
		conn_send_error(c, id, PERR_NO_PROBLEM, NULL, 0);
		return;
	}
	if (kind == RUN_COMPLEXITY && !p->gen) {
		conn_send_error(c, id, PERR_NO_GENERATOR, NULL, 0);
		return;
	}
	if (kind == RUN_TESTS && custom && problem_check_custom(p, custom, &why)) {
		conn_send_error(c, id, PERR_BAD_REQUEST, why, 0);
		free(why);
		return;
	}
	if (!r->srv->judge) {
		conn_send_error(c, id, PERR_JUDGE_DOWN, r->srv->judge_down, 0);
		return;
	}
	if (r->run_busy) {
		conn_send_error(c, id, PERR_RUN_IN_PROGRESS, NULL, 0);
		return;
	}
	if (k >= 0 && !take_token(r->srv, &r->run_tokens[k], &r->run_stamp[k],
				  r->srv->lim.runs_per_min, r->srv->lim.runs_per_min / 60000.0)) {
		conn_send_error(c, id, PERR_RATE_LIMITED, "too many runs; retry later",
				60000 / (r->srv->lim.runs_per_min ? r->srv->lim.runs_per_min : 1));
		return;
	}
	n = crdt_len_bytes(r->doc);
	text = malloc(n + 1);
	if (!text) {
		conn_send_error(c, id, PERR_INTERNAL, NULL, 0);
		return;
	}
	crdt_text(r->doc, text, n);
	text[n] = '\0';
	if (kind == RUN_SCRIPT) {
		rc = jclient_run(r->srv->judge, text, n, run_output, run_done, r, &run);
	} else if (kind == RUN_COMPLEXITY) {
		req = json_pack("{s:s, s:o, s:s%}", "kind", "complexity", "problem",
				problem_json(p, PROBLEM_VIEW_STORE), "code", text, n);
		rc = jclient_run_tests(r->srv->judge, req, NULL, NULL, complexity_done, r, &run);
	} else {
		/* A Submit starts with the samples alone (see run_first). */
		req = tests_request(p, 0, p->nsamples, custom, p->submit_cpu_ms);
		if (!req) {
			free(text);
			conn_send_error(c, id, PERR_INTERNAL, NULL, 0);
			return;
		}
		json_object_set_new(req, "code", json_stringn(text, n));
		rc = jclient_run_tests(r->srv->judge, req, NULL, run_test, tests_done, r, &run);
	}
	if (rc) {
		free(text);
		conn_send_error(c, id, PERR_JUDGE_DOWN, r->srv->judge_down, 0);
		return;
	}
	r->run_busy = true;
	r->run_id = run;
	r->run_public = run;
	r->run_from = 0;
	r->run_to = p ? p->nsamples : 0;
	r->run_has_first = false;
	r->run_kind = kind;
	r->run_started_ms = server_mono_ms();
	r->run_streamed = 0;
	r->run_seat = c->seat;
	r->run_agent = c->agent;
	r->run_code = text;
	r->run_code_len = n;
	r->run_n = kind == RUN_SUBMIT ? p->ntests : p ? p->nsamples : 0;
	if (kind != RUN_SCRIPT)
		r->run_prob = bank_ref(r->prob);
	if (kind == RUN_TESTS && custom)
		r->run_custom = json_deep_copy(custom);
	log_event(LOG_INFO, "run.start", "room=%s conn=%llu run=%llu mode=%s", r->id,
		  (unsigned long long)c->id, (unsigned long long)run, run_kind_names[kind]);
	json_t *ev = json_pack("{s:I, s:i, s:I, s:s}", "run", (json_int_t)run, "agent",
			       (int)c->agent, "bytes", (json_int_t)n, "mode", run_kind_names[kind]);
	json_t *started = json_pack("{s:s, s:I, s:s}", "t",
				    kind == RUN_COMPLEXITY ? "complexity.started" : "run.started",
				    "run", (json_int_t)run, "by", proto_seat_name(c->seat));
	if (kind != RUN_SCRIPT) {
		size_t total = r->run_n + json_array_size(r->run_custom);
		json_object_set_new(ev, "problem", json_string(r->run_prob->id));
		json_object_set_new(ev, "revision", json_integer(r->run_prob->revision));
		if (kind != RUN_COMPLEXITY) {
			json_object_set_new(started, "mode", json_string(run_kind_names[kind]));
			json_object_set_new(started, "problem", json_string(r->run_prob->id));
			json_object_set_new(started, "revision",
					    json_integer(r->run_prob->revision));
			json_object_set_new(started, "total", json_integer((json_int_t)total));
		}
	}
	record(r, kind == RUN_COMPLEXITY ? "complexity" : "run", proto_seat_name(c->seat), ev);
	if (id)
		json_object_set(started, "id", id);
	broadcast(r, started, SEATS_ALL, NULL);
}

/* ---- control messages ---------------------------------------------------- */

static json_t *from_json(const struct conn *c)
{
	return json_pack("{s:s, s:i, s:s}", "seat", proto_seat_name(c->seat), "agent",
			 (int)c->agent, "name", c->name);
}

void room_on_json(struct conn *c, enum proto_msg m, json_t *msg)
{
	struct room *r = c->room;
	json_t *id = json_object_get(msg, "id");

	switch (m) {
	case PROTO_AWARENESS: {
		json_t *out = json_deep_copy(msg);

		json_object_set_new(out, "from", from_json(c));
		broadcast(r, out, SEATS_ALL, c);
		break;
	}
	case PROTO_RUN: {
		const char *mode = json_string_value(json_object_get(msg, "mode"));
		enum run_kind kind = RUN_SCRIPT;

		if (json_object_get(msg, "mode") &&
		    (!mode ||
		     (strcmp(mode, "script") && strcmp(mode, "tests") && strcmp(mode, "submit")))) {
			conn_send_error(c, id, PERR_BAD_REQUEST,
					"mode must be script, tests or submit", 0);
			break;
		}
		if (mode && !strcmp(mode, "tests"))
			kind = RUN_TESTS;
		else if (mode && !strcmp(mode, "submit"))
			kind = RUN_SUBMIT;
		on_run(c, msg, kind);
		break;
	}
	case PROTO_SUBMIT:
		on_run(c, msg, RUN_SUBMIT);
		break;
	case PROTO_COMPLEXITY:
		on_run(c, msg, RUN_COMPLEXITY);
		break;
	case PROTO_PROBLEM:
		on_problem(c, msg);
		break;
	case PROTO_NOTE: {
		json_t *text = json_object_get(msg, "text");
		json_t *out;

		if (!json_is_string(text)) {
			conn_send_error(c, id, PERR_BAD_REQUEST, "note needs a text string", 0);
			break;
		}
		out = json_pack("{s:s, s:O, s:o, s:I}", "t", "note", "text", text, "from",
				from_json(c), "at", (json_int_t)server_now_ms());
		if (id)
			json_object_set(out, "id", id);
		record(r, "note", proto_seat_name(c->seat),
		       json_pack("{s:O, s:i, s:s}", "text", text, "agent", (int)c->agent, "name",
				 c->name));
		broadcast(r, out, SEATS_STAFF, NULL);
		break;
	}
	case PROTO_EVENT: {
		const char *kind = json_string_value(json_object_get(msg, "kind"));
		json_t *out;

		if (!kind ||
		    (strcmp(kind, "paste") && strcmp(kind, "focus") && strcmp(kind, "blur"))) {
			conn_send_error(c, id, PERR_BAD_REQUEST,
					"event kind must be paste, focus or blur", 0);
			break;
		}
		out = json_pack("{s:s, s:s, s:o, s:I}", "t", "event", "kind", kind, "from",
				from_json(c), "at", (json_int_t)server_now_ms());
		if (json_is_integer(json_object_get(msg, "size")))
			json_object_set(out, "size", json_object_get(msg, "size"));
		{
			json_t *p = json_pack("{s:i}", "agent", (int)c->agent);

			if (json_is_integer(json_object_get(msg, "size")))
				json_object_set(p, "size", json_object_get(msg, "size"));
			record(r, kind, proto_seat_name(c->seat), p);
		}
		broadcast(r, out, SEATS_STAFF, NULL);
		break;
	}
	case PROTO_JOIN:
		conn_send_error(c, id, PERR_ALREADY_JOINED, NULL, 0);
		break;
	default:
		conn_send_error(c, id, PERR_FORBIDDEN, "clients may not send this message", 0);
		break;
	}
}
