/*
 * ws.c - libwebsockets on the server's libuv loop: sockets, frames, queues.
 *
 * Owns every connection's life: handshake (subprotocol tandem.v1 on /ws,
 * nothing else), the join deadline, reassembly of fragmented messages up
 * to the frame limit, JSON parsing and the role check against proto.h,
 * and a bounded send queue per connection.  A peer that cannot keep up has
 * its queue dropped and is sent one catch-up update instead (room_resync),
 * so it can never make the server hold unbounded memory.  The REST API and
 * static files are served from the same listener (http.c's callback, which
 * does every HTTP read and write).  Meaning is room.c's business, never
 * this file's.
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
#include <sys/stat.h>

#include "auth.h"
#include "fmt.h"
#include "http.h"
#include "log.h"
#include "server.h"
#include "store.h"

/* A queued frame: LWS_PRE bytes of headroom, then the payload. */
struct qmsg {
	struct qmsg *next;
	size_t len;
	uint64_t recv_us; /* fan-out: when the update arrived; 0 otherwise */
	bool binary;
	unsigned char buf[];
};

/* lws's per-session storage holds only a pointer: the conn's life is ours. */
struct pss {
	struct conn *c;
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
 * Drops the queued CRDT updates (the catch-up will carry them) and keeps
 * the control messages: a welcome or an error must not vanish.
 */
static void queue_drop_updates(struct conn *c)
{
	struct qmsg **p = &c->q_head;

	c->q_tail = NULL;
	while (*p) {
		struct qmsg *m = *p;

		if (m->binary) {
			*p = m->next;
			c->q_bytes -= m->len;
			free(m);
		} else {
			c->q_tail = m;
			p = &m->next;
		}
	}
}

/* Puts c on the list written before the loop sleeps, unless a WRITEABLE is due anyway. */
static void flush_list(struct conn *c)
{
	if (lws_dll2_is_detached(&c->flush_node) && !c->choked)
		lws_dll2_add_head(&c->flush_node, &c->srv->flush_conns);
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
		    bool catchup)
{
	struct qmsg *m;

	if (c->close_code)
		return;
	if (binary && c->resync && !catchup)
		return; /* the catch-up will carry it */
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
	m->recv_us = recv_us;
	memcpy(m->buf + LWS_PRE, data, len);
	if (c->q_tail)
		c->q_tail->next = m;
	else
		c->q_head = m;
	c->q_tail = m;
	c->q_bytes += len;
	flush_list(c);
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
	enqueue(c, s, strlen(s), false, 0, false);
	free(s);
}

void conn_send_binary(struct conn *c, const uint8_t *data, size_t len)
{
	enqueue(c, data, len, true, 0, false);
}

void conn_send_catchup(struct conn *c, const uint8_t *data, size_t len)
{
	enqueue(c, data, len, true, 0, true);
}

void conn_send_fanout(struct conn *c, const uint8_t *data, size_t len, uint64_t recv_us)
{
	enqueue(c, data, len, true, recv_us, false);
}

void conn_send_error(struct conn *c, json_t *id, enum proto_err e, const char *message,
		     unsigned retry_ms)
{
	json_t *m = json_pack("{s:s, s:s, s:s}", "t", "error", "code", proto_err_code(e), "message",
			      message ? message : proto_err_message(e));

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
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
	want_writeable(c);
}

/* ---- join ----------------------------------------------------------------- */

static void join_timeout(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, join_sul);

	if (!c->room)
		conn_close(c, PROTO_CLOSE_JOIN_TIMEOUT, "join timeout");
}

/* The room of a join is in memory now (or is not to be had). */
static void join_room(void *ud, struct room *r, int status)
{
	struct conn *c = ud;
	json_t *id = c->join_id;

	c->joining = false;
	c->join_id = NULL;
	if (!r || room_closed(r) || c->join_epoch < room_token_epoch(r)) {
		conn_close(c, status == 503 ? PROTO_CLOSE_GOING_AWAY : PROTO_CLOSE_POLICY,
			   !r ? (status == 503 ? "database unavailable" : "no such room")
			   : room_closed(r) ? "room closed"
					    : "token revoked");
		c->seat = SEAT_NONE;
	} else {
		room_join(r, c, c->name, &c->join_have, id);
	}
	crdt_version_finish(&c->join_have);
	json_decref(id);
}

