/*
 * httphead.h - the HTTP/1.1 request head and chunked body, checked before
 * libwebsockets sees them.
 *
 * libwebsockets 4.1 drops a connection without a word when a request
 * does not fit its parser (headers over its header space, %00 where it
 * does not expect one, too many fragments), reads `Content-Length: abc`
 * as 0, and passes a chunked body through undecoded.  So every request
 * head is judged here first (accept.c peeks at it): a head this file
 * accepts is one lws parses as meant, and anything else gets a status
 * and a reason to answer with.  Chunked bodies, which lws hands over as
 * they came, are decoded by http_chunked_feed (http.c).  RFC 9112 is the reference; where
 * it lets a server choose, the strict choice is made (one Content-Length,
 * one Transfer-Encoding, never both).
 *
 * Pure functions over caller-owned buffers: no I/O, no allocation, no
 * globals, so the fuzz target (tests/fuzz/fuzz-http.c) drives them alone.
 */
#ifndef TANDEM_HTTPHEAD_H
#define TANDEM_HTTPHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The header space: a whole head (request line, headers, the empty line)
 * of at most 16 KiB in at most 64 lines.  Browsers send 0.5-2 KB plus
 * their cookies for the host; 16 KiB is what Node.js allows by default
 * and twice nginx's 8 KiB buffer for one line, so a browser with a few
 * large cookies fits and a proxy in front of tandem refuses first.
 */
#define HTTP_HEAD_MAX	    (16 * 1024)
#define HTTP_HEAD_LINES_MAX 64
/* The request line alone (method, target, version). */
#define HTTP_TARGET_MAX (8 * 1024)

/* What a head may hold (http_head_parse); the defaults are the macros above. */
struct http_head_limits {
	size_t head_max;    /* bytes of the whole head: more is 431 */
	unsigned lines_max; /* header lines: more is 431 */
	size_t target_max;  /* bytes of the request line: more is 414 */
	/*
	 * Header lines plus query arguments (split at '&' and ';'): lws keeps
	 * each in a fragment of a fixed table and drops the connection when
	 * it runs out.  More is 414 when the arguments are the larger part,
	 * 431 otherwise.
	 */
	unsigned frags_max;
};

enum http_body {
	HTTP_BODY_NONE,	  /* no Content-Length, no Transfer-Encoding */
	HTTP_BODY_LENGTH, /* content_length bytes follow */
	HTTP_BODY_CHUNKED,
};

/*
 * A parsed head: offsets into the caller's buffer, valid as long as it is.
 * Filled by http_head_parse(); `scan` lets a parse resume where the last
 * one stopped looking for the end (zero the struct before the first call).
 */
struct http_head {
	size_t scan;  /* bytes already searched for the empty line */
	size_t start; /* empty lines before the request line (skipped) */
	size_t len;   /* bytes from buf to the end of the empty line */
	size_t method_off, method_len;
	size_t target_off, target_len;
	bool http10;
	unsigned lines; /* header lines */
	unsigned args;	/* query arguments */
	enum http_body body;
	uint64_t content_length;
	bool expect_continue; /* Expect: 100-continue */
};

/* http_head_parse() needs more bytes; any other non-zero result is an HTTP status. */
#define HTTP_HEAD_MORE (-1)

/*
 * Reads the head at the start of buf[0..len).  Returns 0 when it is
 * complete and acceptable (*h filled), HTTP_HEAD_MORE when the empty line
 * has not arrived yet and the head is still within the limits, or the
 * status to answer with (400, 414, 431, 501, 505), *why saying why in a
 * static string.  Call again with the same *h and more bytes after MORE.
 */
int http_head_parse(const char *buf, size_t len, const struct http_head_limits *lim,
		    struct http_head *h, const char **why);

/* Defaults of struct http_head_limits for lws's fragment table of `frags` entries. */
void http_head_limits_default(struct http_head_limits *lim, unsigned frags);

/*
 * A chunked body being decoded (RFC 9112 7.1): chunk sizes in hex, with
 * extensions ignored, data, the last chunk, trailer fields ignored.
 * Zero it before the first byte.
 */
struct http_chunked {
	int state;
	uint64_t left; /* of the current chunk's data, or its size as read so far */
	unsigned digits;
	size_t line;	/* bytes of the current size line, extensions included */
	size_t trailer; /* bytes of trailer fields so far */
};

/* More bytes are due; any other non-zero result of http_chunked_feed is a status. */
#define HTTP_CHUNKED_MORE (-1)

/*
 * Decodes in[0..len).  Each span of data goes to sink(ud, p, n) as it is
 * found (pointing into in).  Returns HTTP_CHUNKED_MORE when every byte
 * was used and the body goes on, 0 when the body ended (*used: the bytes
 * of in it took; what follows is not part of it), or 400 with *why.
 */
int http_chunked_feed(struct http_chunked *c, const char *in, size_t len, size_t *used,
		      void (*sink)(void *ud, const char *p, size_t n), void *ud, const char **why);

#endif /* TANDEM_HTTPHEAD_H */
