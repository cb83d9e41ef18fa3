/*
 * typists.c - the load benchmark's Tandem typists, in C.
 *
 * bench/server/load.mjs types through node workers holding the wasm CRDT:
 * one event loop per worker serves 500 connections, so a keystroke's
 * latency includes that loop's own delays (2 ms at p99 on this machine,
 * more when the same workers also flood).  This program is the same load
 * written the way the forwarding floor (floor.c) is: one epoll loop, the
 * native CRDT (crdt/), blocking set-up, then non-blocking sockets, so that
 * what it measures is the server.  load.mjs runs it (phases "ctyping" and
 * "cflood"): it starts a fresh server, creates the rooms through REST and
 * writes them to this program's standard input, a room a line:
 *
 *     ROOM-ID INTERVIEWER-TOKEN CANDIDATE-TOKEN OBSERVER-TOKEN|- FLOOD(0|1)
 *
 * In a quiet room the interviewer and the candidate type RATE characters
 * a second each at random places, from a random phase, and each applies the
 * other's updates; an observer, where the line has one, applies both.  In a
 * flooded room the interviewer types, the observer applies, and the
 * candidate's connection is the flooder: a forked child process (so that
 * its writes never delay the typists' reads; on a real network the flooder
 * is another machine) that sends, in turn, an awareness frame of 4,096
 * bytes, a paste event and a note of 100 characters, at most FLOOD-PER-MS
 * a millisecond while its socket takes them, and reads and counts what it
 * is answered.
 *
 * A keystroke's latency runs from just before its local insert to the
 * moment a receiving replica has applied that operation (CLOCK_MONOTONIC,
 * one clock), for keystrokes typed inside the measured window.  Prints one
 * JSON object: latency percentiles per class (quiet: typist to typist in
 * quiet rooms; quiet-observer: the interviewer's keystrokes at the observer
 * of a quiet room; peer-observer: the interviewer's keystrokes at the
 * observer of a flooded room), keystrokes sent and delivered, rooms
 * converged, the server's CPU over the window (--server-pid), this
 * process's and the flooder's, and the answers the flood got.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "crdt.h"
#include "wsframe.h"

enum role { IV, CAND, OBS, FLOODER };
enum cls { C_QUIET, C_QUIET_OBS, C_PEER_OBS, C_N };
static const char *const cls_name[C_N] = { "quiet", "quietObserver", "peerObserver" };

struct client {
	int fd;
	enum role role;
	int room;
	uint32_t agent;
	struct crdt_doc *doc;
	bool closed;
	int close_code;
	/* receive: bytes not yet parsed, and a fragmented message being joined */
	uint8_t *rx;
	size_t rx_len, rx_cap;
	uint8_t *msg;
	size_t msg_len, msg_cap;
	int msg_op;
	/* send: bytes the socket did not take yet */
	uint8_t *tx;
	size_t tx_len, tx_off, tx_cap;
	bool want_out;
	/* typing */
	int64_t next_type;
	int64_t *sent_at; /* own operation seq -> when it was typed */
	uint32_t nsent;
	size_t cap_sent;
	uint32_t acked;
	int64_t resend_at; /* 0: none due */
	/* set-up */
	bool welcomed, synced;
	/* per source seat (IV, CAND): how many of its operations were seen */
	uint32_t seen[2];
	/* flooder */
	unsigned nflood;
};

struct room {
	int c[3]; /* IV, CAND (or the flooder), OBS (-1: none) */
	bool flood;
};

struct lat {
	int64_t *v;
	size_t n, cap;
};

static struct client *cl;
static size_t ncl;
static struct room *rooms;
static size_t nrooms;
static struct lat lats[C_N];
static int64_t win0, win1;
static uint64_t sent_w, delivered_w;
/* The error codes counted; the last counts every other one. */
enum { N_CODES = 8 };
static const char *const error_codes[N_CODES] = {
	"rate_limited", "overloaded",	"forbidden",	 "bad_request",
	"bad_update",	"unknown_type", "doc_too_large", "other",
};
static uint64_t errors[N_CODES];
static uint64_t closes;
static int64_t soonest; /* the type loop's next due keystroke or resend */
static uint64_t seed = 0x9e3779b97f4a7c15ull;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void fail(const char *what)
{
	fprintf(stderr, "typists: %s\n", what);
	exit(1);
}

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;

	if (need <= *cap)
		return p;
	while (c < need)
		c *= 2;
	p = realloc(p, c * size);
	if (!p)
		die("realloc");
	*cap = c;
	return p;
}

