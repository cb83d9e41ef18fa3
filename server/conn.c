/*
 * conn.c - one WebSocket connection's output: send queue, acks, flush,
 * heartbeat, the budget of what it may send and the pace of its awareness.
 *
 * Knows libwebsockets (it writes the frames) and nothing of rooms: what a
 * message means is room.c's business, and the three things this file needs
 * from above (a catch-up when a queue overflowed, the note that a queue
 * drained, a held awareness whose window opened) come through
 * srv->conn_hooks.  ws.c creates and destroys
 * connections from its lws callbacks and hands received frames up.
 *
 * Each connection has a bounded send queue.  A peer that cannot keep up
 * has its queued updates dropped and is sent one catch-up instead
 * (conn_hooks.resync), so it can never make the server hold unbounded
 * memory.
 *
 * Writing works the way Redis answers its clients: frames queue up while
 * the loop handles events, and just before the loop sleeps (a uv_prepare
 * handle) every connection with queued frames gets them in one send(2),
 * several frames gathered into one buffer.  Nothing waits for POLLOUT while
 * the socket takes what is written, so a keystroke costs no epoll_ctl; only
 * a socket that could not take everything (lws keeps the rest) waits for
 * WRITEABLE, and its frames stay queued, bounded, until then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "fmt.h"
#include "log.h"
#include "server.h"

/* A queued frame: LWS_PRE bytes of headroom, then the payload. */
struct qmsg {
	struct qmsg *next;
	size_t len;
	uint64_t recv_us; /* fan-out: when the update arrived; 0 otherwise */
	bool binary;
	bool ephemeral; /* awareness: dropped, not kept, when the queue overflows */
	unsigned char buf[];
};

/* A frame waiting for a turn (conn_defer). */
struct deferred {
	struct deferred *next;
	size_t len;
	bool binary;
	unsigned char data[];
};

/* ---- send queue ----------------------------------------------------------- */

static void queue_drop(struct conn *c)
{
	while (c->q_head) {
		struct qmsg *m = c->q_head;

		c->q_head = m->next;
		free(m);
	}
	c->q_tail = NULL;
	c->q_bytes = 0;
}

/*
 * Drops the queued CRDT updates (the catch-up will carry them) and the
 * awareness frames (the next one supersedes them), and keeps the control
 * messages: a welcome or an error must not vanish.
 */
static void queue_drop_updates(struct conn *c)
{
	struct qmsg **p = &c->q_head;

	c->q_tail = NULL;
	while (*p) {
		struct qmsg *m = *p;

		if (m->binary || m->ephemeral) {
			*p = m->next;
			c->q_bytes -= m->len;
			free(m);
		} else {
			c->q_tail = m;
			p = &m->next;
		}
	}
}

/*
 * Puts c on the list written before the loop sleeps, unless a WRITEABLE is
 * due anyway.  An update to forward (urgent) puts c at the head, anything
 * else at the tail: a pass that also writes a flood's answers, cursors,
 * events and acks to dozens of sockets writes the keystrokes first.
 */
static void flush_list(struct conn *c, bool urgent)
{
	if (c->choked)
		return;
	if (!lws_dll2_is_detached(&c->flush_node)) {
		if (!urgent)
			return;
		lws_dll2_remove(&c->flush_node);
	}
	if (urgent)
		lws_dll2_add_head(&c->flush_node, &c->srv->flush_conns);
	else
		lws_dll2_add_tail(&c->flush_node, &c->srv->flush_conns);
}

static void flush_unlist(struct conn *c)
{
	if (!lws_dll2_is_detached(&c->flush_node))
		lws_dll2_remove(&c->flush_node);
}

/* The rest goes through the WRITEABLE callback (partial send, close, resync). */
static void want_writeable(struct conn *c)
{
	flush_unlist(c);
	if (!c->choked) {
		c->choked = true;
		if (c->wsi) /* a connection without a socket is a test's */
			lws_callback_on_writable(c->wsi);
	}
}

/*
 * Queues one frame.  The bound applies to what peers generate; a catch-up
 * (the join's, or a resync's) is exempt: it is one frame already built
 * from the document, and refusing it would lock a newcomer out of a room
 * whose history outgrew the bound.
 */
