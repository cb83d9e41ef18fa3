/*
 * util.c - allocation hook, byte buffers, varints, errors, version vectors.
 *
 * The small pieces every other file of crdt/ leans on.  Nothing here may
 * touch a global or do I/O: the default allocator is libc's, reached only
 * when the caller passed no hook.
 */
#include <stdlib.h>
#include <string.h>

#include "crdt-internal.h"

const char *crdt_strerror(int err)
{
	switch (err) {
#define CRDT__ERR_STR(name, code, msg) \
	case code:                     \
		return msg;
		CRDT_ERRNO_MAP(CRDT__ERR_STR)
#undef CRDT__ERR_STR
	case 0:
		return "success";
	default:
		return "unknown error";
	}
}

void *crdt__realloc(const struct crdt_allocator *a, void *p, size_t old_size, size_t new_size)
{
	if (a && a->realloc)
		return a->realloc(a->ud, p, old_size, new_size);
	if (new_size == 0) {
		free(p);
		return NULL;
	}
	return realloc(p, new_size);
}

void *crdt__alloc(const struct crdt_allocator *a, size_t size)
{
	return crdt__realloc(a, NULL, 0, size);
}

void crdt__free(const struct crdt_allocator *a, void *p, size_t size)
{
	if (p)
		crdt__realloc(a, p, size, 0);
}

/* Grows by cap >> shift (at least 8 elements) until need fits. */
int crdt__grow_to(const struct crdt_allocator *a, void **arr, size_t *cap, size_t need, size_t elem,
		  int shift)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return CRDT_ENOMEM;
		ncap += (ncap >> shift) > 8 ? ncap >> shift : 8;
	}
	p = crdt__realloc(a, *arr, *cap * elem, ncap * elem);
	if (!p)
		return CRDT_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ---- buffers and varints ------------------------------------------------ */

void crdt_buf_init(struct crdt_buf *buf, const struct crdt_allocator *alloc)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->alloc = alloc;
}

void crdt_buf_finish(struct crdt_buf *buf)
{
	if (!buf)
		return;
	crdt__free(buf->alloc, buf->data, buf->cap);
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

int crdt__buf_reserve(struct crdt_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len)
		return CRDT_ENOMEM;
	return crdt__grow(b->alloc, (void **)&b->data, &b->cap, b->len + extra, 1);
}

