/*
 * test-httphead.c - server/httphead.c: request heads and chunked bodies.
 *
 * Every head here is also fed one byte at a time, and must give the same
 * answer as in one piece (the server reads heads in whatever pieces the
 * socket delivers).  Chunked bodies likewise, split at every offset.  The
 * end-to-end test (tests/server/e2e/test-http.mjs) sends the same shapes
 * to a running tandem.
 */
#include <string.h>

#include "check.h"
#include "httphead.h"

/* lws 4.1.6 (Debian 12) has 95 header fragments. */
#define FRAGS 95

static int parse_whole(const char *s, size_t n, struct http_head *h, const char **why)
{
	struct http_head_limits lim;

	http_head_limits_default(&lim, FRAGS);
	memset(h, 0, sizeof(*h));
	return http_head_parse(s, n, &lim, h, why);
}

/* The answer for s fed byte by byte: MORE until the last byte, then the whole answer. */
static int parse_bytes(const char *s, size_t n, struct http_head *h, const char **why)
{
	struct http_head_limits lim;
	int rc = HTTP_HEAD_MORE;

	http_head_limits_default(&lim, FRAGS);
	memset(h, 0, sizeof(*h));
	for (size_t i = 1; i <= n && rc == HTTP_HEAD_MORE; i++)
		rc = http_head_parse(s, i, &lim, h, why);
	return rc;
}

static void expect(const char *s, int want, const char *what)
{
	struct http_head h1, h2;
	const char *why1 = "", *why2 = "";
	int a = parse_whole(s, strlen(s), &h1, &why1);
	int b = parse_bytes(s, strlen(s), &h2, &why2);

	CHECK(a == want, "%s: whole head answered %d (%s), want %d", what, a, a ? why1 : "", want);
	CHECK(b == want, "%s: byte by byte answered %d (%s), want %d", what, b, b ? why2 : "",
	      want);
}

static void test_good(void)
{
	struct http_head h;
	const char *why = "";
	const char *s = "\r\nPOST /api/rooms?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length:  12 \r\n"
			"Expect: 100-continue\r\n\r\n{\"problem\":1}";
	int rc = parse_whole(s, strlen(s), &h, &why);

	REQUIRE(rc == 0, "a good POST: %d %s", rc, why);
	CHECK(h.start == 2, "the empty line before the request is skipped: %zu", h.start);
	CHECK(h.len == strlen(s) - 13, "head length %zu", h.len);
	CHECK(h.body == HTTP_BODY_LENGTH && h.content_length == 12, "length %llu",
	      (unsigned long long)h.content_length);
	CHECK(h.method_len == 4 && !memcmp(s + h.method_off, "POST", 4), "method");
	CHECK(h.target_len == 14 && !memcmp(s + h.target_off, "/api/rooms?x=1", 14), "target");
	CHECK(h.expect_continue && !h.http10 && h.lines == 3, "flags");

	expect("GET / HTTP/1.1\r\nHost: t\r\n\r\n", 0, "a plain GET");
	expect("GET / HTTP/1.1\nHost: t\n\n", 0, "bare LF line ends");
	expect("GET / HTTP/1.0\r\n\r\n", 0, "HTTP/1.0 needs no Host");
	expect("GET /a%20b%2F?q=%41 HTTP/1.1\r\nHost: t\r\nX-Empty:\r\n\r\n", 0,
	       "escapes and an empty value");
	expect("GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: \xc3\xa9t\xc3\xa9\t1\r\n\r\n", 0,
	       "non-ASCII and a tab in a value");
	expect("OPTIONS / HTTP/1.1\r\nHost: t\r\n\r\n", 0, "OPTIONS");
}

