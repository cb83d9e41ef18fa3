/*
 * util.c - the judge's small shared pieces: error and verdict names, the
 * allocation hook, UTF-8 repair and the result's JSON form.
 *
 * It exists so that judge.c holds only the pool's state machine.  It must
 * never do I/O: everything here is pure and safe to call from any thread.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "judge-internal.h"

const char *judge_strerror(int err)
{
	switch (err) {
#define JUDGE__ERR_STR(name, code, msg) \
	case code:                      \
		return msg;
		JUDGE_ERRNO_MAP(JUDGE__ERR_STR)
#undef JUDGE__ERR_STR
	case 0:
		return "success";
	}
	const char *c = judge_compare_strerror(err);
	return c ? c : "unknown error";
}

static const char *const verdict_names[] = {
#define JUDGE__VERDICT_STR(name, str) str,
	JUDGE_VERDICT_MAP(JUDGE__VERDICT_STR)
#undef JUDGE__VERDICT_STR
};

const char *judge_verdict_str(enum judge_verdict v)
{
	if ((unsigned)v >= sizeof(verdict_names) / sizeof(verdict_names[0]))
		return "";
	return verdict_names[v];
}

static const char *const mode_names[] = { "script", "function", "solution", "design" };

const char *judge_mode_str(enum judge_mode mode)
{
	if ((unsigned)mode >= sizeof(mode_names) / sizeof(mode_names[0]))
		return NULL;
	return mode_names[mode];
}

int judge_mode_parse(const char *name, enum judge_mode *out)
{
	for (unsigned i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (name && strcmp(name, mode_names[i]) == 0) {
			*out = (enum judge_mode)i;
			return 0;
		}
	}
	return JUDGE_EINVAL;
}

static const char *const ns_names[] = {
#define JUDGE__NS_STR(name, bit, str) str,
	JUDGE_NS_MAP(JUDGE__NS_STR)
#undef JUDGE__NS_STR
};

const char *judge_ns_name(unsigned i)
{
	if (i >= sizeof(ns_names) / sizeof(ns_names[0]))
		return NULL;
	return ns_names[i];
}

/* ---- Allocation ---------------------------------------------------------- */

void *judge__realloc(const struct judge_allocator *a, void *p, size_t old_size, size_t new_size)
{
	if (a && a->realloc)
		return a->realloc(a->ud, p, old_size, new_size);
	if (new_size == 0) {
		free(p);
		return NULL;
	}
	return realloc(p, new_size);
}

void *judge__alloc(const struct judge_allocator *a, size_t size)
{
	return judge__realloc(a, NULL, 0, size ? size : 1);
}

void *judge__calloc(const struct judge_allocator *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = judge__alloc(a, n * size);
	if (p)
		memset(p, 0, (n * size) != 0 ? n * size : 1);
	return p;
}

void judge__free(const struct judge_allocator *a, void *p, size_t size)
{
	if (p)
		judge__realloc(a, p, size ? size : 1, 0);
}

char *judge__strdup(const struct judge_allocator *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = judge__alloc(a, n);
	if (d)
		memcpy(d, s, n);
	return d;
}

void judge__strfree(const struct judge_allocator *a, char *s)
{
	if (s)
		judge__free(a, s, strlen(s) + 1);
}

void judge_free(const struct judge_allocator *alloc, void *p, size_t size)
{
	judge__free(alloc, p, size);
}

uint64_t judge__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- UTF-8 repair -------------------------------------------------------- */

