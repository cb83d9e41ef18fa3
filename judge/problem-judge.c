/*
 * problem-judge.c - judging code against a problem, checking a problem's
 * reference solutions, and the complexity estimate.
 *
 * Why it exists: tandem-run --problem, `tandem problems check` and the
 * tests need one blocking path from "code + problem" to verdicts, and the
 * estimate needs a few sandboxed runs fitted to growth classes.  The
 * server judges through its supervisor, but it shares the per-test rules
 * here (problem_test_verdict, problem_test_json).
 *
 * It must never put an expected value into a sandbox request, and never
 * print a hidden test's arguments, expected or returned value, output or
 * error text unless the caller asked for them (show_hidden, for a problem's
 * author).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "problem.h"

/* ---- verdicts of one test -------------------------------------------------- */

enum judge_verdict problem_test_verdict(const struct problem *p, size_t i, const json_t *custom,
					const struct judge_test_result *t)
{
	const char *type = json_string_value(json_object_get(t->error, "type"));

	if (type && !strcmp(type, "TimeLimitExceeded"))
		return JUDGE_VERDICT_TLE;
	/* After a compile error no test ran: the summary is CE, each test SKIPPED. */
	if (t->verdict == JUDGE_VERDICT_CE)
		return JUDGE_VERDICT_SKIPPED;
	if (t->verdict != JUDGE_VERDICT_NONE)
		return t->verdict;
	if (t->cpu_ms > (double)p->limits.cpu_ms)
		return JUDGE_VERDICT_TLE;
	const json_t *exp = NULL;
	if (i < p->ntests)
		exp = p->tests[i].expected;
	else
		exp = json_object_get(json_array_get(custom, i - p->ntests), "expected");
	return judge_compare_verdict(exp, t->value, &p->cmp);
}

static const char *marker(const json_t *v)
{
	const char *k;
	json_t *x;

	if (!json_is_object(v) || json_object_size(v) != 1)
		return NULL;
	json_object_foreach((json_t *)v, k, x) return k[0] == '$' ? k : NULL;
	return NULL;
}

const char *problem_wrong_hint(const json_t *expected, const json_t *got)
{
	const char *m = marker(got);

	if (json_is_null(got) && expected && !json_is_null(expected))
		return "returned None: did the code print the answer instead of returning it?";
	if (!m || !expected)
		return NULL;
	if (!strcmp(m, "$tuple") && json_is_array(expected))
		return "returned a tuple where a list is expected: return list(...)";
	if (!strcmp(m, "$set") && json_is_array(expected))
		return "returned a set where a list is expected: return a list (sorted if order "
		       "matters)";
	if (!strcmp(m, "$repr"))
		return "returned an object the value format cannot carry (shown as its repr): "
		       "return plain lists, numbers, strings, dicts";
	if (!strcmp(m, "$capped"))
		return "returned a value too large or cyclic to report";
	return NULL;
}

/* Milliseconds on a 1/1024 grid: short in JSON, and microseconds survive. */
static double ms(double v)
{
	if (!(v > 0))
		return v < 0 ? -1 : 0;
	return (double)(long long)(v * 1024 + 0.5) / 1024;
}

static double shown_cpu(const struct problem *p, const struct judge_test_result *t,
			enum judge_verdict v)
{
	if (v == JUDGE_VERDICT_TLE && t->cpu_ms >= 0 && t->cpu_ms < (double)p->limits.cpu_ms)
		return (double)p->limits.cpu_ms;
	return t->cpu_ms;
}

