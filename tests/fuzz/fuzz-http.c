/*
 * fuzz-http.c - libFuzzer target for the HTTP request path: the head
 * every connection sends before libwebsockets sees it, and a chunked body
 * (server/httphead.h).
 *
 * The input is what a client writes on a fresh connection: a head and
 * whatever follows it.  The first byte picks a split point, so every run
 * also reads the input in two pieces as a socket may deliver it.  Checked:
 *
 *  - http_head_parse() answers 0, HTTP_HEAD_MORE or one of the statuses
 *    it documents (400, 414, 431, 501, 505), with a reason for a status;
 *    in two pieces (the parse resumed with the same struct) it answers as
 *    in one, and a prefix that ends before an accepted head's empty line
 *    answers MORE.
 *  - An accepted head is what lws can take: within head_max bytes and
 *    lines_max lines, lines plus arguments within frags_max, a target
 *    inside the input that starts with '/' and holds no %00 and no byte
 *    outside 0x21-0x7e, one framing (length or chunked).
 *  - A chunked body after it decodes to the same bytes and the same
 *    result in one piece and in two, never more data than input, and
 *    `used` within the input.
 *
 * Anything else calls abort(); memory is checked by the sanitizers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httphead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)            \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

/* lws 4.1.6's fragment table (WSI_TOKEN_COUNT on Debian 12). */
#define FRAGS 95

static bool status_ok(int rc)
{
	return rc == 0 || rc == HTTP_HEAD_MORE || rc == 400 || rc == 414 || rc == 431 ||
	       rc == 501 || rc == 505;
}

struct collect {
	uint8_t *p;
	size_t len, cap;
};

static void collect(void *ud, const char *p, size_t n)
{
	struct collect *c = ud;

	REQUIRE(c->len + n <= c->cap);
	memcpy(c->p + c->len, p, n);
	c->len += n;
}

/* Decodes in[0..len) in pieces split at `split`; returns the result, the data in *out. */
static int chunked(const char *in, size_t len, size_t split, struct collect *out, size_t *used)
{
	struct http_chunked c;
	const char *why = NULL;
	size_t u = 0;
	int rc;

	memset(&c, 0, sizeof(c));
	*used = 0;
	if (split && split < len) {
		rc = http_chunked_feed(&c, in, split, &u, collect, out, &why);
		if (rc != HTTP_CHUNKED_MORE) {
			REQUIRE(u <= split);
			*used = u;
			return rc;
		}
		REQUIRE(u == split);
		u = 0; /* set only by an answer of 0 or MORE */
		rc = http_chunked_feed(&c, in + split, len - split, &u, collect, out, &why);
		REQUIRE(u <= len - split);
		*used = split + u;
	} else {
		rc = http_chunked_feed(&c, in, len, &u, collect, out, &why);
		REQUIRE(u <= len);
		*used = u;
	}
	REQUIRE(rc == 0 || rc == HTTP_CHUNKED_MORE || rc == 400);
	REQUIRE(rc != 400 || why);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_head_limits lim;
	struct http_head whole, parts;
	const char *buf, *why = NULL, *why2 = NULL;
	size_t split;
	int rc, rc2;

	if (size < 1)
		return 0;
	http_head_limits_default(&lim, FRAGS);
	buf = (const char *)data + 1;
	size--;
	split = size ? (size_t)data[0] * size / 256 : 0;

	memset(&whole, 0, sizeof(whole));
	rc = http_head_parse(buf, size, &lim, &whole, &why);
	REQUIRE(status_ok(rc));
	REQUIRE(rc <= 0 || (why && why[0]));

	/*
	 * The same bytes in two pieces: a prefix refused is a head refused
	 * (perhaps for another of its faults), a prefix accepted holds the
	 * whole head, and a prefix that needs more answers as the whole.
	 */
	memset(&parts, 0, sizeof(parts));
	rc2 = http_head_parse(buf, split, &lim, &parts, &why2);
	REQUIRE(status_ok(rc2));
	if (rc2 == HTTP_HEAD_MORE) {
		rc2 = http_head_parse(buf, size, &lim, &parts, &why2);
		REQUIRE(rc2 == rc);
	} else if (rc2 > 0) {
		REQUIRE(rc > 0);
	} else {
		REQUIRE(rc == 0 && parts.len == whole.len);
	}
	if (rc != 0)
		return 0;

	/* What an accepted head promises lws. */
	REQUIRE(whole.len <= size && whole.len <= lim.head_max);
	REQUIRE(whole.lines <= lim.lines_max && whole.lines + whole.args <= lim.frags_max);
	REQUIRE(whole.target_off + whole.target_len <= whole.len && whole.target_len > 0);
	REQUIRE(buf[whole.target_off] == '/');
	for (size_t i = 0; i < whole.target_len; i++) {
		unsigned char c = (unsigned char)buf[whole.target_off + i];

		REQUIRE(c >= 0x21 && c <= 0x7e);
		if (c == '%')
			REQUIRE(i + 2 < whole.target_len &&
				!(buf[whole.target_off + i + 1] == '0' &&
				  buf[whole.target_off + i + 2] == '0'));
	}
	if (split < whole.len) {
		struct http_head pre;

		memset(&pre, 0, sizeof(pre));
		REQUIRE(http_head_parse(buf, split, &lim, &pre, &why2) == HTTP_HEAD_MORE);
	}

	if (whole.body == HTTP_BODY_CHUNKED) {
		const char *body = buf + whole.len;
		size_t len = size - whole.len, u1, u2;
		struct collect a = { malloc(len + 1), 0, len + 1 };
		struct collect b = { malloc(len + 1), 0, len + 1 };
		int r1, r2;

		REQUIRE(a.p && b.p);
		r1 = chunked(body, len, 0, &a, &u1);
		r2 = chunked(body, len, split > whole.len ? split - whole.len : 0, &b, &u2);
		REQUIRE(r1 == r2);
		REQUIRE(a.len <= len);
		if (r1 == 0)
			REQUIRE(u1 == u2 && a.len == b.len && !memcmp(a.p, b.p, a.len));
		free(a.p);
		free(b.p);
	}
	return 0;
}