static void lat_push(enum cls k, int64_t ns)
{
	struct lat *l = &lats[k];

	l->v = grow(l->v, &l->cap, l->n + 1, sizeof(int64_t));
	l->v[l->n++] = ns;
}

/* ---- WebSocket framing ---------------------------------------------------------- */

/* Queues one masked frame (the mask is zero: masking is then the identity). */
static void queue_frame(struct client *c, int op, const void *data, size_t len)
{
	uint8_t h[14];
	size_t hl = 0;

	h[hl++] = (uint8_t)(0x80 | op);
	if (len < 126) {
		h[hl++] = (uint8_t)(0x80 | len);
	} else if (len < 65536) {
		h[hl++] = 0x80 | 126;
		h[hl++] = (uint8_t)(len >> 8);
		h[hl++] = (uint8_t)len;
	} else {
		h[hl++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			h[hl++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	memset(h + hl, 0, 4);
	hl += 4;
	c->tx = grow(c->tx, &c->tx_cap, c->tx_len + hl + len, 1);
	memcpy(c->tx + c->tx_len, h, hl);
	memcpy(c->tx + c->tx_len + hl, data, len);
	c->tx_len += hl + len;
}

/* Writes what the socket takes; returns false when bytes are left. */
static bool flush_tx(struct client *c)
{
	while (c->tx_off < c->tx_len) {
		ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			c->closed = true;
			c->tx_off = c->tx_len = 0;
			return true;
		}
		c->tx_off += (size_t)n;
	}
	c->tx_off = c->tx_len = 0;
	return true;
}

static void on_message(struct client *c, int op, uint8_t *data, size_t len);

/* Parses every whole frame in c->rx; control frames are answered here. */
static void parse_frames(struct client *c)
{
	size_t off = 0;

	for (;;) {
		uint8_t *p = c->rx + off;
		size_t avail = c->rx_len - off, hl;
		uint64_t len = 0;
		int head = wsframe_head(p, avail, &len), op;
		bool fin;

		if (head == 0)
			break;
		if (head < 0)
			fail("a masked frame from the server");
		hl = (size_t)head;
		if (avail - hl < len)
			break;
		op = p[0] & 0x0f;
		fin = p[0] & 0x80;
		p += hl;
		if (op == 0x9) {
			queue_frame(c, 0xA, p, (size_t)len);
		} else if (op == 0x8) {
			c->closed = true;
			c->close_code = len >= 2 ? p[0] << 8 | p[1] : 1005;
		} else if (op == 0x1 || op == 0x2 || op == 0x0) {
			if (op != 0)
				c->msg_op = op;
			if (fin && op != 0 && c->msg_len == 0) {
				on_message(c, op, p, (size_t)len);
			} else {
				c->msg = grow(c->msg, &c->msg_cap, c->msg_len + len + 1, 1);
				memcpy(c->msg + c->msg_len, p, (size_t)len);
				c->msg_len += (size_t)len;
				if (fin) {
					on_message(c, c->msg_op, c->msg, c->msg_len);
					c->msg_len = 0;
				}
			}
		}
		off += hl + (size_t)len;
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
}

/* Reads what is there (blocking sockets: at least one read); false at EOF. */
static bool read_some(struct client *c)
{
	for (;;) {
		ssize_t n;

		c->rx = grow(c->rx, &c->rx_cap, c->rx_len + 65536, 1);
		n = recv(c->fd, c->rx + c->rx_len, 65536, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0) {
			c->closed = true;
			return false;
		}
		c->rx_len += (size_t)n;
		parse_frames(c);
		if ((size_t)n < 65536)
			return true;
	}
}

/* ---- messages ------------------------------------------------------------------- */

/* The number after "key": in a JSON text, or -1. */
static long json_num(const char *s, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(s, pat);
	return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

static void note_seen(struct client *c, enum role src, int64_t now)
{
	struct room *r = &rooms[c->room];
	struct client *s = r->c[src] >= 0 ? &cl[r->c[src]] : NULL;
	enum cls k;
	uint32_t n;

	if (!s || s->role == FLOODER || !s->agent)
		return;
	n = crdt_doc_next(c->doc, s->agent);
	k = c->role != OBS ? C_QUIET : r->flood ? C_PEER_OBS : C_QUIET_OBS;
	for (uint32_t q = c->seen[src]; q < n && q < s->nsent; q++) {
		int64_t t = s->sent_at[q];

		if (t >= win0 && t < win1) {
			lat_push(k, now - t);
			if (k == C_QUIET || k == C_PEER_OBS)
				delivered_w++;
		}
	}
	if (n > c->seen[src])
		c->seen[src] = n;
}

static void count_error(const char *text)
{
	const char *p = strstr(text, "\"code\":\"");
	size_t i;

	if (!p) {
		errors[N_CODES - 1]++;
		return;
	}
	p += 8;
	for (i = 0; i < N_CODES - 1; i++)
		if (!strncmp(p, error_codes[i], strlen(error_codes[i])) &&
		    p[strlen(error_codes[i])] == '"')
			break;
	errors[i]++;
}

static void on_message(struct client *c, int op, uint8_t *data, size_t len)
{
	int64_t now = now_ns();

	if (op == 0x2) {
		if (!c->doc || c->role == FLOODER)
			return;
		if (crdt_apply(c->doc, data, len))
			fail("an update the CRDT refused");
		c->synced = true;
		if (c->role != IV)
			note_seen(c, IV, now);
		if (c->role != CAND)
			note_seen(c, CAND, now);
		return;
	}
	/* text: NUL-terminate in place (the frame's bytes are ours to change; the
	   byte after them is the next frame's header, restored below) */
	{
		uint8_t keep = data[len];
		char *s = (char *)data;

		data[len] = 0;
		if (strstr(s, "\"t\":\"welcome\"")) {
			long a = json_num(s, "agent");

			if (a <= 0)
				fail("a welcome without an agent");
			c->agent = (uint32_t)a;
			c->welcomed = true;
			if (c->role != FLOODER) {
				c->doc = crdt_doc_create(NULL);
				if (!c->doc)
					fail("crdt_doc_create");
			}
		} else if (strstr(s, "\"t\":\"ack\"")) {
			char key[16];
			long n;

			snprintf(key, sizeof(key), "%u", c->agent);
			n = json_num(s, key);
			if (n > (long)c->acked)
				c->acked = (uint32_t)n;
		} else if (strstr(s, "\"t\":\"error\"")) {
			if (now >= win0 && now < win1 + 10 * 1000000000ll)
				count_error(s);
			if (c->role == IV || c->role == CAND) {
				long retry = json_num(s, "retry_ms");

				if (!c->resend_at) {
					c->resend_at = now + (retry > 0 ? retry : 100) * 1000000;
					if (c->resend_at < soonest)
						soonest = c->resend_at;
				}
			}
		}
		data[len] = keep;
	}
}

/* ---- set-up --------------------------------------------------------------------- */

static int port;

static int ws_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char req[512], resp[4096];
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, n;

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	n = snprintf(req, sizeof(req),
		     "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: dGFuZGVtLXR5cGlzdHMtMQ==\r\n"
		     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: tandem.v1\r\n\r\n",
		     port);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		die("send handshake");
	/* Read the answer's head byte by byte: nothing follows it before the join. */
	while (got + 1 < sizeof(resp)) {
		if (recv(fd, resp + got, 1, 0) != 1)
			die("recv handshake");
		got++;
		if (got >= 4 && !memcmp(resp + got - 4, "\r\n\r\n", 4))
			break;
	}
	resp[got] = 0;
	if (strncmp(resp, "HTTP/1.1 101", 12)) {
		fprintf(stderr, "typists: handshake refused: %.80s\n", resp);
		exit(1);
	}
	return fd;
}

static void join(struct client *c, const char *room, const char *token)
{
	char j[1024];
	int n = snprintf(
		j, sizeof(j),
		"{\"t\":\"join\",\"id\":1,\"room\":\"%s\",\"token\":\"%s\",\"version\":{}}", room,
		token);

	if (n <= 0 || (size_t)n >= sizeof(j))
		fail("a room line too long");
	c->fd = ws_connect();
	queue_frame(c, 0x1, j, (size_t)n);
	if (!flush_tx(c))
		fail("join not sent");
	/* The welcome, then the catch-up frame (the flooder keeps no document). */
	while (!c->welcomed || (c->role != FLOODER && !c->synced)) {
		if (!read_some(c) || c->closed) {
			fprintf(stderr, "typists: join refused (close %d)\n", c->close_code);
			exit(1);
		}
	}
	flush_tx(c); /* a pong, if the server pinged */
}

static void nonblocking(int fd)
{
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		die("O_NONBLOCK");
}

/* ---- the loops ------------------------------------------------------------------ */

static void type_one(struct client *c, int64_t now)
{
	struct crdt_version since;
	struct crdt_buf out;
	size_t len = crdt_len(c->doc);
	char ch = (char)('a' + rnd() % 26);

	crdt_version_init(&since, NULL);
	crdt_buf_init(&out, NULL);
	if (crdt_doc_version(c->doc, &since) ||
	    crdt_insert(c->doc, c->agent, (size_t)(rnd() % (len + 1)), &ch, 1) ||
	    crdt_encode_since(c->doc, &since, &out))
		fail("a local edit");
	c->sent_at = grow(c->sent_at, &c->cap_sent, c->nsent + 1, sizeof(int64_t));
	c->sent_at[c->nsent++] = now;
	if (now >= win0 && now < win1)
		sent_w++;
	if (!c->resend_at)
		queue_frame(c, 0x2, out.data, out.len);
	crdt_buf_finish(&out);
	crdt_version_finish(&since);
}

/* After a refusal: everything this client made since its last ack, again. */
static void resend(struct client *c)
{
	struct crdt_version since;
	struct crdt_buf out;

	crdt_version_init(&since, NULL);
	crdt_buf_init(&out, NULL);
	if (crdt_doc_version(c->doc, &since) || crdt_version_set(&since, c->agent, c->acked) ||
	    crdt_encode_since(c->doc, &since, &out))
		fail("a resend");
	queue_frame(c, 0x2, out.data, out.len);
	crdt_buf_finish(&out);
	crdt_version_finish(&since);
	c->resend_at = 0;
}

static void watch(int ep, struct client *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
				  .data.u32 = (uint32_t)(c - cl) };

	if (c->want_out == out)
		return;
	c->want_out = out;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev))
		die("epoll_ctl");
}