static void enqueue(struct conn *c, const void *data, size_t len, bool binary, uint64_t recv_us,
		    bool catchup, bool ephemeral)
{
	struct qmsg *m;

	if (c->close_code)
		return;
	if (binary && c->resync && !catchup)
		return; /* the catch-up will carry it */
	if (ephemeral && c->q_bytes + len > c->srv->lim.send_queue_bytes / 2)
		return; /* a peer this far behind gets the next awareness, not this one */
	if (!catchup && c->q_bytes + len > c->srv->lim.send_queue_bytes) {
		/* Too slow: forget the queued updates and send one catch-up later. */
		log_event(LOG_WARN, "conn.slow", "conn=%llu queued=%zu", (unsigned long long)c->id,
			  c->q_bytes);
		queue_drop_updates(c);
		c->resync = true;
		c->srv->metrics.resyncs++;
		want_writeable(c);
		if (binary)
			return;
		/* Control messages alone filling the queue: this peer is not reading. */
		if (c->q_bytes + len > c->srv->lim.send_queue_bytes) {
			conn_close(c, PROTO_CLOSE_TOO_SLOW, "cannot keep up");
			return;
		}
	}
	m = malloc(sizeof(*m) + LWS_PRE + len);
	if (!m) {
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of memory");
		return;
	}
	m->next = NULL;
	m->len = len;
	m->binary = binary;
	m->ephemeral = ephemeral;
	m->recv_us = recv_us;
	memcpy(m->buf + LWS_PRE, data, len);
	if (c->q_tail)
		c->q_tail->next = m;
	else
		c->q_head = m;
	c->q_tail = m;
	c->q_bytes += len;
	flush_list(c, binary);
}

void conn_send_text(struct conn *c, const char *text, size_t len, bool ephemeral)
{
	enqueue(c, text, len, false, 0, false, ephemeral);
}

void conn_send_json(struct conn *c, json_t *msg)
{
	char *s;

	if (!msg)
		return;
	s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!s)
		return;
	enqueue(c, s, strlen(s), false, 0, false, false);
	free(s);
}

void conn_send_binary(struct conn *c, const uint8_t *data, size_t len)
{
	enqueue(c, data, len, true, 0, false, false);
}

void conn_send_catchup(struct conn *c, const uint8_t *data, size_t len)
{
	enqueue(c, data, len, true, 0, true, false);
}

void conn_send_fanout(struct conn *c, const uint8_t *data, size_t len, uint64_t recv_us)
{
	enqueue(c, data, len, true, recv_us, false, false);
}

static void rx_pause(struct conn *c, unsigned ms);

/* e refuses what the client sent, rather than telling of the server's state. */
static bool is_refusal(enum proto_err e)
{
	switch (e) {
	case PERR_BAD_REQUEST:
	case PERR_FORBIDDEN:
	case PERR_UNKNOWN_TYPE:
	case PERR_RATE_LIMITED:
	case PERR_BAD_UPDATE:
	case PERR_DOC_TOO_LARGE:
	case PERR_ALREADY_JOINED:
	case PERR_RUN_IN_PROGRESS:
		return true;
	default:
		return false;
	}
}

/*
 * A client answered with error after error is broken or hostile, and each
 * answer costs a parse, a reply and often a look at the room: a candidate
 * flooding notes (forbidden) or events past their own budget (rate_limited)
 * made the server read and refuse ~130 frames a second each (bench/server
 * flood phase).  Past its budget of refusals it is paused like a
 * connection over its frame budget, so such a flood waits in its socket.
 */
static void spend_refusal(struct conn *c)
{
	uint64_t now = server_turn_us(c->srv) / 1000u;

	if (!bucket_take(&c->budget_refused, now, CONN_REFUSED_PER_S, CONN_REFUSED_BURST, 1))
		rx_pause(c, bucket_wait_ms(&c->budget_refused, CONN_REFUSED_PER_S, 1));
}

void conn_send_error(struct conn *c, json_t *id, enum proto_err e, const char *message,
		     unsigned retry_ms)
{
	json_t *m = json_pack("{s:s, s:s, s:s}", PROTO_T(PROTO_ERROR), "code", proto_err_code(e),
			      "message", message ? message : proto_err_message(e));

	if (is_refusal(e))
		spend_refusal(c);
	if (!m)
		return;
	if (id)
		json_object_set(m, "id", id);
	if (retry_ms)
		json_object_set_new(m, "retry_ms", json_integer(retry_ms));
	conn_send_json(c, m);
}

