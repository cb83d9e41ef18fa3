/*
 * services.h - private Redis and PostgreSQL instances for one test.
 *
 * Tests that stop, kill and restart a server must not do it to the shared
 * development services (scripts/services), so each starts its own, on a
 * free port, in a fresh temporary folder that is removed afterwards.  As
 * root, PostgreSQL runs as the 'postgres' user (it refuses root).  These
 * helpers block: they run in the test's own thread between loop turns, the
 * way an operator's commands would.
 */
#ifndef TANDEM_TESTS_SERVER_SERVICES_H
#define TANDEM_TESTS_SERVER_SERVICES_H

#include <stdbool.h>
#include <sys/types.h>

#include <uv.h>

/* Exit status meaning "skipped" for meson. */
#define SVC_SKIP 77

/*
 * A bounded wait on a loop: a guard timer that marks the wait expired after
 * guard_ms (a bound that turns into a failure, never a wait), and a 10 ms
 * ticker that wakes the loop, so a condition that changes without an event
 * of its own is seen.  The caller owns w (on its stack is fine);
 * svc_wait_stop closes both timers before it returns.
 */
struct svc_wait {
	uv_timer_t guard, ticker;
	bool expired;
	int open;
};
void svc_wait_start(uv_loop_t *loop, struct svc_wait *w, unsigned guard_ms);
void svc_wait_stop(struct svc_wait *w);

/*
 * Turns loop until cond holds, for guard_ms at most; then REQUIRE (check.h,
 * included by the test) fails with "timed out waiting for <what>".
 */
#define SVC_RUN_UNTIL(loop, cond, guard_ms, what)                  \
	do {                                                       \
		struct svc_wait w_;                                \
		svc_wait_start((loop), &w_, (guard_ms));           \
		while (!(cond) && !w_.expired)                     \
			uv_run((loop), UV_RUN_ONCE);               \
		svc_wait_stop(&w_);                                \
		REQUIRE((cond), "timed out waiting for %s", what); \
	} while (0)

/* Runs loop until *flag is set or guard_ms pass; returns *flag. */
bool svc_run_until(uv_loop_t *loop, bool *flag, unsigned guard_ms);

/* A TCP port nothing listens on right now (bind to port 0, read it back). */
int svc_free_port(void);

struct svc_redis {
	char dir[64];
	int port;
	pid_t pid;
};

/*
 * Starts redis-server on r->port (a free one when 0) and waits until it
 * answers PING.  Returns 0, SVC_SKIP when redis-server is not installed,
 * or -1.
 */
int svc_redis_start(struct svc_redis *r);
/* SIGKILL, as a crash would; the folder stays for a restart. */
void svc_redis_kill(struct svc_redis *r);
/* Stops it (if running) and removes its folder. */
void svc_redis_destroy(struct svc_redis *r);

struct svc_pg {
	char dir[64];
	int port;
	char bindir[256];
	char conninfo[256];
	bool running;
};

/*
 * initdb into a fresh folder and start on a free port; pg->conninfo is then
 * "host=127.0.0.1 port=N dbname=postgres user=postgres".  Returns 0,
 * SVC_SKIP when no PostgreSQL server binaries exist, or -1.
 */
int svc_pg_create(struct svc_pg *pg);
/* pg_ctl start / stop -m fast (waits).  Return 0 or -1. */
int svc_pg_start(struct svc_pg *pg);
int svc_pg_stop(struct svc_pg *pg);
/* Stops it and removes its folder. */
void svc_pg_destroy(struct svc_pg *pg);

#endif
