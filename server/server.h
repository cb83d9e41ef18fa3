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

/* Tunables the core reads; filled from struct tandem_config by main.c. */
struct server_limits {
	size_t max_frame;      /* bytes of one WebSocket message */
	size_t max_doc;	       /* UTF-8 bytes of a room's text */
	unsigned ops_per_s;    /* CRDT updates per second per connection */
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

	/* ws.c: connections with frames to write before the loop next sleeps */
	lws_dll2_owner_t flush_conns;
	uv_prepare_t flush;
	unsigned char *gather; /* LWS_PRE + frames sent in one write */
	/* connections holding an ack, oldest first; ack_timer sends the overdue ones */
	lws_dll2_owner_t ack_conns;
	uv_timer_t ack_timer;
	uv_timer_t save_timer; /* room.c: rooms_save_due */
	/* every WebSocket connection, and the timer that pings the silent ones */
	lws_dll2_owner_t all_conns;
	uv_timer_t beat_timer;
	uint64_t turn_us; /* server_turn_us(): 0 until read in this turn of the loop */
};

/* ---- connections (ws.c) ------------------------------------------------- */

/*
 * A WebSocket connection.  Created when the handshake is accepted, freed
 * when lws closes it.  Before its join is accepted it has no room and may
 * only send join.
 */
struct conn {
	struct server *srv;
	struct lws *wsi;
	uint64_t id;
	struct room *room;
	enum seat seat;
	uint32_t agent;
	char name[132]; /* AUTH_NAME_MAX + 1, rounded */
	struct conn *room_next, *room_prev;

	/* assembling the current message */
	unsigned char *rx;
	size_t rx_len, rx_cap;
	bool rx_binary;

	/* bounded send queue */
	struct qmsg *q_head, *q_tail;
	size_t q_bytes;
	lws_dll2_t flush_node; /* in srv->flush_conns while listed */
	bool choked; /* a WRITEABLE is due: lws holds unsent bytes, or a close or resync waits */
	/* acknowledged ops not yet told (ws.c: sent with the next write, or after ack_delay_ms) */
	struct crdt_version ack;
	lws_dll2_t ack_node;	       /* in srv->ack_conns while listed */
	uint64_t ack_since;	       /* uv_now() when it was listed */
	bool resync;		       /* queue overflowed: send a catch-up instead */
	struct crdt_version delivered; /* doc version the client has surely been sent */

	/* heartbeat (ws.c): uv_now() of the last frame received, pong included */
	lws_dll2_t all_node; /* in srv->all_conns */
	uint64_t rx_ms;
	bool pinged;   /* a ping went out since */
	bool ping_due; /* a ping goes out with the next write */

	int close_code; /* non-zero: close with it at the next writable */
	char close_reason[64];

	lws_sorted_usec_list_t join_sul;
	/* while the room of a join loads */
	bool joining;
	struct crdt_version join_have;
	json_t *join_id;
	int64_t join_epoch; /* of the join's token */
	double op_tokens;
	uint64_t op_stamp_ms;
};

/* Queues a JSON message (consumed: the reference is dropped). */
void conn_send_json(struct conn *c, json_t *msg);
/* Queues a binary frame (copied). */
void conn_send_binary(struct conn *c, const uint8_t *data, size_t len);
/* Queues a catch-up update (copied), exempt from the send-queue bound. */
void conn_send_catchup(struct conn *c, const uint8_t *data, size_t len);
/* The same for a fanned-out update received at recv_us (uv_hrtime()/1000), for the histogram. */
void conn_send_fanout(struct conn *c, const uint8_t *data, size_t len, uint64_t recv_us);
/* Sends {"t":"error",...}; id (may be NULL) is echoed; retry_ms > 0 adds retry_ms. */
void conn_send_error(struct conn *c, json_t *id, enum proto_err e, const char *message,
		     unsigned retry_ms);
/*
 * Tells c that the ops in v (agent -> next seq) are durable.  Acks merge
 * (the highest seq per agent wins) and go out with the next frames written
 * to c, or on their own once they have waited lim.ack_delay_ms.
 */
void conn_ack(struct conn *c, const struct crdt_version *v);
/* Closes the connection with code and reason after flushing what is queued. */
void conn_close(struct conn *c, int code, const char *reason);

/* ws.c: starts libwebsockets on srv->loop listening on host:port. */
int ws_start(struct server *srv, const char *host, int port, const char *static_dir);
/* Stops accepting and closes every connection with 1001. */
void ws_stop(struct server *srv);
/* Frees what ws_start allocated besides the lws context (after the loop ended). */
void ws_finish(struct server *srv);

/* ---- rooms (room.c) ----------------------------------------------------- */

