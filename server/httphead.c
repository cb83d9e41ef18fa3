/*
 * httphead.c - the request head and chunked bodies, judged before lws
 * parses them (see httphead.h for why).
 *
 * The head grammar followed is RFC 9112 section 3 (request line) and 5
 * (fields), with RFC 9110 5.6.2 tokens; section 6.3 decides the body's
 * length.  Lines may end in CRLF or a bare LF (2.2); a bare CR, any other
 * control byte, or obsolete line folding is refused.
 */
#include <string.h>

#include "httphead.h"

void http_head_limits_default(struct http_head_limits *lim, unsigned frags)
{
	lim->head_max = HTTP_HEAD_MAX;
	lim->lines_max = HTTP_HEAD_LINES_MAX;
	lim->target_max = HTTP_TARGET_MAX;
	/* the method's target, the query's first argument, the version: three of lws's own */
	lim->frags_max = frags > 4 ? frags - 4 : 0;
}

/* tchar of RFC 9110 5.6.2 */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

static int hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Case-insensitive equality of s[0..n) with the lower-case word w. */
static bool word_is(const char *s, size_t n, const char *w)
{
	if (strlen(w) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)w[i])
			return false;
	}
	return true;
}

static int fail(const char **why, const char *msg, int status)
{
	*why = msg;
	return status;
}

/*
 * The line starting at p, in a head whose empty line ends at head_end (so
 * an LF follows p): its length without CR LF, and where the next starts.
 */
static size_t line_at(const char *buf, size_t p, size_t head_end, size_t *next)
{
	const char *lf = memchr(buf + p, '\n', head_end - p);
	size_t end = (size_t)(lf - buf);

	*next = end + 1;
	if (end > p && buf[end - 1] == '\r')
		end--;
	return end - p;
}

static int request_line(const char *buf, size_t p, size_t n, const struct http_head_limits *lim,
			struct http_head *h, const char **why)
{
	static const char *const known[] = { "GET",   "HEAD",	"POST",	  "PUT",
					     "PATCH", "DELETE", "OPTIONS" };
	const char *s = buf + p, *sp1, *sp2, *v;
	size_t i;
	bool known_method = false;

	if (n > lim->target_max)
		return fail(why, "request line too long", 414);
	sp1 = memchr(s, ' ', n);
	if (!sp1 || sp1 == s)
		return fail(why, "malformed request line", 400);
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
	if (!sp2 || sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', n - (size_t)(sp2 + 1 - s)))
		return fail(why, "malformed request line", 400);
	h->method_off = p;
	h->method_len = (size_t)(sp1 - s);
	for (i = 0; i < h->method_len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return fail(why, "malformed method", 400);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == h->method_len && !memcmp(s, known[i], h->method_len))
			known_method = true;
	h->target_off = (size_t)(sp1 + 1 - buf);
	h->target_len = (size_t)(sp2 - sp1 - 1);

	/* The target: origin-form, visible ASCII, every %XX two hex digits, never %00. */
	if (sp1[1] != '/')
		return fail(why, "the request target must start with /", 400);
	for (const char *t = sp1 + 1; t < sp2; t++) {
		unsigned char c = (unsigned char)*t;

		if (c < 0x21 || c > 0x7e)
			return fail(why, "a control or non-ASCII byte in the request target", 400);
		if (c == '%') {
			if (sp2 - t < 3 || hex((unsigned char)t[1]) < 0 ||
			    hex((unsigned char)t[2]) < 0)
				return fail(why, "a % not followed by two hex digits", 400);
			if (hex((unsigned char)t[1]) == 0 && hex((unsigned char)t[2]) == 0)
				return fail(why, "%00 in the request target", 400);
			t += 2;
		} else if (c == '?' || c == '&' || c == ';') {
			/* lws starts a fragment at each of these */
			h->args++;
		}
	}

	v = sp2 + 1;
	n -= (size_t)(v - s);
	if (n == 8 && !memcmp(v, "HTTP/1.", 7) && (v[7] == '1' || v[7] == '0')) {
		h->http10 = v[7] == '0';
	} else if (n == 8 && !memcmp(v, "HTTP/", 5) && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
		   v[7] >= '0' && v[7] <= '9') {
		return fail(why, "HTTP version not supported (HTTP/1.1 only)", 505);
	} else {
		return fail(why, "malformed HTTP version", 400);
	}
	if (!known_method)
		return fail(why, "method not implemented", 501);
	return 0;
}

/* One field line: name, colon, value.  Notes the fields that frame the body. */
static int field_line(const char *buf, size_t p, size_t n, struct http_head *h, unsigned *hosts,
		      bool *te_seen, bool *te_chunked, const char **why)
{
	const char *s = buf + p, *colon = memchr(s, ':', n), *v, *e;
	size_t name;

	if (s[0] == ' ' || s[0] == '\t')
		return fail(why, "obsolete line folding", 400);
	if (!colon || colon == s)
		return fail(why, "a header line without a name and a colon", 400);
	name = (size_t)(colon - s);
	for (size_t i = 0; i < name; i++)
		if (!is_tchar((unsigned char)s[i]))
			return fail(why, "a malformed header name", 400);
	v = colon + 1;
	e = s + n;
	for (const char *q = v; q < e; q++) {
		unsigned char c = (unsigned char)*q;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(why, "a control byte in a header value", 400);
	}
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;

	if (word_is(s, name, "content-length")) {
		uint64_t cl = 0;

		if (h->body == HTTP_BODY_LENGTH)
			return fail(why, "more than one Content-Length", 400);
		if (v == e || e - v > 18)
			return fail(why, "Content-Length must be one decimal number", 400);
		for (const char *q = v; q < e; q++) {
			if (*q < '0' || *q > '9')
				return fail(why, "Content-Length must be one decimal number", 400);
			cl = cl * 10 + (uint64_t)(*q - '0');
		}
		h->body = HTTP_BODY_LENGTH;
		h->content_length = cl;
	} else if (word_is(s, name, "transfer-encoding")) {
		if (*te_seen)
			return fail(why, "more than one Transfer-Encoding", 400);
		*te_seen = true;
		*te_chunked = word_is(v, (size_t)(e - v), "chunked");
	} else if (word_is(s, name, "host")) {
		(*hosts)++;
	} else if (word_is(s, name, "expect")) {
		h->expect_continue = word_is(v, (size_t)(e - v), "100-continue");
	}
	return 0;
}

int http_head_parse(const char *buf, size_t len, const struct http_head_limits *lim,
		    struct http_head *h, const char **why)
{
	size_t start = 0, end = 0, i, p, next;
	unsigned hosts = 0;
	bool te_seen = false, te_chunked = false;
	int rc;