static void send_now(int ep, struct client *c)
{
	if (c->tx_len && !c->closed)
		watch(ep, c, !flush_tx(c));
}

static int add_all(bool flooders)
{
	int ep = epoll_create1(0);

	if (ep < 0)
		die("epoll_create1");
	for (size_t i = 0; i < ncl; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		if ((cl[i].role == FLOODER) != flooders)
			continue;
		nonblocking(cl[i].fd);
		cl[i].want_out = false;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].fd, &ev))
			die("epoll_ctl");
	}
	return ep;
}

static void read_ready(int ep, struct epoll_event *evs, int n)
{
	for (int k = 0; k < n; k++) {
		struct client *c = &cl[evs[k].data.u32];

		if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
			bool was = c->closed;

			read_some(c);
			if (c->closed && !was) {
				closes++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				continue;
			}
		}
		send_now(ep, c);
	}
}

/* The flood frames, in turn. */
static char flood_frame[3][4200];
static size_t flood_len[3];

/* awareness: the awareness frame's size, at least that of one with an empty name */
static void make_flood_frames(size_t awareness)
{
	const char *empty = "{\"t\":\"awareness\",\"cursor\":0,\"name\":\"\"}";
	size_t pad = awareness - strlen(empty);
	int n;

	n = snprintf(flood_frame[0], sizeof(flood_frame[0]),
		     "{\"t\":\"awareness\",\"cursor\":0,\"name\":\"%0*d\"}", (int)pad, 0);
	flood_len[0] = (size_t)n;
	n = snprintf(flood_frame[1], sizeof(flood_frame[1]),
		     "{\"t\":\"event\",\"kind\":\"paste\",\"size\":120,\"id\":1}");
	flood_len[1] = (size_t)n;
	n = snprintf(flood_frame[2], sizeof(flood_frame[2]), "{\"t\":\"note\",\"text\":\"%0100d\"}",
		     0);
	flood_len[2] = (size_t)n;
}

