/*
 * http.h - the REST API and every HTTP write (http.c).
 *
 * http.c owns an HTTP request from the moment lws hands it over to the
 * last byte of its answer: headers and body in (http_callback), the API's
 * routes (http_api), and the answer out (http_reply, written from the
 * WRITEABLE callback).  ws.c only registers http_callback as the
 * listener's "http" protocol with sizeof(struct http_pss) of per-session
 * storage.
 */
#ifndef TANDEM_HTTP_H
#define TANDEM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "httphead.h"

struct server;

/*
 * One API request.  http.c owns it; when the connection closes before the
 * answer, orphan is set and http_reply() frees it instead of answering.
 */
struct http_req {
	struct server *srv;
	struct lws *wsi;
	bool orphan, ready;
	int status;
	char *resp;
	size_t resp_len, resp_sent;
	const char *type;     /* content type; NULL = application/json */
	const char *cache;    /* Cache-Control; NULL = no-store */
	const char *encoding; /* Content-Encoding, or NULL */
	bool app;	      /* a file of the browser app: its CSP, Vary */
	bool head_only;	      /* HEAD: the headers alone */
	bool yaml;	      /* the request's Content-Type names YAML (a kata upload) */
	int file_fd;	      /* >= 0: the body is the next file_left bytes of this file */
	uint64_t file_left;
	bool headers_sent;
	/* scratch for http.c while an answer is pending */
	json_t *pending;
};

/*
 * Handles one API request.  Returns the HTTP status with *out set (a new
 * JSON reference to send), or 0 when the answer comes later through
 * http_reply(hr, ...).
 */
int http_api(struct server *srv, struct http_req *hr, const char *method, const char *path,
	     const char *auth, const char *body, size_t body_len, json_t **out);
/*
 * The admin's problem routes, /api/problems[/ID] (http-problems.c); the
 * same contract as http_api().
 */
int http_problems(struct server *srv, struct http_req *hr, const char *method, const char *path,
		  const char *auth, const char *body, size_t body_len, json_t **out);

/*
 * The request's Authorization is "Bearer <admin key>" (compared in constant
 * time); auth is NULL when the request has none.
 */
bool http_is_admin(const struct server *srv, const char *auth);

/*
 * A Content-Type value names YAML (application/yaml, application/x-yaml,
 * text/yaml, text/x-yaml; parameters such as charset allowed).
 */
bool http_type_is_yaml(const char *ct);

/* Answers hr (consumes body). */
void http_reply(struct http_req *hr, int status, json_t *body);

/*
 * A request waiting on PostgreSQL is answered 503 ("database unavailable;
 * retry") after HTTP_DEADLINE_MS; its callback still comes later and then
 * only finishes (without the deadline a request to an unreachable
 * PostgreSQL hung until the client gave up).
 */
#define HTTP_DEADLINE_MS 3000
struct http_wait;
/* Arms the deadline for hr; NULL when out of memory.  Owned until http_wait_reply(). */
struct http_wait *http_wait_start(struct server *srv, struct http_req *hr, const char *what);
/* Answers hr unless the deadline did (consumes body) and frees w. */
void http_wait_reply(struct http_wait *w, int status, json_t *body);
/* Frees w without answering (the call could not start; the caller answers). */
void http_wait_cancel(struct http_wait *w);
/*
 * TIME of ?at=: unix milliseconds, or RFC 3339 ("2026-11-22T00:30:17.5Z",
 * "...+02:00"; a '+' may arrive URL-decoded as a space) into *out.  0, or
 * -1 when s is neither.
 */
int http_parse_time(const char *s, int64_t *out);

/*
 * lws's per-session storage of an HTTP connection (ws.c sizes the protocol
 * with it); the request lives on the heap (see http_req).
 */
struct http_pss {
	struct http_req *hr;
	char method[8];
	char path[256];
	char auth[1024];
	char *body;
	size_t body_len;
	bool too_big;
	/* Transfer-Encoding: chunked (accept.c let no other coding through) */
	bool chunked;
	struct http_chunked ch;
	uint64_t body_read; /* decoded bytes, kept or not */
	bool waiting;	    /* http_api answered 0: http_reply comes later */
	bool dispatched;    /* handled once: lws may still report the (empty) body's end */
};

/* The most a request body may hold (a bigger one is answered 413). */
#define HTTP_BODY_MAX (64 * 1024)
/* An admin's problem upload (a tar or JSON body): a problem's files, tests included. */
#define HTTP_PROBLEM_MAX (16 * 1024 * 1024)
/* A chunked body over HTTP_BODY_MAX is read to its end for the 413, up to this much. */
#define HTTP_CHUNKED_READ_MAX (64u << 20)

/*
 * accept.c: listens on host:port and judges each connection's request
 * head (httphead.h) before handing it to lws (srv->vhost).  0 or -1.
 */
int http_accept_start(struct server *srv, const char *host, int port);
/* Stops listening and closes the connections that lws has not taken yet. */
void http_accept_stop(struct server *srv);

/* lws's callback of the "http" protocol: requests, bodies, answers. */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		  size_t len);

#endif /* TANDEM_HTTP_H */