json_t *problem_test_json(const struct problem *p, size_t i, const json_t *custom,
			  const struct judge_test_result *t, enum judge_verdict v, size_t hidden_no,
			  bool redact)
{
	bool hidden = i < p->ntests && p->tests[i].hidden;
	char name[32];
	const char *nm;

	if (hidden && redact) {
		snprintf(name, sizeof(name), "hidden %zu", hidden_no);
		nm = name;
	} else if (i < p->ntests) {
		nm = p->tests[i].name;
	} else {
		json_t *c = json_array_get(custom, i - p->ntests);
		snprintf(name, sizeof(name), "custom %zu", i - p->ntests + 1);
		nm = json_string_value(json_object_get(c, "name"))
			     ? json_string_value(json_object_get(c, "name"))
			     : name;
	}
	json_t *o = json_pack("{s:s, s:b, s:s}", "name", nm, "hidden", hidden, "verdict",
			      judge_verdict_str(v));
	/*
	 * Figures only for a test that ran (cpu_ms < 0: never reported).  A TLE
	 * used at least its limit (the harness's timer counts the process's CPU,
	 * its own clock the call's thread alone): never show less.
	 */
	double cpu = shown_cpu(p, t, v);
	if (o && cpu >= 0 && v != JUDGE_VERDICT_SKIPPED) {
		json_object_set_new(o, "cpu_ms", json_real(ms(cpu)));
		json_object_set_new(o, "mem_kb", json_integer((json_int_t)t->mem_kb));
	}
	if (!o || (hidden && redact))
		return o;
	const json_t *args, *exp;
	if (i < p->ntests) {
		args = p->tests[i].args;
		exp = p->tests[i].expected;
	} else {
		json_t *c = json_array_get(custom, i - p->ntests);
		args = json_object_get(c, "args");
		exp = json_object_get(c, "expected");
	}
	json_object_set(o, "args", (json_t *)args);
	json_object_set(o, "expected", exp ? (json_t *)exp : json_null());
	if (t->value)
		json_object_set(o, "actual", t->value);
	json_t *out = t->output;
	json_object_set_new(o, "stdout",
			    json_string(json_string_value(json_object_get(out, "stdout"))
						? json_string_value(json_object_get(out, "stdout"))
						: ""));
	json_object_set_new(o, "stderr",
			    json_string(json_string_value(json_object_get(out, "stderr"))
						? json_string_value(json_object_get(out, "stderr"))
						: ""));
	json_object_set(o, "error", t->error ? t->error : json_null());
	if (v == JUDGE_VERDICT_WA) {
		const char *hint = problem_wrong_hint(exp, t->value);
		if (hint)
			json_object_set_new(o, "hint", json_string(hint));
	}
	return o;
}

/* ---- results that travelled as JSON ----------------------------------------- */

static enum judge_verdict verdict_parse(const char *s)
{
	for (int v = JUDGE_VERDICT_OK; s && v <= JUDGE_VERDICT_SKIPPED; v++)
		if (!strcmp(s, judge_verdict_str((enum judge_verdict)v)))
			return (enum judge_verdict)v;
	return JUDGE_VERDICT_NONE;
}

static json_t *ref_or_null(json_t *v, bool (*is)(const json_t *))
{
	return v && (!is || is(v)) ? json_incref(v) : NULL;
}

static bool is_obj(const json_t *v)
{
	return json_is_object(v);
}

int problem_test_result_from_json(const json_t *o, struct judge_test_result *t)
{
	memset(t, 0, sizeof(*t));
	if (!json_is_object(o))
		return -1;
	t->verdict = verdict_parse(json_string_value(json_object_get(o, "verdict")));
	t->error = ref_or_null(json_object_get(o, "error"), is_obj);
	t->value = t->error ? NULL : ref_or_null(json_object_get(o, "value"), NULL);
	t->output = ref_or_null(json_object_get(o, "output"), is_obj);
	json_t *c = json_object_get(o, "cpu_ms"), *m = json_object_get(o, "mem_kb");
	t->cpu_ms = json_is_number(c) ? json_number_value(c) : -1;
	t->mem_kb = json_is_integer(m) && json_integer_value(m) > 0
			    ? (uint64_t)json_integer_value(m)
			    : 0;
	return 0;
}

void problem_test_result_finish(struct judge_test_result *t)
{
	json_decref(t->value);
	json_decref(t->error);
	json_decref(t->output);
	memset(t, 0, sizeof(*t));
}

