/*
 * test-problem-judge.c - judging code against a problem in real sandboxes
 * (judge/problem-judge.c): the reference solutions of the fixtures, what
 * misbehaving solutions get, and that a hidden test leaks nothing.
 *
 * Needs root and cgroups (as the judge does); exits 77 without them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "problem.h"

static struct judge *j;
static struct problem *pair;

static json_t *judge_code(const char *code, bool submit)
{
	json_t *r = problem_judge(j, pair, code, strlen(code), submit, false);

	REQUIRE(r, "problem_judge returned NULL");
	return r;
}

static const char *verdict_of(const json_t *r, size_t i)
{
	const char *v = json_string_value(
		json_object_get(json_array_get(json_object_get(r, "tests"), i), "verdict"));
	return v ? v : "(none)";
}

static void expect(const char *what, const char *code, const char *verdict, const char *t0,
		   const char *t1)
{
	json_t *r = judge_code(code, true);
	const char *v = json_string_value(json_object_get(r, "verdict"));

	CHECK(!strcmp(v, verdict), "%s: verdict %s, expected %s", what, v, verdict);
	CHECK(!strcmp(verdict_of(r, 0), t0), "%s: test 0 %s, expected %s", what, verdict_of(r, 0),
	      t0);
	if (t1)
		CHECK(!strcmp(verdict_of(r, 1), t1), "%s: test 1 %s, expected %s", what,
		      verdict_of(r, 1), t1);
	json_decref(r);
}

static const char hash[] = "def pair_sum(nums, target):\n"
			   "    seen = {}\n"
			   "    for i, x in enumerate(nums):\n"
			   "        if target - x in seen:\n"
			   "            return [seen[target - x], i]\n"
			   "        seen[x] = i\n";

static void behaviours(void)
{
	expect("raises", "def pair_sum(nums, target):\n    raise ValueError('no')\n", "RE", "RE",
	       "RE");
	expect("never returns", "def pair_sum(nums, target):\n    while True:\n        pass\n",
	       "TLE", "TLE", "TLE");
	expect("sys.exit", "import sys\ndef pair_sum(nums, target):\n    sys.exit(3)\n", "RE", "RE",
	       "RE");
	expect("os._exit", "import os\ndef pair_sum(nums, target):\n    os._exit(0)\n", "RE", "RE",
	       "SKIPPED");
	expect("syntax error", "def pair_sum(nums, target)\n    return 1\n", "CE", "SKIPPED",
	       "SKIPPED");
	expect("no entry", "def other(nums, target):\n    return 1\n", "CE", "SKIPPED", "SKIPPED");
	/* Mutating the arguments: each test gets its own, the answer is what counts. */
	expect("mutates",
	       "def pair_sum(nums, target):\n    seen = {}\n    for i, x in "
	       "enumerate(nums):\n        if target - x in seen:\n            r = "
	       "[seen[target - x], i]\n            nums.clear()\n            return r\n"
	       "        seen[x] = i\n",
	       "AC", "AC", "AC");

	/* Form mistakes are WA with a hint that says what went wrong. */
	static const struct {
		const char *code, *hint;
	} forms[] = {
		{ "def pair_sum(nums, target):\n    print([0, 1])\n", "print the answer" },
		{ "def pair_sum(nums, target):\n    return (0, 1)\n", "tuple" },
		{ "def pair_sum(nums, target):\n    return {0, 1}\n", "set" },
		{ "def pair_sum(nums, target):\n    return object()\n", "cannot carry" },
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		json_t *r = judge_code(forms[i].code, false);
		json_t *t = json_array_get(json_object_get(r, "tests"), 0);
		const char *hint = json_string_value(json_object_get(t, "hint"));
		CHECK(!strcmp(verdict_of(r, 0), "WA"), "form %zu: %s", i, verdict_of(r, 0));
		CHECK(hint && strstr(hint, forms[i].hint), "form %zu: hint %s", i,
		      hint ? hint : "none");
		json_decref(r);
	}

	/* Prints land in their test's stdout. */
	json_t *r = judge_code("def pair_sum(nums, target):\n    print('looking at', target)\n"
			       "    return [0, 1]\n",
			       false);
	json_t *t = json_array_get(json_object_get(r, "tests"), 0);
	CHECK(!strcmp(json_string_value(json_object_get(t, "stdout")), "looking at 9\n"),
	      "captured %s", json_string_value(json_object_get(t, "stdout")));
	json_decref(r);
}