/*
 * Length of the well-formed UTF-8 sequence at s (Unicode 15, table 3-7:
 * no overlongs, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[2] & 0xC0) != 0x80)
			return 0;
		unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
		return s[1] >= lo && s[1] <= hi ? 3 : 0;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
		return s[1] >= lo && s[1] <= hi ? 4 : 0;
	}
	return 0;
}

char *judge_utf8_sanitize(const struct judge_allocator *alloc, const char *s, size_t len,
			  size_t *out_len)
{
	const unsigned char *u = (const unsigned char *)s;
	/* Every bad byte becomes 3 bytes at most. */
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	size_t cap = len * 3 + 1;
	char *d = judge__alloc(alloc, cap);
	if (!d)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq(u + i, len - i);
		if (k) {
			memcpy(d + o, u + i, k);
			o += k;
			i += k;
		} else {
			memcpy(d + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	d[o] = '\0';
	/* Shrink to the exact size so that judge_free(alloc, d, o + 1) is right. */
	char *t = judge__realloc(alloc, d, cap, o + 1);
	if (t)
		d = t;
	else if (o + 1 != cap) {
		judge__free(alloc, d, cap);
		return NULL;
	}
	if (out_len)
		*out_len = o;
	return d;
}

/* ---- Results ------------------------------------------------------------- */

void judge_result_finish(struct judge_result *res)
{
	if (!res)
		return;
	judge__strfree(res->alloc, res->message);
	json_decref(res->compile_error);
	for (size_t i = 0; res->tests && i < res->ntests; i++) {
		json_decref(res->tests[i].value);
		json_decref(res->tests[i].error);
		json_decref(res->tests[i].output);
	}
	judge__free(res->alloc, res->tests, judge__tests_size(res->ntests));
	memset(res, 0, sizeof(*res));
}

static json_t *json_text(const char *s, size_t len)
{
	if (!s)
		return json_string("");
	char *fixed = judge_utf8_sanitize(NULL, s, len, &len);
	if (!fixed)
		return NULL;
	json_t *j = json_stringn_nocheck(fixed, len);
	free(fixed);
	return j;
}

/*
 * Timings rounded to a multiple of 1/128 ms (7.8 us): such numbers are exact
 * in binary, so jansson's default 17-digit output prints them short
 * ("1.2265625", not "1.2300000000000001").  Values (test results) keep
 * every digit: the output must not be dumped with a lower precision.
 */
static double quantize_ms(double ms)
{
	if (!(ms > 0))
		return ms < 0 ? -1 : 0;
	return (double)(long long)(ms * 128 + 0.5) / 128;
}

/* json_object_set_new that propagates failure; v == NULL is an error. */
static int put(json_t *o, const char *k, json_t *v)
{
	return v ? json_object_set_new(o, k, v) : -1;
}

json_t *judge_result_json(const struct judge_result *res, const char *out, size_t out_len,
			  const char *err, size_t err_len)
{
	json_t *o = json_object();
	json_t *ns = json_array();
	json_t *iso = json_object();
	int bad = !o || !ns || !iso;
	bad |= put(o, "verdict", json_string(judge_verdict_str(res->verdict)));
	bad |= put(o, "exit_code", json_integer(res->exit_code));
	bad |= put(o, "signal", json_integer(res->signal));
	bad |= put(o, "stdout", json_text(out, out_len));
	bad |= put(o, "stderr", json_text(err, err_len));
	bad |= put(o, "cpu_ms", json_real(quantize_ms(res->cpu_ms)));
	bad |= put(o, "wall_ms", json_real(quantize_ms(res->wall_ms)));
	bad |= put(o, "mem_kb", json_integer((json_int_t)res->mem_kb));
	bad |= put(o, "truncated", json_boolean(res->truncated));
	if (res->message)
		bad |= put(o, "message", json_string(res->message));
	for (unsigned i = 0; judge_ns_name(i); i++)
		if (ns && (res->namespaces & (1u << i)))
			bad |= json_array_append_new(ns, json_string(judge_ns_name(i)));
	bad |= put(iso, "namespaces", ns ? json_incref(ns) : NULL);
	bad |= put(iso, "seccomp", json_boolean(res->seccomp));
	bad |= put(iso, "cgroup", json_string(res->cgroup ? res->cgroup : "none"));
	bad |= put(o, "isolation", iso ? json_incref(iso) : NULL);
	if (res->compile_error)
		bad |= put(o, "compile_error", json_incref(res->compile_error));
	if (res->tests) {
		json_t *ts = json_array();
		bad |= put(o, "tests", ts ? json_incref(ts) : NULL);
		for (size_t i = 0; ts && i < res->ntests; i++) {
			const struct judge_test_result *t = &res->tests[i];
			json_t *to = json_object();
			bad |= put(to, "verdict", json_string(judge_verdict_str(t->verdict)));
			bad |= put(to, "cpu_ms", json_real(quantize_ms(t->cpu_ms)));
			if (t->value)
				bad |= put(to, "value", json_incref(t->value));
			if (t->error)
				bad |= put(to, "error", json_incref(t->error));
			if (t->mem_kb)
				bad |= put(to, "mem_kb", json_integer((json_int_t)t->mem_kb));
			if (t->output)
				bad |= put(to, "output", json_incref(t->output));
			bad |= json_array_append_new(ts, to);
		}
		json_decref(ts);
	}
	json_decref(ns);
	json_decref(iso);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