static void on_join(struct conn *c, json_t *msg)
{
	struct server *srv = c->srv;
	const char *room_id = json_string_value(json_object_get(msg, "room"));
	const char *token = json_string_value(json_object_get(msg, "token"));
	struct auth_claims claims;
	int rc;

	if (c->joining)
		return; /* one join at a time; the first is being served */
	if (!room_id || !token) {
		conn_close(c, PROTO_CLOSE_POLICY, "join needs room and token");
		return;
	}
	rc = auth_token_verify(srv->secret, token, (int64_t)(server_now_ms() / 1000), &claims);
	if (rc) {
		log_event(LOG_INFO, "join.refused", "conn=%llu reason=%s",
			  (unsigned long long)c->id, auth_strerror(rc));
		conn_close(c, PROTO_CLOSE_POLICY, auth_strerror(rc));
		return;
	}
	if (strcmp(claims.room, room_id) != 0) {
		conn_close(c, PROTO_CLOSE_POLICY, "token not valid for this room");
		return;
	}
	c->seat = proto_seat_parse(auth_role_name(claims.role));
	if (c->seat == SEAT_NONE) {
		conn_close(c, PROTO_CLOSE_POLICY, "unknown seat");
		return;
	}
	crdt_version_init(&c->join_have, NULL);
	if (proto_parse_version(json_object_get(msg, "version"), &c->join_have)) {
		crdt_version_finish(&c->join_have);
		conn_send_error(c, json_object_get(msg, "id"), PERR_BAD_REQUEST,
				"version must be an object of agent ids to counts", 0);
		c->seat = SEAT_NONE;
		return;
	}
	snprintf(c->name, sizeof(c->name), "%s", claims.name);
	c->join_epoch = claims.epoch;
	c->join_id = json_incref(json_object_get(msg, "id"));
	c->joining = true;
	lws_sul_cancel(&c->join_sul);
	if (store_get_room(srv, room_id, join_room, c)) {
		c->joining = false;
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of memory");
	}
}

/* ---- one complete message --------------------------------------------------- */

static void on_message(struct conn *c, const unsigned char *data, size_t len, bool binary)
{
	const char *why;
	json_t *msg;
	int m;

	if (binary) {
		if (!c->room) {
			if (!c->joining)
				conn_close(c, PROTO_CLOSE_POLICY, "join first");
			return;
		}
		room_on_update(c, data, len);
		return;
	}
	if (proto_parse_text((const char *)data, len, &msg, &m, &why)) {
		if (!c->room && !c->joining) {
			conn_close(c, PROTO_CLOSE_POLICY, "first frame must be a join");
			return;
		}
		conn_send_error(c, NULL, PERR_BAD_REQUEST, why, 0);
		return;
	}
	if (!c->room) {
		if (m == PROTO_JOIN)
			on_join(c, msg);
		else if (!c->joining)
			conn_close(c, PROTO_CLOSE_POLICY, "first frame must be a join");
	} else if (m < 0) {
		conn_send_error(c, json_object_get(msg, "id"), PERR_UNKNOWN_TYPE, NULL, 0);
	} else if (!proto_may_send((enum proto_msg)m, c->seat) && m != PROTO_JOIN) {
		conn_send_error(c, json_object_get(msg, "id"), PERR_FORBIDDEN, NULL, 0);
	} else {
		room_on_json(c, (enum proto_msg)m, msg);
	}
	json_decref(msg);
}

/* ---- the WebSocket protocol ------------------------------------------------- */

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
		flush_list(c);
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
	/* {"t":"ack","version":{"A":N,...}}: at most 24 bytes an agent */
	static const char head[] = "{\"t\":\"ack\",\"version\":{";
	size_t cap = 40 + c->ack.len * 24, n;
	struct qmsg *m;
	char *p;

	if (c->ack.len == 0)
		return;
	ack_unlist(c);
	m = malloc(sizeof(*m) + LWS_PRE + cap);
	if (!m)
		return; /* kept for the next write */
	p = (char *)m->buf + LWS_PRE;
	memcpy(p, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
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
	/* Drained: everything the document held is now with the client. */
	if (c->room && !c->resync && room_doc_version(c->room, &c->delivered))
		c->delivered.len = 0; /* unknown: a catch-up would send everything */
	return 0;
}

/* Before the loop sleeps: each listed connection's frames, in one write where they fit. */
/*
 * Drops c without a closing handshake (its socket failed, or its peer is
 * gone).  Not from inside lws: lws closes the socket on its own turn.
 */
