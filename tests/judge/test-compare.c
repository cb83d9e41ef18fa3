/*
 * test-compare.c - the comparators and verdict rules of judge/compare.c.
 *
 * A table of (expected, returned, comparator) cases pins down every rule of
 * docs/judge-values.md that a wrong answer could slip through: true is not 1,
 * 1 is not 1.0 unless the comparator is float, big ints compare by digits,
 * NaN, tuples against lists, sets, dicts, unordered lists and the float
 * tolerance edges.  Malformed input must give an error code, never "equal"
 * and never a crash.  Then the verdict rules, and allocation failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "values-internal.h"

#include "check.h"

/* Outcome of one case: equal, not equal, or the error judge_compare() returns. */
enum { NE = 0, EQ = 1 };

struct cmp_case {
	const char *expected;
	const char *got;
	const char *cmp;
	int want; /* EQ, NE, or a JUDGE_E* code */
};

static const struct cmp_case cases[] = {
	/* Scalars under exact. */
	{ "1", "1", "exact", EQ },
	{ "1", "2", "exact", NE },
	{ "null", "null", NULL, EQ },
	{ "null", "0", NULL, NE },
	{ "null", "[]", NULL, NE },
	{ "true", "true", NULL, EQ },
	{ "true", "1", NULL, NE },
	{ "1", "true", NULL, NE },
	{ "false", "0", NULL, NE },
	{ "true", "1", "float", NE },
	{ "true", "1.0", "float", NE },
	{ "\"a\"", "\"a\"", NULL, EQ },
	{ "\"a\"", "\"A\"", NULL, NE },
	{ "\"1\"", "1", NULL, NE },
	{ "\"a\\u0000b\"", "\"a\\u0000b\"", NULL, EQ },
	{ "\"a\\u0000b\"", "\"a\\u0000c\"", NULL, NE },
	{ "\"\"", "null", NULL, NE },
	/* int against float. */
	{ "1", "1.0", "exact", NE },
	{ "1.0", "1", "exact", NE },
	{ "1", "1.0", "float", EQ },
	{ "1.0", "1", "float", EQ },
	{ "1.0", "1.0", "exact", EQ },
	{ "0.1", "0.1", "exact", EQ },
	{ "0.30000000000000004", "0.3", "exact", NE },
	{ "0.30000000000000004", "0.3", "float", EQ },
	{ "-0.0", "0.0", "exact", EQ },
	{ "1e+20", "100000000000000000000.0", "exact", EQ },
	/* Ints under float stay exact: 10^18 and 10^18+1 are different answers. */
	{ "1000000000000000000", "1000000000000000001", "float", NE },
	/* Big ints. */
	{ "{\"$int\": \"123456789012345678901234567890\"}",
	  "{\"$int\": \"123456789012345678901234567890\"}", NULL, EQ },
	{ "{\"$int\": \"123456789012345678901234567890\"}",
	  "{\"$int\": \"123456789012345678901234567891\"}", NULL, NE },
	{ "{\"$int\": \"-123456789012345678901234567890\"}",
	  "{\"$int\": \"123456789012345678901234567890\"}", NULL, NE },
	{ "{\"$int\": \"0000123456789012345678901234567890\"}",
	  "{\"$int\": \"123456789012345678901234567890\"}", NULL, EQ },
	{ "{\"$int\": \"5\"}", "5", NULL, EQ },
	{ "{\"$int\": \"-9223372036854775808\"}", "-9223372036854775808", NULL, EQ },
	{ "{\"$int\": \"9223372036854775808\"}", "9223372036854775807", NULL, NE },
	{ "{\"$int\": \"18446744073709551616\"}", "1.8446744073709552e+19", "exact", NE },
	{ "{\"$int\": \"18446744073709551616\"}", "1.8446744073709552e+19", "float", EQ },
	{ "{\"$int\": \"12x\"}", "1", NULL, JUDGE_EEXPECTED },
	{ "{\"$int\": \"\"}", "1", NULL, JUDGE_EEXPECTED },
	{ "{\"$int\": \"-\"}", "1", NULL, JUDGE_EEXPECTED },
	{ "{\"$int\": 5}", "1", NULL, JUDGE_EEXPECTED },
	{ "1", "{\"$int\": \"1e5\"}", NULL, JUDGE_EGOT },
	/* NaN and infinities. */
	{ "{\"$float\": \"nan\"}", "{\"$float\": \"nan\"}", "exact", EQ },
	{ "{\"$float\": \"nan\"}", "{\"$float\": \"nan\"}", "float", EQ },
	{ "{\"$float\": \"nan\"}", "1.0", "float", NE },
	{ "{\"$float\": \"nan\"}", "null", NULL, NE },
	{ "{\"$float\": \"inf\"}", "{\"$float\": \"inf\"}", "exact", EQ },
	{ "{\"$float\": \"inf\"}", "{\"$float\": \"-inf\"}", "exact", NE },
	{ "{\"$float\": \"inf\"}", "1.7976931348623157e+308", "float", NE },
	{ "{\"$float\": \"-inf\"}", "{\"$float\": \"-inf\"}", "float", EQ },
	{ "{\"$float\": \"NaN\"}", "1.0", NULL, JUDGE_EEXPECTED },
	/* Tuples and lists. */
	{ "[1, 2]", "[1, 2]", NULL, EQ },
	{ "[1, 2]", "[2, 1]", NULL, NE },
	{ "[1, 2]", "[1, 2, 3]", NULL, NE },
	{ "[1, 2]", "{\"$tuple\": [1, 2]}", "exact", NE },
	{ "{\"$tuple\": [1, 2]}", "{\"$tuple\": [1, 2]}", "exact", EQ },
	{ "[1, 2]", "{\"$tuple\": [1, 2]}", "tuple_as_list", EQ },
	{ "[[1, 2]]", "[{\"$tuple\": [1, 2]}]", "tuple_as_list", EQ },
	{ "[1, 2]", "{\"$tuple\": [1, 3]}", "tuple_as_list", NE },
	{ "{\"$tuple\": []}", "[]", NULL, NE },
	{ "{\"$tuple\": 1}", "[]", NULL, JUDGE_EEXPECTED },
	/* Sets: order never matters, kind does. */
	{ "{\"$set\": [1, 2, 3]}", "{\"$set\": [3, 1, 2]}", NULL, EQ },
	{ "{\"$set\": [1, 2, 3]}", "{\"$set\": [1, 2]}", NULL, NE },
	{ "{\"$set\": [1, 2, 3]}", "[1, 2, 3]", NULL, NE },
	{ "{\"$set\": [1, 2, 3]}", "[1, 2, 3]", "unordered", NE },
	{ "{\"$set\": [\"b\", {\"$tuple\": [1, 2]}, null]}",
	  "{\"$set\": [null, {\"$tuple\": [1, 2]}, \"b\"]}", NULL, EQ },
	{ "{\"$set\": [1.0, 2.0]}", "{\"$set\": [2.0000000000001, 1.0]}", "float", EQ },
	{ "{\"$set\": []}", "{\"$set\": []}", NULL, EQ },
	/* Dicts: plain objects and $dict pairs are one kind; order never matters. */
	{ "{\"a\": 1, \"b\": 2}", "{\"b\": 2, \"a\": 1}", NULL, EQ },
	{ "{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": 3}", NULL, NE },
	{ "{\"a\": 1, \"b\": 2}", "{\"a\": 1}", NULL, NE },
	{ "{\"a\": 1}", "{\"$dict\": [[\"a\", 1]]}", NULL, EQ },
	{ "{\"$dict\": [[1, \"x\"], [2, \"y\"]]}", "{\"$dict\": [[2, \"y\"], [1, \"x\"]]}", NULL,
	  EQ },
	{ "{\"$dict\": [[1, \"x\"]]}", "{\"$dict\": [[1.0, \"x\"]]}", "float", NE },
	{ "{\"a\": 1.0}", "{\"a\": 1.0000000000001}", "float", EQ },
	{ "{\"$dict\": [[1]]}", "{}", NULL, JUDGE_EEXPECTED },
	{ "{}", "{}", NULL, EQ },
	{ "{}", "[]", NULL, NE },
	{ "{\"$x\": 1, \"$y\": 2}", "{\"$dict\": [[\"$y\", 2], [\"$x\", 1]]}", NULL, EQ },
	{ "{\"$unknown\": 1}", "1", NULL, JUDGE_EEXPECTED },
	/* Nested. */
	{ "[[1, [2, {\"$tuple\": [3, {\"$set\": [4, 5]}]}]], {\"k\": [null, true]}]",
	  "[[1, [2, {\"$tuple\": [3, {\"$set\": [5, 4]}]}]], {\"k\": [null, true]}]", NULL, EQ },
	{ "[[1, [2, {\"$tuple\": [3, {\"$set\": [4, 5]}]}]], {\"k\": [null, true]}]",
	  "[[1, [2, {\"$tuple\": [3, {\"$set\": [4, 6]}]}]], {\"k\": [null, true]}]", NULL, NE },
	{ "[[1.0, 2.0], [3.0]]", "[[1.0000000001, 2.0], [3.0]]", "float", EQ },
	{ "[[1.0, 2.0], [3.0]]", "[[1.1, 2.0], [3.0]]", "float", NE },
	/* Unordered: the top-level list is a multiset, inner lists keep order. */
	{ "[1, 2, 3]", "[3, 1, 2]", "unordered", EQ },
	{ "[1, 1, 2]", "[1, 2, 2]", "unordered", NE },
	{ "[1, 1, 2]", "[2, 1, 1]", "unordered", EQ },
	{ "[[1, 2], [3]]", "[[3], [1, 2]]", "unordered", EQ },
	{ "[[1, 2], [3]]", "[[3], [2, 1]]", "unordered", NE },
	{ "[1, 2]", "[1, 2, 2]", "unordered", NE },
	{ "[]", "[]", "unordered", EQ },
	{ "[0.1, 0.2]", "[0.2000000000001, 0.1]", "unordered,float", EQ },
	{ "[0.1, 0.2]", "[0.2000000000001, 0.1]", "unordered", NE },
	{ "[1, \"a\", null, true]", "[true, null, \"a\", 1]", "unordered", EQ },
	{ "5", "5", "unordered", EQ },
	/* Float tolerance edges (defaults rel 1e-9, abs 1e-9). */
	{ "0.0", "1e-9", "float", EQ },
	{ "0.0", "1.1e-9", "float", NE },
	{ "1000000.0", "1000000.0009", "float", EQ },
	{ "1000000.0", "1000000.0011", "float", NE },
	{ "1.0", "1.000001", "float,rel=1e-6", EQ },
	{ "1.0", "1.0000011", "float,rel=1e-6", NE },
	{ "0.0", "0.0001", "float,abs=1e-3", EQ },
	{ "1e-300", "2e-300", "float", EQ },
	{ "1e-300", "2e-300", "float,abs=0", NE },
	{ "-1.0", "1.0", "float", NE },
	{ "{\"$int\": \"100000000000000000000\"}", "1e+20", "float", EQ },
	{ "2", "2.0000000001", "float", EQ },
	{ "2", "2.0000001", "float", NE },
	/* Opaque values. */
	{ "{\"$bytes\": \"AP8=\"}", "{\"$bytes\": \"AP8=\"}", NULL, EQ },
	{ "{\"$bytes\": \"AP8=\"}", "\"AP8=\"", NULL, NE },
	{ "{\"$repr\": \"<object>\"}", "{\"$repr\": \"<object>\"}", NULL, EQ },
	{ "{\"$repr\": \"<object>\"}", "\"<object>\"", NULL, NE },
	{ "{\"$str\": [55296, 120]}", "{\"$str\": [55296, 120]}", NULL, EQ },
	{ "{\"$str\": [97, 98]}", "\"ab\"", NULL, EQ },
	{ "{\"$str\": [55296, 120]}", "{\"$str\": [55297, 120]}", NULL, NE },
	{ "{\"$str\": [1114112]}", "1", NULL, JUDGE_EEXPECTED },
	/* A capped value equals nothing, not even itself. */
	{ "[1]", "{\"$capped\": {\"reason\": \"size\", \"type\": \"list\", \"len\": 10000000}}",
	  NULL, NE },
	{ "{\"$capped\": {}}", "{\"$capped\": {}}", NULL, NE },
	{ "[1, 2]", "[1, {\"$capped\": {\"reason\": \"cycle\", \"type\": \"list\"}}]", NULL, NE },
	/* Malformed text: an error, never equal, never a crash. */
	{ "", "1", NULL, JUDGE_EEXPECTED },
	{ "1", "", NULL, JUDGE_EGOT },
	{ "[1, 2", "[1, 2]", NULL, JUDGE_EEXPECTED },
	{ "[1, 2]", "[1, 2", NULL, JUDGE_EGOT },
	{ "[1, 2]", "[1, 2] x", NULL, JUDGE_EGOT },
	{ "nan", "nan", NULL, JUDGE_EEXPECTED },
	{ "NaN", "1", NULL, JUDGE_EEXPECTED },
	{ "1", "Infinity", NULL, JUDGE_EGOT },
	{ "{\"a\": 1, \"a\": 2}", "{\"a\": 2}", NULL, JUDGE_EEXPECTED },
	{ "123456789012345678901234567890", "1", NULL, JUDGE_EEXPECTED },
	{ "\"\\ud800\"", "1", NULL, JUDGE_EEXPECTED },
	{ "1", "\"\xff\"", NULL, JUDGE_EGOT },
	{ "[1]", "{\"$set\": [1], \"x\": 2}", NULL, NE },
};