int problem_result_from_json(const json_t *o, struct judge_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!json_is_object(o))
		return -1;
	res->verdict = verdict_parse(json_string_value(json_object_get(o, "verdict")));
	res->cpu_ms = json_number_value(json_object_get(o, "cpu_ms"));
	res->wall_ms = json_number_value(json_object_get(o, "wall_ms"));
	res->mem_kb = (uint64_t)json_integer_value(json_object_get(o, "mem_kb"));
	const char *msg = json_string_value(json_object_get(o, "message"));
	res->message = msg ? strdup(msg) : NULL;
	res->compile_error = ref_or_null(json_object_get(o, "compile_error"), is_obj);
	json_t *ts = json_object_get(o, "tests");
	res->ntests = json_array_size(ts);
	res->tests = calloc(res->ntests ? res->ntests : 1, sizeof(*res->tests));
	if (!res->tests)
		return -1;
	for (size_t i = 0; i < res->ntests; i++)
		problem_test_result_from_json(json_array_get(ts, i), &res->tests[i]);
	return 0;
}

size_t problem_run_index(const struct problem *p, size_t n, size_t i)
{
	return i < n ? i : p->ntests + (i - n);
}

/* ---- one judged run -------------------------------------------------------- */

static void fill_request(const struct problem *p, struct judge_request *req, const char *code,
			 size_t len, json_t *tests, json_t *opts, uint32_t run_cpu_ms)
{
	memset(req, 0, sizeof(*req));
	req->mode = p->kind;
	req->code = code;
	req->code_len = len;
	req->entry = p->entry;
	req->tests = tests;
	req->options = opts;
	req->limits.cpu_ms = run_cpu_ms;
	req->limits.wall_ms = run_cpu_ms * 2 + 3000;
	req->limits.mem_mb = p->limits.mem_mb;
	req->limits.output_kb = p->limits.output_kb;
}

int problem_prepare(const struct problem *p, const char *code, size_t len, bool submit,
		    struct judge_request *req, json_t **tests, json_t **opts)
{
	size_t n = submit ? p->ntests : p->nsamples;

	*tests = problem_harness_tests(p, n, NULL);
	*opts = problem_harness_options(p);
	if (!*tests || !*opts) {
		json_decref(*tests);
		json_decref(*opts);
		*tests = *opts = NULL;
		return -1;
	}
	json_object_set_new(*opts, "capture", json_integer((json_int_t)p->limits.output_kb * 1024));
	json_object_set_new(*opts, "test_cpu_ms", json_integer(p->limits.cpu_ms));
	fill_request(p, req, code, len, *tests, *opts, p->submit_cpu_ms);
	return 0;
}

json_t *problem_judge(struct judge *j, const struct problem *p, const char *code, size_t len,
		      bool submit, bool show_hidden)
{
	size_t n = submit ? p->ntests : p->nsamples;
	json_t *tests, *opts, *out;
	struct judge_request req;
	struct judge_result res;

	if (problem_prepare(p, code, len, submit, &req, &tests, &opts))
		return NULL;
	int e = judge_run(j, &req, NULL, NULL, &res);
	if (e) {
		out = json_pack("{s:s, s:s, s:i, s:I}", "verdict", "IE", "message",
				judge_strerror(e), "passed", 0, "total", (json_int_t)n);
	} else {
		out = problem_result_json(p, NULL, &res, n, show_hidden);
		judge_result_finish(&res);
	}
	json_decref(tests);
	json_decref(opts);
	return out;
}

