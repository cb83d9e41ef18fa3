/*
 * ws.c - libwebsockets on the server's libuv loop: the context and the
 * WebSocket callbacks.
 *
 * Owns the lws context (for the WebSocket endpoint, the REST API and the
 * static files, whose HTTP side is http.c's callback; accept.c listens and
 * hands lws each connection whose request head passed), the handshake
 * (subprotocol tandem.v1 on /ws, nothing else), the join
 * deadline, reassembly of fragmented messages up to the frame limit, the
 * budget and the awareness pacing (conn.c's, applied before a frame is
 * parsed where its start says what it is), JSON parsing and the role
 * check against proto.h.  A connection's output
 * (queue, acks, heartbeat) is conn.c's; what a message means is room.c's,
 * never this file's: a complete, budgeted, parsed and permitted message
 * goes to room_on_join, room_on_json or room_on_update.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "http.h"
#include "httphead.h"
#include "log.h"
#include "room.h"
#include "server.h"
#include "ws.h"

/* lws's per-session storage holds only a pointer: the conn's life is ours. */
struct pss {
	struct conn *c;
};

/* ---- join ----------------------------------------------------------------- */

static void join_timeout(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, join_sul);

	if (!c->room)
		conn_close(c, PROTO_CLOSE_JOIN_TIMEOUT, "join timeout");
}

/* ---- one complete message --------------------------------------------------- */

/*
 * Whether a text frame starts {"t":"awareness", as clients write it: such
 * a frame is paced (conn_hold_awareness) before it is parsed, so the ones
 * a later one replaces are never parsed at all.  Awareness written any
 * other way is paced once parsed.
 */
static bool awareness_prefix(const unsigned char *d, size_t len)
{
	const char *name = proto_msg_name(PROTO_AWARENESS);
	size_t n = strlen(name);

	return len > 8 + n && !memcmp(d, "{\"t\":\"", 6) && !memcmp(d + 6, name, n) &&
	       d[6 + n] == '"';
}

/*
 * A text frame within the budget: parsed, checked against the sender's
 * seat and handed to the room.  paced: it is an awareness frame the pacing
 * let through already (at once, or held until now).
 */
static void on_text(struct conn *c, const unsigned char *data, size_t len, bool paced)
{
	const char *why;
	json_t *msg;
	int m;

	if (proto_parse_text((const char *)data, len, &msg, &m, &why)) {
		if (!c->room && !c->join) {
			conn_close(c, PROTO_CLOSE_POLICY, "first frame must be a join");
			return;
		}
		conn_send_error(c, NULL, PERR_BAD_REQUEST, why, 0);
		return;
	}
	if (!c->room) {
		if (m == PROTO_JOIN)
			room_on_join(c, msg);
		else if (!c->join)
			conn_close(c, PROTO_CLOSE_POLICY, "first frame must be a join");
	} else if (m < 0) {
		conn_send_error(c, json_object_get(msg, "id"), PERR_UNKNOWN_TYPE, NULL, 0);
	} else if (!proto_may_send((enum proto_msg)m, c->seat) && m != PROTO_JOIN) {
		conn_send_error(c, json_object_get(msg, "id"), PERR_FORBIDDEN, NULL, 0);
	} else if (m == PROTO_AWARENESS && !paced && conn_hold_awareness(c, data, len)) {
		/* held: it goes on when the sender's window opens, unless replaced */
	} else {
		room_on_json(c, (enum proto_msg)m, msg, (const char *)data, len);
	}
	json_decref(msg);
}

/* conn_hooks.awareness: the frame held for c goes on, if c is still in its room. */
static void awareness_due(struct conn *c, const unsigned char *frame, size_t len)
{
	if (c->room && !c->close_code)
		on_text(c, frame, len, true);
}

/* A message within the budget, whose turn it is. */
static void on_message(struct conn *c, const unsigned char *data, size_t len, bool binary)
{
	if (binary) {
		if (!c->room) {
			if (!c->join)
				conn_close(c, PROTO_CLOSE_POLICY, "join first");
			return;
		}
		room_on_update(c, data, len);
		return;
	}
	if (c->room && awareness_prefix(data, len) && len <= PROTO_AWARENESS_MAX) {
		if (!conn_hold_awareness(c, data, len))
			on_text(c, data, len, true);
		return;
	}
	on_text(c, data, len, false);
}

const struct conn_hooks ws__conn_hooks = { room_resync, room_drained, awareness_due, on_message };

void ws__on_message(struct conn *c, const unsigned char *data, size_t len, bool binary)
{
	uint64_t t0;

	if (!conn_take_budget(c, len)) {
		if (binary)
			c->srv->metrics.updates_rejected++;
		return;
	}
	if (conn_defer(c, data, len, binary))
		return; /* this turn's share of text frames is spent, or an earlier frame waits */
	if (binary) {
		on_message(c, data, len, true);
		return;
	}
	t0 = uv_hrtime();
	on_message(c, data, len, false);
	conn_text_spent(c->srv, uv_hrtime() - t0);
}