static const char *want_name(int want)
{
	if (want == EQ)
		return "equal";
	if (want == NE)
		return "not equal";
	return judge_compare_strerror(want);
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cmp_case *c = &cases[i];
		struct judge_cmp cmp;
		bool equal = true;
		int rc;

		CHECK(judge_cmp_parse(c->cmp, &cmp) == 0, "comparator '%s'", c->cmp);
		rc = judge_compare(c->expected, strlen(c->expected), c->got, strlen(c->got), &cmp,
				   &equal);
		int got = rc ? rc : (equal ? EQ : NE);

		CHECK(got == c->want, "case %zu: expected %s, got %s, cmp %s: want %s, got %s", i,
		      c->expected, c->got, c->cmp ? c->cmp : "(null)", want_name(c->want),
		      want_name(got));
		if (rc)
			CHECK(!equal, "case %zu: an error must leave equal false", i);
	}
}

static void test_cmp_parse(void)
{
	struct judge_cmp cmp;

	CHECK(judge_cmp_parse(NULL, &cmp) == 0 && cmp.flags == 0, "NULL is exact");
	CHECK(judge_cmp_parse("", &cmp) == 0 && cmp.flags == 0, "\"\" is exact");
	CHECK(judge_cmp_parse("unordered, float", &cmp) == 0 &&
		      cmp.flags == (JUDGE_CMP_UNORDERED | JUDGE_CMP_FLOAT),
	      "flags %u", cmp.flags);
	CHECK(judge_cmp_parse("float,rel=1e-6,abs=0.5", &cmp) == 0 && cmp.rel_tol == 1e-6 &&
		      cmp.abs_tol == 0.5,
	      "rel %g abs %g", cmp.rel_tol, cmp.abs_tol);
	CHECK(judge_cmp_parse("fuzzy", &cmp) == JUDGE_ECMP && cmp.flags == 0, "unknown word");
	CHECK(judge_cmp_parse("float,rel=-1", &cmp) == JUDGE_ECMP, "negative tolerance");
	CHECK(judge_cmp_parse("float,rel=", &cmp) == JUDGE_ECMP, "empty tolerance");
	CHECK(judge_cmp_parse("float,abs=nan", &cmp) == JUDGE_ECMP, "NaN tolerance");
	CHECK(judge_cmp_parse("float,abs=1x", &cmp) == JUDGE_ECMP, "trailing junk");
	CHECK(judge_compare_strerror(JUDGE_ECMP) != NULL, "strerror");
	CHECK(judge_compare_strerror(12345) == NULL, "strerror of unknown code");
}