/*
 * The flooders' process: returns the frames it queued in the window, written
 * as their sockets take them.
 */
static uint64_t flood_loop(int64_t end, int per_ms, size_t queue)
{
	int ep = add_all(true);
	uint64_t queued = 0;
	int64_t tick = now_ns();

	while (now_ns() < end) {
		struct epoll_event evs[256];
		int64_t t = now_ns();
		int n;

		if (t >= tick) {
			for (size_t i = 0; i < ncl; i++) {
				struct client *c = &cl[i];

				if (c->role != FLOODER || c->closed)
					continue;
				for (int k = 0; k < per_ms && c->tx_len - c->tx_off < queue; k++) {
					unsigned f = c->nflood++ % 3;

					queue_frame(c, 0x1, flood_frame[f], flood_len[f]);
					if (t >= win0 && t < win1)
						queued++;
				}
				send_now(ep, c);
			}
			tick += 1000000;
		}
		n = epoll_wait(ep, evs, 256, 1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		read_ready(ep, evs, n > 0 ? n : 0);
	}
	return queued;
}

static bool caught_up(void)
{
	for (size_t r = 0; r < nrooms; r++) {
		for (int k = 0; k < 3; k++) {
			struct client *c = rooms[r].c[k] >= 0 ? &cl[rooms[r].c[k]] : NULL;

			if (!c || c->role == FLOODER || c->closed)
				continue;
			for (int s = IV; s <= CAND; s++) {
				struct client *src = rooms[r].c[s] >= 0 ? &cl[rooms[r].c[s]] : NULL;

				if (src && src != c && src->role != FLOODER &&
				    crdt_doc_next(c->doc, src->agent) < src->nsent)
					return false;
			}
		}
	}
	return true;
}

static void type_loop(int64_t end, int64_t drain_end, int64_t period)
{
	int ep = add_all(false);

	for (;;) {
		struct epoll_event evs[256];
		int64_t t = now_ns();
		int n, wait_ms;

		if (t >= end && (t >= drain_end || caught_up()))
			break;
		/* The clients are scanned only when one of them is due. */
		if (t >= soonest) {
			soonest = t + 50 * 1000000;
			for (size_t i = 0; i < ncl; i++) {
				struct client *c = &cl[i];

				if (c->closed || (c->role != IV && c->role != CAND))
					continue;
				if (c->resend_at && c->resend_at <= t)
					resend(c);
				if (t < end && c->next_type <= t) {
					type_one(c, t);
					c->next_type += period;
				}
				send_now(ep, c);
				if (t < end && c->next_type < soonest)
					soonest = c->next_type;
				if (c->resend_at && c->resend_at < soonest)
					soonest = c->resend_at;
			}
		}
		wait_ms = soonest > t ? (int)((soonest - t + 999999) / 1000000) : 0;
		n = epoll_wait(ep, evs, 256, wait_ms);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		read_ready(ep, evs, n > 0 ? n : 0);
	}
	close(ep);
}

/* ---- report --------------------------------------------------------------------- */

static double pct(const struct lat *l, double p)
{
	size_t i;

	if (!l->n)
		return 0;
	i = (size_t)(p * (double)(l->n - 1) + 0.5);
	return (double)l->v[i] / 1e6;
}

static bool same_text(struct client *a, struct client *b)
{
	size_t la = crdt_len_bytes(a->doc), lb = crdt_len_bytes(b->doc);
	char *ta, *tb;
	bool eq;

	if (la != lb)
		return false;
	ta = malloc(la + 1);
	tb = malloc(lb + 1);
	if (!ta || !tb)
		die("malloc");
	crdt_text(a->doc, ta, la + 1);
	crdt_text(b->doc, tb, lb + 1);
	eq = !memcmp(ta, tb, la);
	free(ta);
	free(tb);
	return eq;
}

/* {"code":count,...} of the error codes counted. */
static void print_counts(const uint64_t *n)
{
	const char *sep = "";

	printf("{");
	for (int k = 0; k < N_CODES; k++) {
		if (n[k]) {
			printf("%s\"%s\":%llu", sep, error_codes[k], (unsigned long long)n[k]);
			sep = ",";
		}
	}
	printf("}");
}

static void usage(void)
{
	fprintf(stderr, "usage: tandem-typists --port PORT [--rate PER_S] [--warmup S] [--measure "
			"S] [--drain S]\n"
			"                      [--flood-per-ms N] [--flood-queue BYTES] "
			"[--server-pid PID] [--awareness BYTES (40-4096)] < ROOMS\n"
			"ROOMS: a room a line: ROOM-ID INTERVIEWER-TOKEN CANDIDATE-TOKEN "
			"OBSERVER-TOKEN|- FLOOD(0|1)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long rate = 5, warmup = 10, measure = 60, drain = 10, per_ms = 1, server_pid = 0,
	     port_l = 0;
	long queue = 65536, awareness = 4096;
	char line[2048];
	size_t cap_rooms = 0, cap_cl = 0;
	int64_t t0, period;
	double srv0, srv1, me0, me1, fl = 0;
	uint64_t flood_queued = 0, flood_errors[N_CODES] = { 0 };
	int pfd[2];
	pid_t child = -1;
	size_t converged = 0;

	for (int i = 1; i < argc; i += 2) {
		const struct {
			const char *name;
			long *slot;
		} opts[] = {
			{ "--port", &port_l },	       { "--rate", &rate },
			{ "--warmup", &warmup },       { "--measure", &measure },
			{ "--drain", &drain },	       { "--flood-per-ms", &per_ms },
			{ "--flood-queue", &queue },   { "--server-pid", &server_pid },
			{ "--awareness", &awareness },
		};
		size_t k = 0;

		while (k < sizeof(opts) / sizeof(opts[0]) && strcmp(argv[i], opts[k].name))
			k++;
		if (i + 1 == argc || k == sizeof(opts) / sizeof(opts[0]))
			usage();
		*opts[k].slot = strtol(argv[i + 1], NULL, 10);
	}
	port = (int)port_l;
	if (port <= 0 || rate < 1 || measure < 1 || warmup < 0 || per_ms < 1 || queue < 1 ||
	    awareness < 40 || awareness > 4096)
		usage();
	signal(SIGPIPE, SIG_IGN);
	make_flood_frames((size_t)awareness);

	/* Rooms, and a blocking join of every seat, one after the other. */
	while (fgets(line, sizeof(line), stdin)) {
		char id[256], tok[3][512];
		int flood;
		struct room *r;

		if (sscanf(line, "%255s %511s %511s %511s %d", id, tok[0], tok[1], tok[2],
			   &flood) != 5)
			fail("a room line is not ROOM IV CAND OBS|- FLOOD");
		rooms = grow(rooms, &cap_rooms, nrooms + 1, sizeof(*rooms));
		r = &rooms[nrooms];
		r->flood = flood != 0;
		r->c[IV] = r->c[CAND] = r->c[OBS] = -1;
		for (int k = 0; k < 3; k++) {
			struct client *c;

			if (k == OBS && !strcmp(tok[k], "-"))
				continue;
			cl = grow(cl, &cap_cl, ncl + 1, sizeof(*cl));
			c = &cl[ncl];
			memset(c, 0, sizeof(*c));
			c->role = k == CAND && r->flood ? FLOODER : (enum role)k;
			c->room = (int)nrooms;
			r->c[k] = (int)ncl++;
			join(c, id, tok[k]);
		}
		nrooms++;
	}
	if (!nrooms)
		fail("no rooms on standard input");

	period = 1000000000ll / rate;
	t0 = now_ns();
	win0 = t0 + (int64_t)warmup * 1000000000;
	win1 = win0 + (int64_t)measure * 1000000000;
	for (size_t i = 0; i < ncl; i++)
		cl[i].next_type = t0 + (int64_t)(rnd() % (uint64_t)period);

	/* The flooders go to a child of their own. */
	for (size_t i = 0; i < ncl && child < 0; i++) {
		if (cl[i].role != FLOODER)
			continue;
		if (pipe(pfd))
			die("pipe");
		child = fork();
		if (child < 0)
			die("fork");
		if (child == 0) {
			uint64_t w;
			double cpu;

			close(pfd[0]);
			memset(errors, 0, sizeof(errors));
			w = flood_loop(win1, (int)per_ms, (size_t)queue);
			cpu = rusage_s(RUSAGE_SELF);
			if (write(pfd[1], &w, sizeof(w)) != sizeof(w) ||
			    write(pfd[1], errors, sizeof(errors)) != sizeof(errors) ||
			    write(pfd[1], &cpu, sizeof(cpu)) != sizeof(cpu))
				_exit(1);
			_exit(0);
		}
		close(pfd[1]);
	}
	for (size_t i = 0; i < ncl; i++)
		if (cl[i].role == FLOODER) {
			close(cl[i].fd); /* the child's now */
			cl[i].closed = true;
		}

	/* Typing until the window opens, then measured. */
	type_loop(win0, win0, period);
	srv0 = server_pid > 0 ? proc_cpu_s(server_pid) : 0;
	me0 = rusage_s(RUSAGE_SELF);
	type_loop(win1, win1, period);
	srv1 = server_pid > 0 ? proc_cpu_s(server_pid) : 0;
	me1 = rusage_s(RUSAGE_SELF);
	type_loop(win1, win1 + (int64_t)drain * 1000000000, period);
	if (child > 0) {
		int st;

		if (read(pfd[0], &flood_queued, sizeof(flood_queued)) != sizeof(flood_queued) ||
		    read(pfd[0], flood_errors, sizeof(flood_errors)) != sizeof(flood_errors) ||
		    read(pfd[0], &fl, sizeof(fl)) != sizeof(fl))
			fail("the flooders' process ended without its counts");
		waitpid(child, &st, 0);
	}

	for (size_t r = 0; r < nrooms; r++) {
		struct client *a = &cl[rooms[r].c[IV]];
		struct client *b = rooms[r].flood
					   ? (rooms[r].c[OBS] >= 0 ? &cl[rooms[r].c[OBS]] : NULL)
					   : &cl[rooms[r].c[CAND]];
		struct client *o = rooms[r].c[OBS] >= 0 ? &cl[rooms[r].c[OBS]] : NULL;

		if (b && same_text(a, b) && (!o || same_text(a, o)))
			converged++;
	}
	for (int k = 0; k < C_N; k++)
		qsort(lats[k].v, lats[k].n, sizeof(int64_t), cmp_i64);

	printf("{\"rooms\":%zu,\"clients\":%zu,\"rate\":%ld,\"windowS\":%ld,\"serverCpuS\":%.2f,"
	       "\"clientCpuS\":%.2f,\"flooderCpuS\":%.2f,\"sent\":%llu,\"delivered\":%llu,"
	       "\"converged\":%zu,\"closes\":%llu,",
	       nrooms, ncl, rate, measure, srv1 - srv0, me1 - me0, fl, (unsigned long long)sent_w,
	       (unsigned long long)delivered_w, converged, (unsigned long long)closes);
	printf("\"lat\":{");
	for (int k = 0; k < C_N; k++)
		printf("%s\"%s\":{\"n\":%zu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,"
		       "\"max\":%.3f}",
		       k ? "," : "", cls_name[k], lats[k].n, pct(&lats[k], 0.5), pct(&lats[k], 0.9),
		       pct(&lats[k], 0.99), pct(&lats[k], 0.999), pct(&lats[k], 1.0));
	printf("},\"errors\":");
	print_counts(errors);
	printf(",\"flood\":{\"queued\":%llu,\"answers\":", (unsigned long long)flood_queued);
	print_counts(flood_errors);
	printf("}}\n");
	return 0;
}
