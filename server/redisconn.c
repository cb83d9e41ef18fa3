/*
 * redisconn.c - a hiredis connection that reconnects itself (redisconn.h).
 *
 * Presence and the timeline each keep one or two long-lived connections
 * to Redis; this file is the one copy of how such a connection comes up,
 * notices it is gone (hiredis' disconnect callback, a connect deadline, a
 * command watchdog) and comes back with jittered exponential backoff.  It
 * must never call a blocking hiredis function, and never touch a context
 * after handing it back to hiredis.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "redisconn.h"
#include "redisuv.h"

static void timer_cb(uv_timer_t *t);
static void connect_now(struct redisconn *rc);

static unsigned next_backoff(struct redisconn *rc)
{
	unsigned delay = rc->backoff_ms;
	unsigned jitter = delay / 4 > 0 ? (unsigned)(uv_hrtime() % (delay / 4 + 1)) : 0;

	if (rc->backoff_ms < rc->opt.backoff_max_ms) {
		rc->backoff_ms *= 2;
		if (rc->backoff_ms > rc->opt.backoff_max_ms)
			rc->backoff_ms = rc->opt.backoff_max_ms;
	}
	return delay + jitter;
}

static void log_state(const struct redisconn *rc, enum log_level level, const char *state,
		      const char *why)
{
	if (why)
		log_event(level, state, "conn=%s error=%s", rc->opt.name, why);
	else
		log_event(level, state, "conn=%s", rc->opt.name);
}

/* The context is gone (or never came): wait, then try again. */
static void went_down(struct redisconn *rc, const char *why)
{
	rc->ac = NULL;
	rc->state = REDISCONN_DOWN;
	rc->pending = 0;
	if (rc->finishing)
		return;
	if (!rc->down_logged) {
		log_state(rc, LOG_WARN, "redis.down", why);
		rc->down_logged = true;
	}
	uv_timer_start(&rc->timer, timer_cb, next_backoff(rc), 0);
}

static void on_select(redisAsyncContext *ac, void *r, void *privdata)
{
	(void)ac;
	if (r)
		redisconn_replied(privdata);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct redisconn *rc = ac->data;
	unsigned tick;

	if (!rc || rc->ac != ac)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		went_down(rc, ac->errstr[0] ? ac->errstr : "connect failed");
		return;
	}
	rc->state = REDISCONN_UP;
	rc->backoff_ms = rc->opt.backoff_min_ms;
	rc->pending = 0;
	rc->progress_ms = uv_now(rc->loop);
	log_state(rc, rc->down_logged ? LOG_INFO : LOG_DEBUG, "redis.up", NULL);
	rc->down_logged = false;
	/* The watchdog: a command unanswered for command_timeout_ms drops the link. */
	tick = rc->opt.command_timeout_ms / 4 ? rc->opt.command_timeout_ms / 4 : 1;
	uv_timer_start(&rc->timer, timer_cb, tick, tick);
	if (rc->opt.db &&
	    redisAsyncCommand(rc->ac, on_select, rc, "SELECT %d", rc->opt.db) == REDIS_OK)
		redisconn_sent(rc);
	if (rc->opt.up)
		rc->opt.up(rc->opt.ud);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redisconn *rc = ac->data;

	(void)status;
	if (!rc || rc->ac != ac)
		return;
	uv_timer_stop(&rc->timer);
	went_down(rc, ac->errstr[0] ? ac->errstr : "connection closed");
}