	/* Empty lines before the request line are ignored (RFC 9112 2.2). */
	while (start < len && start < lim->head_max) {
		if (buf[start] == '\n')
			start++;
		else if (buf[start] == '\r' && start + 1 < len && buf[start + 1] == '\n')
			start += 2;
		else
			break;
	}
	/* The empty line that ends the head: LF then LF, or LF then CR LF. */
	for (i = h->scan > start ? h->scan : start; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n') {
			end = i + 2;
			break;
		}
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			end = i + 3;
			break;
		}
		if (i + 2 >= len) /* too few bytes to tell yet: look here again */
			break;
	}
	h->scan = i;
	/* Empty lines before the request count against the space like any other byte. */
	if (!end) {
		const char *lf = memchr(buf + start, '\n', len - start);

		if (len > lim->head_max)
			return fail(why, "request header fields too large", 431);
		if ((size_t)((lf ? lf : buf + len) - (buf + start)) > lim->target_max + 1)
			return fail(why, "request line too long", 414);
		return HTTP_HEAD_MORE;
	}
	if (end > lim->head_max)
		return fail(why, "request header fields too large", 431);

	{
		size_t scan = h->scan;

		memset(h, 0, sizeof(*h));
		h->scan = scan;
	}
	h->start = start;
	h->len = end;
	p = start;
	rc = request_line(buf, p, line_at(buf, p, end, &next), lim, h, why);
	if (rc)
		return rc;
	for (p = next; p < end; p = next) {
		size_t n = line_at(buf, p, end, &next);

		if (n == 0)
			break; /* the empty line */
		if (++h->lines > lim->lines_max)
			return fail(why, "too many header lines", 431);
		rc = field_line(buf, p, n, h, &hosts, &te_seen, &te_chunked, why);
		if (rc)
			return rc;
	}
	if (h->lines + h->args > lim->frags_max)
		return h->args > h->lines ? fail(why, "too many query arguments", 414)
					  : fail(why, "too many header lines", 431);
	/* RFC 9112 6.3: both framings at once is how requests are smuggled past a proxy. */
	if (te_seen && h->body == HTTP_BODY_LENGTH)
		return fail(why, "Content-Length together with Transfer-Encoding", 400);
	if (te_seen && h->http10)
		return fail(why, "Transfer-Encoding in an HTTP/1.0 request", 400);
	if (te_seen && !te_chunked)
		return fail(why, "transfer coding not implemented (only chunked)", 501);
	if (te_seen)
		h->body = HTTP_BODY_CHUNKED;
	if (!h->http10 && hosts != 1)
		return fail(why, "an HTTP/1.1 request needs exactly one Host", 400);
	return 0;
}

