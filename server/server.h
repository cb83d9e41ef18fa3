/*
 * server.h - the network-facing process's shared state.
 *
 * One struct server per process, owned by main.c, living for the whole
 * run of `tandem serve`.  Every piece below runs on its one libuv loop:
 * libwebsockets (WebSocket, REST, static files), hiredis (presence), libpq
 * (durable state) and the socket to the judge supervisor.  Nothing here
 * may block that loop, and nothing here runs with privileges: by the time
 * a client can reach this process it has dropped to --user.
 */
#ifndef TANDEM_SERVER_H
#define TANDEM_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>
#include <uv.h>

#include "conn.h"
#include "crdt.h"
#include "metrics.h"
#include "proto.h"

struct tandem_config;
struct room;
struct conn;
struct jclient;
struct presence;
struct db;
struct timeline;
struct timeline_room;
struct bank;
struct http_accept;

/* Tunables the core reads; filled from struct tandem_config by main.c. */
struct server_limits {
	size_t max_frame;      /* bytes of one WebSocket message */
	size_t max_doc;	       /* UTF-8 bytes of a room's text */
	unsigned ops_per_s;    /* frames (updates and messages) per second per connection */
	unsigned runs_per_min; /* runs per minute per seat */
	unsigned join_timeout_ms;
	unsigned heartbeat_ms;
	unsigned left_after_ms;
	unsigned ack_delay_ms;	 /* an ack waits at most this long to share a write */
	size_t send_queue_bytes; /* per connection before resync */
};

struct server {
	uv_loop_t *loop;
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	/* accept.c: the listener, and connections until lws takes them */
	struct http_accept *accept;
	int static_fd; /* --static DIR, open; -1: the browser app is not served */
	struct server_limits lim;
	const char *secret;
	const char *admin_key;
	const char *public_url;

	struct room **rooms; /* open hash table of live rooms */
	size_t rooms_cap, nrooms;
	uint64_t next_conn;

	struct jclient *judge; /* NULL: Run is unavailable (reason in judge_down) */
	const char *judge_down;
	struct presence *presence;
	struct db *db;
	struct bank *bank;	   /* problems (bank.h); NULL without a database */
	struct timeline *timeline; /* NULL: no timeline (edits acknowledged on merge) */

	bool stopping;
	uint64_t conns_open;
	struct metrics metrics;

	/* conn.c: connections with frames to write before the loop next sleeps */
	lws_dll2_owner_t flush_conns;
	uv_prepare_t flush;
	unsigned char *gather; /* LWS_PRE + frames sent in one write */
	/* connections holding an ack, oldest first; ack_timer sends the overdue ones */
	lws_dll2_owner_t ack_conns;
	uv_timer_t ack_timer;
	/* connections holding an awareness; aw_timer relays each when its window opens */
	lws_dll2_owner_t aw_conns;
	uv_timer_t aw_timer;
	uint64_t aw_due; /* uv_now() aw_timer is armed for, while active */
	/* connections with frames waiting for a turn (conn_defer); dq_idle serves them */
	lws_dll2_owner_t dq_conns;
	uv_idle_t dq_idle;
	uint64_t text_ns;      /* spent on text frames in this turn's reads (conn_text_spent) */
	uv_timer_t save_timer; /* room.c: rooms_save_due (started by ws_start) */
	/* every WebSocket connection, and the timer that pings the silent ones */
	lws_dll2_owner_t all_conns;
	uv_timer_t beat_timer;
	uint64_t turn_us;	      /* server_turn_us(): 0 until read in this turn of the loop */
	struct conn_hooks conn_hooks; /* conn.c's calls upward (room.c) */
};

/*
 * A callback that serves a batch (held awareness frames, ...) stops after
 * this long and leaves the rest to the loop's next turn, so that the sockets
 * are read in between: a keystroke waits behind at most one slice.
 */
#define SERVER_SLICE_US 250

/* ---- helpers ------------------------------------------------------------ */

/* Wall-clock unix milliseconds (tokens, timestamps users see). */
uint64_t server_now_ms(void);
/* Monotonic milliseconds (rate limits, durations). */
uint64_t server_mono_ms(void);
/*
 * Monotonic microseconds read once per turn of the loop: the first call
 * after the loop wakes reads the clock and later ones reuse it until
 * server_turn_end() (the loop's prepare handle, just before it sleeps).
 * For stamps taken several times an update (rate limits, fan-out
 * latency): a clock read costs ~0.2 us on the machines measured.
 */
uint64_t server_turn_us(struct server *srv);
static inline void server_turn_end(struct server *srv)
{
	srv->turn_us = 0;
}

#endif /* TANDEM_SERVER_H */