void conn_close(struct conn *c, int code, const char *reason)
{
	if (c->close_code)
		return;
	c->close_code = code;
	c->close_reason = reason ? reason : "";
	want_writeable(c);
}

/*
 * One budget per connection for every frame it sends, whatever its kind:
 * lim.ops_per_s frames a second and BYTES_PER_S(lim) bytes a second (16
 * MiB with the default --max-frame: a paste of the largest document at
 * once, or a reconnect's resend, is never slowed), each with a second's
 * worth as burst.  Without it a client could send
 * awareness, notes and events as fast as its socket carries them, and
 * make the server relay, record and hold all of it.  A frame over budget
 * is refused with rate_limited before it is even parsed, and then the
 * connection is not read for retry_ms (lws rx flow control: no POLLIN,
 * and what lws had already read of it is held in its buffer, unparsed,
 * until then): the flood waits in the flooder's socket and TCP slows the
 * flooder, where reading and refusing it frame by frame cost the server
 * most of a core (bench/server flood phase).  So a connection gets at most
 * one rate_limited a pause.  The pause lasts at least CONN_RX_PAUSE_MS,
 * not just until one more frame would pass: after a pause the connection
 * may send that many milliseconds' worth of frames before the next
 * refusal, instead of one.
 */
#define BYTES_PER_S(lim) (16.0 * (double)(lim).max_frame)

/* retry_ms passed: c is read again, its held frames first. */
static void rx_resume(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, rx_sul);

	c->rx_paused = false;
	lws_rx_flow_control(c->wsi, 1);
}

/*
 * Stops reading c for ms, at least CONN_RX_PAUSE_MS (lws holds what it read
 * already), unless it is paused already or has no socket (a test's).
 */
static void rx_pause(struct conn *c, unsigned ms)
{
	if (!c->wsi || c->rx_paused)
		return;
	if (ms < CONN_RX_PAUSE_MS)
		ms = CONN_RX_PAUSE_MS;
	c->rx_paused = true;
	c->srv->metrics.read_pauses++;
	lws_rx_flow_control(c->wsi, 0);
	lws_sul_schedule(c->srv->ctx, 0, &c->rx_sul, rx_resume, (lws_usec_t)ms * LWS_US_PER_MS);
}

/*
 * The answer to a frame over budget, as conn_send_error() writes it
 * (proto.h's names and message need no escaping), without building and
 * serializing a JSON object: a flood is refused for the cost of one
 * snprintf.  No log line: a flooding client would write one per frame.
 */
static void send_rate_limited(struct conn *c, unsigned retry_ms)
{
	char buf[192];
	int n = snprintf(buf, sizeof(buf),
			 "{\"t\":\"%s\",\"code\":\"%s\",\"message\":\"%s\",\"retry_ms\":%u}",
			 proto_msg_name(PROTO_ERROR), proto_err_code(PERR_RATE_LIMITED),
			 proto_err_message(PERR_RATE_LIMITED), retry_ms);

	if (n > 0 && (size_t)n < sizeof(buf))
		enqueue(c, buf, (size_t)n, false, 0, false, false);
}

bool conn_take_budget(struct conn *c, size_t len)
{
	const struct server_limits *lim = &c->srv->lim;
	uint64_t now = server_turn_us(c->srv) / 1000u;
	double msgs = lim->ops_per_s, bytes = BYTES_PER_S(*lim);
	unsigned wait, wait_bytes;

	bucket_refill(&c->budget_msgs, now, msgs, msgs);
	bucket_refill(&c->budget_bytes, now, bytes, bytes);
	if (c->budget_msgs.tokens >= 1 && c->budget_bytes.tokens >= (double)len) {
		c->budget_msgs.tokens -= 1;
		c->budget_bytes.tokens -= (double)len;
		return true;
	}
	/*
	 * A frame that comes in while c is paused (lws holds them: only a
	 * connection without a socket, a test's, has any) is refused all the
	 * same, never dropped unanswered.
	 */
	wait = bucket_wait_ms(&c->budget_msgs, msgs, 1);
	wait_bytes = bucket_wait_ms(&c->budget_bytes, bytes, (double)len);
	if (wait < wait_bytes)
		wait = wait_bytes;
	if (wait < CONN_RX_PAUSE_MS)
		wait = CONN_RX_PAUSE_MS;
	send_rate_limited(c, wait);
	rx_pause(c, wait);
	return false;
}

