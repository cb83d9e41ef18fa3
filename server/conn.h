/*
 * conn.h - one WebSocket connection: its send queue, acks, flush,
 * heartbeat and receive budget (conn.c).
 *
 * Owns: struct conn's output side (queue, acks, close, heartbeat, budget)
 * and the server-wide lists and timers that drive it (flush_conns,
 * ack_conns, all_conns in struct server).  Knows libwebsockets, nothing of
 * rooms: the room fields of struct conn (room, seat, agent, name, the
 * room list links, the join in progress) are room.c's, kept here so a
 * connection is one allocation.  What conn.c needs from above comes
 * through struct conn_hooks.  Everything runs on the loop thread.
 */
#ifndef TANDEM_CONN_H
#define TANDEM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "bucket.h"
#include "crdt.h"
#include "proto.h"

struct conn;
struct join_wait;
struct server;
struct room;

/* The calls conn.c makes upward (room.c provides two, ws.c the third; ws_start sets them). */
struct conn_hooks {
	/* c's queue overflowed and was dropped: queue one catch-up (conn_send_catchup). */
	void (*resync)(struct conn *c);
	/* Everything queued for c was written (c->delivered may move up). */
	void (*drained)(struct conn *c);
	/*
	 * The awareness frame held for c (conn_hold_awareness), unparsed, may go
	 * on now: len bytes at frame, borrowed for the call.
	 */
	void (*awareness)(struct conn *c, const unsigned char *frame, size_t len);
	/*
	 * A frame of c that waited for its turn (conn_defer) is due: len bytes
	 * at data, borrowed for the call, within c's budget already.
	 */
	void (*deferred)(struct conn *c, const unsigned char *data, size_t len, bool binary);
};

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
	char *name;	/* the token's (owned); NULL until the join is read */
	int close_code; /* non-zero: close with it (and close_reason) at the next writable */
	struct conn *room_next, *room_prev;

	/* assembling the current message (rx_binary, below) */
	unsigned char *rx;
	size_t rx_len, rx_cap;

	/* bounded send queue (conn.c) */
	struct qmsg *q_head, *q_tail;
	size_t q_bytes;
	lws_dll2_t flush_node; /* in srv->flush_conns while listed */
	/* acknowledged ops not yet told (sent with the next write, or after ack_delay_ms) */
	struct crdt_version ack;
	lws_dll2_t ack_node;	       /* in srv->ack_conns while listed */
	uint64_t ack_since;	       /* uv_now() when it was listed */
	struct crdt_version delivered; /* doc version the client has surely been sent */

	/* heartbeat: uv_now() of the last frame received, pong included */
	lws_dll2_t all_node; /* in srv->all_conns */
	uint64_t rx_ms;

	const char *close_reason; /* conn_close()'s, which outlives the connection */

	lws_sorted_usec_list_t join_sul;
	struct join_wait *join; /* the join waiting for its room to load (room.c's); NULL: none */
	/* every frame received spends from both (conn_take_budget) */
	struct bucket budget_msgs, budget_bytes;
	/* over budget: not read until it fires (lws rx flow off meanwhile) */
	lws_sorted_usec_list_t rx_sul;
	/* notes and events, which the timeline records: room-msg.c's own, smaller budget */
	struct bucket budget_recorded;
	/* the errors its frames earned (conn_send_error): over it, not read for a while */
	struct bucket budget_refused;
	/* awareness pacing (conn_hold_awareness): the latest frame waiting for its window */
	unsigned char *aw_frame; /* PROTO_AWARENESS_MAX bytes once one was held; NULL before */
	size_t aw_len;		 /* bytes held; 0: none */
	uint64_t aw_next_ms;	 /* uv_now() from which the next one may go on */
	lws_dll2_t aw_node;	 /* in srv->aw_conns while one is held */
	/* frames waiting for a turn (conn_defer), oldest first; not read meanwhile */
	struct deferred *dq_head, *dq_tail;
	lws_dll2_t dq_node; /* in srv->dq_conns while it has any */

	/* The flags last, together: between wider fields each took 8 bytes. */
	bool rx_binary; /* the message being assembled is binary */
	bool choked;	/* a WRITEABLE is due: lws holds unsent bytes, or a close or resync waits */
	bool resync;	/* queue overflowed: send a catch-up instead */
	bool pinged;	/* a ping went out since rx_ms */
	bool ping_due;	/* a ping goes out with the next write */
	bool rx_paused; /* over budget: its socket is not read until rx_sul fires */
};

/* Queues a JSON message (consumed: the reference is dropped). */
void conn_send_json(struct conn *c, json_t *msg);
/*
 * Queues a text frame of len bytes (copied): one message serialized once
 * for many connections.  ephemeral: the next one of its kind supersedes it
 * (awareness): dropped rather than queued when the connection is half its
 * queue bound behind, and dropped with the updates on overflow, so it
 * never gets a peer closed.
 */