static void test_refused(void)
{
	static const struct {
		const char *head;
		int status;
		const char *what;
	} cases[] = {
		{ "GET /%00 HTTP/1.1\r\nHost: t\r\n\r\n", 400, "%00" },
		{ "GET /a/%00/b HTTP/1.1\r\nHost: t\r\n\r\n", 400, "%00 inside" },
		{ "GET /?q=%00 HTTP/1.1\r\nHost: t\r\n\r\n", 400, "%00 in the query" },
		{ "GET /%0 HTTP/1.1\r\nHost: t\r\n\r\n", 400, "% and one digit" },
		{ "GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n", 400, "% and no digits" },
		{ "GET /\x01 HTTP/1.1\r\nHost: t\r\n\r\n", 400, "a control byte in the target" },
		{ "GET /\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n", 400, "raw UTF-8 in the target" },
		{ "GET x HTTP/1.1\r\nHost: t\r\n\r\n", 400, "no leading /" },
		{ "GET http://t/ HTTP/1.1\r\nHost: t\r\n\r\n", 400, "absolute form" },
		{ "GET\r\n\r\n", 400, "no target" },
		{ "GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400, "two spaces" },
		{ "GET / HTTP/1.1 x\r\nHost: t\r\n\r\n", 400, "four parts" },
		{ "GET / HTTP/1.2\r\nHost: t\r\n\r\n", 505, "HTTP/1.2" },
		{ "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505, "HTTP/2.0" },
		{ "GET / http/1.1\r\nHost: t\r\n\r\n", 400, "lower-case version" },
		{ "BREW / HTTP/1.1\r\nHost: t\r\n\r\n", 501, "unknown method" },
		{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "HTTP/2 preface" },
		{ "G(T / HTTP/1.1\r\nHost: t\r\n\r\n", 400, "a separator in the method" },
		{ "GET / HTTP/1.1\r\n\r\n", 400, "no Host" },
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Hosts" },
		{ "GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400, "a space before the colon" },
		{ "GET / HTTP/1.1\r\nHost: t\r\nno colon\r\n\r\n", 400, "no colon" },
		{ "GET / HTTP/1.1\r\nHost: t\r\n: v\r\n\r\n", 400, "no name" },
		{ "GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", 400, "obs-fold" },
		{ "GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n", 400, "a bare CR" },
		{ "GET / HTTP/1.1\r\nHost: t\r\nX: a\x7f\r\n\r\n", 400, "DEL in a value" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400, "length -1" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400, "length abc" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nContent-Length:\r\n\r\n", 400, "empty length" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1 2\r\n\r\n", 400, "length 1 2" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2,2\r\n\r\n", 400, "length list" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1234567890123456789\r\n\r\n", 400,
		  "a 19-digit length" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
		  400, "two lengths" },
		{ "POST / HTTP/1.1\r\nHost: t\r\ncontent-length: 2\r\nCONTENT-LENGTH: 2\r\n\r\n",
		  400, "the same length twice" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nTransfer-Encoding: "
		  "chunked\r\n\r\n",
		  400, "CL and TE" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: "
		  "2\r\n\r\n",
		  400, "TE and CL" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
		  "chunked\r\n\r\n",
		  400, "TE twice" },
		{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "TE in HTTP/1.0" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
		  "gzip" },
		{ "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501,
		  "chunked then gzip" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect(cases[i].head, cases[i].status, cases[i].what);
}

/* A head of n bytes: the request line, Host, then one Cookie padded to fit. */
static char *sized_head(size_t n)
{
	static const char pre[] = "GET / HTTP/1.1\r\nHost: t\r\nCookie: ";
	char *s = malloc(n + 1);

	REQUIRE(s && n > sizeof(pre) + 4, "sized_head(%zu)", n);
	memcpy(s, pre, sizeof(pre) - 1);
	memset(s + sizeof(pre) - 1, 'c', n - (sizeof(pre) - 1) - 4);
	memcpy(s + n - 4, "\r\n\r\n", 4);
	s[n] = '\0';
	return s;
}

static void test_limits(void)
{
	char *s = sized_head(HTTP_HEAD_MAX), *t = sized_head(HTTP_HEAD_MAX + 1);
	char line[64], *many;
	size_t at;

	expect(s, 0, "a head of exactly HTTP_HEAD_MAX bytes");
	expect(t, 431, "one byte more");
	/* Without its end yet: 431 as soon as it cannot fit any more. */
	{
		struct http_head h;
		const char *why = "";

		CHECK(parse_whole(t, HTTP_HEAD_MAX, &h, &why) == HTTP_HEAD_MORE, "still fits");
		CHECK(parse_whole(t, HTTP_HEAD_MAX + 1, &h, &why) == 431, "full: %s", why);
	}
	free(s);
	free(t);

	many = malloc(200 * sizeof(line) + 64);
	REQUIRE(many, "malloc");
	at = (size_t)sprintf(many, "GET / HTTP/1.1\r\n");
	for (int i = 1; i <= HTTP_HEAD_LINES_MAX; i++)
		at += (size_t)sprintf(many + at, i == 1 ? "Host: t\r\n" : "Accept: a/%d\r\n", i);
	strcpy(many + at, "\r\n");
	expect(many, 0, "HTTP_HEAD_LINES_MAX lines");
	sprintf(many + at, "Accept: one/more\r\n\r\n");
	expect(many, 431, "one line more");

	/* Query arguments and header lines share lws's fragments. */
	at = (size_t)sprintf(many, "GET /?a");
	for (int i = 0; i < 100; i++)
		at += (size_t)sprintf(many + at, "&a");
	strcpy(many + at, " HTTP/1.1\r\nHost: t\r\n\r\n");
	expect(many, 414, "100 query arguments");
	free(many);

	/* A request line longer than HTTP_TARGET_MAX, complete or not. */
	many = malloc(HTTP_TARGET_MAX + 64);
	REQUIRE(many, "malloc");
	memcpy(many, "GET /", 5);
	memset(many + 5, 'a', HTTP_TARGET_MAX);
	strcpy(many + 5 + HTTP_TARGET_MAX, " HTTP/1.1\r\nHost: t\r\n\r\n");
	expect(many, 414, "a long request line");
	{
		struct http_head h;
		const char *why = "";

		CHECK(parse_whole(many, HTTP_TARGET_MAX + 5, &h, &why) == 414,
		      "an unfinished long request line: %s", why);
	}
	free(many);
}

struct sink {
	char buf[256];
	size_t len;
};

static void sink(void *ud, const char *p, size_t n)
{
	struct sink *s = ud;

	if (s->len + n <= sizeof(s->buf))
		memcpy(s->buf + s->len, p, n);
	s->len += n;
}

/* Decodes body split at `split` (0: whole); returns the result, the data in *out. */
static int decode(const char *body, size_t len, size_t split, struct sink *out, size_t *used)
{
	struct http_chunked c;
	const char *why = "";
	size_t u = 0;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	*used = 0;
	if (split && split < len) {
		rc = http_chunked_feed(&c, body, split, &u, sink, out, &why);
		if (rc != HTTP_CHUNKED_MORE) {
			*used = u;
			return rc;
		}
		CHECK(u == split, "MORE used every byte");
		rc = http_chunked_feed(&c, body + split, len - split, &u, sink, out, &why);
		*used = split + u;
		return rc;
	}
	rc = http_chunked_feed(&c, body, len, &u, sink, out, &why);
	*used = u;
	return rc;
}

static void test_chunked(void)
{
	static const struct {
		const char *body;
		int status;
		const char *data;
	} cases[] = {
		{ "5\r\nhello\r\n0\r\n\r\nNEXT", 0, "hello" },
		{ "3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n", 0, "abc0123456789" },
		{ "5;ext=1;e2\r\nhello\r\n0;x\r\nTrailer: 1\r\nT2: 2\r\n\r\n", 0, "hello" },
		{ "5\nhello\n0\n\n", 0, "hello" },
		{ "0\r\n\r\n", 0, "" },
		{ "zz\r\n", 400, NULL },
		{ "-1\r\n", 400, NULL },
		{ "\r\n", 400, NULL },
		{ "ffffffffffffffff\r\n", 400, NULL },
		{ "2\r\nabXX", 400, NULL },
		{ "2\r\nab\rX", 400, NULL },
		{ "2\rX", 400, NULL },
		{ "2;\x01\r\n", 400, NULL },
		{ "0\r\nT: \x01\r\n\r\n", 400, NULL },
		{ "0\r\n\rX", 400, NULL },
		{ "5\r\nhel", HTTP_CHUNKED_MORE, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].body);

		for (size_t split = 0; split < len; split++) {
			struct sink out;
			size_t used;
			int rc = decode(cases[i].body, len, split, &out, &used);

			CHECK(rc == cases[i].status, "case %zu split %zu: %d, want %d", i, split,
			      rc, cases[i].status);
			if (rc == 0 && cases[i].data) {
				CHECK(out.len == strlen(cases[i].data) &&
					      !memcmp(out.buf, cases[i].data, out.len),
				      "case %zu split %zu: data %.*s", i, split, (int)out.len,
				      out.buf);
				CHECK(!strcmp(cases[i].body + used, i == 0 ? "NEXT" : ""),
				      "case %zu split %zu: used %zu", i, split, used);
			}
		}
	}
}

int main(void)
{
	test_good();
	test_refused();
	test_limits();
	test_chunked();
	CHECK_DONE();
}