json_t *problem_result_json(const struct problem *p, const json_t *custom,
			    const struct judge_result *res, size_t n, bool show_hidden)
{
	enum judge_verdict *vs = calloc(res->ntests ? res->ntests : 1, sizeof(*vs));
	json_t *ts = json_array();
	double max_cpu = 0;
	uint64_t max_mem = res->mem_kb;
	size_t passed = 0;

	if (!vs || !ts) {
		free(vs);
		json_decref(ts);
		return NULL;
	}
	for (size_t i = 0; i < res->ntests; i++) {
		const struct judge_test_result *t = &res->tests[i];
		size_t pi = problem_run_index(p, n, i);
		bool hidden = pi < p->ntests && p->tests[pi].hidden;
		vs[i] = problem_test_verdict(p, pi, custom, t);
		if (shown_cpu(p, t, vs[i]) > max_cpu)
			max_cpu = shown_cpu(p, t, vs[i]);
		if (t->cpu_ms >= 0 && t->mem_kb > max_mem)
			max_mem = t->mem_kb; /* the summary is the peak of all its tests */
		json_array_append_new(ts, problem_test_json(p, pi, custom, t, vs[i],
							    hidden ? pi - p->nsamples + 1 : 0,
							    !show_hidden));
	}
	enum judge_verdict v = judge_verdicts_summary(vs, res->ntests, &passed);
	if (res->compile_error)
		v = JUDGE_VERDICT_CE;
	else if (res->verdict == JUDGE_VERDICT_IE)
		v = JUDGE_VERDICT_IE;
	bool budget = res->verdict == JUDGE_VERDICT_TLE && res->cpu_ms >= (double)p->submit_cpu_ms;
	json_t *o =
		json_pack("{s:s, s:b, s:I, s:I, s:f, s:f, s:I, s:f, s:b, s:O, s:o}", "verdict",
			  judge_verdict_str(v), "accepted", v == JUDGE_VERDICT_AC, "passed",
			  (json_int_t)passed, "total", (json_int_t)res->ntests, "cpu_ms",
			  ms(res->cpu_ms), "max_cpu_ms", ms(max_cpu), "mem_kb", (json_int_t)max_mem,
			  "wall_ms", ms(res->wall_ms), "budget_exceeded", budget, "compile_error",
			  res->compile_error ? res->compile_error : json_null(), "tests", ts);
	if (o && res->message && v == JUDGE_VERDICT_IE)
		json_object_set_new(o, "message", json_string(res->message));
	free(vs);
	return o;
}

int problem_check_one(const struct problem *p, const struct problem_solution *sol, const json_t *r,
		      json_t *failures)
{
	const char *v = json_string_value(json_object_get(r, "verdict"));
	bool accepted = json_is_true(json_object_get(r, "accepted"));
	char msg[1024];

	(void)p;
	if (!v)
		v = "IE";
	if (!strcmp(v, "IE") && json_object_get(r, "message")) {
		snprintf(msg, sizeof(msg), "%s: the judge failed: %s", sol->path,
			 json_string_value(json_object_get(r, "message")));
	} else if (!strcmp(sol->kind, "accepted") && !accepted) {
		size_t i;
		json_t *t;
		snprintf(msg, sizeof(msg), "%s: %s (accepted solution)", sol->path, v);
		json_array_foreach(json_object_get(r, "tests"), i, t)
		{
			const char *tv = json_string_value(json_object_get(t, "verdict"));
			if (tv && strcmp(tv, "AC")) {
				snprintf(msg, sizeof(msg), "%s: test '%s': %s (accepted solution)",
					 sol->path, json_string_value(json_object_get(t, "name")),
					 tv);
				break;
			}
		}
	} else if (strcmp(sol->kind, "accepted") && accepted) {
		snprintf(msg, sizeof(msg), "%s: accepted on every test, but it is a %s solution",
			 sol->path, sol->kind);
	} else {
		return 0;
	}
	json_array_append_new(failures, json_string(msg));
	return 1;
}

int problem_check(struct judge *j, const struct problem *p, json_t *failures)
{
	int bad = 0;

	for (size_t s = 0; s < p->nsolutions; s++) {
		const struct problem_solution *sol = &p->solutions[s];
		json_t *r = problem_judge(j, p, sol->code, strlen(sol->code), true, true);

		if (!r)
			return -1;
		bad += problem_check_one(p, sol, r, failures);
		json_decref(r);
	}
	return bad;
}

/* ---- the complexity estimate ----------------------------------------------- */

static const char *const classes[] = { "O(1)",	 "O(log n)", "O(n)",  "O(n log n)",
				       "O(n^2)", "O(n^3)",   "O(2^n)" };
#define NCLASS 7

const char *problem_complexity_class(int index)
{
	return index >= 0 && index < NCLASS ? classes[index] : NULL;
}