/* ---- awareness pacing ------------------------------------------------------ */

/*
 * A cursor moves with every keystroke and every click, and the peer needs
 * only where it is now: one awareness of a connection per
 * CONN_AWARENESS_MS goes on, and what comes in between waits, the latest
 * replacing the one before, until the window opens.  A client sending
 * awareness as fast as its socket takes it (4 KB each) made the server
 * parse, copy and write every frame to each peer, and the peers read them
 * all (bench/server flood phase).  A held frame is kept as it came, not
 * parsed (ws.c parses it when it goes on: the ones replaced cost a copy),
 * in one buffer per connection allocated the first time; one timer serves
 * every connection.
 */
static void aw_unlist(struct conn *c)
{
	if (!lws_dll2_is_detached(&c->aw_node))
		lws_dll2_remove(&c->aw_node);
}

static void aw_timer_cb(uv_timer_t *t);

/* Arms the timer for due (uv_now() ms) unless it is armed for sooner. */
static void aw_arm(struct server *srv, uint64_t due)
{
	uint64_t now = uv_now(srv->loop);

	if (uv_is_active((uv_handle_t *)&srv->aw_timer) && srv->aw_due <= due)
		return;
	srv->aw_due = due;
	uv_timer_start(&srv->aw_timer, aw_timer_cb, due > now ? due - now : 0, 0);
}

/*
 * The held awareness frames whose window opened go up to the room; the timer
 * waits for the next.  Windows that opened together stay together (each
 * reopens CONN_AWARENESS_MS after it was served), so one call may find
 * dozens due, each a parse and writes of up to 4 KB: it serves them for at
 * most SERVER_SLICE_US and leaves the rest to the next turn of the loop,
 * after the sockets were read, so that a keystroke never waits behind a
 * batch of cursors (a flood of 50 connections made a call take 3-9 ms).
 */
static void aw_timer_cb(uv_timer_t *t)
{
	struct server *srv = t->data;
	uint64_t now = uv_now(srv->loop), next = UINT64_MAX, t0 = uv_hrtime();

	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, srv->aw_conns.head)
	{
		struct conn *c = lws_container_of(d, struct conn, aw_node);

		if (c->aw_next_ms > now) {
			if (c->aw_next_ms < next)
				next = c->aw_next_ms;
		} else if (uv_hrtime() - t0 > SERVER_SLICE_US * 1000u) {
			next = now; /* due, and the slice is spent */
		} else {
			size_t len = c->aw_len;

			c->aw_len = 0;
			aw_unlist(c);
			c->aw_next_ms = now + CONN_AWARENESS_MS;
			srv->conn_hooks.awareness(c, c->aw_frame, len);
		}
	}
	lws_end_foreach_dll_safe(d, d1);
	if (next != UINT64_MAX)
		aw_arm(srv, next);
}

bool conn_hold_awareness(struct conn *c, const unsigned char *data, size_t len)
{
	struct server *srv = c->srv;
	uint64_t now = uv_now(srv->loop);

	if (len == 0 || len > PROTO_AWARENESS_MAX)
		return false; /* not an awareness the room would relay: the caller says why */
	if (!c->aw_len && now >= c->aw_next_ms) {
		c->aw_next_ms = now + CONN_AWARENESS_MS;
		return false;
	}
	if (!c->aw_frame && !(c->aw_frame = malloc(PROTO_AWARENESS_MAX)))
		return false; /* out of memory: this one goes on at once */
	memcpy(c->aw_frame, data, len);
	c->aw_len = len;
	if (lws_dll2_is_detached(&c->aw_node)) {
		lws_dll2_add_tail(&c->aw_node, &srv->aw_conns);
		aw_arm(srv, c->aw_next_ms);
	}
	return true;
}

/* ---- text frames' share of a turn ------------------------------------------ */

/* lws rx flow control reason: a frame of c waits for its turn (conn_defer). */
#define RXFLOW_DEFERRED (1 << 1)