/* ---- chunked bodies -------------------------------------------------------- */

enum {
	CH_SIZE,       /* hex digits of a chunk size */
	CH_EXT,	       /* after the size: extensions, up to LF */
	CH_SIZE_LF,    /* LF after the size line's CR */
	CH_DATA,       /* left bytes of data */
	CH_DATA_END,   /* CR LF (or LF) after the data */
	CH_DATA_LF,    /* LF after that CR */
	CH_TRAILER,    /* start of a trailer line, or the final empty line */
	CH_TRAILER_IN, /* inside a trailer line */
	CH_END_LF,     /* LF of the final empty line */
};

/* A size line (with its extensions) or one trailer line, and all the trailer together. */
#define CHUNK_LINE_MAX	  4096
#define CHUNK_TRAILER_MAX HTTP_HEAD_MAX

/* A size line ended: its data follows, or the trailer after the last chunk. */
static void size_line_done(struct http_chunked *c)
{
	c->digits = 0;
	c->line = 0;
	c->state = c->left ? CH_DATA : CH_TRAILER;
}

int http_chunked_feed(struct http_chunked *c, const char *in, size_t len, size_t *used,
		      void (*sink)(void *ud, const char *p, size_t n), void *ud, const char **why)
{
	size_t i = 0;

	while (i < len) {
		unsigned char ch = (unsigned char)in[i];

		switch (c->state) {
		case CH_SIZE: {
			int d = hex(ch);

			if (d >= 0) {
				if (++c->digits > 15)
					return fail(why, "chunk size too large", 400);
				c->left = c->left * 16 + (uint64_t)d;
				i++;
				break;
			}
			if (!c->digits)
				return fail(why, "malformed chunk size", 400);
			if (ch != ';' && ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
				return fail(why, "malformed chunk size", 400);
			c->state = CH_EXT;
			c->line = c->digits;
			break;
		}
		case CH_EXT:
			i++;
			if (++c->line > CHUNK_LINE_MAX)
				return fail(why, "chunk extension too long", 400);
			if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else if (ch == '\n') {
				size_line_done(c);
			} else if (ch != '\t' && (ch < 0x20 || ch == 0x7f)) {
				return fail(why, "a control byte in a chunk extension", 400);
			}
			break;
		case CH_SIZE_LF:
			i++;
			if (ch != '\n')
				return fail(why, "a bare CR in a chunk size line", 400);
			size_line_done(c);
			break;
		case CH_DATA: {
			size_t n = len - i;

			if ((uint64_t)n > c->left)
				n = (size_t)c->left;
			sink(ud, in + i, n);
			c->left -= n;
			i += n;
			if (!c->left)
				c->state = CH_DATA_END;
			break;
		}
		case CH_DATA_END:
			if (ch == '\r')
				c->state = CH_DATA_LF;
			else if (ch == '\n')
				c->state = CH_SIZE;
			else
				return fail(why, "chunk data not followed by CRLF", 400);
			i++;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return fail(why, "chunk data not followed by CRLF", 400);
			c->state = CH_SIZE;
			i++;
			break;
		case CH_TRAILER:
			i++;
			if (ch == '\n') {
				*used = i;
				return 0;
			}
			c->state = ch == '\r' ? CH_END_LF : CH_TRAILER_IN;
			if (++c->trailer > CHUNK_TRAILER_MAX)
				return fail(why, "trailer fields too large", 400);
			break;
		case CH_END_LF:
			if (ch != '\n')
				return fail(why, "a bare CR in the trailer", 400);
			*used = i + 1;
			return 0;
		case CH_TRAILER_IN:
			i++;
			if (++c->trailer > CHUNK_TRAILER_MAX)
				return fail(why, "trailer fields too large", 400);
			if (ch == '\n')
				c->state = CH_TRAILER;
			else if (ch != '\t' && ch != '\r' && (ch < 0x20 || ch == 0x7f))
				return fail(why, "a control byte in a trailer field", 400);
			break;
		default:
			return fail(why, "chunked decoder misused", 400);
		}
	}
	*used = len;
	return HTTP_CHUNKED_MORE;
}