static json_t *j(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

	if (!v) {
		fprintf(stderr, "bad test JSON %s: %s\n", text, err.text);
		exit(1);
	}
	return v;
}

/* Names for messages; the test links the comparator library alone. */
static const char *vname(enum judge_verdict v)
{
	static const char *const names[] = {
#define NAME(name, str) [JUDGE_VERDICT_##name] = #name,
		JUDGE_VERDICT_MAP(NAME)
#undef NAME
	};

	return (size_t)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

static void test_verdicts(void)
{
	json_t *ok = j("{\"test\": 0, \"value\": [1, 2], \"cpu_ms\": 0.1, \"error\": null}");
	json_t *re =
		j("{\"test\": 0, \"value\": null, \"cpu_ms\": 0.1, \"error\": "
		  "{\"type\": \"ZeroDivisionError\", \"message\": \"x\", \"traceback\": \"\"}}");
	json_t *mle = j("{\"test\": 0, \"value\": null, \"error\": {\"type\": \"MemoryError\"}}");
	json_t *hie = j("{\"test\": 0, \"value\": null, \"error\": {\"type\": \"HarnessError\"}}");
	json_t *noval = j("{\"test\": 0, \"error\": null}");
	json_t *exp_ok = j("[1, 2]"), *exp_wa = j("[2, 1]"), *exp_bad = j("{\"$int\": \"x\"}");
	json_t *value = json_object_get(ok, "value");

	CHECK(judge_compare_verdict(exp_ok, value, NULL) == JUDGE_VERDICT_AC, "AC");
	CHECK(judge_compare_verdict(exp_wa, value, NULL) == JUDGE_VERDICT_WA, "WA");
	CHECK(judge_compare_verdict(NULL, value, NULL) == JUDGE_VERDICT_AC, "no expected value");
	CHECK(judge_compare_verdict(exp_bad, value, NULL) == JUDGE_VERDICT_IE, "bad expected: IE");
	CHECK(judge_compare_verdict(exp_ok, NULL, NULL) == JUDGE_VERDICT_IE, "no value: IE");

	/* Whole runs: five tests; three reported (a value, an error, a value). */
	json_t *compile_ok = j("{\"compile\": \"ok\"}");
	json_t *compile_err = j("{\"compile\": \"error\", \"error\": {\"type\": \"SyntaxError\"}}");
	json_t *internal = j("{\"internal\": \"bad request\"}");
	const json_t *lines[5] = { ok, re, ok, NULL, NULL };
	enum judge_verdict v[5];
	size_t passed;

	CHECK(judge_tests_classify(compile_ok, JUDGE_VERDICT_TLE, lines, 5, v) == 0, "classify");
	CHECK(v[0] == JUDGE_VERDICT_NONE && v[1] == JUDGE_VERDICT_RE &&
		      v[2] == JUDGE_VERDICT_NONE && v[3] == JUDGE_VERDICT_TLE &&
		      v[4] == JUDGE_VERDICT_SKIPPED,
	      "TLE run: %s %s %s %s %s", vname(v[0]), vname(v[1]), vname(v[2]), vname(v[3]),
	      vname(v[4]));
	v[0] = judge_compare_verdict(exp_ok, value, NULL);
	v[2] = judge_compare_verdict(exp_wa, value, NULL);
	CHECK(judge_verdicts_summary(v, 5, &passed) == JUDGE_VERDICT_RE && passed == 1,
	      "summary %s, passed %zu", vname(judge_verdicts_summary(v, 5, NULL)), passed);

	judge_tests_classify(compile_ok, JUDGE_VERDICT_OK, lines, 5, v);
	CHECK(v[3] == JUDGE_VERDICT_RE && v[4] == JUDGE_VERDICT_SKIPPED,
	      "exit without reporting is RE: %s", vname(v[3]));
	judge_tests_classify(compile_ok, JUDGE_VERDICT_MLE, lines, 5, v);
	CHECK(v[3] == JUDGE_VERDICT_MLE, "MLE run: %s", vname(v[3]));
	judge_tests_classify(compile_err, JUDGE_VERDICT_OK, lines, 5, v);
	CHECK(v[0] == JUDGE_VERDICT_CE && v[4] == JUDGE_VERDICT_CE, "CE");
	judge_tests_classify(internal, JUDGE_VERDICT_OK, lines, 5, v);
	CHECK(v[0] == JUDGE_VERDICT_IE && v[4] == JUDGE_VERDICT_IE, "internal line is IE");
	judge_tests_classify(NULL, JUDGE_VERDICT_TLE, lines, 5, v);
	CHECK(v[0] == JUDGE_VERDICT_TLE && v[1] == JUDGE_VERDICT_SKIPPED,
	      "no first line, TLE: %s %s", vname(v[0]), vname(v[1]));
	CHECK(judge_tests_classify(compile_ok, JUDGE_VERDICT_AC, lines, 5, v) == JUDGE_EVERDICT &&
		      v[0] == JUDGE_VERDICT_IE,
	      "AC cannot end a run");

	const json_t *odd[4] = { mle, hie, noval, exp_ok };

	judge_tests_classify(compile_ok, JUDGE_VERDICT_OK, odd, 4, v);
	CHECK(v[0] == JUDGE_VERDICT_MLE && v[1] == JUDGE_VERDICT_IE && v[2] == JUDGE_VERDICT_IE &&
		      v[3] == JUDGE_VERDICT_IE,
	      "MemoryError, HarnessError, no value, not a line: %s %s %s %s", vname(v[0]),
	      vname(v[1]), vname(v[2]), vname(v[3]));

	/* Every test reported, then the output cap was hit: the last one is OLE. */
	const json_t *all[2] = { ok, ok };

	judge_tests_classify(compile_ok, JUDGE_VERDICT_OLE, all, 2, v);
	CHECK(v[0] == JUDGE_VERDICT_NONE && v[1] == JUDGE_VERDICT_OLE, "OLE after the last test");
	judge_tests_classify(compile_ok, JUDGE_VERDICT_OK, all, 2, v);
	CHECK(v[0] == JUDGE_VERDICT_NONE && v[1] == JUDGE_VERDICT_NONE, "clean run");
	v[0] = v[1] = JUDGE_VERDICT_AC;
	CHECK(judge_verdicts_summary(v, 2, &passed) == JUDGE_VERDICT_AC && passed == 2, "all AC");
	CHECK(judge_verdicts_summary(v, 0, NULL) == JUDGE_VERDICT_AC, "no tests");

	/* The same rules on the judge's struct judge_result. */
	struct judge_test_result tr[4] = {
		{ .value = json_object_get(ok, "value"), .cpu_ms = 0.1 },
		{ .error = json_object_get(mle, "error"), .cpu_ms = 0.1 },
		{ .cpu_ms = -1 },
		{ .cpu_ms = -1 },
	};
	struct judge_result res;

	memset(&res, 0, sizeof(res));
	res.tests = tr;
	res.ntests = 4;
	CHECK(judge_result_classify(&res, JUDGE_VERDICT_TLE, false) == 0, "result classify");
	CHECK(tr[0].verdict == JUDGE_VERDICT_NONE && tr[1].verdict == JUDGE_VERDICT_MLE &&
		      tr[2].verdict == JUDGE_VERDICT_TLE && tr[3].verdict == JUDGE_VERDICT_SKIPPED,
	      "struct TLE: %s %s %s %s", vname(tr[0].verdict), vname(tr[1].verdict),
	      vname(tr[2].verdict), vname(tr[3].verdict));
	judge_result_classify(&res, JUDGE_VERDICT_OK, true);
	CHECK(tr[0].verdict == JUDGE_VERDICT_IE && tr[3].verdict == JUDGE_VERDICT_IE,
	      "struct internal");
	res.compile_error = json_object_get(compile_err, "error");
	judge_result_classify(&res, JUDGE_VERDICT_OK, false);
	CHECK(tr[0].verdict == JUDGE_VERDICT_CE && tr[3].verdict == JUDGE_VERDICT_CE, "struct CE");
	res.compile_error = NULL;
	tr[2].value = tr[3].value = tr[0].value;
	judge_result_classify(&res, JUDGE_VERDICT_OLE, false);
	CHECK(tr[2].verdict == JUDGE_VERDICT_NONE && tr[3].verdict == JUDGE_VERDICT_OLE,
	      "struct OLE after the last test: %s", vname(tr[3].verdict));
	CHECK(judge_result_classify(&res, JUDGE_VERDICT_WA, false) == JUDGE_EVERDICT &&
		      tr[0].verdict == JUDGE_VERDICT_IE,
	      "struct bad run verdict");

	json_t *owned[] = { ok,	    re,	     mle,	 hie,	      noval,   exp_ok,
			    exp_wa, exp_bad, compile_ok, compile_err, internal };
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		json_decref(owned[i]);
}

/*
 * Mutated inputs: flip, drop and duplicate bytes of every case's texts.
 * Whatever comes out, judge_compare() must return (under ASan: without a
 * bad access), and an error must never come with "equal".  Also checks
 * that every value equals itself under exact, unless it is capped or was
 * rejected.
 */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_mutations(void)
{
	static const char alphabet[] = "[]{}\",:$01-.e\\ntuflsadi";
	char buf[512];
	size_t runs = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *src = cases[i].expected;
		size_t len = strlen(src);

		if (len >= sizeof(buf) / 2)
			continue;
		for (int m = 0; m < 200; m++) {
			size_t n = len;
			bool equal = true;

			memcpy(buf, src, len);
			for (int k = 1 + (int)(rng() % 3); k > 0 && n > 0; k--) {
				size_t at = rng() % n;

				switch (rng() % 3) {
				case 0:
					buf[at] = alphabet[rng() % (sizeof(alphabet) - 1)];
					break;
				case 1:
					memmove(buf + at, buf + at + 1, n - at - 1);
					n--;
					break;
				default:
					memmove(buf + at + 1, buf + at, n - at);
					n++;
					break;
				}
			}
			int rc = judge_compare(buf, n, buf, n, NULL, &equal);

			CHECK(rc == 0 || !equal, "error with equal: %.*s", (int)n, buf);
			CHECK(rc != 0 || equal || memmem(buf, n, "$capped", 7),
			      "a value differs from itself: %.*s", (int)n, buf);
			runs++;
		}
	}
	CHECK(runs > 10000, "only %zu mutated inputs", runs);
}

