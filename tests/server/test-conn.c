/*
 * test-conn.c - a connection's output (conn.c) through libwebsockets and a
 * real socket (ws.c's listener on loopback), read by a hand-written client.
 *
 * test-room.c drives connections that have no socket, so everything they
 * are sent stays queued; this file checks what reaches the wire: frames in
 * the order they were queued, whole, gathered or alone, a 1 MiB frame the
 * socket cannot take at once; acks merged and sent with the next frame or
 * after --ack-delay-ms alone; a reader that stops reading, whose queued
 * updates and awareness are dropped for one catch-up while the control
 * messages stay; one that reads no control message either, closed with
 * 4009; a close that goes out after what was queued, with its code and
 * reason; and the heartbeat: a silent connection is pinged, a pong keeps
 * it, silence after the ping hangs it up.
 *
 * The client is a non-blocking socket on the test's thread: pump() runs
 * the server's loop and reads the socket until a condition holds (bounded
 * waits, no sleeps).  conn.c's upward hooks are the test's own, so no room
 * is involved.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "check.h"
#include "conn.h"
#include "room.h"
#include "server.h"
#include "services.h"
#include "testsrv.h"
#include "ws.h"
#include "wsframe.h"

static struct server srv;
static uv_loop_t loop;
static int port;

/* ---- the client --------------------------------------------------------------- */

struct frame {
	int op; /* 1 text, 2 binary, 8 close, 9 ping */
	unsigned char *data;
	size_t len;
};

struct client {
	int fd;
	bool upgraded, eof, auto_pong;
	unsigned char *in; /* received, not yet parsed */
	size_t in_len, in_cap;
	struct frame *frames; /* parsed, in order */
	size_t n_frames, cap_frames;
	int pings;
};

