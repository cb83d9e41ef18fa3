/*
 * compare.c - comparators and per-test verdicts.
 *
 * Hidden tests' expected values never enter the sandbox (a print(args) must
 * leak nothing, and a returned value must not be able to read its target),
 * so the judge compares what the harness returned with what the problem
 * expects here, outside it.  The rules are those of docs/judge-values.md;
 * this file implements them over the trees built by values.c, then turns a
 * run's result lines and its resource verdict into one verdict per test.
 *
 * It must never report AC for a value it could not read: malformed input is
 * an error code (IE), never "equal", and a value the harness capped equals
 * nothing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "values-internal.h"

void judge_cmp_init(struct judge_cmp *cmp)
{
	cmp->flags = 0;
	cmp->rel_tol = 1e-9;
	cmp->abs_tol = 1e-9;
}

static int parse_tol(const char *s, size_t len, double *out)
{
	char buf[64];
	char *end;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	double v = strtod(buf, &end);

	if (*end != '\0' || !isfinite(v) || v < 0)
		return -1;
	*out = v;
	return 0;
}

static bool word_is(const char *w, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(w, name, len) == 0;
}

int judge_cmp_parse(const char *spec, struct judge_cmp *cmp)
{
	struct judge_cmp c;

	judge_cmp_init(&c);
	judge_cmp_init(cmp);
	if (!spec)
		return 0;
	const char *s = spec;

	while (*s) {
		while (*s == ',' || *s == ' ')
			s++;
		if (!*s)
			break;
		const char *w = s;

		while (*s && *s != ',' && *s != ' ')
			s++;
		size_t len = (size_t)(s - w);

		if (word_is(w, len, "exact"))
			continue;
		if (word_is(w, len, "unordered"))
			c.flags |= JUDGE_CMP_UNORDERED;
		else if (word_is(w, len, "float"))
			c.flags |= JUDGE_CMP_FLOAT;
		else if (word_is(w, len, "tuple_as_list"))
			c.flags |= JUDGE_CMP_TUPLE_AS_LIST;
		else if (len > 4 && memcmp(w, "rel=", 4) == 0) {
			if (parse_tol(w + 4, len - 4, &c.rel_tol))
				return JUDGE_ECMP;
		} else if (len > 4 && memcmp(w, "abs=", 4) == 0) {
			if (parse_tol(w + 4, len - 4, &c.abs_tol))
				return JUDGE_ECMP;
		} else {
			return JUDGE_ECMP;
		}
	}
	*cmp = c;
	return 0;
}

static bool is_number(const struct judge__value *v)
{
	return v->kind == JUDGE__V_INT || v->kind == JUDGE__V_BIGINT || v->kind == JUDGE__V_FLOAT;
}

static double as_double(const struct judge__value *v)
{
	if (v->kind == JUDGE__V_INT)
		return (double)v->u.i;
	if (v->kind == JUDGE__V_FLOAT)
		return v->u.f;
	return strtod(v->u.s, NULL);
}

/* math.isclose() with both tolerances, NaN equal to NaN, infinities exact. */
static bool close_enough(double a, double b, const struct judge_cmp *cmp)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	if (a == b)
		return true;
	if (isinf(a) || isinf(b))
		return false;
	double diff = fabs(a - b);
	double scale = fmax(fabs(a), fabs(b));

	return diff <= cmp->abs_tol || diff <= cmp->rel_tol * scale;
}

static bool same_bytes(const struct judge__value *a, const struct judge__value *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->u.s, b->u.s, a->n) == 0);
}

static bool items_equal(const struct judge__value *a, const struct judge__value *b, size_t n,
			const struct judge_cmp *cmp)
{
	for (size_t i = 0; i < n; i++) {
		if (!judge__value_equal(&a[i], &b[i], cmp))
			return false;
	}
	return true;
}

/* Dict keys are identities, not measurements: they always compare exactly. */
static bool dict_equal(const struct judge__value *a, const struct judge__value *b,
		       const struct judge_cmp *cmp)
{
	struct judge_cmp exact;

	judge_cmp_init(&exact);
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (!judge__value_equal(&a->u.items[2 * i], &b->u.items[2 * i], &exact) ||
		    !judge__value_equal(&a->u.items[2 * i + 1], &b->u.items[2 * i + 1], cmp))
			return false;
	}
	return true;
}

static bool is_sequence(const struct judge__value *v)
{
	return v->kind == JUDGE__V_LIST || v->kind == JUDGE__V_TUPLE;
}