/* Values nested deeper than any parser allows, built in memory. */
static void test_deep(void)
{
	json_t *v = json_array();
	bool equal = true;

	for (int i = 0; i < 5000; i++) {
		json_t *outer = json_array();

		json_array_append_new(outer, v);
		v = outer;
	}
	CHECK(judge_compare_json(v, v, NULL, &equal) == JUDGE_EEXPECTED && !equal,
	      "5000 levels must be refused");
	json_decref(v);
}

/* A large value: sorting and comparing 200,000 set members must just work. */
static void test_large(void)
{
	size_t n = 200000;
	char *a = malloc(n * 12 + 32), *b = malloc(n * 12 + 32);
	size_t la = 0, lb = 0;
	bool equal = false;

	CHECK(a && b, "malloc");
	if (!a || !b)
		goto out;
	la += (size_t)sprintf(a + la, "{\"$set\": [");
	lb += (size_t)sprintf(b + lb, "[");
	for (size_t i = 0; i < n; i++) {
		la += (size_t)sprintf(a + la, "%s%zu", i ? "," : "", i);
		lb += (size_t)sprintf(b + lb, "%s%zu", i ? "," : "", n - 1 - i);
	}
	la += (size_t)sprintf(a + la, "]}");
	lb += (size_t)sprintf(b + lb, "]");
	CHECK(judge_compare(a, la, a, la, NULL, &equal) == 0 && equal, "large set");
	struct judge_cmp un;

	judge_cmp_parse("unordered", &un);
	CHECK(judge_compare(a + 9, la - 10, b, lb, &un, &equal) == 0 && equal,
	      "large unordered list");
out:
	free(a);
	free(b);
}