static void connect_now(struct redisconn *rc)
{
	redisAsyncContext *ac = redisAsyncConnect(rc->opt.host, rc->opt.port);

	if (!ac) {
		went_down(rc, "out of memory");
		return;
	}
	if (ac->err) {
		char why[128];

		snprintf(why, sizeof(why), "%s", ac->errstr);
		redisAsyncFree(ac);
		went_down(rc, why);
		return;
	}
	ac->data = rc;
	if (redisuv_attach(ac, rc->loop, rc->opt.batch_ms) < 0) {
		redisAsyncFree(ac);
		went_down(rc, "cannot attach to the loop");
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	rc->ac = ac;
	rc->state = REDISCONN_CONNECTING;
	uv_timer_start(&rc->timer, timer_cb, rc->opt.connect_timeout_ms, 0);
}

/* Drops the context now: replies in flight arrive as NULL. */
static void drop(struct redisconn *rc, const char *why)
{
	redisAsyncContext *ac = rc->ac;

	uv_timer_stop(&rc->timer);
	rc->ac = NULL;
	rc->state = REDISCONN_DOWN;
	if (ac) {
		/* Detach first so the callbacks above ignore this context from now on. */
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	went_down(rc, why);
}

static void timer_cb(uv_timer_t *t)
{
	struct redisconn *rc = t->data;

	switch (rc->state) {
	case REDISCONN_DOWN:
		connect_now(rc);
		break;
	case REDISCONN_CONNECTING:
		drop(rc, "connect timed out");
		break;
	case REDISCONN_UP:
		if (rc->pending > 0 &&
		    uv_now(rc->loop) - rc->progress_ms >= rc->opt.command_timeout_ms)
			drop(rc, "command timed out");
		break;
	}
}

void redisconn_init(struct redisconn *rc, uv_loop_t *loop, const struct redisconn_options *opt)
{
	memset(rc, 0, sizeof(*rc));
	rc->loop = loop;
	if (opt)
		rc->opt = *opt;
	if (!rc->opt.host)
		rc->opt.host = "127.0.0.1";
	if (!rc->opt.port)
		rc->opt.port = 6379;
	if (!rc->opt.connect_timeout_ms)
		rc->opt.connect_timeout_ms = 2000;
	if (!rc->opt.command_timeout_ms)
		rc->opt.command_timeout_ms = 3000;
	if (!rc->opt.backoff_min_ms)
		rc->opt.backoff_min_ms = 50;
	if (rc->opt.backoff_max_ms < rc->opt.backoff_min_ms)
		rc->opt.backoff_max_ms =
			rc->opt.backoff_min_ms > 2000 ? rc->opt.backoff_min_ms : 2000;
	if (!rc->opt.name)
		rc->opt.name = "redis";
	rc->state = REDISCONN_DOWN;
	rc->backoff_ms = rc->opt.backoff_min_ms;
	uv_timer_init(loop, &rc->timer);
	rc->timer.data = rc;
}

void redisconn_start(struct redisconn *rc)
{
	if (rc->finishing || rc->state != REDISCONN_DOWN || uv_is_active((uv_handle_t *)&rc->timer))
		return;
	connect_now(rc);
}

static void timer_closed(uv_handle_t *h)
{
	struct redisconn *rc = h->data;

	if (rc->closed)
		rc->closed(rc->opt.ud);
}

void redisconn_finish(struct redisconn *rc, void (*closed)(void *ud))
{
	redisAsyncContext *ac = rc->ac;

	if (rc->finishing)
		return;
	rc->finishing = true;
	rc->closed = closed;
	uv_timer_stop(&rc->timer);
	rc->ac = NULL;
	rc->state = REDISCONN_DOWN;
	/* Callbacks of commands in flight run now with NULL replies; ours ignore it. */
	if (ac)
		redisAsyncFree(ac);
	uv_close((uv_handle_t *)&rc->timer, timer_closed);
}

bool redisconn_up(const struct redisconn *rc)
{
	return rc->state == REDISCONN_UP && rc->ac;
}

redisAsyncContext *redisconn_ctx(const struct redisconn *rc)
{
	return redisconn_up(rc) ? rc->ac : NULL;
}

void redisconn_sent(struct redisconn *rc)
{
	if (rc->pending++ == 0)
		rc->progress_ms = uv_now(rc->loop);
}

void redisconn_replied(struct redisconn *rc)
{
	if (rc->pending > 0)
		rc->pending--;
	rc->progress_ms = uv_now(rc->loop);
}