static void hang_up(struct conn *c)
{
	c->close_code = PROTO_CLOSE_GOING_AWAY;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void flush_all(uv_prepare_t *h)
{
	struct server *srv = h->data;

	/* The frames' fan-out latency is stamped once for the whole pass. */
	server_turn_end(srv);
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

static int ws_writeable(struct conn *c)
{
	c->choked = false;
	if (lws_partial_buffered(c->wsi)) {
		want_writeable(c);
		return 0;
	}
	if (c->resync && !c->close_code) {
		c->resync = false;
		room_resync(c);
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
 * Heartbeat (docs/protocol.md): a connection silent for BEAT_PING_MS (no
 * frame received, pong included) is sent a ping, and one silent for
 * BEAT_HANGUP_MS is dropped; a sweep every BEAT_TICK_MS looks at all of
 * them.  A typing client costs nothing here.  (lws's own validity pings go
 * out every period whatever the traffic, each through a sorted list of all
 * the connections' timers and two changes of the poll set: not used.)
 */
#define BEAT_PING_MS   10000
#define BEAT_HANGUP_MS 25000
#define BEAT_TICK_MS   1000

static void beat_cb(uv_timer_t *t)
{
	struct server *srv = t->data;
	uint64_t now = uv_now(srv->loop);

	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, srv->all_conns.head)
	{
		struct conn *c = lws_container_of(d, struct conn, all_node);
		uint64_t quiet = now - c->rx_ms;

		if (quiet >= BEAT_HANGUP_MS && !c->close_code) {
			log_event(LOG_INFO, "conn.dead", "conn=%llu silent_ms=%llu",
				  (unsigned long long)c->id, (unsigned long long)quiet);
			hang_up(c);
		} else if (quiet >= BEAT_PING_MS && !c->pinged && !c->close_code) {
			c->pinged = true;
			c->ping_due = true;
			flush_list(c);
		}
	}
	lws_end_foreach_dll_safe(d, d1);
}

static void heard(struct conn *c)
{
	c->rx_ms = uv_now(c->srv->loop);
	c->pinged = false;
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		 size_t len)
{
	struct server *srv = lws_context_user(lws_get_context(wsi));
	struct pss *pss = user;
	struct conn *c = pss ? pss->c : NULL;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
		char uri[64];

		if (srv->stopping)
			return 1;
		if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
		    strcmp(uri, "/ws") != 0)
			return 1;
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED:
		c = calloc(1, sizeof(*c));
		if (!c)
			return -1;
		c->srv = srv;
		c->wsi = wsi;
		c->id = ++srv->next_conn;
		crdt_version_init(&c->delivered, NULL);
		crdt_version_init(&c->ack, NULL);
		pss->c = c;
		srv->conns_open++;
		heard(c);
		lws_dll2_add_tail(&c->all_node, &srv->all_conns);
		lws_sul_schedule(srv->ctx, 0, &c->join_sul, join_timeout,
				 (lws_usec_t)srv->lim.join_timeout_ms * LWS_US_PER_MS);
		return 0;

	case LWS_CALLBACK_RECEIVE_PONG:
		if (c)
			heard(c);
		return 0;

	case LWS_CALLBACK_RECEIVE: {
		size_t total;

		if (!c || c->close_code)
			return 0;
		heard(c);
		if (lws_is_first_fragment(wsi)) {
			c->rx_len = 0;
			c->rx_binary = lws_frame_is_binary(wsi);
		}
		total = c->rx_len + len + lws_remaining_packet_payload(wsi);
		if (total > srv->lim.max_frame) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
					 (unsigned char *)"message too large", 17);
			log_event(LOG_INFO, "conn.too_big", "conn=%llu bytes=%zu",
				  (unsigned long long)c->id, total);
			return -1;
		}
		/* A message in one piece (the usual case) is handled where lws put it. */
		if (c->rx_len == 0 && lws_is_final_fragment(wsi) &&
		    !lws_remaining_packet_payload(wsi)) {
			on_message(c, in, len, c->rx_binary);
			return 0;
		}
		if (c->rx_len + len > c->rx_cap) {
			size_t ncap = c->rx_cap ? c->rx_cap : 4096;
			unsigned char *n;

			while (ncap < c->rx_len + len)
				ncap *= 2;
			n = realloc(c->rx, ncap);
			if (!n)
				return -1;
			c->rx = n;
			c->rx_cap = ncap;
		}
		memcpy(c->rx + c->rx_len, in, len);
		c->rx_len += len;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			on_message(c, c->rx, c->rx_len, c->rx_binary);
			c->rx_len = 0;
			/* An idle connection keeps no assembly buffer. */
			free(c->rx);
			c->rx = NULL;
			c->rx_cap = 0;
		}
		return 0;
	}
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c ? ws_writeable(c) : 0;

	case LWS_CALLBACK_CLOSED:
		if (!c)
			return 0;
		lws_sul_cancel(&c->join_sul);
		lws_dll2_remove(&c->all_node);
		if (c->joining) {
			store_cancel(c);
			crdt_version_finish(&c->join_have);
			json_decref(c->join_id);
		}
		flush_unlist(c);
		ack_unlist(c);
		room_leave(c);
		queue_drop(c);
		crdt_version_finish(&c->ack);
		crdt_version_finish(&c->delivered);
		free(c->rx);
		free(c);
		pss->c = NULL;
		srv->conns_open--;
		return 0;

	default:
		return 0;
	}
}

/* ---- the context ------------------------------------------------------------ */