/*
 * A solution that prints its arguments, raises them, and returns them
 * leaks nothing of a hidden test into the redacted result.
 */
static void no_leak(void)
{
	static const char leaky[] = "import sys, os\n"
				    "def pair_sum(nums, target):\n"
				    "    print('ARGS', nums, target)\n"
				    "    sys.stderr.write('ERR %r\\n' % (nums,))\n"
				    "    os.write(1, ('RAW %r\\n' % (target,)).encode())\n"
				    "    if target == 0:\n"
				    "        raise ValueError('secret %r' % (nums,))\n"
				    "    return nums\n";
	json_t *r = judge_code(leaky, true);
	char *text = json_dumps(r, JSON_COMPACT);

	for (size_t i = 0; i < pair->ntests; i++) {
		if (!pair->tests[i].hidden)
			continue;
		char *args = json_dumps(json_array_get(pair->tests[i].args, 0), JSON_ENCODE_ANY);
		char *exp = json_dumps(pair->tests[i].expected, JSON_ENCODE_ANY);
		CHECK(!strstr(text, args), "hidden test %zu's args appear in %s", i, text);
		CHECK(!strstr(text, exp) || strlen(exp) < 8, "hidden expected %s appears", exp);
		free(args);
		free(exp);
	}
	CHECK(!strstr(text, "secret"), "an exception's text leaked: %s", text);
	CHECK(!strstr(text, "-1, -2, -3"), "the negatives test leaked");
	json_t *h = json_array_get(json_object_get(r, "tests"), 2);
	CHECK(json_object_size(h) == 5,
	      "a hidden test has %zu keys (name, hidden, verdict, "
	      "cpu_ms, mem_kb)",
	      json_object_size(h));
	CHECK(!strcmp(json_string_value(json_object_get(h, "name")), "hidden 1"), "name %s",
	      json_string_value(json_object_get(h, "name")));
	free(text);
	json_decref(r);
}

static void fixtures(const char *dir)
{
	char path[512];
	json_t *errors = json_array(), *fails = json_array();

	snprintf(path, sizeof(path), "%s/pair-sum", dir);
	REQUIRE(problem_load(path, &pair, errors) == 0, "pair-sum does not load");
	CHECK(problem_check(j, pair, fails) == 0, "pair-sum's solutions: %s", json_dumps(fails, 0));

	/* A wrong solution put among the accepted ones is reported, with its test. */
	struct problem_solution *s = &pair->solutions[0];
	char *keep = s->code;
	s->code = (char *)"def pair_sum(nums, target):\n    return [0, 1]\n";
	json_t *f2 = json_array();
	CHECK(problem_check(j, pair, f2) == 1, "a wrong accepted solution passed the check");
	const char *msg = json_string_value(json_array_get(f2, 0));
	CHECK(msg && strstr(msg, "test 'middle': WA (accepted solution)"), "message %s",
	      msg ? msg : "(none)");
	s->code = keep;
	json_decref(f2);
	json_decref(errors);
	json_decref(fails);

	json_t *r = judge_code(hash, true);
	CHECK(json_is_true(json_object_get(r, "accepted")), "hash solution not accepted");
	CHECK(json_integer_value(json_object_get(r, "passed")) == 6, "passed %lld",
	      (long long)json_integer_value(json_object_get(r, "passed")));
	json_decref(r);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2, "usage: test-problem-judge FIXTURES_DIR");
	struct judge_config cfg = { .pool_size = 2 };
	int rc = judge_create(&cfg, &j);
	if (rc == JUDGE_EPRIV || rc == JUDGE_ENOCGROUP) {
		fprintf(stderr, "skip: %s\n", judge_strerror(rc));
		return 77;
	}
	REQUIRE(rc == 0, "judge_create: %s", judge_strerror(rc));
	fixtures(argv[1]);
	behaviours();
	no_leak();
	problem_destroy(pair);
	judge_destroy(j);
	CHECK_DONE();
}