int crdt__put_bytes(struct crdt_buf *b, const void *p, size_t n)
{
	int rc = crdt__buf_reserve(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int crdt__put_varint(struct crdt_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	return crdt__put_bytes(b, tmp, n);
}

int crdt__get_varint(struct crdt__reader *r, uint64_t *v)
{
	uint64_t x = 0;
	int shift = 0;

	for (;;) {
		uint8_t c;

		if (r->p >= r->end)
			return CRDT_ETRUNCATED;
		c = *r->p++;
		if (shift == 63 && (c & 0x7e))
			return CRDT_EDECODE;
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
		shift += 7;
		if (shift > 63)
			return CRDT_EDECODE;
	}
	*v = x;
	return 0;
}

int crdt__get_u32(struct crdt__reader *r, uint32_t *v)
{
	uint64_t x;
	int rc = crdt__get_varint(r, &x);

	if (rc)
		return rc;
	if (x > UINT32_MAX)
		return CRDT_EDECODE;
	*v = (uint32_t)x;
	return 0;
}

int crdt__get_header(struct crdt__reader *r, uint8_t *kind)
{
	const uint8_t *k;
	uint64_t fmt;
	int rc = crdt__get_varint(r, &fmt);

	if (rc)
		return rc;
	/* Format 2 is only a snapshot's, which snapshot.c reads before this is asked. */
	if (fmt == CRDT_SNAPSHOT_VERSION)
		return CRDT_EDECODE;
	if (fmt != CRDT_FORMAT_VERSION)
		return CRDT_EFORMAT;
	rc = crdt__get_bytes(r, &k, 1);
	if (rc)
		return rc;
	*kind = *k;
	return 0;
}

static int u32_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return (a > b) - (a < b);
}

/*
 * 0 if the n ids are distinct, else CRDT_EDECODE: a sorted copy, so an
 * update near the frame limit with a table of ~200k agents costs
 * O(n log n), not the O(n^2) of comparing each id with those before it.
 */
static int distinct_ids(const struct crdt_allocator *a, const uint32_t *ids, uint32_t n)
{
	uint32_t *s;
	int rc = 0;

	if (n < 2)
		return 0;
	s = crdt__alloc(a, (size_t)n * sizeof(*s));
	if (!s)
		return CRDT_ENOMEM;
	memcpy(s, ids, (size_t)n * sizeof(*s));
	qsort(s, n, sizeof(*s), u32_cmp);
	for (uint32_t i = 1; !rc && i < n; i++)
		if (s[i - 1] == s[i])
			rc = CRDT_EDECODE;
	crdt__free(a, s, (size_t)n * sizeof(*s));
	return rc;
}

int crdt__get_agent_table(const struct crdt_allocator *a, struct crdt__reader *r, uint32_t **ids,
			  uint32_t *n)
{
	uint64_t v;
	int rc = crdt__get_varint(r, &v);

	*ids = NULL;
	*n = 0;
	if (rc)
		return rc;
	if (v > (uint64_t)(r->end - r->p))
		return CRDT_ETRUNCATED;
	if (!v)
		return 0;
	*ids = crdt__alloc(a, (size_t)v * sizeof(**ids));
	if (!*ids)
		return CRDT_ENOMEM;
	*n = (uint32_t)v;
	for (uint32_t i = 0; !rc && i < *n; i++)
		rc = crdt__get_u32(r, &(*ids)[i]);
	if (!rc)
		rc = distinct_ids(a, *ids, *n);
	if (rc) {
		crdt__free(a, *ids, *n * sizeof(**ids));
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

int crdt__get_bytes(struct crdt__reader *r, const uint8_t **p, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		return CRDT_ETRUNCATED;
	*p = r->p;
	r->p += n;
	return 0;
}

/* ---- version vectors ---------------------------------------------------- */

void crdt_version_init(struct crdt_version *ver, const struct crdt_allocator *alloc)
{
	ver->v = NULL;
	ver->len = 0;
	ver->cap = 0;
	ver->alloc = alloc;
}

void crdt_version_finish(struct crdt_version *ver)
{
	if (!ver)
		return;
	crdt__free(ver->alloc, ver->v, ver->cap * sizeof(*ver->v));
	ver->v = NULL;
	ver->len = 0;
	ver->cap = 0;
}

/* Index of the first entry with agent >= agent. */
static size_t version_lower(const struct crdt_version *ver, uint32_t agent)
{
	size_t lo = 0, hi = ver->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ver->v[mid].agent < agent)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int crdt_version_set(struct crdt_version *ver, uint32_t agent, uint32_t next)
{
	size_t i = version_lower(ver, agent);
	int rc;

	if (i < ver->len && ver->v[i].agent == agent) {
		if (next) {
			ver->v[i].next = next;
		} else {
			memmove(&ver->v[i], &ver->v[i + 1], (ver->len - i - 1) * sizeof(*ver->v));
			ver->len--;
		}
		return 0;
	}
	if (!next)
		return 0;
	rc = crdt__grow(ver->alloc, (void **)&ver->v, &ver->cap, ver->len + 1, sizeof(*ver->v));
	if (rc)
		return rc;
	memmove(&ver->v[i + 1], &ver->v[i], (ver->len - i) * sizeof(*ver->v));
	ver->v[i].agent = agent;
	ver->v[i].next = next;
	ver->len++;
	return 0;
}

int crdt_version_reserve(struct crdt_version *ver, size_t n)
{
	return crdt__grow(ver->alloc, (void **)&ver->v, &ver->cap, ver->len + n, sizeof(*ver->v));
}

uint32_t crdt_version_get(const struct crdt_version *ver, uint32_t agent)
{
	size_t i;

	if (!ver)
		return 0;
	i = version_lower(ver, agent);
	return i < ver->len && ver->v[i].agent == agent ? ver->v[i].next : 0;
}

int crdt_version_copy(struct crdt_version *dst, const struct crdt_version *src)
{
	int rc;

	if (dst == src)
		return 0;
	rc = crdt__grow(dst->alloc, (void **)&dst->v, &dst->cap, src->len, sizeof(*dst->v));
	if (rc)
		return rc;
	if (src->len)
		memcpy(dst->v, src->v, src->len * sizeof(*dst->v));
	dst->len = src->len;
	return 0;
}

bool crdt_version_includes(const struct crdt_version *a, const struct crdt_version *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (crdt_version_get(a, b->v[i].agent) < b->v[i].next)
			return false;
	return true;
}

int crdt_version_encode(const struct crdt_version *ver, struct crdt_buf *out)
{
	size_t start = out->len;
	uint32_t prev = 0;
	int rc;

	rc = crdt__put_varint(out, CRDT_FORMAT_VERSION);
	if (!rc)
		rc = crdt__put_bytes(out, "V", 1);
	if (!rc)
		rc = crdt__put_varint(out, ver->len);
	/* Agents are sorted, so each is written as the gap from the last. */
	for (size_t i = 0; !rc && i < ver->len; i++) {
		rc = crdt__put_varint(out, ver->v[i].agent - prev);
		if (!rc)
			rc = crdt__put_varint(out, ver->v[i].next);
		prev = ver->v[i].agent;
	}
	if (rc)
		out->len = start;
	return rc;
}

int crdt_version_decode(struct crdt_version *ver, const uint8_t *data, size_t len)
{
	struct crdt__reader r = { data, data + len };
	struct crdt_version tmp;
	uint64_t n, agent = 0;
	uint8_t kind;
	int rc;

	rc = crdt__get_header(&r, &kind);
	if (rc)
		return rc;
	if (kind != 'V')
		return CRDT_EDECODE;
	rc = crdt__get_varint(&r, &n);
	if (rc)
		return rc;
	/* Each entry takes at least two bytes: refuse counts the input cannot hold. */
	if (n > (uint64_t)(r.end - r.p) / 2)
		return CRDT_ETRUNCATED;
	crdt_version_init(&tmp, ver->alloc);
	rc = crdt__grow(tmp.alloc, (void **)&tmp.v, &tmp.cap, n ? n : 1, sizeof(*tmp.v));
	if (rc)
		return rc;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t gap;
		uint32_t next;

		rc = crdt__get_varint(&r, &gap);
		if (!rc)
			rc = crdt__get_u32(&r, &next);
		if (rc)
			goto err;
		if ((i > 0 && gap == 0) || gap > UINT32_MAX - agent || next == 0) {
			rc = CRDT_EDECODE;
			goto err;
		}
		agent += gap;
		tmp.v[tmp.len].agent = (uint32_t)agent;
		tmp.v[tmp.len].next = next;
		tmp.len++;
	}
	if (r.p != r.end) {
		rc = CRDT_EDECODE;
		goto err;
	}
	crdt_version_finish(ver);
	*ver = tmp;
	return 0;
err:
	crdt_version_finish(&tmp);
	return rc;
}