static double growth(int c, double n, double nmax)
{
	switch (c) {
	case 0:
		return 1;
	case 1:
		return log2(n + 1);
	case 2:
		return n;
	case 3:
		return n * log2(n + 1);
	case 4:
		return n * n;
	case 5:
		return n * n * n;
	default:
		/* Scaled by 2^-nmax so that large n do not overflow. */
		return exp2(n - nmax);
	}
}

/*
 * Fits t = a + b f(n) (a, b >= 0) minimising the squared relative error;
 * returns its root mean square.
 */
static double fit_one(int c, const double *n, const double *t, size_t k)
{
	double nmax = n[k - 1], fmax = growth(c, nmax, nmax);
	double sw = 0, sf = 0, sff = 0, st = 0, sft = 0;
	double f[64];

	for (size_t i = 0; i < k; i++) {
		double w = 1 / (t[i] * t[i]);
		f[i] = growth(c, n[i], nmax) / fmax;
		sw += w;
		sf += w * f[i];
		sff += w * f[i] * f[i];
		st += w * t[i];
		sft += w * f[i] * t[i];
	}
	double a, b;
	double det = sw * sff - sf * sf;
	if (c == 0 || fabs(det) < 1e-300) {
		a = st / sw;
		b = 0;
	} else {
		a = (st * sff - sf * sft) / det;
		b = (sw * sft - sf * st) / det;
		if (b < 0) {
			b = 0;
			a = st / sw;
		} else if (a < 0) {
			a = 0;
			b = sft / sff;
		}
	}
	double e = 0;
	for (size_t i = 0; i < k; i++) {
		double r = (a + b * f[i] - t[i]) / t[i];
		e += r * r;
	}
	return sqrt(e / (double)k);
}

/* Relative error under which a constant explains the times (repeated minima). */
#define FLAT 0.06

/*
 * Growth exponents (least-squares slope of log t over log n), measured on
 * the reference solutions of tests/judge/test-complexity.c over 850 runs:
 *
 * - a constant-time call gave -0.02..0.06 (noise: steps of a few tens of
 *   nanoseconds), an O(log n) one 0.15..0.25, so a curve below SLOPE_FLAT
 *   (< 1.85x over a 2000x range of n) is O(1); one below SLOPE_NEAR_FLAT
 *   cannot be O(n) or beyond, nor, with O(n) as the alternative, one below
 *   SLOPE_SUBLINEAR (an O(log n) bisect whose largest inputs outgrew the
 *   caches fitted a + b n best: 0.18);
 * - linear calls gave 0.80..1.035 (under 1 while a per-call overhead still
 *   shows at small n; above it where the largest inputs outgrow the caches,
 *   which the fit takes for a log factor), a pure-Python merge sort
 *   1.079..1.108 and a heap merge on at most eight sizes 1.035..1.19: the
 *   exponent settles a close call between the two at SLOPE_NLOGN, and one
 *   near it names both classes.
 */
#define SLOPE_FLAT	 0.08
#define SLOPE_NEAR_FLAT	 0.15
#define SLOPE_SUBLINEAR	 0.45
#define SLOPE_NLOGN	 1.045
#define SLOPE_NLOGN_SURE 0.09 /* this far from SLOPE_NLOGN: confidence 1 */

static double loglog_slope(const double *n, const double *t, size_t k)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, m = (double)k;

	for (size_t i = 0; i < k; i++) {
		double x = log(n[i]), y = log(t[i]);
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
	}
	double d = m * sxx - sx * sx;
	return fabs(d) < 1e-12 ? 0 : (m * sxy - sx * sy) / d;
}