void conn_send_text(struct conn *c, const char *text, size_t len, bool ephemeral);
/* Queues a binary frame (copied). */
void conn_send_binary(struct conn *c, const uint8_t *data, size_t len);
/* Queues a catch-up update (copied), exempt from the send-queue bound. */
void conn_send_catchup(struct conn *c, const uint8_t *data, size_t len);
/* The same for a fanned-out update received at recv_us (uv_hrtime()/1000), for the histogram. */
void conn_send_fanout(struct conn *c, const uint8_t *data, size_t len, uint64_t recv_us);
/*
 * Sends {"t":"error",...}; id (may be NULL) is echoed; retry_ms > 0 adds
 * retry_ms.  An error that refuses what the client sent (bad_request,
 * forbidden, unknown_type, rate_limited, bad_update, doc_too_large,
 * already_joined, run_in_progress) spends from c's budget of refusals,
 * CONN_REFUSED_PER_S a second and CONN_REFUSED_BURST at once; past it the
 * error still goes out, and c is not read until one more would pass (at
 * least CONN_RX_PAUSE_MS), as over its frame budget.
 */
#define CONN_REFUSED_PER_S 10.0
#define CONN_REFUSED_BURST 20.0
void conn_send_error(struct conn *c, json_t *id, enum proto_err e, const char *message,
		     unsigned retry_ms);
/*
 * Tells c that the ops in v (agent -> next seq) are durable.  Acks merge
 * (the highest seq per agent wins) and go out with the next frames written
 * to c, or on their own once they have waited lim.ack_delay_ms.
 */
void conn_ack(struct conn *c, const struct crdt_version *v);
/*
 * Closes the connection with code and reason after flushing what is
 * queued.  reason is kept, not copied: a string literal or another that
 * outlives c (auth_strerror()'s are).
 */
void conn_close(struct conn *c, int code, const char *reason);

/*
 * Life cycle.  conn_create() registers a connection accepted on wsi
 * (borrowed; NULL on out of memory); conn_destroy() frees it and
 * everything queued (accepts NULL), once lws has closed wsi and the room
 * let go of it.  conn_start() sets up the flush, ack and heartbeat machinery
 * on srv->loop (hooks copied), and the awareness timer; conn_finish() frees what it allocated,
 * after the loop ended.
 */
struct conn *conn_create(struct server *srv, struct lws *wsi);
void conn_destroy(struct conn *c);
int conn_start(struct server *srv, const struct conn_hooks *hooks);
void conn_finish(struct server *srv);

/* A frame (pong included) came in: the peer is alive. */
void conn_heard(struct conn *c);
/*
 * Spends one frame of len bytes from c's budget (--ops-per-s frames and
 * 16 x --max-frame bytes a second).  False: over budget: the frame is
 * refused, c was sent rate_limited with retry_ms, and c's socket is not
 * read for those retry_ms (at least CONN_RX_PAUSE_MS, by when such a
 * frame passes): what it sends meanwhile waits, unread, in lws's buffer
 * and the socket, and is read after.
 */
#define CONN_RX_PAUSE_MS 50
bool conn_take_budget(struct conn *c, size_t len);
/*
 * Awareness pacing (docs/protocol.md "Awareness"): at most one awareness
 * frame of a connection goes on per CONN_AWARENESS_MS.  An awareness frame
 * of len bytes (at most PROTO_AWARENESS_MAX) came in at data (borrowed).
 * False: the window was open and this one opens it again: the caller
 * handles it now.  True: it is held instead, unparsed (copied, replacing
 * the one held before, which is never read), and conn_hooks.awareness
 * gets it when the window opens, unless c is destroyed first.
 */
#define CONN_AWARENESS_MS 50
bool conn_hold_awareness(struct conn *c, const unsigned char *data, size_t len);
/*
 * Text frames' share of a turn of the loop.  A text frame (a note, an event,
 * a cursor, a run...) costs a parse, a relay to each seat, a record in the
 * timeline; a keystroke costs a merge and a copy.  Within one turn the
 * frames of every connection that has any are handled one after the other,
 * so fifty connections sending text as fast as their budget allows (the
 * load benchmark's flood) made a turn last milliseconds and every keystroke
 * read in it wait as long.  So: once the text frames handled in a turn took
 * SERVER_SLICE_US (conn_text_spent() counts them), a text frame that comes
 * in waits, copied, for a later turn, where waiting frames are handled for
 * at most SERVER_SLICE_US a turn, oldest connection first, one frame each
 * in turn; a connection with a frame waiting is not read (lws rx flow
 * control) and any frame of it that lws had read already waits behind, so
 * its frames keep their order.  Updates are never held for the slice.
 * True: data (len bytes, borrowed) waits, and conn_hooks.deferred gets it.
 */
bool conn_defer(struct conn *c, const unsigned char *data, size_t len, bool binary);
/* A text frame handled now took ns nanoseconds of this turn. */
void conn_text_spent(struct server *srv, uint64_t ns);
/* lws says c's socket is writable: 0, or -1 to close it. */
int conn_writeable(struct conn *c);

/*
 * For tests (tests/server/test-room.c): the i-th frame queued for c, not
 * yet written (borrowed until c's queue changes).  False past the end.  A
 * connection made with conn_create(srv, NULL) has no socket and keeps
 * everything queued.
 */
bool conn__queued(const struct conn *c, size_t i, const uint8_t **data, size_t *len, bool *binary);

#endif /* TANDEM_CONN_H */