static void dq_drop(struct conn *c)
{
	while (c->dq_head) {
		struct deferred *d = c->dq_head;

		c->dq_head = d->next;
		free(d);
	}
	c->dq_tail = NULL;
	if (!lws_dll2_is_detached(&c->dq_node))
		lws_dll2_remove(&c->dq_node);
}

/*
 * Before the loop's poll (an idle handle keeps it from sleeping while any
 * frame waits): the waiting frames, one per connection in turn, for at most
 * SERVER_SLICE_US.  A connection whose last frame went is read again.
 */
static void dq_serve(uv_idle_t *h)
{
	struct server *srv = h->data;
	uint64_t t0 = uv_hrtime();

	while (srv->dq_conns.head && uv_hrtime() - t0 <= SERVER_SLICE_US * 1000u) {
		struct conn *c = lws_container_of(srv->dq_conns.head, struct conn, dq_node);
		struct deferred *d = c->dq_head;

		c->dq_head = d->next;
		lws_dll2_remove(&c->dq_node);
		if (c->dq_head) {
			lws_dll2_add_tail(&c->dq_node, &srv->dq_conns);
		} else {
			c->dq_tail = NULL;
			if (c->wsi)
				lws_rx_flow_control(c->wsi, LWS_RXFLOW_REASON_APPLIES_ENABLE |
								    RXFLOW_DEFERRED);
		}
		if (!c->close_code)
			srv->conn_hooks.deferred(c, d->data, d->len, d->binary);
		free(d);
	}
	if (!srv->dq_conns.head)
		uv_idle_stop(h);
}

bool conn_defer(struct conn *c, const unsigned char *data, size_t len, bool binary)
{
	struct server *srv = c->srv;
	struct deferred *d;

	if (!c->dq_head && (binary || srv->text_ns <= SERVER_SLICE_US * 1000u))
		return false;
	d = malloc(sizeof(*d) + len);
	if (!d) {
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of memory");
		return true;
	}
	d->next = NULL;
	d->len = len;
	d->binary = binary;
	memcpy(d->data, data, len);
	if (c->dq_tail) {
		c->dq_tail->next = d;
	} else {
		c->dq_head = d;
		lws_dll2_add_tail(&c->dq_node, &srv->dq_conns);
		if (c->wsi)
			lws_rx_flow_control(c->wsi,
					    LWS_RXFLOW_REASON_APPLIES_DISABLE | RXFLOW_DEFERRED);
		uv_idle_start(&srv->dq_idle, dq_serve);
	}
	c->dq_tail = d;
	return true;
}

void conn_text_spent(struct server *srv, uint64_t ns)
{
	srv->text_ns += ns;
}

/* ---- acknowledgements ---------------------------------------------------- */

static void ack_unlist(struct conn *c)
{
	if (!lws_dll2_is_detached(&c->ack_node))
		lws_dll2_remove(&c->ack_node);
}

/* The connection whose ack waits longest, or NULL. */
static struct conn *ack_oldest(struct server *srv)
{
	return srv->ack_conns.head ? lws_container_of(srv->ack_conns.head, struct conn, ack_node)
				   : NULL;
}

static void ack_timer_cb(uv_timer_t *t);

static void ack_arm(struct server *srv)
{
	struct conn *c = ack_oldest(srv);
	uint64_t now = uv_now(srv->loop), due;

	if (!c)
		return;
	due = c->ack_since + srv->lim.ack_delay_ms;
	uv_timer_start(&srv->ack_timer, ack_timer_cb, due > now ? due - now : 0, 0);
}

/* The acks that waited long enough are written with the next flush, alone if need be. */
static void ack_timer_cb(uv_timer_t *t)
{
	struct server *srv = t->data;
	uint64_t now = uv_now(srv->loop);

	struct conn *c;

	while ((c = ack_oldest(srv)) && c->ack_since + srv->lim.ack_delay_ms <= now) {
		ack_unlist(c);
		flush_list(c, false);
	}
	ack_arm(srv);
}

