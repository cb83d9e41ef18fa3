/*
 * jclient.h - running code through the judge supervisor, from the loop.
 *
 * Boundary: jclient owns the network process's end of the supervisor
 * socketpair (the protocol is in jproto.h) and knows nothing of rooms or of
 * the server: what it must tell its owner (the judge went up or down, the
 * pool's load) goes up through struct jclient_events.  Every callback runs
 * on the loop thread, never from inside the call that caused it except
 * where said below.
 */
#ifndef TANDEM_JCLIENT_H
#define TANDEM_JCLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "jproto.h"

struct jclient;

/* What the supervisor reports about itself, for the owner (metrics, Run). */
struct jclient_events {
	/*
	 * down is NULL when the judge is up ("ready"), else why Run is
	 * unavailable (borrowed: valid until the next call or until the
	 * jclient is gone).  Once down, it stays down.
	 */
	void (*state)(void *ud, const char *down);
	/* The pool's load, about once a second. */
	void (*stats)(void *ud, unsigned queued, unsigned pool);
	void *ud;
};

/*
 * Talks to the supervisor over fd (a socketpair end, owned by jc from now
 * on, even on failure).  events is copied.  Returns 0 and sets *out, or
 * JPROTO_ENOMEM / JPROTO_EDOWN.
 */
int jclient_create(uv_loop_t *loop, int fd, const struct jclient_events *events,
		   struct jclient **out);
/*
 * Fails the runs in flight (JPROTO_ESHUTDOWN) and closes; the memory goes
 * once libuv has closed the pipe.  Accepts NULL.
 */
void jclient_destroy(struct jclient *jc);
/* Is the supervisor there, and has it neither reported itself down nor broken the stream? */
bool jclient_up(const struct jclient *jc);

/* stream is "stdout" or "stderr"; utf8 is valid UTF-8 (borrowed for the call). */
typedef void jclient_output_cb(void *ud, uint64_t run, const char *stream, const char *utf8);
/*
 * Called once per run: err == 0 with result (borrowed for the call), or a
 * negative JPROTO_E* code with message (never NULL; borrowed) saying more.
 * JPROTO_EBUSY means the run never started and may be retried.
 */
typedef void jclient_done_cb(void *ud, uint64_t run, json_t *result, int err, const char *message);

/*
 * Submits code (code_len bytes, copied) for a script run and sets *run.
 * Returns 0, or JPROTO_EDOWN / JPROTO_ENOMEM (no callback follows then).
 */
int jclient_run(struct jclient *jc, const char *code, size_t code_len, jclient_output_cb *out,
		jclient_done_cb *done, void *ud, uint64_t *run);
/* A test's line as it arrives (test modes); t is borrowed for the call. */
typedef void jclient_test_cb(void *ud, uint64_t run, size_t index, const json_t *t);

/*
 * A run in any mode: req (consumed) holds "code" and, for the test modes,
 * "mode", "entry", "tests" (without expected values), "options" and
 * "limits" ({cpu_ms, wall_ms, mem_mb, output_kb}); or "kind": "complexity"
 * with "problem".  test (may be NULL) gets each test's line as it arrives;
 * done the whole result (judge_result_json, or the estimate).  Returns as
 * jclient_run().
 */
int jclient_run_tests(struct jclient *jc, json_t *req, jclient_output_cb *out,
		      jclient_test_cb *test, jclient_done_cb *done, void *ud, uint64_t *run);
/* Forgets run: no more callbacks for it, and the supervisor cancels it. */
void jclient_forget(struct jclient *jc, uint64_t run);

#endif
