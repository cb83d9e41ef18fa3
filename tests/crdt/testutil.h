/*
 * testutil.h - the little the CRDT tests share.
 *
 * Every test in tests/crdt is its own executable; this header gives them
 * the same vocabulary: assertions that print both sides (and the seed, so a
 * failure can be replayed with TANDEM_SEED=...), a small seeded random
 * generator, text/version helpers, and a counting allocator that can fail
 * the Nth allocation and checks the old sizes crdt/ passes back to it.
 * Everything is static inline so a test that does not use a helper does not
 * warn about it.  The header keeps no state that outlives one process.
 */
#ifndef TANDEM_TESTUTIL_H
#define TANDEM_TESTUTIL_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crdt.h"
#include "crdt-internal.h"

/* ---- Failure reporting -------------------------------------------------- */

/*
 * The seed of the current run, printed with every failure.  It is the only
 * file-scope variable: a failure deep inside a helper must still be able to
 * say how to reproduce it.
 */
static uint64_t tu_seed_for_report;
static bool tu_seed_set;

static inline void __attribute__((noreturn, format(printf, 3, 4)))
tu_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s:%d: FAIL: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (tu_seed_set)
		fprintf(stderr, "  (reproduce with TANDEM_SEED=%" PRIu64 ")\n", tu_seed_for_report);
	fflush(stderr);
	abort();
}

#define TU_FAIL(...) tu_fail(__FILE__, __LINE__, __VA_ARGS__)

/* crdt_doc_next, one agent at a time, is crdt_doc_version's entry; 0 for an agent it lacks. */
static inline void tu_check_next(const struct crdt_doc *doc, const char *file, int line)
{
	struct crdt_version v;
	uint32_t absent = 0;

	crdt_version_init(&v, NULL);
	if (crdt_doc_version(doc, &v))
		tu_fail(file, line, "crdt_doc_version: out of memory");
	for (size_t i = 0; i < v.len; i++)
		if (crdt_doc_next(doc, v.v[i].agent) != v.v[i].next)
			tu_fail(file, line,
				"crdt_doc_next(agent %" PRIu32 ") = %" PRIu32
				", the version says %" PRIu32,
				v.v[i].agent, crdt_doc_next(doc, v.v[i].agent), v.v[i].next);
	while (crdt_version_get(&v, absent) != 0)
		absent++;
	if (crdt_doc_next(doc, absent) != 0)
		tu_fail(file, line,
			"crdt_doc_next(agent %" PRIu32 "), which the version lacks: %" PRIu32,
			absent, crdt_doc_next(doc, absent));
	crdt_version_finish(&v);
}

#define TU_CHECK(cond)                                            \
	do {                                                      \
		if (!(cond))                                      \
			tu_fail(__FILE__, __LINE__, "%s", #cond); \
	} while (0)

#define TU_EQ_INT(a, b)                                                                      \
	do {                                                                                 \
		long long tu_a_ = (long long)(a), tu_b_ = (long long)(b);                    \
		if (tu_a_ != tu_b_)                                                          \
			tu_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, tu_a_, \
				tu_b_);                                                      \
	} while (0)