void conn_ack(struct conn *c, const struct crdt_version *v)
{
	struct server *srv = c->srv;

	if (c->close_code)
		return;
	for (size_t i = 0; i < v->len; i++)
		if (crdt_version_get(&c->ack, v->v[i].agent) < v->v[i].next &&
		    crdt_version_set(&c->ack, v->v[i].agent, v->v[i].next)) {
			/* Out of memory: no ack; the client resends the ops, which is harmless. */
			return;
		}
	if (!lws_dll2_is_detached(&c->ack_node) || !lws_dll2_is_detached(&c->flush_node) ||
	    c->choked)
		return; /* a write is coming anyway */
	c->ack_since = uv_now(srv->loop);
	lws_dll2_add_tail(&c->ack_node, &srv->ack_conns);
	if (ack_oldest(srv) == c)
		ack_arm(srv);
}

/* Puts the pending ack, if any, at the head of the queue: it is older than what is queued. */
static void ack_take(struct conn *c)
{
	/* {"t":"ack","version":{"A":N,...}}: at most 24 bytes an agent (the name from proto.h) */
	const char *t = proto_msg_name(PROTO_ACK);
	size_t tlen = strlen(t), cap = 40 + tlen + c->ack.len * 24, n;
	struct qmsg *m;
	char *p;

	if (c->ack.len == 0)
		return;
	ack_unlist(c);
	m = malloc(sizeof(*m) + LWS_PRE + cap);
	if (!m)
		return; /* kept for the next write */
	p = (char *)m->buf + LWS_PRE;
	memcpy(p, "{\"t\":\"", 6);
	memcpy(p + 6, t, tlen);
	n = 6 + tlen;
	memcpy(p + n, "\",\"version\":{", 13);
	n += 13;
	for (size_t i = 0; i < c->ack.len; i++) {
		if (i)
			p[n++] = ',';
		p[n++] = '"';
		n += fmt_u64(p + n, c->ack.v[i].agent);
		p[n++] = '"';
		p[n++] = ':';
		n += fmt_u64(p + n, c->ack.v[i].next);
	}
	memcpy(p + n, "}}", 2);
	n += 2;
	m->len = n;
	m->binary = false;
	m->ephemeral = false;
	m->recv_us = 0;
	m->next = c->q_head;
	c->q_head = m;
	if (!c->q_tail)
		c->q_tail = m;
	c->q_bytes += n;
	c->ack.len = 0;
}