bool judge__value_equal(const struct judge__value *a, const struct judge__value *b,
			const struct judge_cmp *cmp)
{
	if ((cmp->flags & JUDGE_CMP_FLOAT) && is_number(a) && is_number(b) &&
	    (a->kind == JUDGE__V_FLOAT || b->kind == JUDGE__V_FLOAT))
		return close_enough(as_double(a), as_double(b), cmp);
	if (a->kind != b->kind) {
		if ((cmp->flags & JUDGE_CMP_TUPLE_AS_LIST) && is_sequence(a) && is_sequence(b))
			return a->n == b->n && items_equal(a->u.items, b->u.items, a->n, cmp);
		return false;
	}
	switch (a->kind) {
	case JUDGE__V_NULL:
		return true;
	case JUDGE__V_BOOL:
		return a->u.b == b->u.b;
	case JUDGE__V_INT:
		return a->u.i == b->u.i;
	case JUDGE__V_FLOAT:
		/* IEEE equality (so -0.0 == 0.0), except that NaN equals NaN. */
		return a->u.f == b->u.f || (isnan(a->u.f) && isnan(b->u.f));
	case JUDGE__V_BIGINT:
	case JUDGE__V_STR:
	case JUDGE__V_BYTES:
	case JUDGE__V_REPR:
		return same_bytes(a, b);
	case JUDGE__V_LIST:
	case JUDGE__V_TUPLE:
	case JUDGE__V_SET:
		return a->n == b->n && items_equal(a->u.items, b->u.items, a->n, cmp);
	case JUDGE__V_DICT:
		return dict_equal(a, b, cmp);
	case JUDGE__V_CAPPED:
		return false;
	}
	return false;
}

/*
 * The unordered comparator: sort both top-level sequences (the trees are
 * private to this call) and compare element by element.  Sorting puts
 * numerically close numbers side by side, so float tolerance still applies.
 */
static void sort_top(struct judge__vtree *t, const struct judge_cmp *cmp)
{
	if ((cmp->flags & JUDGE_CMP_UNORDERED) && is_sequence(&t->root))
		judge__values_sort(t->root.u.items, t->root.n);
}

int judge_compare_json(const json_t *expected, const json_t *got, const struct judge_cmp *cmp,
		       bool *equal)
{
	struct judge__vtree te, tg;
	struct judge_cmp exact;
	int err;

	if (!cmp) {
		judge_cmp_init(&exact);
		cmp = &exact;
	}
	*equal = false;
	err = judge__vtree_init(&te, expected);
	if (err)
		goto err_expected;
	err = judge__vtree_init(&tg, got);
	if (err)
		goto err_got;
	sort_top(&te, cmp);
	sort_top(&tg, cmp);
	*equal = judge__value_equal(&te.root, &tg.root, cmp);
	judge__vtree_finish(&tg);
	judge__vtree_finish(&te);
	return 0;

err_got:
	judge__vtree_finish(&te);
	return err == JUDGE_EVNOMEM ? err : JUDGE_EGOT;
err_expected:
	return err == JUDGE_EVNOMEM ? err : JUDGE_EEXPECTED;
}

static json_t *load(const char *text, size_t len)
{
	json_error_t jerr;

	if (!text)
		return NULL;
	return json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
			  &jerr);
}

int judge_compare(const char *expected, size_t expected_len, const char *got, size_t got_len,
		  const struct judge_cmp *cmp, bool *equal)
{
	json_t *je, *jg;
	int err;

	*equal = false;
	je = load(expected, expected_len);
	if (!je) {
		err = JUDGE_EEXPECTED;
		goto err_expected;
	}
	jg = load(got, got_len);
	if (!jg) {
		err = JUDGE_EGOT;
		goto err_got;
	}
	err = judge_compare_json(je, jg, cmp, equal);
	json_decref(jg);
err_got:
	json_decref(je);
err_expected:
	return err;
}

enum judge_verdict judge_compare_verdict(const json_t *expected, const json_t *value,
					 const struct judge_cmp *cmp)
{
	bool equal;

	if (!value)
		return JUDGE_VERDICT_IE;
	if (!expected)
		return JUDGE_VERDICT_AC;
	if (judge_compare_json(expected, value, cmp, &equal))
		return JUDGE_VERDICT_IE;
	return equal ? JUDGE_VERDICT_AC : JUDGE_VERDICT_WA;
}

/* The verdict of a test that raised: error is {"type", "message", "traceback"}. */
static enum judge_verdict error_verdict(const json_t *error)
{
	const char *type = json_string_value(json_object_get((json_t *)error, "type"));