int problem_fit(const double *n, const double *t_ms, size_t k, double *confidence, int *alternative)
{
	double e[NCLASS], t[64];
	int order[NCLASS];

	*alternative = -1;
	*confidence = 0;
	if (k < 2 || k > 64)
		return 0;
	for (size_t i = 0; i < k; i++)
		t[i] = t_ms[i] > 1e-6 ? t_ms[i] : 1e-6;
	for (int c = 0; c < NCLASS; c++) {
		e[c] = fit_one(c, n, t, k);
		order[c] = c;
	}
	for (int i = 1; i < NCLASS; i++)
		for (int m = i; m > 0 && e[order[m]] < e[order[m - 1]]; m--) {
			int x = order[m];
			order[m] = order[m - 1];
			order[m - 1] = x;
		}
	/*
	 * Every class with its constant term holds O(1) (b = 0), so a flat
	 * curve fits them all: call it O(1) when the constant alone explains
	 * the times within the noise of repeated minima.
	 */
	int best = order[0], second = order[1];
	double slope = loglog_slope(n, t, k);
	if (slope < SLOPE_FLAT) {
		*confidence = 1 - (slope > 0 ? slope : 0) / SLOPE_FLAT;
		if (*confidence < 0.35)
			*alternative = 1;
		return 0;
	}
	if (slope < SLOPE_SUBLINEAR && best > 1) {
		*alternative = slope < SLOPE_NEAR_FLAT ? 0 : best;
		return 1;
	}
	if (e[0] < FLAT || e[0] < e[best] * 1.15) {
		/* How flat: 1 when the times do not move, 0 at the threshold. */
		int grow = best == 0 ? order[1] : best;
		*confidence = e[0] < FLAT ? 1 - e[0] / FLAT : 0;
		if (*confidence < 0.35)
			*alternative = grow;
		return 0;
	}
	double c1 = e[best], c2 = e[second];
	*confidence = 1 - (c1 + 0.01) / (c2 + 0.01);
	if (*confidence < 0)
		*confidence = 0;
	/*
	 * A close call between O(n) and O(n log n) goes by the growth
	 * exponent: problems/move-zeros (linear) came out O(n log n) in 5 of
	 * 20 runs where its largest inputs outgrew the caches, and the
	 * residuals alone cannot tell a cache step from a log factor.
	 */
	if (((best == 2 && second == 3) || (best == 3 && second == 2)) && *confidence < 0.5 &&
	    k >= 5) {
		int c = slope < SLOPE_NLOGN ? 2 : 3;
		*confidence = fmin(fabs(slope - SLOPE_NLOGN) / SLOPE_NLOGN_SURE, 0.5);
		if (*confidence < 0.35)
			*alternative = 5 - c;
		return c;
	}
	if (*confidence < 0.35)
		*alternative = second;
	return best;
}