/* ---- the WebSocket protocol ------------------------------------------------- */

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
		c = conn_create(srv, wsi);
		if (!c)
			return -1;
		pss->c = c;
		lws_sul_schedule(srv->ctx, 0, &c->join_sul, join_timeout,
				 (lws_usec_t)srv->lim.join_timeout_ms * LWS_US_PER_MS);
		return 0;

	case LWS_CALLBACK_RECEIVE_PONG:
		if (c)
			conn_heard(c);
		return 0;

	case LWS_CALLBACK_RECEIVE: {
		size_t total;

		if (!c || c->close_code)
			return 0;
		conn_heard(c);
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
			ws__on_message(c, in, len, c->rx_binary);
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
			ws__on_message(c, c->rx, c->rx_len, c->rx_binary);
			c->rx_len = 0;
			/* An idle connection keeps no assembly buffer. */
			free(c->rx);
			c->rx = NULL;
			c->rx_cap = 0;
		}
		return 0;
	}
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c ? conn_writeable(c) : 0;

	case LWS_CALLBACK_CLOSED:
		if (!c)
			return 0;
		lws_sul_cancel(&c->join_sul);
		room_leave(c);
		conn_destroy(c);
		pss->c = NULL;
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

/* No lws validity timers (secs_since_valid_hangup 0): conn.c's heartbeat does it. */
static const lws_retry_bo_t retry = { .secs_since_valid_ping = 0 };

/*
 * lws's log lines become events of ours (one key=value line each); its
 * notices (version, plugins) are for debugging.
 */
static void lws_log(int level, const char *line)
{
	enum log_level l = level == LLL_ERR ? LOG_ERROR : level == LLL_WARN ? LOG_WARN : LOG_DEBUG;
	size_t n = strlen(line);
	const char *msg = strstr(line, ": ");

	/* "[2026/12/07 09:38:07:7390] E: message\n": the message alone */
	msg = line[0] == '[' && msg && strchr(line, ']') < msg ? msg + 2 : line;
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	log_event(l, "lws", "msg=%.*s", (int)n, msg);
}

/* Every path that is not a WebSocket handshake goes to http.c, which routes it. */
static struct lws_http_mount mount_all;

int ws_start(struct server *srv, const char *host, int port, const char *static_dir)
{
	struct lws_context_creation_info info;
	void *foreign[1] = { srv->loop };

	memset(&mount_all, 0, sizeof(mount_all));
	mount_all.mountpoint = "/";
	mount_all.mountpoint_len = 1;
	mount_all.origin = "http";
	mount_all.origin_protocol = LWSMPRO_CALLBACK;

	/* Files are opened beneath this folder, never by a path from outside it (http.c). */
	srv->static_fd = -1;
	if (static_dir) {
		srv->static_fd = open(static_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (srv->static_fd < 0)
			log_event(LOG_WARN, "static", "dir=%s msg=%s", static_dir,
				  "no such folder: the browser app is not served");
	}

	memset(&info, 0, sizeof(info));
	/* accept.c listens and hands lws each connection whose head it has judged. */
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = protocols;
	info.mounts = &mount_all;
	/* No lws security headers: http.c sends its own, which allow the app's WebAssembly. */
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.foreign_loops = foreign;
	info.user = srv;
	info.retry_and_idle_policy = &retry;
	info.pt_serv_buf_size = 32 * 1024;
	/*
	 * lws's header space: what accept.c lets through (httphead.h: 16 KiB
	 * in at most 64 lines), plus lws's own bookkeeping of up to 8 bytes
	 * for each line it does not know by name.  lws takes it from the
	 * heap for a connection while its request is parsed and answered,
	 * and gives it back after (a WebSocket keeps none once upgraded).
	 */
	info.max_http_header_data = HTTP_HEAD_MAX + 16 * HTTP_HEAD_LINES_MAX;
	if (conn_start(srv, &ws__conn_hooks))
		return -1;
	lws_set_log_level(LLL_ERR | LLL_WARN | LLL_NOTICE, lws_log);
	srv->ctx = lws_create_context(&info);
	if (!srv->ctx)
		return -1;
	srv->vhost = lws_get_vhost_by_name(srv->ctx, "default");
	if (!srv->vhost || http_accept_start(srv, host, port))
		return -1;
	/* Unreferenced: it must not keep the loop alive once everything else is closed. */
	srv->save_timer.data = srv;
	uv_timer_init(srv->loop, &srv->save_timer);
	uv_timer_start(&srv->save_timer, rooms_save_due, SAVE_TICK_MS, SAVE_TICK_MS);
	uv_unref((uv_handle_t *)&srv->save_timer);
	return 0;
}

void ws_finish(struct server *srv)
{
	conn_finish(srv);
	if (srv->static_fd >= 0)
		close(srv->static_fd);
	srv->static_fd = -1;
}

void ws_stop(struct server *srv)
{
	srv->stopping = true;
	http_accept_stop(srv);
	for (size_t i = 0; i < srv->rooms_cap; i++)
		if (srv->rooms[i])
			room_shutdown(srv->rooms[i]);
}
