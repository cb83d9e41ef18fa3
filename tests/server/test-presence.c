/*
 * test-presence.c - presence over a real Redis, as two nodes see it.
 *
 * A private redis-server (services.c) is started so it can be killed,
 * frozen and restarted.  Two presence instances on one loop play two
 * nodes: A owns the members, B watches the room.  Checked: transitions are
 * written and published (B sees them, A ignores its own), DISCONNECTED
 * turns LEFT after left_after_ms and not when the member came back first,
 * COMPLETED, read back with the effective-state rules, Redis killed (the
 * write in flight fails, local timers keep working, calls fail fast) and
 * restarted (both reconnect, A writes its members again, B resubscribes),
 * Redis frozen with SIGSTOP (the command timeout drops the link), and
 * destroy failing what is pending.  Waiting is always "run the loop until".
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <uv.h>

#include "check.h"
#include "log.h"
#include "presence.h"
#include "services.h"

static uv_loop_t loop;
static struct svc_redis redis;

#define RUN_UNTIL(cond, what) SVC_RUN_UNTIL(&loop, cond, 20000, what)

/* ---- events ----------------------------------------------------------- */

#define MAXEV 64

struct seen {
	int n;
	struct {
		char room[32], member[32], name[32], node[32];
		enum presence_state state;
		bool remote;
		uint64_t at; /* loop time */
	} ev[MAXEV];
};

static struct seen seen_a, seen_b;

static void on_event(void *ud, const struct presence_event *e)
{
	struct seen *s = ud;

	REQUIRE(s->n < MAXEV, "too many events");
	snprintf(s->ev[s->n].room, 32, "%s", e->room);
	snprintf(s->ev[s->n].member, 32, "%s", e->member);
	snprintf(s->ev[s->n].name, 32, "%s", e->name);
	snprintf(s->ev[s->n].node, 32, "%s", e->node);
	s->ev[s->n].state = e->state;
	s->ev[s->n].remote = e->remote;
	s->ev[s->n].at = uv_now(&loop);
	s->n++;
}

/* Index of the first event at or after `from` for member with state; -1 if none. */
static int find(const struct seen *s, int from, const char *member, enum presence_state st)
{
	for (int i = from; i < s->n; i++) {
		if (strcmp(s->ev[i].member, member) == 0 && s->ev[i].state == st)
			return i;
	}
	return -1;
}

/* ---- completions ------------------------------------------------------ */

struct done {
	int calls;
	int err;
};

static void done_cb(void *ud, int err)
{
	struct done *d = ud;

	d->calls++;
	d->err = err;
}

struct readback {
	bool done;
	int err;
	size_t n;
	struct {
		char member[32], name[32], node[32];
		enum presence_state state, stored;
		int64_t since;
	} e[16];
	int64_t min_seen; /* the oldest seen_ms of all the entries */
};

static void read_cb(void *ud, int err, const struct presence_entry *entries, size_t n)
{
	struct readback *r = ud;

	r->done = true;
	r->err = err;
	r->n = n;
	r->min_seen = INT64_MAX;
	for (size_t i = 0; i < n; i++)
		if (entries[i].seen_ms < r->min_seen)
			r->min_seen = entries[i].seen_ms;
	for (size_t i = 0; i < n && i < 16; i++) {
		snprintf(r->e[i].member, 32, "%s", entries[i].member);
		snprintf(r->e[i].name, 32, "%s", entries[i].name);
		snprintf(r->e[i].node, 32, "%s", entries[i].node);
		r->e[i].state = entries[i].state;
		r->e[i].stored = entries[i].stored;
		r->e[i].since = entries[i].since_ms;
	}
}

static int entry(const struct readback *r, const char *member)
{
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->e[i].member, member) == 0)
			return (int)i;
	}
	return -1;
}

static void read_room(struct presence *p, const char *room, struct readback *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = presence_read(p, room, read_cb, r);
	REQUIRE(rc == 0, "presence_read: %s", presence_strerror(rc));
	RUN_UNTIL(r->done, "read back");
	REQUIRE(r->err == 0, "read back: %s", presence_strerror(r->err));
}