static void client_send(struct client *cl, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len) {
		ssize_t n = send(cl->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			uv_run(&loop, UV_RUN_NOWAIT);
			continue;
		}
		REQUIRE(n > 0, "send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* A client-to-server frame: FIN, opcode, masked (RFC 6455 5.3), payload under 126 bytes. */
static void client_frame(struct client *cl, int op, const void *data, size_t len)
{
	unsigned char f[2 + 4 + 125];
	const unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };

	REQUIRE(len < 126, "short frames only");
	f[0] = (unsigned char)(0x80 | op);
	f[1] = (unsigned char)(0x80 | len);
	memcpy(f + 2, mask, 4);
	for (size_t i = 0; i < len; i++)
		f[6 + i] = ((const unsigned char *)data)[i] ^ mask[i % 4];
	client_send(cl, f, 6 + len);
}

/* Parses the whole frames in cl->in (a server's frames are unmasked). */
static void client_parse(struct client *cl)
{
	size_t off = 0;

	if (!cl->upgraded) {
		unsigned char *end = memmem(cl->in, cl->in_len, "\r\n\r\n", 4);

		if (!end)
			return;
		REQUIRE(cl->in_len > 12 && !memcmp(cl->in, "HTTP/1.1 101", 12),
			"the handshake is accepted: %.*s", (int)(end - cl->in), (char *)cl->in);
		cl->upgraded = true;
		off = (size_t)(end - cl->in) + 4;
	}
	for (;;) {
		unsigned char *p = cl->in + off;
		size_t avail = cl->in_len - off, h, len;
		uint64_t len64 = 0;
		int head = wsframe_head(p, avail, &len64);
		struct frame *f;

		if (head == 0)
			break;
		REQUIRE(head > 0 && (p[0] & 0x80), "a whole, unmasked frame: %02x %02x", p[0],
			p[1]);
		h = (size_t)head;
		len = (size_t)len64;
		if (avail < h + len)
			break;
		if ((p[0] & 0x0f) == 9) {
			cl->pings++;
			if (cl->auto_pong)
				client_frame(cl, 10, p + h, len);
		} else {
			if (cl->n_frames == cl->cap_frames) {
				cl->cap_frames = cl->cap_frames ? 2 * cl->cap_frames : 64;
				cl->frames = realloc(cl->frames, cl->cap_frames * sizeof(*f));
				REQUIRE(cl->frames, "out of memory");
			}
			f = &cl->frames[cl->n_frames++];
			f->op = p[0] & 0x0f;
			f->len = len;
			f->data = malloc(len + 1);
			REQUIRE(f->data, "out of memory");
			memcpy(f->data, p + h, len);
			f->data[len] = 0;
		}
		off += h + len;
	}
	memmove(cl->in, cl->in + off, cl->in_len - off);
	cl->in_len -= off;
}

/* Reads what the socket holds and parses it; sets cl->eof once the server closed. */
static void client_read(struct client *cl)
{
	for (;;) {
		ssize_t n;

		if (cl->in_cap - cl->in_len < 65536) {
			cl->in_cap = cl->in_cap ? 2 * cl->in_cap : 1 << 20;
			cl->in = realloc(cl->in, cl->in_cap);
			REQUIRE(cl->in, "out of memory");
		}
		n = recv(cl->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len, 0);
		if (n > 0) {
			cl->in_len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			cl->eof = true;
		break;
	}
	client_parse(cl);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Runs the server's loop, and reads cl's socket unless reading is false,
 * until done(cl) holds (true) or 10 s passed (false).  Sleeps only in
 * poll(2) on the loop's and the socket's descriptors.
 */
static bool pump(struct client *cl, bool reading, bool (*done)(struct client *))
{
	uint64_t deadline = now_ms() + 10000;

	for (;;) {
		struct pollfd p[2] = { { uv_backend_fd(&loop), POLLIN, 0 }, { cl->fd, POLLIN, 0 } };
		int t = uv_backend_timeout(&loop);

		uv_run(&loop, UV_RUN_NOWAIT);
		if (reading && !cl->eof)
			client_read(cl);
		if (done(cl))
			return true;
		if (now_ms() > deadline)
			return false;
		poll(p, reading && !cl->eof ? 2 : 1, t < 0 || t > 20 ? 20 : t);
	}
}

static int fcntl_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static bool is_upgraded(struct client *cl)
{
	return cl->upgraded;
}

/* The connection the server made for the newest client. */
static struct conn *newest_conn(void)
{
	return srv.all_conns.tail ? lws_container_of(srv.all_conns.tail, struct conn, all_node)
				  : NULL;
}

/* Connects to /ws with tandem.v1; rcvbuf > 0 shrinks the socket's receive buffer first. */
static struct conn *client_open(struct client *cl, int rcvbuf)
{
	static const char req[] = "GET /ws HTTP/1.1\r\n"
				  "Host: 127.0.0.1\r\n"
				  "Upgrade: websocket\r\n"
				  "Connection: Upgrade\r\n"
				  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				  "Sec-WebSocket-Version: 13\r\n"
				  "Sec-WebSocket-Protocol: tandem.v1\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint64_t before = srv.next_conn;
	int one = 1;

	memset(cl, 0, sizeof(*cl));
	cl->auto_pong = true;
	cl->fd = socket(AF_INET, SOCK_STREAM, 0);
	REQUIRE(cl->fd >= 0, "socket: %s", strerror(errno));
	if (rcvbuf > 0)
		setsockopt(cl->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(cl->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	REQUIRE(connect(cl->fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s",
		strerror(errno));
	REQUIRE(fcntl_nonblock(cl->fd) == 0, "non-blocking");
	client_send(cl, req, sizeof(req) - 1);
	REQUIRE(pump(cl, true, is_upgraded), "the WebSocket handshake completes");
	REQUIRE(srv.next_conn == before + 1 && newest_conn(), "the server made a connection");
	return newest_conn();
}

static void client_close(struct client *cl)
{
	close(cl->fd);
	for (size_t i = 0; i < cl->n_frames; i++)
		free(cl->frames[i].data);
	free(cl->frames);
	free(cl->in);
	memset(cl, 0, sizeof(*cl));
}

/* ---- conn.c's upward hooks, the test's own ----------------------------------------- */

static int resyncs, drains;

static void on_resync(struct conn *c)
{
	static const uint8_t catchup[] = "CATCH-UP";

	resyncs++;
	conn_send_catchup(c, catchup, sizeof(catchup) - 1);
}

static void on_drained(struct conn *c)
{
	(void)c;
	drains++;
}

static void on_awareness(struct conn *c, const unsigned char *frame, size_t len)
{
	(void)c;
	(void)frame;
	(void)len;
}

/* Frames that waited for their turn (conn_defer), as "T:text" or "B:bytes", in order. */
static char deferred_log[256];
static bool deferred_closed; /* one came after its connection was closed */

static void on_deferred(struct conn *c, const unsigned char *data, size_t len, bool binary)
{
	size_t n = strlen(deferred_log);

	snprintf(deferred_log + n, sizeof(deferred_log) - n, "%s%c:%.*s", n ? " " : "",
		 binary ? 'B' : 'T', (int)len, (const char *)data);
	deferred_closed |= c->close_code != 0;
}

static const struct conn_hooks hooks = { on_resync, on_drained, on_awareness, on_deferred };

/* ---- the tests ---------------------------------------------------------------------- */

#define N_FRAMES 300
/* More than the kernel's socket buffers and the send queue together hold. */
#define SENT_MAX ((size_t)256 << 20)

static size_t want_frames;
static bool got_frames(struct client *cl)
{
	return cl->n_frames >= want_frames;
}

/* The last frame received is the test's catch-up. */
static bool got_catchup(struct client *cl)
{
	const struct frame *f = cl->n_frames ? &cl->frames[cl->n_frames - 1] : NULL;

	return f && f->op == 2 && f->len == 8 && !memcmp(f->data, "CATCH-UP", 8);
}

static bool got_eof(struct client *cl)
{
	return cl->eof;
}

/* Frame i's size and content: small ones gathered, some over 64 KiB alone. */
static size_t frame_size(int i)
{
	return i % 50 == 49 ? 70000 + (size_t)i : 1 + (size_t)(i * 37 % 3000);
}

static void frame_fill(unsigned char *p, size_t len, int i)
{
	for (size_t k = 0; k < len; k++)
		p[k] = (unsigned char)('a' + (i + k) % 26);
}

static void test_order(void)
{
	struct client cl;
	struct conn *c = client_open(&cl, 0);
	unsigned char *big = malloc(1 << 20), *buf = malloc(80000);
	int before = drains;
	bool ok = true;

	REQUIRE(big && buf, "out of memory");
	/* Text and binary, small and large, queued in one turn; then 1 MiB. */
	for (int i = 0; i < N_FRAMES; i++) {
		size_t len = frame_size(i);

		frame_fill(buf, len, i);
		if (i % 3 == 0)
			conn_send_binary(c, buf, len);
		else
			conn_send_text(c, (const char *)buf, len, false);
	}
	frame_fill(big, 1 << 20, 7);
	conn_send_binary(c, big, 1 << 20);
	want_frames = N_FRAMES + 1;
	CHECK(pump(&cl, true, got_frames), "%zu of %d frames arrived", cl.n_frames, N_FRAMES + 1);
	for (size_t i = 0; i < cl.n_frames && i < N_FRAMES; i++) {
		struct frame *f = &cl.frames[i];
		size_t len = frame_size((int)i);

		frame_fill(buf, len, (int)i);
		if (f->op != (i % 3 == 0 ? 2 : 1) || f->len != len || memcmp(f->data, buf, len)) {
			CHECK(false, "frame %zu: op %d, %zu bytes, as queued: %s", i, f->op, f->len,
			      f->len == len ? "no" : "wrong length");
			ok = false;
			break;
		}
	}
	if (ok && cl.n_frames > N_FRAMES) {
		struct frame *f = &cl.frames[N_FRAMES];

		CHECK(f->op == 2 && f->len == 1 << 20 && !memcmp(f->data, big, f->len),
		      "the 1 MiB frame arrived whole, last (op %d, %zu bytes)", f->op, f->len);
	}
	CHECK(c->q_bytes == 0 && !c->q_head, "nothing left queued: %zu bytes", c->q_bytes);
	CHECK(drains > before, "the drained hook ran once everything was written");
	free(big);
	free(buf);
	client_close(&cl);
}

static bool is_ack(const struct frame *f)
{
	return f->op == 1 && strstr((const char *)f->data, "\"t\":\"ack\"");
}

static void test_acks(void)
{
	struct client cl;
	struct conn *c = client_open(&cl, 0);
	struct crdt_version v;
	const char *a;

	crdt_version_init(&v, NULL);
	/* Two acks merge, the highest seq per agent; alone after the delay. */
	REQUIRE(!crdt_version_set(&v, 1, 5), "version");
	conn_ack(c, &v);
	v.len = 0;
	REQUIRE(!crdt_version_set(&v, 1, 3) && !crdt_version_set(&v, 2, 7), "version");
	conn_ack(c, &v);
	want_frames = 1;
	CHECK(pump(&cl, true, got_frames), "the ack arrives on its own after --ack-delay-ms");
	if (cl.n_frames >= 1) {
		a = (const char *)cl.frames[0].data;
		CHECK(is_ack(&cl.frames[0]) && strstr(a, "\"1\":5") && strstr(a, "\"2\":7"),
		      "one ack of both, 1:5 and 2:7: %s", a);
	}
	CHECK(cl.n_frames == 1, "one frame: %zu", cl.n_frames);

	/* With a frame to write, the ack goes first, in the same write, without waiting. */
	srv.lim.ack_delay_ms = 60000;
	v.len = 0;
	REQUIRE(!crdt_version_set(&v, 3, 1), "version");
	conn_ack(c, &v);
	conn_send_text(c, "{\"t\":\"x\"}", 9, false);
	want_frames = 3;
	CHECK(pump(&cl, true, got_frames), "the ack and the frame arrive: %zu", cl.n_frames);
	if (cl.n_frames >= 3) {
		CHECK(is_ack(&cl.frames[1]) && strstr((const char *)cl.frames[1].data, "\"3\":1"),
		      "the ack first: %s", (const char *)cl.frames[1].data);
		CHECK(!strcmp((const char *)cl.frames[2].data, "{\"t\":\"x\"}"),
		      "then the frame: %s", (const char *)cl.frames[2].data);
	}
	srv.lim.ack_delay_ms = 50;
	crdt_version_finish(&v);
	client_close(&cl);
}

/*
 * A reader that has stopped: the server queues until the bound, then drops
 * the queued updates and awareness and, once the socket takes frames again,
 * sends the control messages it kept and one catch-up.
 */
static void test_slow_reader(void)
{
	struct client cl;
	struct conn *c = client_open(&cl, 4096);
	unsigned char upd[16384];
	int before = resyncs;
	size_t n = 0, texts = 0, catchups = 0, others = 0;

	memset(upd, 'u', sizeof(upd));
	conn_send_text(c, "{\"t\":\"kept\"}", 12, false);
	/*
	 * Updates, with awareness between, the socket never read, until the
	 * kernel's buffers and then the queue are full (SENT_MAX: the test
	 * fails rather than runs on), and as much again.
	 */
	for (size_t sent = 0, after = 0; after < 2 * srv.lim.send_queue_bytes && sent < SENT_MAX;
	     sent += sizeof(upd), after += c->resync ? sizeof(upd) : 0) {
		conn_send_fanout(c, upd, sizeof(upd), 0);
		conn_send_text(c, "{\"t\":\"awareness\"}", 17, true);
		if (n++ % 16 == 0)
			uv_run(&loop, UV_RUN_NOWAIT);
	}
	CHECK(c->resync, "the queue overflowed");
	CHECK(resyncs == before, "no catch-up while the socket is full");
	CHECK(c->q_bytes <= srv.lim.send_queue_bytes, "the queue stays bounded: %zu of %zu",
	      c->q_bytes, srv.lim.send_queue_bytes);
	/* Now read everything: kept text, whatever went out before, one catch-up. */
	CHECK(pump(&cl, true, got_catchup), "the catch-up arrives once the client reads");
	for (size_t i = 0; i < cl.n_frames; i++) {
		struct frame *f = &cl.frames[i];

		if (f->op == 2 && f->len == 8 && !memcmp(f->data, "CATCH-UP", 8))
			catchups++;
		else if (f->op == 1 && !strcmp((const char *)f->data, "{\"t\":\"kept\"}"))
			texts++;
		else if (!(f->op == 2 && f->len == sizeof(upd)) &&
			 !(f->op == 1 && !strcmp((const char *)f->data, "{\"t\":\"awareness\"}")))
			others++;
	}
	CHECK(resyncs == before + 1, "one resync: %d", resyncs - before);
	CHECK(catchups == 1, "one catch-up arrived: %zu", catchups);
	CHECK(texts == 1, "the control message was kept: %zu", texts);
	CHECK(others == 0, "nothing else: %zu", others);
	CHECK(cl.n_frames > 0 && cl.frames[cl.n_frames - 1].op == 2 &&
		      cl.frames[cl.n_frames - 1].len == 8,
	      "the catch-up comes last");
	CHECK(!cl.eof, "the connection stays open");
	client_close(&cl);
}

/* A client that reads nothing, sent only control messages: closed with 4009 once they fill the
 * queue. */
static void test_not_reading(void)
{
	struct client cl;
	struct conn *c = client_open(&cl, 4096);
	char msg[4096];
	size_t n = 0;

	memset(msg, 'x', sizeof(msg));
	memcpy(msg, "{\"t\":\"e\",\"x\":\"", 14);
	memcpy(msg + sizeof(msg) - 2, "\"}", 2);
	for (size_t sent = 0; sent < SENT_MAX && !c->close_code; sent += sizeof(msg)) {
		conn_send_text(c, msg, sizeof(msg), false);
		if (n++ % 16 == 0)
			uv_run(&loop, UV_RUN_NOWAIT);
	}
	CHECK(c->close_code == PROTO_CLOSE_TOO_SLOW, "closed with 4009: %d", c->close_code);
	CHECK(!strcmp(c->close_reason, "cannot keep up"), "reason: %s", c->close_reason);
	CHECK(c->q_bytes <= srv.lim.send_queue_bytes, "the queue stayed bounded: %zu", c->q_bytes);
	/* Once it reads, what was queued arrives, then the close with its code. */
	CHECK(pump(&cl, true, got_eof), "the server closes the connection");
	if (cl.n_frames) {
		struct frame *f = &cl.frames[cl.n_frames - 1];

		CHECK(f->op == 8 && f->len >= 2 && (f->data[0] << 8 | f->data[1]) == 4009 &&
			      !memcmp(f->data + 2, "cannot keep up", f->len - 2),
		      "the last frame is a close with 4009 and its reason (op %d)", f->op);
	}
	client_close(&cl);
}

/* conn_close: what was queued goes first, then the close frame; nothing after it. */
static void test_close(void)
{
	struct client cl;
	struct conn *c = client_open(&cl, 0);

	conn_send_text(c, "{\"t\":\"a\"}", 9, false);
	conn_send_binary(c, (const uint8_t *)"bb", 2);
	conn_close(c, PROTO_CLOSE_REPLACED, "replaced by a newer connection");
	conn_send_text(c, "{\"t\":\"late\"}", 12, false);
	CHECK(pump(&cl, true, got_eof), "the server closes the connection");
	CHECK(cl.n_frames == 3, "two frames and a close: %zu", cl.n_frames);
	if (cl.n_frames == 3) {
		struct frame *f = &cl.frames[2];

		CHECK(cl.frames[0].op == 1 && !strcmp((char *)cl.frames[0].data, "{\"t\":\"a\"}"),
		      "the text first");
		CHECK(cl.frames[1].op == 2 && cl.frames[1].len == 2, "then the binary");
		CHECK(f->op == 8 && f->len >= 2 && (f->data[0] << 8 | f->data[1]) == 4008 &&
			      f->len - 2 == strlen("replaced by a newer connection") &&
			      !memcmp(f->data + 2, "replaced by a newer connection", f->len - 2),
		      "then the close, 4008 and its reason");
	}
	client_close(&cl);
}

static bool deferred_three(struct client *cl)
{
	(void)cl;
	return strlen(deferred_log) >= strlen("T:note-1 T:note-2 B:keys");
}

static bool got_close(struct client *cl)
{
	return cl->eof || (cl->n_frames && cl->frames[cl->n_frames - 1].op == 8);
}

/*
 * Text frames' share of a turn (conn_defer): once a turn spent its share,
 * a text frame waits for a later one, and every frame of that connection
 * after it waits behind it, an update too, in order; the connection is not
 * read meanwhile (a frame its client sends then is read only after the
 * waiting ones were handed on); an update of a connection with nothing
 * waiting never waits, nor does a text frame while the share lasts.
 */
static void test_deferred(void)
{
	struct client cl;
	struct conn *c = client_open(&cl, 0);
	const unsigned char keys[] = "keys";

	deferred_log[0] = 0;
	deferred_closed = false;
	srv.text_ns = 0;
	CHECK(!conn_defer(c, (const unsigned char *)"note-0", 6, false),
	      "a text frame is handled at once while the turn's share lasts");
	srv.text_ns = (SERVER_SLICE_US + 1) * 1000u;
	CHECK(!conn_defer(c, keys, 4, true), "an update never waits for the share");
	CHECK(conn_defer(c, (const unsigned char *)"note-1", 6, false),
	      "a text frame waits once the turn's share is spent");
	srv.text_ns = 0;
	CHECK(conn_defer(c, (const unsigned char *)"note-2", 6, false),
	      "a text frame waits behind an earlier one, share or not");
	CHECK(conn_defer(c, keys, 4, true), "an update waits behind a text frame");
	/* Its client sends an update while they wait: read after them, and refused (no join). */
	client_frame(&cl, 2, "k", 1);
	CHECK(pump(&cl, true, deferred_three), "the waiting frames are handed on: '%s'",
	      deferred_log);
	CHECK(!strcmp(deferred_log, "T:note-1 T:note-2 B:keys"), "in their order: '%s'",
	      deferred_log);
	CHECK(!deferred_closed, "the client's frame was not read before them");
	CHECK(!srv.dq_conns.head && !c->dq_head, "nothing waits any more");
	/* c is freed once the server closed it: not read past here. */
	CHECK(pump(&cl, true, got_close), "then the client's frame is read (and refused)");
	client_close(&cl);
}

static int want_pings;
static bool got_pings(struct client *cl)
{
	return cl->pings >= want_pings;
}

/*
 * The heartbeat (docs/protocol.md): a silent connection is pinged after
 * --heartbeat-ms (400 here); its pong keeps it (it is pinged again later,
 * not hung up); silence after a ping hangs it up (at 2.5 times that).
 */
static void test_heartbeat(void)
{
	struct client cl;

	client_open(&cl, 0);
	want_pings = 3;
	CHECK(pump(&cl, true, got_pings), "pinged again and again while it answers: %d pings",
	      cl.pings);
	CHECK(!cl.eof, "a connection that answers pings stays");
	cl.auto_pong = false;
	want_pings = cl.pings + 1;
	CHECK(pump(&cl, true, got_pings), "pinged once more");
	CHECK(pump(&cl, true, got_eof), "hung up when it did not answer (%llu open, %zu frames)",
	      (unsigned long long)srv.conns_open, cl.n_frames);
	CHECK(cl.pings == want_pings, "no ping after the unanswered one: %d", cl.pings);
	client_close(&cl);
}

static bool no_conns(struct client *cl)
{
	(void)cl;
	return srv.conns_open == 0;
}

static void walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int main(void)
{
	struct client none = { .fd = -1 };
	struct lws_context *ctx;

	signal(SIGPIPE, SIG_IGN);
	testsrv_init(&srv, &loop);
	/*
	 * Acks after 50 ms; the heartbeat's sweep every 50 ms (set at start
	 * from 400 ms), but its pings only in test_heartbeat: a loaded machine
	 * must not get a client that is slow to read hung up elsewhere.
	 */
	srv.lim.heartbeat_ms = 400;
	srv.lim.ack_delay_ms = 50;
	srv.lim.join_timeout_ms = 600000; /* the test's clients never join */
	port = svc_free_port();
	REQUIRE(port > 0, "a free port on loopback");
	REQUIRE(ws_start(&srv, "127.0.0.1", port, NULL) == 0, "listening on port %d", port);
	srv.conn_hooks = hooks;
	srv.lim.heartbeat_ms = 600000;

	test_order();
	test_acks();
	test_slow_reader();
	test_not_reading();
	test_close();
	test_deferred();
	srv.lim.heartbeat_ms = 400;
	test_heartbeat();

	ws_stop(&srv);
	CHECK(pump(&none, false, no_conns), "every connection closed: %llu open",
	      (unsigned long long)srv.conns_open);
	ctx = srv.ctx;
	lws_context_destroy(ctx);
	srv.ctx = NULL;
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_walk(&loop, walk_close, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	lws_context_destroy(ctx);
	rooms_free(&srv);
	ws_finish(&srv);
	uv_loop_close(&loop);
	CHECK_DONE();
}