struct room *room_find(struct server *srv, const char *id);
/* Creates a room in memory; NULL on OOM or duplicate id. */
struct room *room_create(struct server *srv, const char *id, const char *problem);
const char *room_id(const struct room *r);
const char *room_problem(const struct room *r);
bool room_closed(const struct room *r);
/* Unregisters and frees r (its connections are closed with 1001). */
void room_discard(struct room *r);
/* Records that agent belongs to seat (loading from the database, and joins). */
int room_add_owner(struct room *r, uint32_t agent, enum seat seat);
/* Merges a stored snapshot into a freshly loaded room. */
int room_load_snapshot(struct room *r, const uint8_t *data, size_t len);
/* The stored state of a loaded room: closed or not, its token epoch (no side effects). */
void room_mark_loaded(struct room *r, bool closed, int64_t token_epoch);
/* Tokens whose epoch ("ep") is older than this are revoked (closing bumps it). */
int64_t room_token_epoch(const struct room *r);
/*
 * The room's row is in PostgreSQL (loaded, or its creation confirmed): once
 * it is empty and everything about it is stored, it may be freed (the next
 * join or REST call loads it again).  Until then it stays in memory.
 */
void room_mark_persisted(struct room *r);
/* Saves r's snapshot if it changed; rooms_save_all for every room (shutdown). */
int room_save(struct room *r);
void rooms_save_all(struct server *srv);
/* save_timer's callback, every SAVE_TICK_MS: writes the snapshots that are due. */
#define SAVE_TICK_MS 200
void rooms_save_due(uv_timer_t *t);
/* The room's document version (v's old contents replaced). */
int room_doc_version(const struct room *r, struct crdt_version *v);
/* Server shutdown: every connection closes with 1001 (state kept). */
void room_shutdown(struct room *r);
/*
 * Closes the room in memory (once PostgreSQL has the close: http.c): its
 * token epoch goes up by one, members see COMPLETED, connections close
 * with 4002.  Closing a closed room does nothing.
 */
void room_close(struct room *r);
/* Presence of every seat as a JSON array (new reference). */
json_t *room_presence_json(const struct room *r);

/* A client's join was verified for room r and seat: attach c. */
void room_join(struct room *r, struct conn *c, const char *name, const struct crdt_version *have,
	       json_t *id);
/* c is going away (socket closed). */
void room_leave(struct conn *c);
/* A JSON control message from a joined connection (role already checked). */
void room_on_json(struct conn *c, enum proto_msg m, json_t *msg);
/* A binary CRDT update from a joined connection. */
void room_on_update(struct conn *c, const uint8_t *data, size_t len);
/* The connection's send queue overflowed and was dropped: build its catch-up. */
void room_resync(struct conn *c);
struct presence_event;
struct presence_entry;
/* A presence transition the presence module saw (LEFT timer, another node). */
void room_presence_event(struct server *srv, const struct presence_event *ev);
/* Seeds a room's seats from presence read back from Redis (after a restart). */
void room_presence_loaded(struct room *r, const struct presence_entry *e, size_t n);
/* Frees every room (shutdown). */
void rooms_free(struct server *srv);
/* timeline.c says room's events up to seq are durable: send the acks they cover. */
void room_timeline_durable(struct server *srv, const char *room, uint64_t seq);
/* The room's timeline (NULL without one); valid as long as srv->timeline. */
struct timeline_room *room_timeline(const struct room *r);
/*
 * The text at unix ms at_ms (read-at-version, see timeline_version_at):
 * *text is malloc'd (the caller frees it), *seq the last edit applied
 * (0: none).  Returns 0 or -1 (no timeline, out of memory).
 */
int room_text_at(const struct room *r, int64_t at_ms, char **text, size_t *len, uint64_t *seq);

/* ---- the judge, through the supervisor (jclient.c) ---------------------- */

typedef void jclient_output_cb(void *ud, uint64_t run, const char *stream, const char *utf8);
typedef void jclient_done_cb(void *ud, uint64_t run, json_t *result, const char *error);

/* Submits code for a script run; 0 or a negative errno-style code. */
int jclient_run(struct jclient *jc, const char *code, size_t code_len, jclient_output_cb *out,
		jclient_done_cb *done, void *ud, uint64_t *run);
/* Forgets ud: no more callbacks for run (the room went away). */
void jclient_forget(struct jclient *jc, uint64_t run);
/* A test's line as it arrives (test modes); t is borrowed for the call. */
typedef void jclient_test_cb(void *ud, uint64_t run, size_t index, const json_t *t);
/*
 * A run in any mode: req (consumed) holds "code" and, for the test modes,
 * "mode", "entry", "tests" (without expected values), "options" and
 * "limits" ({cpu_ms, wall_ms, mem_mb, output_kb}).  test (may be NULL) gets
 * each test's line as it arrives; done the whole result (judge_result_json).
 */
int jclient_run_tests(struct jclient *jc, json_t *req, jclient_output_cb *out,
		      jclient_test_cb *test, jclient_done_cb *done, void *ud, uint64_t *run);

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