/* Fail the Nth arena allocation: an error code, never a crash or "equal". */
static long alloc_budget = -1;

static void *failing_alloc(size_t size)
{
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return malloc(size);
}

static void test_alloc_failure(void)
{
	const char *big = "[{\"$int\": \"123456789012345678901234567890\"}, {\"$str\": [1, 2]}, "
			  "{\"$set\": [3, 2, 1]}, {\"a\": [1, 2, 3]}]";
	bool saw_success = false;

	judge__values_set_allocator(failing_alloc, free);
	for (long nth = 0; nth < 20 && !saw_success; nth++) {
		bool equal = true;

		alloc_budget = nth;
		int rc = judge_compare(big, strlen(big), big, strlen(big), NULL, &equal);

		if (rc == 0) {
			CHECK(equal, "after %ld allocations", nth);
			saw_success = true;
		} else {
			CHECK(rc == JUDGE_EVNOMEM && !equal, "nth %ld: rc %d", nth, rc);
		}
	}
	CHECK(saw_success, "never succeeded");
	judge__values_set_allocator(NULL, NULL);
}

int main(void)
{
	test_table();
	test_cmp_parse();
	test_verdicts();
	test_mutations();
	test_deep();
	test_large();
	test_alloc_failure();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("ok: %zu comparison cases\n", sizeof(cases) / sizeof(cases[0]));
	return 0;
}