/* Nanosecond grid (2^-20 ms): a point of an O(1) call is well under 1 us. */
static double fine_ms(double v)
{
	return v > 0 ? round(v * 1048576) / 1048576 : 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#define CX_SIZES     12
#define CX_REPEATS   3
#define CX_PROBE_MS  150.0 /* a size slower than this in the probe ends the series */
#define CX_KEEP_MS   60.0  /* sizes kept for the repeats: at most this per call */
#define CX_MIN_SIZES 4

struct cx_job {
	bool done;
	struct judge_result res;
	char *out;
	size_t len, cap;
};

static void cx_out(void *ud, uint64_t id, enum judge_stream s, const char *d, size_t n)
{
	struct cx_job *jb = ud;

	if (s != JUDGE_STDOUT)
		return;
	if (jb->len + n > jb->cap) {
		size_t nc = (jb->len + n) * 2;
		char *nb = realloc(jb->out, nc);
		if (!nb)
			return;
		jb->out = nb;
		jb->cap = nc;
	}
	memcpy(jb->out + jb->len, d, n);
	jb->len += n;
}

static void cx_done(void *ud, uint64_t id, struct judge_result *res)
{
	struct cx_job *jb = ud;

	jb->res = *res;
	memset(res, 0, sizeof(*res));
	jb->done = true;
}

struct cx_pump {
	void (*fn)(void *ud);
	void *ud;
};

static int wait_all(struct judge *j, struct cx_job *jobs, size_t n, const struct cx_pump *pump)
{
	for (;;) {
		bool all = true;
		for (size_t i = 0; i < n; i++)
			all &= jobs[i].done;
		if (all)
			return 0;
		if (pump->fn)
			pump->fn(pump->ud);
		int e = judge_wait(j, pump->fn ? 20 : 100);
		if (e && e != JUDGE_ETIMEOUT)
			return e;
	}
}

static json_t *cx_fail(const char *verdict, const char *msg, double t0)
{
	return json_pack("{s:n, s:f, s:n, s:[], s:i, s:f, s:s, s:s}", "class", "confidence", 0.0,
			 "alternative", "points", "mem_growth_kb", 0, "wall_ms", now_ms() - t0,
			 "verdict", verdict, "message", msg);
}

json_t *problem_complexity(struct judge *j, const struct problem *p, const char *code, size_t len)
{
	return problem_complexity_pumped(j, p, code, len, NULL, NULL);
}

json_t *problem_complexity_pumped(struct judge *j, const struct problem *p, const char *code,
				  size_t len, void (*pump_fn)(void *ud), void *ud)
{
	const struct cx_pump pump = { pump_fn, ud };
	double t0 = now_ms();
	long sizes[CX_SIZES];
	size_t k = 0;

	/* n, 2n, 4n, ... ending at max_n (ascending). */
	for (long n = (long)p->max_n; n >= 1 && k < CX_SIZES; n /= 2)
		sizes[k++] = n;
	for (size_t i = 0; i < k / 2; i++) {
		long x = sizes[i];
		sizes[i] = sizes[k - 1 - i];
		sizes[k - 1 - i] = x;
	}

	/* 1. The inputs, made by the problem's generator inside a sandbox. */
	char list[256] = "";
	for (size_t i = 0; i < k; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%ld", i ? "," : "",
			 sizes[i]);
	size_t cap = strlen(p->gen) + 512;
	char *src = malloc(cap);
	if (!src)
		return NULL;
	snprintf(src, cap,
		 "%s\n\nimport json as _json, sys as _sys\n"
		 "for _n in [%s]:\n"
		 "    _sys.stdout.write(_json.dumps(list(make(_n, 1))) + '\\n')\n",
		 p->gen, list);
	struct judge_request greq = { .mode = JUDGE_MODE_SCRIPT,
				      .code = src,
				      .code_len = strlen(src),
				      .limits = { 5000, 10000, p->limits.mem_mb, 64 * 1024 } };
	struct cx_job gen = { 0 };
	int e = judge_submit(j, &greq, cx_out, cx_done, &gen, NULL);
	free(src);
	if (e || (e = wait_all(j, &gen, 1, &pump)))
		return cx_fail("IE", judge_strerror(e), t0);
	json_t *inputs = json_array();
	for (char *s = gen.out, *end = gen.out + gen.len; s && s < end;) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			break;
		json_t *a = json_loadb(s, (size_t)(nl - s), 0, NULL);
		if (!json_is_array(a)) {
			json_decref(a);
			break;
		}
		json_array_append_new(inputs, a);
		s = nl + 1;
	}
	bool gen_ok = gen.res.verdict == JUDGE_VERDICT_OK && json_array_size(inputs) == k;
	judge_result_finish(&gen.res);
	free(gen.out);
	if (!gen_ok) {
		json_decref(inputs);
		return cx_fail("IE", "the problem's generator failed", t0);
	}

	/* 2. A probe, sizes ascending, to find how far the code can go. */
	double best[CX_SIZES], mem[CX_SIZES];
	for (size_t i = 0; i < k; i++)
		best[i] = INFINITY, mem[i] = 0;
	json_t *opts = problem_harness_options(p);
	json_object_set_new(opts, "autorange", json_true());
	json_object_set_new(opts, "test_cpu_ms", json_real(CX_PROBE_MS * 2));
	json_object_set_new(opts, "stop_over_ms", json_real(CX_PROBE_MS));
	json_t *tests = json_array();
	for (size_t i = 0; i < k; i++)
		json_array_append_new(tests, json_pack("{s:s, s:O}", "name", "n", "args",
						       json_array_get(inputs, i)));
	struct judge_request req;
	struct cx_job probe = { 0 };
	fill_request(p, &req, code, len, tests, opts, 3000);
	e = judge_submit(j, &req, NULL, cx_done, &probe, NULL);
	if (e || (e = wait_all(j, &probe, 1, &pump))) {
		json_decref(inputs);
		json_decref(opts);
		json_decref(tests);
		return cx_fail("IE", judge_strerror(e), t0);
	}
	size_t kept = 0;
	json_t *fail = NULL;
	if (probe.res.compile_error) {
		fail = cx_fail("CE", "the code does not compile or lacks the entry point", t0);
	} else {
		for (size_t i = 0; i < k && i < probe.res.ntests; i++) {
			struct judge_test_result *t = &probe.res.tests[i];
			if (t->error || t->verdict != JUDGE_VERDICT_NONE || t->cpu_ms < 0) {
				const char *type =
					json_string_value(json_object_get(t->error, "type"));
				if (kept >= CX_MIN_SIZES &&
				    (!type || !strcmp(type, "TimeLimitExceeded")))
					break; /* too slow to go further: enough points */
				char msg[200];
				snprintf(msg, sizeof(msg),
					 "failed on a generated input of size %ld: %s", sizes[i],
					 type ? type : judge_verdict_str(t->verdict));
				fail = cx_fail(type && !strcmp(type, "TimeLimitExceeded") ? "TLE"
											  : "RE",
					       msg, t0);
				break;
			}
			best[i] = t->cpu_ms;
			mem[i] = (double)t->mem_kb;
			kept = i + 1;
			if (t->cpu_ms > CX_PROBE_MS)
				break;
		}
	}
	judge_result_finish(&probe.res);
	while (kept > CX_MIN_SIZES && best[kept - 1] > CX_KEEP_MS)
		kept--;
	if (!fail && kept < 2)
		fail = cx_fail("TLE", "too slow on the smallest generated inputs", t0);
	if (fail) {
		json_decref(inputs);
		json_decref(opts);
		json_decref(tests);
		return fail;
	}

	/* 3. Repeats of the kept sizes, each in a fresh sandbox, all at once. */
	while (json_array_size(tests) > kept)
		json_array_remove(tests, json_array_size(tests) - 1);
	json_object_del(opts, "stop_over_ms");
	struct cx_job reps[CX_REPEATS];
	memset(reps, 0, sizeof(reps));
	size_t started = 0;
	for (size_t r = 0; r < CX_REPEATS; r++)
		if (!judge_submit(j, &req, NULL, cx_done, &reps[r], NULL))
			started++;
		else
			reps[r].done = true;
	wait_all(j, reps, CX_REPEATS, &pump);
	for (size_t r = 0; r < CX_REPEATS; r++) {
		for (size_t i = 0; i < kept && i < reps[r].res.ntests; i++) {
			struct judge_test_result *t = &reps[r].res.tests[i];
			if (!t->error && t->verdict == JUDGE_VERDICT_NONE && t->cpu_ms >= 0 &&
			    t->cpu_ms < best[i])
				best[i] = t->cpu_ms;
			if (t->mem_kb && (double)t->mem_kb > mem[i])
				mem[i] = (double)t->mem_kb;
		}
		judge_result_finish(&reps[r].res);
	}
	json_decref(inputs);
	json_decref(opts);
	json_decref(tests);

	/* 4. The fit. */
	double nn[CX_SIZES];
	json_t *points = json_array();
	for (size_t i = 0; i < kept; i++) {
		nn[i] = (double)sizes[i];
		json_array_append_new(
			points, json_pack("{s:I, s:f, s:I}", "n", (json_int_t)sizes[i], "cpu_ms",
					  fine_ms(best[i]), "mem_kb", (json_int_t)mem[i]));
	}
	double conf;
	int alt;
	int c = problem_fit(nn, best, kept, &conf, &alt);
	return json_pack("{s:s, s:f, s:s?, s:o, s:I, s:f, s:i}", "class", classes[c], "confidence",
			 round(conf * 128) / 128, "alternative", problem_complexity_class(alt),
			 "points", points, "mem_growth_kb",
			 (json_int_t)(mem[kept - 1] - mem[0] > 0 ? mem[kept - 1] - mem[0] : 0),
			 "wall_ms", now_ms() - t0, "repeats", (int)started + 1);
}