#define TU_EQ_SIZE(a, b)                                                                           \
	do {                                                                                       \
		size_t tu_a_ = (size_t)(a), tu_b_ = (size_t)(b);                                   \
		if (tu_a_ != tu_b_)                                                                \
			tu_fail(__FILE__, __LINE__, "%s == %s: %zu != %zu", #a, #b, tu_a_, tu_b_); \
	} while (0)

/* expr must return 0; prints the CRDT error otherwise. */
#define TU_OK(expr)                                                                           \
	do {                                                                                  \
		int tu_rc_ = (expr);                                                          \
		if (tu_rc_ != 0)                                                              \
			tu_fail(__FILE__, __LINE__, "%s returned %d (%s), expected 0", #expr, \
				tu_rc_, crdt_strerror(tu_rc_));                               \
	} while (0)

/* expr must return the CRDT error code err. */
#define TU_ERR(expr, err)                                                                    \
	do {                                                                                 \
		int tu_rc_ = (expr), tu_want_ = (err);                                       \
		if (tu_rc_ != tu_want_)                                                      \
			tu_fail(__FILE__, __LINE__, "%s returned %d (%s), expected %d (%s)", \
				#expr, tu_rc_, crdt_strerror(tu_rc_), tu_want_,              \
				crdt_strerror(tu_want_));                                    \
	} while (0)

/* crdt__check(doc) must pass, and crdt_doc_next must agree with crdt_doc_version. */
#define TU_CHECK_DOC(doc)                                                                      \
	do {                                                                                   \
		int tu_rc_ = crdt__check(doc);                                                 \
		if (tu_rc_ != 0)                                                               \
			tu_fail(__FILE__, __LINE__, "crdt__check(%s) = %d (broken invariant)", \
				#doc, tu_rc_);                                                 \
		tu_check_next(doc, __FILE__, __LINE__);                                        \
	} while (0)

/*
 * Prints a byte string for a failure message: printable ASCII as is, the
 * rest as \xNN, cut to a window around the first difference.
 */
static inline void tu_print_bytes(FILE *f, const char *s, size_t n, size_t from)
{
	size_t start = from > 40 ? from - 40 : 0;
	size_t end = n - start > 120 ? start + 120 : n;

	fprintf(f, "%s\"", start ? "..." : "");
	for (size_t i = start; i < end; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
	fprintf(f, "\"%s (%zu bytes)", end < n ? "..." : "", n);
}

static inline void tu_eq_mem_at(const char *file, int line, const char *what, const char *a,
				size_t alen, const char *b, size_t blen)
{
	size_t i = 0;

	if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0))
		return;
	while (i < alen && i < blen && a[i] == b[i])
		i++;
	fflush(stdout);
	fprintf(stderr, "%s:%d: FAIL: %s differ at byte %zu\n  got:  ", file, line, what, i);
	tu_print_bytes(stderr, a, alen, i);
	fprintf(stderr, "\n  want: ");
	tu_print_bytes(stderr, b, blen, i);
	fputc('\n', stderr);
	tu_fail(file, line, "%s", what);
}

#define TU_EQ_MEM(a, alen, b, blen) tu_eq_mem_at(__FILE__, __LINE__, #a " vs " #b, a, alen, b, blen)
#define TU_EQ_STR(a, b)		    TU_EQ_MEM(a, strlen(a), b, strlen(b))

/* ---- Random numbers ----------------------------------------------------- */

/* splitmix64: small, fast, and good enough to drive tests. */
struct tu_rng {
	uint64_t state;
};

/*
 * The run's seed: TANDEM_SEED from the environment if set, otherwise a
 * fresh one.  Printed so a failing run can be replayed.
 */
static inline uint64_t tu_seed(const char *test)
{
	const char *env = getenv("TANDEM_SEED");
	uint64_t seed;

	if (env && *env) {
		seed = strtoull(env, NULL, 0);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
		       ((uint64_t)getpid() << 32);
		seed %= 1000000000000ull;
	}
	tu_seed_for_report = seed;
	tu_seed_set = true;
	printf("%s: seed %" PRIu64 " (set TANDEM_SEED to reproduce)\n", test, seed);
	fflush(stdout);
	return seed;
}

/* Changes the seed printed on failure (for tests that derive sub-seeds). */
static inline void tu_seed_report(uint64_t seed)
{
	tu_seed_for_report = seed;
	tu_seed_set = true;
}

static inline void tu_rng_init(struct tu_rng *r, uint64_t seed)
{
	r->state = seed ^ 0x9e3779b97f4a7c15ull;
}

static inline uint64_t tu_rand(struct tu_rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform-ish in [0, n); n == 0 gives 0. */
static inline size_t tu_below(struct tu_rng *r, size_t n)
{
	return n ? (size_t)(tu_rand(r) % n) : 0;
}

/* True with probability pct percent. */
static inline bool tu_chance(struct tu_rng *r, unsigned pct)
{
	return tu_below(r, 100) < pct;
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* Encodes cp (any value up to 0x10FFFF, surrogates too) into out; returns its length. */
static inline size_t tu_utf8_put(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

static inline size_t tu_utf8_len(uint32_t cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/*
 * A random code point, weighted towards ASCII but with every UTF-8 length
 * (and UTF-16 surrogate pairs) well represented.
 */
static inline uint32_t tu_rand_cp(struct tu_rng *r)
{
	static const uint32_t special[] = { 0x7F,    0x80,    0x7FF,   0x800,	 0xD7FF,
					    0xE000,  0xFFFD,  0xFFFF,  0x10000,	 0x1F600,
					    0x1F9D1, 0x20BB7, 0xE01EF, 0x10FFFF, 0xE9 };
	size_t k = tu_below(r, 100);

	if (k < 55)
		return (uint32_t)('a' + tu_below(r, 26));
	if (k < 62)
		return (uint32_t)(' ' + tu_below(r, 16));
	if (k < 72)
		return (uint32_t)(0x80 + tu_below(r, 0x800 - 0x80));
	if (k < 82) {
		uint32_t cp = (uint32_t)(0x800 + tu_below(r, 0x10000 - 0x800));
		return cp >= 0xD800 && cp < 0xE000 ? cp + 0x800 : cp;
	}
	if (k < 92)
		return (uint32_t)(0x10000 + tu_below(r, 0x110000 - 0x10000));
	return special[tu_below(r, sizeof special / sizeof special[0])];
}

/* A plain array of code points: the naive model the CRDT is compared with. */
struct tu_model {
	uint32_t *cp;
	size_t len;
	size_t cap;
};

static inline void tu_model_insert(struct tu_model *m, size_t pos, const uint32_t *cps, size_t n)
{
	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2 + 16;
		m->cp = realloc(m->cp, m->cap * sizeof *m->cp);
		TU_CHECK(m->cp != NULL);
	}
	TU_CHECK(pos <= m->len);
	memmove(m->cp + pos + n, m->cp + pos, (m->len - pos) * sizeof *m->cp);
	memcpy(m->cp + pos, cps, n * sizeof *cps);
	m->len += n;
}

static inline void tu_model_delete(struct tu_model *m, size_t pos, size_t n)
{
	TU_CHECK(pos + n <= m->len);
	if (m->len - pos - n) /* m->cp may be NULL for an empty model */
		memmove(m->cp + pos, m->cp + pos + n, (m->len - pos - n) * sizeof *m->cp);
	m->len -= n;
}

/* Decodes valid UTF-8 (as produced by tu_utf8_put) into the model at pos. */
static inline void tu_model_insert_utf8(struct tu_model *m, size_t pos, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k = 0;
	uint32_t *tmp = malloc((n + 1) * sizeof *tmp);

	TU_CHECK(tmp != NULL);
	while (i < n) {
		uint32_t c = u[i];
		size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		if (l > 1)
			c &= 0xFFu >> (l + 1);
		for (size_t j = 1; j < l && i + j < n; j++)
			c = (c << 6) | (u[i + j] & 0x3F);
		tmp[k++] = c;
		i += l;
	}
	tu_model_insert(m, pos, tmp, k);
	free(tmp);
}

/* The model's text as UTF-8 (malloc'd, NUL-terminated); *len gets its byte length. */
static inline char *tu_model_utf8(const struct tu_model *m, size_t *len)
{
	char *s = malloc(m->len * 4 + 1);
	size_t n = 0;

	TU_CHECK(s != NULL);
	for (size_t i = 0; i < m->len; i++)
		n += tu_utf8_put(m->cp[i], s + n);
	s[n] = 0;
	*len = n;
	return s;
}

static inline void tu_model_finish(struct tu_model *m)
{
	free(m->cp);
	m->cp = NULL;
	m->len = m->cap = 0;
}

/* ---- Documents and versions --------------------------------------------- */

/* The document's visible text (malloc'd, NUL-terminated); *len gets its byte length. */
static inline char *tu_text(const struct crdt_doc *doc, size_t *len)
{
	size_t n = crdt_text(doc, NULL, 0);
	char *s = malloc(n + 1);

	TU_CHECK(s != NULL);
	TU_EQ_SIZE(crdt_text(doc, s, n), n);
	s[n] = 0;
	if (len)
		*len = n;
	return s;
}

/* Fails unless doc's visible text is exactly want (want_len bytes). */
#define TU_EQ_TEXT(doc, want, want_len)                                                          \
	do {                                                                                     \
		size_t tu_n_;                                                                    \
		char *tu_t_ = tu_text(doc, &tu_n_);                                              \
		tu_eq_mem_at(__FILE__, __LINE__, "text of " #doc, tu_t_, tu_n_, want, want_len); \
		free(tu_t_);                                                                     \
	} while (0)

/* Formats ver as "{agent:next, ...}" into buf (cut to cap). */
static inline const char *tu_version_str(const struct crdt_version *ver, char *buf, size_t cap)
{
	size_t n = 0;

	n += (size_t)snprintf(buf, cap, "{");
	for (size_t i = 0; i < ver->len && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%" PRIu32 ":%" PRIu32, i ? ", " : "",
				      ver->v[i].agent, ver->v[i].next);
	if (n < cap)
		snprintf(buf + n, cap - n, "}");
	return buf;
}

static inline bool tu_version_equal(const struct crdt_version *a, const struct crdt_version *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (a->v[i].agent != b->v[i].agent || a->v[i].next != b->v[i].next)
			return false;
	return true;
}

static inline void tu_eq_version_at(const char *file, int line, const char *what,
				    const struct crdt_version *a, const struct crdt_version *b)
{
	char sa[400], sb[400];

	if (tu_version_equal(a, b))
		return;
	tu_fail(file, line, "%s: %s != %s", what, tu_version_str(a, sa, sizeof sa),
		tu_version_str(b, sb, sizeof sb));
}

#define TU_EQ_VERSION(a, b) tu_eq_version_at(__FILE__, __LINE__, #a " vs " #b, a, b)

/*
 * A document's observable state, saved before a call that must leave it
 * unchanged and compared after: text, version, pending count.
 */
struct tu_state {
	char *text;
	size_t len;
	struct crdt_version ver;
	size_t pending;
};

static inline void tu_state_save(struct tu_state *st, const struct crdt_doc *doc)
{
	st->text = tu_text(doc, &st->len);
	crdt_version_init(&st->ver, NULL);
	TU_OK(crdt_doc_version(doc, &st->ver));
	st->pending = crdt_pending(doc);
}

static inline void tu_state_finish(struct tu_state *st)
{
	free(st->text);
	crdt_version_finish(&st->ver);
}

static inline void tu_state_same_at(const char *file, int line, const char *what,
				    const struct tu_state *st, const struct crdt_doc *doc)
{
	struct tu_state now;

	tu_state_save(&now, doc);
	tu_eq_mem_at(file, line, what, now.text, now.len, st->text, st->len);
	tu_eq_version_at(file, line, what, &now.ver, &st->ver);
	if (now.pending != st->pending)
		tu_fail(file, line, "%s: pending %zu != %zu", what, now.pending, st->pending);
	tu_state_finish(&now);
}

/* Fails unless doc's text, version and pending count equal the saved state. */
#define TU_SAME_STATE(st, doc) tu_state_same_at(__FILE__, __LINE__, "state of " #doc, st, doc)

/* Fails unless two documents hold the same text and version. */
#define TU_SAME_DOC(a, b)                                                       \
	do {                                                                    \
		struct tu_state tu_sa_;                                         \
		tu_state_save(&tu_sa_, b);                                      \
		tu_sa_.pending = crdt_pending(a);                               \
		tu_state_same_at(__FILE__, __LINE__, #a " vs " #b, &tu_sa_, a); \
		tu_state_finish(&tu_sa_);                                       \
	} while (0)

/* Applies data to doc; must succeed and leave the document consistent. */
#define TU_APPLY(doc, buf)                                       \
	do {                                                     \
		TU_OK(crdt_apply(doc, (buf)->data, (buf)->len)); \
		TU_CHECK_DOC(doc);                               \
	} while (0)

/* A copy of doc made through a snapshot (libc allocator). */
static inline struct crdt_doc *tu_clone(const struct crdt_doc *doc)
{
	struct crdt_buf b;
	struct crdt_doc *c = crdt_doc_create(NULL);

	TU_CHECK(c != NULL);
	crdt_buf_init(&b, NULL);
	TU_OK(crdt_encode_doc(doc, &b));
	TU_OK(crdt_apply(c, b.data, b.len));
	crdt_buf_finish(&b);
	TU_CHECK_DOC(c);
	return c;
}

/* ---- A counting, failing allocator -------------------------------------- */

/*
 * Wraps libc with a header in front of every block that records its size,
 * so it can check the old_size crdt/ hands back, count live bytes and
 * blocks, and fail the Nth allocation (or every one from the Nth on).
 * Every call that returns memory (allocate, grow, shrink) counts as an
 * allocation point; frees do not.
 */
struct tu_alloc {
	struct crdt_allocator hook; /* hook.ud points back here */
	size_t live_bytes;
	size_t live_blocks;
	size_t peak_bytes;
	size_t calls;	/* allocation points reached */
	size_t fail_at; /* 0: never fail; else fail call number fail_at (1-based) */
	bool fail_rest; /* also fail every call after fail_at */
	size_t failed;	/* how many calls were failed */
};

#define TU_ALLOC_HDR 16u

static inline void *tu_alloc_realloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	struct tu_alloc *a = ud;
	unsigned char *base = ptr ? (unsigned char *)ptr - TU_ALLOC_HDR : NULL;
	unsigned char *nb;

	if (base) {
		size_t have;
		memcpy(&have, base, sizeof have);
		if (have != old_size)
			TU_FAIL("allocator: old_size %zu passed for a block of %zu bytes", old_size,
				have);
	} else if (old_size != 0) {
		TU_FAIL("allocator: old_size %zu passed with a NULL pointer", old_size);
	}
	if (new_size == 0) {
		if (base) {
			a->live_bytes -= old_size;
			a->live_blocks--;
			free(base);
		}
		return NULL;
	}
	a->calls++;
	if (a->fail_at && (a->calls == a->fail_at || (a->fail_rest && a->calls > a->fail_at))) {
		a->failed++;
		return NULL;
	}
	nb = realloc(base, new_size + TU_ALLOC_HDR);
	if (!nb)
		return NULL;
	memcpy(nb, &new_size, sizeof new_size);
	if (!base)
		a->live_blocks++;
	a->live_bytes = a->live_bytes - old_size + new_size;
	if (a->live_bytes > a->peak_bytes)
		a->peak_bytes = a->live_bytes;
	return nb + TU_ALLOC_HDR;
}

static inline void tu_alloc_init(struct tu_alloc *a)
{
	memset(a, 0, sizeof *a);
	a->hook.realloc = tu_alloc_realloc;
	a->hook.ud = a;
}

#endif /* TANDEM_TESTUTIL_H */