	if (!type)
		return JUDGE_VERDICT_IE;
	if (strcmp(type, "MemoryError") == 0)
		return JUDGE_VERDICT_MLE;
	if (strcmp(type, "HarnessError") == 0)
		return JUDGE_VERDICT_IE;
	return JUDGE_VERDICT_RE;
}

/* The verdict of a test line before comparison (NONE: compare its value). */
static enum judge_verdict classify_line(const json_t *line)
{
	/* jansson's getters take non-const pointers but only read. */
	json_t *l = (json_t *)line;
	json_t *error = json_object_get(l, "error");

	if (!json_is_object(l))
		return JUDGE_VERDICT_IE;
	if (error && !json_is_null(error))
		return error_verdict(error);
	return json_object_get(l, "value") ? JUDGE_VERDICT_NONE : JUDGE_VERDICT_IE;
}

/*
 * What the first test without a result gets, from the run's verdict: a
 * clean exit without reporting (os._exit()) is the user's RE.  Returns
 * JUDGE_VERDICT_NONE for verdicts that cannot end a run.
 */
static enum judge_verdict cut_verdict(enum judge_verdict run)
{
	switch (run) {
	case JUDGE_VERDICT_OK:
		return JUDGE_VERDICT_RE;
	case JUDGE_VERDICT_RE:
	case JUDGE_VERDICT_TLE:
	case JUDGE_VERDICT_MLE:
	case JUDGE_VERDICT_OLE:
	case JUDGE_VERDICT_IE:
		return run;
	default:
		return JUDGE_VERDICT_NONE;
	}
}

/* A run killed after its last result line still failed: on the last test. */
static bool kills_last(enum judge_verdict run)
{
	return run == JUDGE_VERDICT_TLE || run == JUDGE_VERDICT_MLE || run == JUDGE_VERDICT_OLE;
}

static void fill(enum judge_verdict *verdicts, size_t n, enum judge_verdict v)
{
	for (size_t i = 0; i < n; i++)
		verdicts[i] = v;
}

int judge_tests_classify(const json_t *first, enum judge_verdict run, const json_t *const *lines,
			 size_t n, enum judge_verdict *verdicts)
{
	enum judge_verdict cut = cut_verdict(run);
	const char *state;
	size_t i;

	if (cut == JUDGE_VERDICT_NONE) {
		fill(verdicts, n, JUDGE_VERDICT_IE);
		return JUDGE_EVERDICT;
	}
	if (first) {
		state = json_string_value(json_object_get((json_t *)first, "compile"));
		if (!state || strcmp(state, "ok") != 0) {
			bool ce = state && strcmp(state, "error") == 0;

			fill(verdicts, n, ce ? JUDGE_VERDICT_CE : JUDGE_VERDICT_IE);
			return 0;
		}
	}
	for (i = 0; first && i < n && lines[i]; i++)
		verdicts[i] = classify_line(lines[i]);
	if (i < n) {
		verdicts[i] = cut;
		fill(verdicts + i + 1, n - i - 1, JUDGE_VERDICT_SKIPPED);
	} else if (n > 0 && kills_last(run)) {
		verdicts[n - 1] = run;
	}
	return 0;
}

int judge_result_classify(struct judge_result *res, enum judge_verdict run, bool internal)
{
	enum judge_verdict cut = cut_verdict(run);
	bool missing = false;

	for (size_t i = 0; i < res->ntests; i++) {
		struct judge_test_result *t = &res->tests[i];

		if (cut == JUDGE_VERDICT_NONE || (internal && !res->compile_error))
			t->verdict = JUDGE_VERDICT_IE;
		else if (res->compile_error)
			t->verdict = JUDGE_VERDICT_CE;
		else if (t->error)
			t->verdict = error_verdict(t->error);
		else if (t->value)
			t->verdict = JUDGE_VERDICT_NONE;
		else
			t->verdict = missing ? JUDGE_VERDICT_SKIPPED : cut;
		if (!t->error && !t->value)
			missing = true;
	}
	if (cut == JUDGE_VERDICT_NONE)
		return JUDGE_EVERDICT;
	if (!res->compile_error && !internal && !missing && res->ntests > 0 && kills_last(run))
		res->tests[res->ntests - 1].verdict = run;
	return 0;
}

enum judge_verdict judge_verdicts_summary(const enum judge_verdict *verdicts, size_t n,
					  size_t *passed)
{
	enum judge_verdict first = JUDGE_VERDICT_AC;
	size_t ok = 0;

	for (size_t i = 0; i < n; i++) {
		if (verdicts[i] == JUDGE_VERDICT_AC)
			ok++;
		else if (first == JUDGE_VERDICT_AC)
			first = verdicts[i];
	}
	if (passed)
		*passed = ok;
	return first;
}
