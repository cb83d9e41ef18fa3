/*
 * accept.c - the listening socket, and each connection until its request
 * head has been judged.
 *
 * libwebsockets does not listen here (CONTEXT_PORT_NO_LISTEN_SERVER):
 * this file accepts every connection and looks at its request head with
 * MSG_PEEK, leaving the bytes in the socket, until httphead.c can judge
 * it.  An acceptable head is left where it is and the socket handed to
 * lws (lws_adopt_socket_vhost), which reads and serves it as if it had
 * accepted it: REST, static files or the WebSocket upgrade.  Anything
 * else is answered from here.  (Handing lws the bytes instead, with
 * lws_adopt_socket_vhost_readbuf, makes lws 4.1.6 read the head a second
 * time as the body of a POST and then spin.)
 *
 * While a head is incomplete, SO_RCVLOWAT is set one byte past what is
 * there, so the socket wakes the loop only when more has come: the bytes
 * stay unread without the poll firing for them again and again.
 *
 * So that every request passes through here, a connection carries one
 * request: http.c answers with `Connection: close` and closes after the
 * answer.  A WebSocket stays open after its handshake, as always.
 *
 * An answer from here is a short JSON error, written straight to the
 * socket (it fits any socket buffer), after which the write side is shut
 * and what the client still sends is read and dropped for up to
 * DRAIN_MS, so the client reads the answer instead of a reset.  Nothing
 * blocks: a client that sends half a head waits on its own, up to
 * HEAD_TIMEOUT_MS, while the loop serves everyone else.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "httphead.h"
#include "log.h"
#include "server.h"

/* A head must be complete within this, from the connection's accept. */
#define HEAD_TIMEOUT_MS 10000
/* After an answer from here: what the client still sends is dropped for this long, or this much. */
#define DRAIN_MS    1000
#define DRAIN_BYTES (1u << 20)
/* Out of file descriptors: accept nothing for this long. */
#define ACCEPT_PAUSE_MS 100

enum front_state {
	FRONT_HEAD,  /* peeking at the request head */
	FRONT_DRAIN, /* answered: dropping what still arrives */
	FRONT_DONE,  /* closing; the socket goes to lws, or is closed */
};

/*
 * One accepted connection until lws takes it, or until it has been
 * answered here.  Lives on the heap; freed once its two handles closed.
 */
struct front {
	struct server *srv;
	struct front *next, *prev; /* in http_accept.conns */
	uv_poll_t poll;
	uv_timer_t timer;
	int fd;
	int closing; /* handles whose close callback is due */
	enum front_state state;
	bool adopt; /* closing hands the socket to lws */
	bool lowat; /* SO_RCVLOWAT is raised */
	char *buf;  /* a copy of the head so far (the socket keeps the bytes) */
	size_t len, cap;
	struct http_head head;
	size_t drained;
};

/* The listener: one per server (srv->accept). */
struct http_accept {
	struct server *srv;
	uv_poll_t poll;
	uv_timer_t pause; /* out of descriptors: accepting resumes when it fires */
	int fd;
	int closing;	     /* handles whose close callback is due (http_accept_stop) */
	struct front *conns; /* connections still here */
	struct http_head_limits lim;
};

static const char *reason_phrase(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

static void front_closed(uv_handle_t *h)
{
	struct front *f = h->data;

	if (--f->closing)
		return;
	/* lws owns the socket from here on, and closes it if adoption fails. */
	if (f->adopt && !lws_adopt_socket_vhost(f->srv->vhost, f->fd))
		log_event(LOG_WARN, "http.adopt", "msg=%s", "lws refused the connection");
	else if (!f->adopt)
		close(f->fd);
	free(f->buf);
	free(f);
}

/* Ends f's time here: lws gets the socket (adopt), or it is closed. */
static void front_end(struct http_accept *a, struct front *f, bool adopt)
{
	if (f->state == FRONT_DONE)
		return;
	f->state = FRONT_DONE;
	f->adopt = adopt;
	if (f->prev)
		f->prev->next = f->next;
	else
		a->conns = f->next;
	if (f->next)
		f->next->prev = f->prev;
	/* Both handles close before lws watches the same socket (libuv allows one watcher). */
	f->closing = 2;
	uv_close((uv_handle_t *)&f->poll, front_closed);
	uv_close((uv_handle_t *)&f->timer, front_closed);
}

/* Wakes the loop only once the socket holds more than `bytes` (1: any byte). */
static void wake_after(struct front *f, size_t bytes)
{
	int v = (int)bytes;

	if (bytes <= 1 && !f->lowat)
		return;
	f->lowat = bytes > 1;
	setsockopt(f->fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v));
}

static struct http_accept *accept_of(struct front *f)
{
	return f->srv->accept;
}

static void drain_timeout(uv_timer_t *t)
{
	struct front *f = t->data;

	front_end(accept_of(f), f, false);
}

/* Answers status with {"error": why}, then drains and closes. */
static void front_answer(struct front *f, int status, const char *why)
{
	char out[512];
	int body = (int)strlen(why) + 12, n;

	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
		     "Connection: close\r\nCache-Control: no-store\r\n"
		     "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
		     "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\r\n"
		     "{\"error\":\"%s\"}",
		     status, reason_phrase(status), body, why);
	log_event(LOG_INFO, "http.refused", "status=%d why=%s", status, why);
	wake_after(f, 1);
	/* why is one of httphead.c's static strings: no quote or backslash to escape. */
	if (n > 0 && (size_t)n < sizeof(out))
		(void)!send(f->fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(f->fd, SHUT_WR);
	f->state = FRONT_DRAIN;
	uv_timer_start(&f->timer, drain_timeout, DRAIN_MS, 0);
}

