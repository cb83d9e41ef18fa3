/*
 * test-redisconn.c - the Redis connection that keeps itself up (redisconn.c).
 *
 * Presence and the timeline both rely on it, so its promises are pinned
 * here against a private redis-server (services.c) that the test kills,
 * restarts and freezes: it comes up and SELECTs its database; it notices a
 * dead server and comes back when the server does (up is called again);
 * a command left unanswered (the server stopped with SIGSTOP) drops the
 * link after command_timeout_ms, its callback getting a NULL reply; and
 * redisconn_finish() answers what is in flight with NULL replies, stops
 * trying and calls closed once its timer is closed.
 */
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "check.h"
#include "log.h"
#include "redisconn.h"
#include "services.h"

static uv_loop_t loop;
static struct svc_redis redis;

#define RUN_UNTIL(cond, what) SVC_RUN_UNTIL(&loop, cond, 20000, what)

struct seen {
	int ups, closed;
	int replies, nulls;
	long long db;
};

static void on_up(void *ud)
{
	((struct seen *)ud)->ups++;
}

static void on_closed(void *ud)
{
	((struct seen *)ud)->closed++;
}

struct cmd {
	struct seen *s;
	struct redisconn *rc;
	bool done;
	long long integer;
};

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct cmd *c = privdata;
	const redisReply *reply = r;

	(void)ac;
	c->done = true;
	if (!reply) {
		c->s->nulls++;
		return;
	}
	c->s->replies++;
	redisconn_replied(c->rc);
	if (reply->type == REDIS_REPLY_INTEGER)
		c->integer = reply->integer;
}

/* Sends a tracked command; false when the connection is not up. */
static bool send_cmd(struct redisconn *rc, struct cmd *c, const char *text)
{
	redisAsyncContext *ac = redisconn_ctx(rc);

	c->done = false;
	c->rc = rc;
	if (!ac || redisAsyncCommand(ac, on_reply, c, text) != REDIS_OK)
		return false;
	redisconn_sent(rc);
	return true;
}

/* The number of keys in database db, read on a connection of the test's own. */
static long long keys_in(int db)
{
	redisContext *c = redisConnect("127.0.0.1", redis.port);
	redisReply *r;
	long long n = -1;

	REQUIRE(c && !c->err, "connect to the private Redis");
	freeReplyObject(redisCommand(c, "SELECT %d", db));
	r = redisCommand(c, "DBSIZE");
	if (r && r->type == REDIS_REPLY_INTEGER)
		n = r->integer;
	freeReplyObject(r);
	redisFree(c);
	return n;
}

static void test_life(void)
{
	struct seen s = { 0 };
	struct redisconn rc;
	struct redisconn_options o = { .port = redis.port,
				       .db = 5,
				       .command_timeout_ms = 300,
				       .backoff_min_ms = 20,
				       .backoff_max_ms = 100,
				       .name = "test",
				       .up = on_up,
				       .ud = &s };
	struct cmd c = { .s = &s };

	redisconn_init(&rc, &loop, &o);
	CHECK(!redisconn_up(&rc) && !redisconn_ctx(&rc), "up before it was started");
	redisconn_start(&rc);
	RUN_UNTIL(redisconn_up(&rc), "the first connection");
	CHECK(s.ups == 1, "up called %d times", s.ups);
	/* Its commands run in the database it SELECTed. */
	REQUIRE(send_cmd(&rc, &c, "SET k v"), "SET");
	RUN_UNTIL(c.done, "the SET");
	CHECK(keys_in(5) == 1 && keys_in(0) == 0, "keys: db 5 %lld, db 0 %lld", keys_in(5),
	      keys_in(0));
	redisconn_start(&rc); /* already up: nothing happens */
	CHECK(s.ups == 1, "a second start reconnected");

	/* The server dies: noticed; it comes back: so does the connection. */
	svc_redis_kill(&redis);
	RUN_UNTIL(!redisconn_up(&rc), "the connection to notice the crash");
	REQUIRE(svc_redis_start(&redis) == 0, "restart Redis");
	RUN_UNTIL(redisconn_up(&rc), "the reconnect");
	CHECK(s.ups == 2, "up called %d times after the restart", s.ups);

	/* A server that stops answering: the watchdog drops the link. */
	kill(redis.pid, SIGSTOP);
	REQUIRE(send_cmd(&rc, &c, "PING"), "PING");
	RUN_UNTIL(c.done, "the unanswered PING to end");
	CHECK(s.nulls == 1 && !redisconn_up(&rc), "after the watchdog: %d NULL replies, up %d",
	      s.nulls, redisconn_up(&rc));
	kill(redis.pid, SIGCONT);
	RUN_UNTIL(redisconn_up(&rc), "the reconnect after the freeze");
	CHECK(s.ups == 3, "up called %d times after the freeze", s.ups);

	/* finish: what is in flight gets a NULL reply inside it; closed comes from the loop. */
	kill(redis.pid, SIGSTOP);
	REQUIRE(send_cmd(&rc, &c, "PING"), "PING before finish");
	redisconn_finish(&rc, on_closed);
	CHECK(c.done && s.nulls == 2, "in flight at finish: done %d, NULL replies %d", c.done,
	      s.nulls);
	CHECK(!redisconn_up(&rc) && s.closed == 0, "closed before the loop ran");
	RUN_UNTIL(s.closed == 1, "the closed callback");
	kill(redis.pid, SIGCONT);
	CHECK(s.ups == 3, "it reconnected after finish: %d ups", s.ups);
}

int main(void)
{
	int rc;

	log_init_from_env();
	rc = svc_redis_start(&redis);
	if (rc == SVC_SKIP) {
		fprintf(stderr, "skip: no redis-server\n");
		return SVC_SKIP;
	}
	REQUIRE(rc == 0, "start a private Redis");
	REQUIRE(uv_loop_init(&loop) == 0, "uv_loop_init");
	test_life();
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	svc_redis_destroy(&redis);
	CHECK_DONE();
}