/* Appends a server-to-client frame header (unmasked, FIN) for len bytes of payload. */
static size_t frame_header(unsigned char *p, bool binary, size_t len)
{
	p[0] = binary ? 0x82 : 0x81;
	if (len < 126) {
		p[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xffff) {
		p[1] = 126;
		p[2] = (unsigned char)(len >> 8);
		p[3] = (unsigned char)len;
		return 4;
	}
	p[1] = 127;
	for (int i = 0; i < 8; i++)
		p[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

/* Frames up to this many bytes are gathered into one send; a bigger one goes alone. */
#define GATHER_MAX (64 * 1024)

static void sent(struct conn *c, struct qmsg *m)
{
	c->srv->metrics.frames_out++;
	if (m->recv_us)
		metrics_observe(&c->srv->metrics.fanout,
				(double)(server_turn_us(c->srv) - m->recv_us) / 1000.0);
	c->q_head = m->next;
	if (!c->q_head)
		c->q_tail = NULL;
	c->q_bytes -= m->len;
	free(m);
}

/*
 * Writes the queue while the socket takes it: a lone frame through lws
 * (which puts the header in the LWS_PRE headroom), several gathered into
 * one buffer of ready-made frames and written raw.  When lws is left
 * holding part of a write it has asked for WRITEABLE itself; the rest of
 * the queue waits for that.  -1: the socket is gone.
 */
static int write_queue(struct conn *c)
{
	struct server *srv = c->srv;

	flush_unlist(c); /* everything goes now, or waits for WRITEABLE */
	if (c->ping_due && !lws_partial_buffered(c->wsi)) {
		unsigned char *p = srv->gather + LWS_PRE;

		/*
		 * FIN, ping, one byte (lws hands an empty pong to no one): a
		 * frame of our own, like the gathered ones.
		 */
		c->ping_due = false;
		p[0] = 0x89;
		p[1] = 1;
		p[2] = 'p';
		if (lws_write(c->wsi, p, 3, LWS_WRITE_RAW) < 3)
			return -1;
	}
	ack_take(c);
	while (c->q_head) {
		struct qmsg *m = c->q_head;
		size_t total = 0, n = 0;

		if (lws_partial_buffered(c->wsi)) {
			want_writeable(c);
			return 0;
		}
		for (struct qmsg *q = m; q && (n == 0 || total + q->len + 10 <= GATHER_MAX);
		     q = q->next, n++)
			total += q->len + 10;
		if (n == 1) {
			if (lws_write(c->wsi, m->buf + LWS_PRE, m->len,
				      m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)m->len)
				return -1;
			sent(c, m);
			continue;
		}
		total = 0; /* n frames with their headers fit in GATHER_MAX */
		for (size_t i = 0; i < n; i++) {
			unsigned char *p = srv->gather + LWS_PRE + total;
			size_t h = frame_header(p, c->q_head->binary, c->q_head->len);

			memcpy(p + h, c->q_head->buf + LWS_PRE, c->q_head->len);
			total += h + c->q_head->len;
			sent(c, c->q_head);
		}
		if (lws_write(c->wsi, srv->gather + LWS_PRE, total, LWS_WRITE_RAW) < (int)total)
			return -1;
	}
	if (!c->resync)
		c->srv->conn_hooks.drained(c);
	return 0;
}

/*
 * Drops c without a closing handshake (its socket failed, or its peer is
 * gone).  Not from inside lws: lws closes the socket on its own turn.
 * That turn must come: lws looks at its timers after its own socket events
 * (on the foreign loop, an idle handle it starts from them), not after our
 * heartbeat's timer or the flush, so on a server where no other socket
 * stirs the dead connection stayed open (tests/server/test-conn.c).
 * lws_cancel_service() wakes lws through its event pipe.
 */
static void hang_up(struct conn *c)
{
	c->close_code = PROTO_CLOSE_GOING_AWAY;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	lws_cancel_service(c->srv->ctx);
}

/* Before the loop sleeps: each listed connection's frames, in one write where they fit. */
static void flush_all(uv_prepare_t *h)
{
	struct server *srv = h->data;

	/* The frames' fan-out latency is stamped once for the whole pass. */
	server_turn_end(srv);
	srv->text_ns = 0; /* the reads after this pass start a new share */
	while (srv->flush_conns.head) {
		struct conn *c = lws_container_of(srv->flush_conns.head, struct conn, flush_node);

		flush_unlist(c);
		if (c->close_code || c->resync) {
			want_writeable(c);
			continue;
		}
		if (write_queue(c))
			hang_up(c);
	}
	server_turn_end(srv); /* the loop sleeps now: what wakes it reads the clock again */
}

int conn_writeable(struct conn *c)
{
	c->choked = false;
	if (lws_partial_buffered(c->wsi)) {
		want_writeable(c);
		return 0;
	}
	if (c->resync && !c->close_code) {
		c->resync = false;
		c->srv->conn_hooks.resync(c);
	}
	if (write_queue(c))
		return -1;
	if (c->choked)
		return 0;
	if (c->close_code && !c->q_head) {
		/*
		 * Write the close frame ourselves: lws_close_reason() plus -1 from
		 * WRITEABLE closes the socket without it, and a client must see
		 * the code to tell "bad token, stop" from "network blip, retry".
		 */
		unsigned char frame[LWS_PRE + 125];
		size_t rl = strlen(c->close_reason);

		if (rl > 123)
			rl = 123;
		frame[LWS_PRE] = (unsigned char)(c->close_code >> 8);
		frame[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
		memcpy(frame + LWS_PRE + 2, c->close_reason, rl);
		/* 4 is LWS_WRITE_CLOSE, which lws 4.1 no longer names in its header. */
		lws_write(c->wsi, frame + LWS_PRE, 2 + rl, (enum lws_write_protocol)4);
		return -1;
	}
	return 0;
}

/*
 * Heartbeat (docs/protocol.md): a connection silent for --heartbeat-ms (no
 * frame received, pong included) is sent a ping, and one silent for 2.5
 * times that is dropped; a sweep every tenth of it (50 ms to 1 s) looks at
 * all of them, so a dead peer is noticed within 3 heartbeats.  A typing
 * client costs nothing here.  (lws's own validity pings go out every
 * period whatever the traffic, each through a sorted list of all the
 * connections' timers and two changes of the poll set: not used.)
 */
#define BEAT_PING_MS(srv)   ((uint64_t)(srv)->lim.heartbeat_ms)
#define BEAT_HANGUP_MS(srv) ((uint64_t)(srv)->lim.heartbeat_ms * 5 / 2)

static uint64_t beat_tick_ms(const struct server *srv)
{
	uint64_t t = srv->lim.heartbeat_ms / 10;

	return t < 50 ? 50 : t > 1000 ? 1000 : t;
}

static void beat_cb(uv_timer_t *t)
{
	struct server *srv = t->data;
	uint64_t now = uv_now(srv->loop);

	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, srv->all_conns.head)
	{
		struct conn *c = lws_container_of(d, struct conn, all_node);
		uint64_t quiet = now - c->rx_ms;

		if (quiet >= BEAT_HANGUP_MS(srv) && !c->close_code) {
			log_event(LOG_INFO, "conn.dead", "conn=%llu silent_ms=%llu",
				  (unsigned long long)c->id, (unsigned long long)quiet);
			hang_up(c);
		} else if (quiet >= BEAT_PING_MS(srv) && !c->pinged && !c->close_code) {
			c->pinged = true;
			c->ping_due = true;
			flush_list(c, false);
		}
	}
	lws_end_foreach_dll_safe(d, d1);
}

void conn_heard(struct conn *c)
{
	c->rx_ms = uv_now(c->srv->loop);
	c->pinged = false;
}

/* ---- life cycle ------------------------------------------------------------ */

struct conn *conn_create(struct server *srv, struct lws *wsi)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->srv = srv;
	c->wsi = wsi;
	c->id = ++srv->next_conn;
	crdt_version_init(&c->delivered, NULL);
	crdt_version_init(&c->ack, NULL);
	srv->conns_open++;
	conn_heard(c);
	lws_dll2_add_tail(&c->all_node, &srv->all_conns);
	return c;
}

void conn_destroy(struct conn *c)
{
	if (!c)
		return;
	lws_dll2_remove(&c->all_node);
	lws_sul_cancel(&c->rx_sul);
	flush_unlist(c);
	ack_unlist(c);
	aw_unlist(c);
	free(c->aw_frame);
	dq_drop(c);
	queue_drop(c);
	crdt_version_finish(&c->ack);
	crdt_version_finish(&c->delivered);
	free(c->rx);
	free(c->name);
	c->srv->conns_open--;
	free(c);
}

int conn_start(struct server *srv, const struct conn_hooks *hooks)
{
	srv->conn_hooks = *hooks;
	srv->gather = malloc(LWS_PRE + GATHER_MAX);
	if (!srv->gather)
		return -1;
	/* Unreferenced: they must not keep the loop alive once everything else is closed. */
	srv->flush.data = srv;
	uv_prepare_init(srv->loop, &srv->flush);
	uv_prepare_start(&srv->flush, flush_all);
	uv_unref((uv_handle_t *)&srv->flush);
	srv->ack_timer.data = srv;
	uv_timer_init(srv->loop, &srv->ack_timer);
	uv_unref((uv_handle_t *)&srv->ack_timer);
	srv->aw_timer.data = srv;
	uv_timer_init(srv->loop, &srv->aw_timer);
	uv_unref((uv_handle_t *)&srv->aw_timer);
	srv->dq_idle.data = srv;
	uv_idle_init(srv->loop, &srv->dq_idle);
	uv_unref((uv_handle_t *)&srv->dq_idle);
	srv->beat_timer.data = srv;
	uv_timer_init(srv->loop, &srv->beat_timer);
	uv_timer_start(&srv->beat_timer, beat_cb, beat_tick_ms(srv), beat_tick_ms(srv));
	uv_unref((uv_handle_t *)&srv->beat_timer);
	return 0;
}

void conn_finish(struct server *srv)
{
	free(srv->gather);
	srv->gather = NULL;
}

bool conn__queued(const struct conn *c, size_t i, const uint8_t **data, size_t *len, bool *binary)
{
	const struct qmsg *m = c->q_head;

	while (m && i--)
		m = m->next;
	if (!m)
		return false;
	*data = m->buf + LWS_PRE;
	*len = m->len;
	*binary = m->binary;
	return true;
}