static struct presence *make(const char *node, struct seen *s, uint64_t left_after,
			     unsigned command_timeout_ms)
{
	struct presence_options o = {
		.host = "127.0.0.1",
		.port = redis.port,
		.left_after_ms = left_after,
		.heartbeat_ms = 100,
		.command_timeout_ms = command_timeout_ms,
		.connect_timeout_ms = 1000,
		.backoff_min_ms = 20,
		.backoff_max_ms = 200,
		.node_id = node,
		.on_event = on_event,
		.ud = s,
	};
	struct presence *p = NULL;
	int rc = presence_create(&loop, &o, &p);

	REQUIRE(rc == 0, "presence_create: %s", presence_strerror(rc));
	return p;
}

/* A blocking connection for the test's own inspection and raw writes. */
static redisReply *raw(const char *fmt, const char *a, const char *b, const char *c)
{
	redisContext *rc = redisConnect("127.0.0.1", redis.port);
	redisReply *r;

	REQUIRE(rc != NULL && !rc->err, "raw connect");
	r = redisCommand(rc, fmt, a, b, c);
	redisFree(rc);
	return r;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A failed REQUIRE exits: remove the private server's folder too. */
static void cleanup(void)
{
	svc_redis_destroy(&redis);
}

/* Destroying from inside a completion is allowed. */
static struct presence *doomed;

static void destroy_cb(void *ud, int err)
{
	done_cb(ud, err);
	presence_destroy(doomed);
}

int main(void)
{
	struct presence *a, *b;
	struct readback rb;
	struct done d1 = { 0 }, d2 = { 0 };
	int rc, i;

	log_init_from_env();
	rc = svc_redis_start(&redis);
	if (rc == SVC_SKIP) {
		fprintf(stderr, "redis-server not installed: skipped\n");
		return SVC_SKIP;
	}
	atexit(cleanup);
	REQUIRE(rc == 0, "private redis-server did not start");
	uv_loop_init(&loop);

	/*
	 * A and B must notice a dead Redis from the socket alone: their
	 * command timeout is far beyond the 20 s a RUN_UNTIL waits.
	 */
	a = make("nodeA", &seen_a, 200, 60000);
	b = make("nodeB", &seen_b, 200, 60000);
	CHECK(strcmp(presence_node_id(a), "nodeA") == 0, "node id %s", presence_node_id(a));
	REQUIRE(presence_watch(b, "r1") == 0, "watch b");
	REQUIRE(presence_watch(a, "r1") == 0, "watch a");
	CHECK(presence_watch(a, "r1") == 0, "watch twice");
	RUN_UNTIL(presence_healthy(a) && presence_healthy(b), "both connected");

	/* A subscription is in place only once SUBSCRIBE went through: publish until B hears. */
	for (i = 0; seen_b.n == 0 && i < 200; i++) {
		struct done d = { 0 };
		REQUIRE(presence_set(a, "r1", "warmup", "", PRESENCE_PRESENT, done_cb, &d) == 0,
			"warmup");
		RUN_UNTIL(d.calls == 1, "warmup write");
	}
	REQUIRE(seen_b.n > 0, "B never heard A");

	/* ---- PRESENT: written, published to B, not echoed to A. */
	int b0 = seen_b.n;
	rc = presence_set(a, "r1", "candidate", "Cand Idate", PRESENCE_PRESENT, done_cb, &d1);
	REQUIRE(rc == 0, "set present: %s", presence_strerror(rc));
	CHECK(d1.calls == 0, "done called inside presence_set");
	RUN_UNTIL(d1.calls == 1 && find(&seen_b, b0, "candidate", PRESENCE_PRESENT) >= 0,
		  "PRESENT write and publish");
	CHECK(d1.err == 0, "write: %s", presence_strerror(d1.err));
	i = find(&seen_b, b0, "candidate", PRESENCE_PRESENT);
	CHECK(seen_b.ev[i].remote && strcmp(seen_b.ev[i].node, "nodeA") == 0 &&
		      strcmp(seen_b.ev[i].name, "Cand Idate") == 0 &&
		      strcmp(seen_b.ev[i].room, "r1") == 0,
	      "B's event: remote %d node %s name %s", seen_b.ev[i].remote, seen_b.ev[i].node,
	      seen_b.ev[i].name);
	CHECK(seen_a.n == 0, "A heard its own publish (%d events)", seen_a.n);

	read_room(b, "r1", &rb);
	i = entry(&rb, "candidate");
	CHECK(i >= 0 && rb.e[i].state == PRESENCE_PRESENT &&
		      strcmp(rb.e[i].name, "Cand Idate") == 0 && strcmp(rb.e[i].node, "nodeA") == 0,
	      "read back PRESENT (entry %d)", i);
	redisReply *ttl = raw("PTTL %s", "tandem:room:r1:presence", NULL, NULL);
	CHECK(ttl != NULL && ttl->type == REDIS_REPLY_INTEGER && ttl->integer > 0,
	      "presence hash has a TTL");
	freeReplyObject(ttl);

	/* ---- DISCONNECTED -> LEFT after left_after_ms, seen by both. */
	uint64_t t0 = uv_now(&loop);
	int a0 = seen_a.n;
	b0 = seen_b.n;
	REQUIRE(presence_set(a, "r1", "candidate", NULL, PRESENCE_DISCONNECTED, NULL, NULL) == 0,
		"disconnected");
	RUN_UNTIL(find(&seen_a, a0, "candidate", PRESENCE_LEFT) >= 0, "LEFT on A");
	i = find(&seen_a, a0, "candidate", PRESENCE_LEFT);
	CHECK(!seen_a.ev[i].remote && strcmp(seen_a.ev[i].name, "Cand Idate") == 0,
	      "A's LEFT event: remote %d name %s", seen_a.ev[i].remote, seen_a.ev[i].name);
	CHECK(seen_a.ev[i].at - t0 >= 200, "LEFT after %llu ms, before left_after_ms",
	      (unsigned long long)(seen_a.ev[i].at - t0));
	RUN_UNTIL(find(&seen_b, b0, "candidate", PRESENCE_LEFT) >= 0, "LEFT on B");
	CHECK(find(&seen_b, b0, "candidate", PRESENCE_DISCONNECTED) >= 0 &&
		      find(&seen_b, b0, "candidate", PRESENCE_DISCONNECTED) <
			      find(&seen_b, b0, "candidate", PRESENCE_LEFT),
	      "B saw DISCONNECTED before LEFT");
	read_room(b, "r1", &rb);
	i = entry(&rb, "candidate");
	CHECK(i >= 0 && rb.e[i].state == PRESENCE_LEFT && rb.e[i].stored == PRESENCE_LEFT,
	      "read back LEFT");

	/*
	 * A member who comes back in time never becomes LEFT.  Member "x"
	 * disconnects and returns; member "y" disconnects just after with
	 * the same timeout, so if x's timer were still armed, x's LEFT would
	 * arrive before y's.
	 */
	a0 = seen_a.n;
	presence_set(a, "r1", "x", "X", PRESENCE_PRESENT, NULL, NULL);
	presence_set(a, "r1", "x", NULL, PRESENCE_DISCONNECTED, NULL, NULL);
	presence_set(a, "r1", "x", NULL, PRESENCE_PRESENT, NULL, NULL);
	presence_set(a, "r1", "y", "Y", PRESENCE_DISCONNECTED, NULL, NULL);
	RUN_UNTIL(find(&seen_a, a0, "y", PRESENCE_LEFT) >= 0, "y LEFT");
	CHECK(find(&seen_a, a0, "x", PRESENCE_LEFT) < 0, "x became LEFT though it came back");

	/* COMPLETED. */
	d1.calls = 0;
	presence_set(a, "r1", "interviewer", "Ivy", PRESENCE_PRESENT, NULL, NULL);
	REQUIRE(presence_set(a, "r1", "interviewer", NULL, PRESENCE_COMPLETED, done_cb, &d1) == 0,
		"completed");
	RUN_UNTIL(d1.calls == 1, "COMPLETED write");
	read_room(b, "r1", &rb);
	i = entry(&rb, "interviewer");
	CHECK(i >= 0 && rb.e[i].state == PRESENCE_COMPLETED && strcmp(rb.e[i].name, "Ivy") == 0,
	      "read back COMPLETED");

	/* Effective states of what another (dead) node left behind. */
	char stale[160], fresh[160];
	snprintf(stale, sizeof(stale),
		 "{\"state\":\"PRESENT\",\"name\":\"z\",\"since\":%lld,\"seen\":%lld,\"node\":"
		 "\"dead\"}",
		 (long long)(wall_ms() - 5000), (long long)(wall_ms() - 5000));
	snprintf(fresh, sizeof(fresh),
		 "{\"state\":\"DISCONNECTED\",\"name\":\"w\",\"since\":%lld,\"seen\":%lld,"
		 "\"node\":\"other\"}",
		 (long long)(wall_ms() - 50), (long long)(wall_ms() - 50));
	freeReplyObject(raw("HSET %s %s %s", "tandem:room:r2:presence", "z", stale));
	freeReplyObject(raw("HSET %s %s %s", "tandem:room:r2:presence", "w", fresh));
	freeReplyObject(raw("HSET %s %s %s", "tandem:room:r2:presence", "junk", "not json"));
	read_room(b, "r2", &rb);
	CHECK(rb.n == 2, "r2 entries %zu (junk skipped)", rb.n);
	i = entry(&rb, "z");
	CHECK(i >= 0 && rb.e[i].stored == PRESENCE_PRESENT && rb.e[i].state == PRESENCE_LEFT,
	      "stale PRESENT of a dead node reads as LEFT");
	i = entry(&rb, "w");
	CHECK(i >= 0 && rb.e[i].state == PRESENCE_DISCONNECTED, "recent DISCONNECTED stays");
	read_room(b, "nobody-here", &rb);
	CHECK(rb.n == 0, "empty room: %zu", rb.n);

	/*
	 * Adoption after a restart: members another (dead) node left
	 * DISCONNECTED or PRESENT are tracked here as DISCONNECTED since their
	 * last sign of life, and still become LEFT.
	 */
	int64_t away = wall_ms() - 150;
	char v1[160], v2[160];
	snprintf(v1, sizeof(v1),
		 "{\"state\":\"DISCONNECTED\",\"name\":\"d\",\"since\":%lld,\"seen\":%lld,"
		 "\"node\":\"dead\"}",
		 (long long)away, (long long)away);
	snprintf(v2, sizeof(v2),
		 "{\"state\":\"PRESENT\",\"name\":\"p\",\"since\":%lld,\"seen\":%lld,"
		 "\"node\":\"dead\"}",
		 (long long)away - 1000, (long long)away);
	freeReplyObject(raw("HSET %s %s %s", "tandem:room:r3:presence", "d", v1));
	freeReplyObject(raw("HSET %s %s %s", "tandem:room:r3:presence", "p", v2));
	read_room(a, "r3", &rb);
	REQUIRE(rb.n == 2, "r3 entries %zu", rb.n);
	a0 = seen_a.n;
	{
		/* Entries are borrowed only inside the callback: rebuild them. */
		for (size_t k = 0; k < rb.n; k++) {
			struct presence_entry e = {
				.member = rb.e[k].member,
				.name = rb.e[k].name,
				.state = rb.e[k].state,
				.stored = rb.e[k].stored,
				.since_ms = rb.e[k].since,
				.seen_ms = away,
				.node = rb.e[k].node,
			};
			CHECK(presence_adopt(a, "r3", &e) == 0, "adopt %s", e.member);
			CHECK(presence_adopt(a, "r3", &e) == 0, "adopt twice %s", e.member);
		}
	}
	/* A read on a's own connection comes back after its writes: b reads them then. */
	read_room(a, "r3", &rb);
	read_room(b, "r3", &rb);
	i = entry(&rb, "p");
	CHECK(i >= 0 && rb.e[i].stored == PRESENCE_DISCONNECTED && rb.e[i].since == away &&
		      strcmp(rb.e[i].node, "nodeA") == 0,
	      "adopted PRESENT now DISCONNECTED since its last heartbeat");
	i = entry(&rb, "d");
	CHECK(i >= 0 && rb.e[i].stored == PRESENCE_DISCONNECTED && rb.e[i].since == away,
	      "adopted DISCONNECTED keeps its time");
	RUN_UNTIL(find(&seen_a, a0, "d", PRESENCE_LEFT) >= 0 &&
			  find(&seen_a, a0, "p", PRESENCE_LEFT) >= 0,
		  "adopted members LEFT");

	/* A forgotten room's timers never fire (y2's LEFT would come after f's). */
	a0 = seen_a.n;
	presence_set(a, "r4", "f", "", PRESENCE_DISCONNECTED, NULL, NULL);
	presence_forget_room(a, "r4");
	presence_forget_room(a, "no-such-room");
	presence_set(a, "r5", "y2", "", PRESENCE_DISCONNECTED, NULL, NULL);
	RUN_UNTIL(find(&seen_a, a0, "y2", PRESENCE_LEFT) >= 0, "y2 LEFT");
	CHECK(find(&seen_a, a0, "f", PRESENCE_LEFT) < 0, "forgotten member became LEFT");

	/* Bad arguments. */
	CHECK(presence_set(a, "", "m", NULL, PRESENCE_PRESENT, NULL, NULL) == PRESENCE_E_INVAL,
	      "empty room");
	CHECK(presence_set(a, "r 1", "m", NULL, PRESENCE_PRESENT, NULL, NULL) == PRESENCE_E_INVAL,
	      "room with space");
	CHECK(presence_set(a, "r1", "m", NULL, (enum presence_state)7, NULL, NULL) ==
		      PRESENCE_E_INVAL,
	      "bad state");

	/*
	 * The heartbeat (every 100 ms here) rewrites every member present in
	 * slices of 250 µs, the next one in the loop's next turn: 3,000 members
	 * take several slices, and none is left out.
	 */
	{
		char mid[16];
		int64_t t_set;

		for (int k = 0; k < 3000; k++) {
			snprintf(mid, sizeof(mid), "hb%d", k);
			REQUIRE(presence_set(a, "rhb", mid, "", PRESENCE_PRESENT, NULL, NULL) == 0,
				"set %s", mid);
		}
		read_room(a, "rhb", &rb);
		REQUIRE(rb.n == 3000, "rhb: %zu entries", rb.n);
		t_set = wall_ms();
		do
			read_room(a, "rhb", &rb);
		while (rb.min_seen <= t_set && wall_ms() < t_set + 10000);
		CHECK(rb.min_seen > t_set,
		      "every member rewritten by a heartbeat: the oldest %lld ms",
		      (long long)(t_set - rb.min_seen));
	}

	/* ---- Redis killed mid-test. */
	d1.calls = 0;
	d1.err = 0;
	REQUIRE(presence_set(a, "r1", "candidate", "Cand Idate", PRESENCE_PRESENT, done_cb, &d1) ==
			0,
		"set before kill");
	svc_redis_kill(&redis);
	RUN_UNTIL(d1.calls == 1, "write in flight when Redis died");
	/* The reply may have made it out before the kill; if not, it failed cleanly. */
	CHECK(d1.err == 0 || d1.err == PRESENCE_E_LOST, "in flight: %s", presence_strerror(d1.err));
	RUN_UNTIL(!presence_healthy(a) && !presence_healthy(b), "both notice Redis is gone");
	rc = presence_set(a, "r1", "late", "Late", PRESENCE_PRESENT, done_cb, &d2);
	CHECK(rc == PRESENCE_E_DOWN, "set while down: %d", rc);
	CHECK(presence_read(a, "r1", read_cb, &rb) == PRESENCE_E_DOWN, "read while down");
	/* The room keeps working: LEFT timers still fire locally. */
	a0 = seen_a.n;
	CHECK(presence_set(a, "r1", "gone", "G", PRESENCE_DISCONNECTED, NULL, NULL) ==
		      PRESENCE_E_DOWN,
	      "disconnect while down");
	RUN_UNTIL(find(&seen_a, a0, "gone", PRESENCE_LEFT) >= 0, "LEFT while Redis is down");

	/* Restart: both reconnect, A catches Redis up, B resubscribes. */
	REQUIRE(svc_redis_start(&redis) == 0, "restart redis");
	RUN_UNTIL(presence_healthy(a) && presence_healthy(b), "reconnected");
	/* Read through A: its catch-up writes are ahead on the same connection. */
	read_room(a, "r1", &rb);
	i = entry(&rb, "late");
	CHECK(i >= 0 && rb.e[i].state == PRESENCE_PRESENT && strcmp(rb.e[i].name, "Late") == 0,
	      "member set while Redis was down written after the restart");
	i = entry(&rb, "candidate");
	CHECK(i >= 0 && rb.e[i].state == PRESENCE_PRESENT, "tracked member rewritten");
	CHECK(d2.calls == 0, "callback of a refused write was called");
	for (b0 = seen_b.n, i = 0; find(&seen_b, b0, "after", PRESENCE_PRESENT) < 0 && i < 200;
	     i++) {
		struct done d = { 0 };
		REQUIRE(presence_set(a, "r1", "after", "", PRESENCE_PRESENT, done_cb, &d) == 0,
			"after restart");
		RUN_UNTIL(d.calls == 1, "write after restart");
	}
	CHECK(find(&seen_b, b0, "after", PRESENCE_PRESENT) >= 0, "B resubscribed");

	/* ---- Redis frozen: only the command timeout (400 ms here) can tell. */
	static struct seen seen_c;
	struct presence *c = make("nodeC", &seen_c, 200, 400);
	RUN_UNTIL(presence_healthy(c), "C connected");
	d1.calls = 0;
	kill(redis.pid, SIGSTOP);
	REQUIRE(presence_set(c, "r1", "frozen", "", PRESENCE_PRESENT, done_cb, &d1) == 0,
		"set while frozen");
	RUN_UNTIL(d1.calls == 1, "command timeout");
	CHECK(d1.err == PRESENCE_E_LOST, "frozen write: %s", presence_strerror(d1.err));
	kill(redis.pid, SIGCONT);
	RUN_UNTIL(presence_healthy(c), "reconnect after the freeze");
	RUN_UNTIL(presence_healthy(a), "A still connected after the freeze");
	presence_destroy(c);

	/* ---- destroy fails what is pending, inside presence_destroy. */
	d1.calls = 0;
	memset(&rb, 0, sizeof(rb));
	REQUIRE(presence_set(a, "r1", "end", "", PRESENCE_PRESENT, done_cb, &d1) == 0, "end");
	REQUIRE(presence_read(a, "r1", read_cb, &rb) == 0, "end read");
	presence_unwatch(a, "r1");
	presence_destroy(a);
	CHECK(d1.calls == 1 && d1.err == PRESENCE_E_DESTROYED, "pending write: %d %s", d1.calls,
	      presence_strerror(d1.err));
	CHECK(rb.done && rb.err == PRESENCE_E_DESTROYED, "pending read: %s",
	      presence_strerror(rb.err));
	presence_destroy(b);
	presence_destroy(NULL);

	static struct seen seen_d;
	struct done first = { 0 }, second = { 0 };
	doomed = make("nodeD", &seen_d, 200, 60000);
	RUN_UNTIL(presence_healthy(doomed), "D connected");
	REQUIRE(presence_set(doomed, "r1", "d1", "", PRESENCE_PRESENT, destroy_cb, &first) == 0,
		"d1");
	REQUIRE(presence_set(doomed, "r1", "d2", "", PRESENCE_PRESENT, done_cb, &second) == 0,
		"d2");
	RUN_UNTIL(first.calls == 1 && second.calls == 1, "destroy inside a callback");
	CHECK(first.err == 0, "first: %s", presence_strerror(first.err));
	CHECK(second.err == 0 || second.err == PRESENCE_E_DESTROYED, "second: %s",
	      presence_strerror(second.err));

	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(uv_loop_close(&loop) == 0, "handles left open on the loop");
	svc_redis_destroy(&redis);
	CHECK_DONE();
}
