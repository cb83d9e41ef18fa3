/*
 * redisconn.h - one hiredis async connection that keeps itself up.
 *
 * Boundary: connecting, reconnecting with backoff, and the two timers that
 * bound a connection attempt and each command; it knows no command of its
 * users (presence.c, the timeline) beyond an optional SELECT, and nothing
 * of rooms.  hiredis 0.14 has no timeouts of its own, so one libuv timer
 * serves as the backoff delay while DOWN, the connect deadline while
 * CONNECTING and the command watchdog while UP: a command left unanswered
 * for command_timeout_ms drops the link (its callbacks get NULL replies)
 * and a reconnect follows.
 *
 * Life cycle: redisconn_init() on caller memory, redisconn_start() when the
 * connection is wanted, redisconn_finish() at the end; the caller's memory
 * may go once the closed callback has run (libuv closes the timer
 * asynchronously).  Everything runs on the loop thread.
 */
#ifndef TANDEM_REDISCONN_H
#define TANDEM_REDISCONN_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/async.h>
#include <uv.h>

/* Tunables; zero fields take the defaults in brackets. */
struct redisconn_options {
	const char *host; /* borrowed: must outlive the connection ["127.0.0.1"] */
	int port;	  /* [6379] */
	int db;		  /* SELECTed (as a tracked command) after connecting [0: none] */
	unsigned connect_timeout_ms; /* [2000] */
	unsigned command_timeout_ms; /* [3000] */
	unsigned backoff_min_ms;     /* first delay before a reconnect [50] */
	unsigned backoff_max_ms;     /* delays double up to this [2000] */
	unsigned batch_ms;	     /* commands wait this long to share a write (redisuv.h) [0] */
	/* Static; log lines redis.down and redis.up say conn=<name> ["redis"]. */
	const char *name;
	/* Called once each time the connection comes up (after the SELECT is sent). */
	void (*up)(void *ud);
	void *ud;
};

enum redisconn_state { REDISCONN_DOWN, REDISCONN_CONNECTING, REDISCONN_UP };

/* Lives in caller memory; read it only through the functions below. */
struct redisconn {
	uv_loop_t *loop;
	struct redisconn_options opt;
	redisAsyncContext *ac; /* NULL while DOWN */
	enum redisconn_state state;
	uv_timer_t timer;
	unsigned backoff_ms;
	unsigned pending;     /* tracked commands without a reply yet */
	uint64_t progress_ms; /* loop time of the last reply, or of 0 -> 1 pending */
	bool down_logged, finishing;
	void (*closed)(void *ud);
};

/* Prepares rc on loop (both borrowed) with a copy of opt; does not connect. */
void redisconn_init(struct redisconn *rc, uv_loop_t *loop, const struct redisconn_options *opt);
/*
 * Connects now, unless rc is connecting, up, or waiting out a backoff
 * delay (then the retry is already scheduled).  Redis being down is not an
 * error: rc keeps trying.
 */
void redisconn_start(struct redisconn *rc);
/*
 * Drops the connection (callbacks of commands in flight run inside, with
 * NULL replies), stops trying, and closes the timer; closed(opt.ud) runs
 * from the loop once it is closed, and only then may rc's memory go.
 */
void redisconn_finish(struct redisconn *rc, void (*closed)(void *ud));

/* Is the connection up (commands may be sent)? */
bool redisconn_up(const struct redisconn *rc);
/* The context to send commands on: NULL unless up.  Valid until the loop next runs. */
redisAsyncContext *redisconn_ctx(const struct redisconn *rc);
/* Bookkeeping for the watchdog: a tracked command was sent; its reply arrived. */
void redisconn_sent(struct redisconn *rc);
void redisconn_replied(struct redisconn *rc);

#endif