static void head_timeout(uv_timer_t *t)
{
	struct front *f = t->data;

	if (f->state == FRONT_HEAD && f->len == 0) {
		front_end(accept_of(f), f, false); /* said nothing: nothing to answer */
		return;
	}
	front_answer(f, 408, "request head not complete in time");
}

static void front_readable(uv_poll_t *p, int status, int events)
{
	struct front *f = p->data;
	struct http_accept *a = accept_of(f);
	const char *why = "";
	ssize_t n;
	int rc;

	if (status < 0) {
		front_end(a, f, false);
		return;
	}
	if (f->state == FRONT_DRAIN) {
		char scratch[16384];

		n = recv(f->fd, scratch, sizeof(scratch), 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		f->drained += n > 0 ? (size_t)n : 0;
		if (n <= 0 || f->drained > DRAIN_BYTES)
			front_end(a, f, false);
		return;
	}
	if (f->state != FRONT_HEAD)
		return;
	if (!f->buf) {
		/* head_max + 1 bytes tell a head that is too large */
		f->cap = a->lim.head_max + 1;
		f->buf = malloc(f->cap);
		if (!f->buf) {
			front_answer(f, 503, "out of memory");
			return;
		}
	}
	n = recv(f->fd, f->buf, f->cap, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0 || ((size_t)n == f->len && (events & UV_DISCONNECT))) {
		/* Gone before its request was whole: no one to answer. */
		front_end(a, f, false);
		return;
	}
	f->len = (size_t)n;
	if (f->srv->stopping) {
		front_answer(f, 503, "server shutting down");
		return;
	}
	rc = http_head_parse(f->buf, f->len, &a->lim, &f->head, &why);
	if (rc == HTTP_HEAD_MORE) {
		wake_after(f, f->len + 1);
		return;
	}
	if (rc) {
		front_answer(f, rc, why);
		return;
	}
	wake_after(f, 1);
	/*
	 * A client that asks before sending its body (curl does for chunked
	 * and large ones) gets the go-ahead here: lws 4.1 never gives it, and
	 * the client would wait a second before sending anyway.
	 */
	if (f->head.expect_continue && f->head.body != HTTP_BODY_NONE && f->len == f->head.len) {
		static const char go[] = "HTTP/1.1 100 Continue\r\n\r\n";

		(void)!send(f->fd, go, sizeof(go) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	/* Empty lines before the request are ours to skip: lws would take one for the end. */
	if (f->head.start && recv(f->fd, f->buf, f->head.start, 0) != (ssize_t)f->head.start) {
		front_end(a, f, false);
		return;
	}
	front_end(a, f, true);
}

static void listener_readable(uv_poll_t *p, int status, int events);

static void accept_resume(uv_timer_t *t)
{
	struct http_accept *a = t->data;

	uv_poll_start(&a->poll, UV_READABLE, listener_readable);
}

static void listener_readable(uv_poll_t *p, int status, int events)
{
	struct http_accept *a = p->data;

	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct front *f;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/*
				 * The connection stays in the backlog and the socket stays
				 * readable: without a pause the loop would spin on it.
				 */
				log_event(LOG_WARN, "accept", "msg=%s pause_ms=%d", strerror(errno),
					  ACCEPT_PAUSE_MS);
				uv_poll_stop(&a->poll);
				uv_timer_start(&a->pause, accept_resume, ACCEPT_PAUSE_MS, 0);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				   errno != ECONNABORTED) {
				log_event(LOG_WARN, "accept", "msg=%s", strerror(errno));
			}
			return;
		}
		/*
		 * No Nagle: the protocol is small frames that answer each other
		 * (run.started then a run.test a few ms later), and lws does not
		 * set it on an adopted socket; with it, the second small frame
		 * waits for the peer's delayed ACK, up to 40 ms.
		 */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		f = calloc(1, sizeof(*f));
		if (!f || uv_poll_init(a->srv->loop, &f->poll, fd)) {
			free(f);
			close(fd);
			continue;
		}
		f->srv = a->srv;
		f->fd = fd;
		f->poll.data = f;
		uv_timer_init(a->srv->loop, &f->timer);
		f->timer.data = f;
		f->next = a->conns;
		if (a->conns)
			a->conns->prev = f;
		a->conns = f;
		uv_poll_start(&f->poll, UV_READABLE | UV_DISCONNECT, front_readable);
		uv_timer_start(&f->timer, head_timeout, HEAD_TIMEOUT_MS, 0);
	}
}

int http_accept_start(struct server *srv, const char *host, int port)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct http_accept *a;
	char portstr[16];
	int fd = -1, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(host && host[0] ? host : NULL, portstr, &hints, &res))
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 511))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	a = calloc(1, sizeof(*a));
	if (!a || uv_poll_init(srv->loop, &a->poll, fd)) {
		free(a);
		close(fd);
		return -1;
	}
	a->srv = srv;
	a->fd = fd;
	a->poll.data = a;
	uv_timer_init(srv->loop, &a->pause);
	a->pause.data = a;
	http_head_limits_default(&a->lim, WSI_TOKEN_COUNT);
	srv->accept = a;
	uv_poll_start(&a->poll, UV_READABLE, listener_readable);
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	struct http_accept *a = h->data;

	if (--a->closing)
		return;
	close(a->fd);
	free(a);
}

void http_accept_stop(struct server *srv)
{
	struct http_accept *a = srv->accept;

	if (!a)
		return;
	srv->accept = NULL;
	while (a->conns)
		front_end(a, a->conns, false);
	a->closing = 2;
	uv_close((uv_handle_t *)&a->poll, listener_closed);
	uv_close((uv_handle_t *)&a->pause, listener_closed);
}
