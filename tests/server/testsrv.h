/*
 * testsrv.h - a struct server for the tests that drive the core's modules
 * directly (test-room.c, test-conn.c): on loop, with the limits a default
 * tandem has where they matter to a test (a 1 MiB frame and document, 200
 * frames a second, a 4 MiB send queue) and no judge.
 */
#ifndef TANDEM_TESTS_TESTSRV_H
#define TANDEM_TESTS_TESTSRV_H

#include <uv.h>

#include "server.h"

static inline void testsrv_init(struct server *srv, uv_loop_t *loop)
{
	uv_loop_init(loop);
	srv->loop = loop;
	srv->secret = "a test secret of enough length";
	srv->lim.max_frame = 1 << 20;
	srv->lim.max_doc = 1 << 20;
	srv->lim.ops_per_s = 200;
	srv->lim.runs_per_min = 10;
	srv->lim.heartbeat_ms = 10000;
	srv->lim.join_timeout_ms = 10000;
	srv->lim.left_after_ms = 1000;
	srv->lim.ack_delay_ms = 200;
	srv->lim.send_queue_bytes = 4 << 20;
	srv->judge_down = "no judge in this test";
}

#endif