static const struct lws_protocols protocols[] = {
	/* First: lws falls back to it for a handshake that names no subprotocol. */
	{ "http", http_callback, sizeof(struct http_pss), 0, 0, NULL, 0 },
	/*
	 * lws keeps a receive buffer of this size (plus LWS_PRE) for each
	 * connection as long as it lives; bigger messages arrive in pieces
	 * that cb_ws assembles.  Keystrokes are tens of bytes; a join, a run
	 * or a paste is assembled at the cost of one copy.  (1,024 bytes here
	 * held 0.65 MB more at 1,000 connections, for no CPU.)  Without a
	 * tx_packet_size lws would also cut every send at that size and copy
	 * the rest aside for POLLOUT: a catch-up or a gathered write goes out
	 * in pieces of up to 256 KiB instead.
	 */
	{ "tandem.v1", cb_ws, sizeof(struct pss), 256, 0, NULL, 256 * 1024 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* No lws validity timers (secs_since_valid_hangup 0): beat_cb does it. */
static const lws_retry_bo_t retry = { .secs_since_valid_ping = 0 };

static struct lws_http_mount mount_static;
static struct lws_http_mount mount_api;
static struct lws_http_mount mount_probe[3];

int ws_start(struct server *srv, const char *host, int port, const char *static_dir)
{
	struct lws_context_creation_info info;
	void *foreign[1] = { srv->loop };

	memset(&mount_api, 0, sizeof(mount_api));
	mount_api.mountpoint = "/api";
	mount_api.mountpoint_len = 4;
	mount_api.origin = "http";
	mount_api.origin_protocol = LWSMPRO_CALLBACK;

	memset(&mount_static, 0, sizeof(mount_static));
	mount_static.mountpoint = "/";
	mount_static.mountpoint_len = 1;
	{
		struct stat st;

		if (static_dir && (stat(static_dir, &st) || !S_ISDIR(st.st_mode))) {
			log_event(LOG_WARN, "static", "dir=%s msg=%s", static_dir,
				  "no such folder: the browser app is not served");
			static_dir = NULL;
		}
	}
	mount_static.origin = static_dir;
	mount_static.def = "index.html";
	mount_static.origin_protocol = LWSMPRO_FILE;
	{
		static const char *const probes[3] = { "/metrics", "/healthz", "/readyz" };

		memset(mount_probe, 0, sizeof(mount_probe));
		for (int i = 0; i < 3; i++) {
			mount_probe[i].mountpoint = probes[i];
			mount_probe[i].mountpoint_len = (unsigned char)strlen(probes[i]);
			mount_probe[i].origin = "http";
			mount_probe[i].origin_protocol = LWSMPRO_CALLBACK;
			mount_probe[i].mount_next = i < 2 ? &mount_probe[i + 1] : NULL;
		}
		mount_api.mount_next = &mount_probe[0];
		mount_probe[2].mount_next = static_dir ? &mount_static : NULL;
	}

	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = host;
	info.protocols = protocols;
	info.mounts = &mount_api;
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
	info.foreign_loops = foreign;
	info.user = srv;
	info.retry_and_idle_policy = &retry;
	info.pt_serv_buf_size = 32 * 1024;
	srv->gather = malloc(LWS_PRE + GATHER_MAX);
	if (!srv->gather)
		return -1;
	srv->ctx = lws_create_context(&info);
	if (!srv->ctx)
		return -1;
	/* Unreferenced: it must not keep the loop alive once everything else is closed. */
	srv->flush.data = srv;
	uv_prepare_init(srv->loop, &srv->flush);
	uv_prepare_start(&srv->flush, flush_all);
	uv_unref((uv_handle_t *)&srv->flush);
	srv->ack_timer.data = srv;
	uv_timer_init(srv->loop, &srv->ack_timer);
	uv_unref((uv_handle_t *)&srv->ack_timer);
	srv->save_timer.data = srv;
	uv_timer_init(srv->loop, &srv->save_timer);
	uv_timer_start(&srv->save_timer, rooms_save_due, SAVE_TICK_MS, SAVE_TICK_MS);
	uv_unref((uv_handle_t *)&srv->save_timer);
	srv->beat_timer.data = srv;
	uv_timer_init(srv->loop, &srv->beat_timer);
	uv_timer_start(&srv->beat_timer, beat_cb, BEAT_TICK_MS, BEAT_TICK_MS);
	uv_unref((uv_handle_t *)&srv->beat_timer);
	return 0;
}

void ws_finish(struct server *srv)
{
	free(srv->gather);
	srv->gather = NULL;
}

void ws_stop(struct server *srv)
{
	srv->stopping = true;
	for (size_t i = 0; i < srv->rooms_cap; i++)
		if (srv->rooms[i])
			room_shutdown(srv->rooms[i]);
}
