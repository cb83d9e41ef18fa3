/*
 * test-problem.c - loading and validating problems (judge/problem.c).
 *
 * No sandbox here: every case writes a small problem into a fresh temporary
 * folder (or builds its JSON form) and checks that it loads, or that it is
 * refused with the expected "file:line: reason".  The fixtures under
 * tests/problems must load; their JSON form must round-trip.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "problem.h"

static char root[256];
static const char *fixtures;

static void put(const char *dir, const char *rel, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0755);
	*slash = '/';
	FILE *f = fopen(path, "w");
	REQUIRE(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static const char good_yaml[] = "id: add-two\n"
				"title: Add Two\n"
				"difficulty: easy\n"
				"tags: [math]\n"
				"statement: Add a and b.\n"
				"signature: {kind: function, entry: add}\n"
				"starter: |\n"
				"  def add(a, b):\n"
				"      ...\n";
static const char good_sample[] = "{\"args\": [1, 2], \"expected\": 3}\n";
static const char good_hidden[] = "{\"name\": \"zeros\", \"args\": [0, 0], \"expected\": 0}\n"
				  "{\"args\": [-1, 1], \"expected\": 0}\n";

/* A fresh folder holding a problem; NULL texts are left out. */
static const char *make(const char *name, const char *yaml, const char *sample, const char *hidden)
{
	static char dir[512];

	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	mkdir(dir, 0755);
	if (yaml)
		put(dir, "problem.yaml", yaml);
	if (sample)
		put(dir, "tests/sample.jsonl", sample);
	if (hidden)
		put(dir, "tests/hidden.jsonl", hidden);
	return dir;
}

/* Loads path; expects failure with an error containing each needle. */
static void refused(const char *path, int line, const char *needle)
{
	json_t *errors = json_array();
	struct problem *p;
	int rc = problem_load(path, &p, errors);
	char *all = json_dumps(errors, 0);
	bool found = false;
	size_t i;
	json_t *e;

	json_array_foreach(errors, i, e) found |= strstr(json_string_value(e), needle) != NULL;
	if (rc == 0 || !found)
		fprintf(stderr, "test-problem.c:%d: case failed\n", line);
	CHECK(rc == -1, "%s loaded, expected an error with '%s'", path, needle);
	CHECK(found, "errors %s lack '%s'", all, needle);
	problem_destroy(p);
	free(all);
	json_decref(errors);
}
#define REFUSED(path, needle) refused(path, __LINE__, needle)

static struct problem *loads(const char *path)
{
	json_t *errors = json_array();
	struct problem *p;

	if (problem_load(path, &p, errors)) {
		char *all = json_dumps(errors, 0);
		CHECK(0, "%s: %s", path, all);
		free(all);
		p = NULL;
	}
	json_decref(errors);
	return p;
}

static char *with(const char *base, const char *from, const char *to)
{
	const char *at = strstr(base, from);
	REQUIRE(at, "'%s' not in the base text", from);
	size_t n = strlen(base) - strlen(from) + strlen(to) + 1;
	char *s = malloc(n);
	snprintf(s, n, "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
	return s;
}

/* problem.yaml with one change (from -> to) each, and the error it must give. */
struct yaml_case {
	const char *name, *from, *to, *want;
};
static const struct yaml_case yaml_cases[] = {
	{ "missing", "title: Add Two\n", "", "missing key 'title'" },
	{ "unknown", "tags: [math]\n", "tags: [math]\nlimit: {cpu_ms: 5}\n",
	  "problem.yaml:5: unknown key 'limit'" },
	{ "cmp", "tags: [math]\n", "tags: [math]\ncompare: fuzzy\n",
	  "problem.yaml:5: unknown comparator 'fuzzy'" },
	{ "dup-key", "tags: [math]\n", "tags: [math]\ntitle: Again\n",
	  "problem.yaml:5: duplicate key 'title'" },
	{ "bad-id", "id: add-two", "id: Add_Two", "problem.yaml:1: id 'Add_Two' must match" },
	{ "diff", "difficulty: easy", "difficulty: trivial",
	  "difficulty must be easy, medium or hard" },
	{ "kind", "kind: function", "kind: script", "signature.kind must be function" },
	{ "no-entry", "def add(a, b)", "def plus(a, b)", "the starter defines no add(...)" },
	{ "limits", "tags: [math]\n", "tags: [math]\nlimits: {cpu_ms: 0}\n",
	  "'limits.cpu_ms' must be an integer" },
};

static void bad_inputs(void)
{
	char *y;

	/* Each key's own case; the line is where the mistake is. */
	REFUSED(make("bad-yaml", "id: x\ntitle: [unclosed\n", good_sample, good_hidden),
		"problem.yaml:3: bad YAML");
	for (size_t i = 0; i < sizeof(yaml_cases) / sizeof(yaml_cases[0]); i++) {
		const struct yaml_case *c = &yaml_cases[i];

		y = with(good_yaml, c->from, c->to);
		REFUSED(make(c->name, y, good_sample, good_hidden), c->want);
		free(y);
	}

	/* Test files. */
	REFUSED(make("bad-json", good_yaml, good_sample,
		     "{\"args\": [1, 2], \"expected\": 3}\n{\"args\": [1,\n"),
		"tests/hidden.jsonl:2: bad JSON");
	REFUSED(make("arity", good_yaml, good_sample, "{\"args\": [1, 2, 3], \"expected\": 3}\n"),
		"tests/hidden.jsonl:1: args: add() takes 2 arguments, got 3");
	REFUSED(make("no-expected", good_yaml, "{\"args\": [1, 2]}\n", good_hidden),
		"tests/sample.jsonl:1: missing key 'expected'");
	REFUSED(make("test-key", good_yaml, good_sample,
		     "{\"args\": [1, 2], \"expected\": 3, \"hint\": 1}\n"),
		"tests/hidden.jsonl:1: unknown key 'hint' in a test");
	REFUSED(make("bad-value", good_yaml, good_sample,
		     "{\"args\": [1, 2], \"expected\": {\"$nope\": 1}}\n"),
		"expected is not in the value format");
	REFUSED(make("no-hidden", good_yaml, good_sample, NULL), "tests/hidden.jsonl: cannot read");
	REFUSED(make("empty-hidden", good_yaml, good_sample, "\n"), "no hidden tests");
	REFUSED(make("dup-name", good_yaml, good_sample,
		     "{\"name\": \"a\", \"args\": [1, 2], \"expected\": 3}\n"
		     "{\"name\": \"a\", \"args\": [1, 3], \"expected\": 4}\n"),
		"two tests are named 'a'");

	/* 1,000 hidden tests: refused whole, with the bound named. */
	{
		size_t n = 1000 * 40;
		char *many = malloc(n), *s = many;
		for (int i = 0; i < 1000; i++)
			s += sprintf(s, "{\"args\": [%d, 1], \"expected\": %d}\n", i, i + 1);
		REFUSED(make("thousand", good_yaml, good_sample, many),
			"more than 500 tests in all");
		free(many);
	}

	/* A 10 MB statement: the file is refused by its size before parsing. */
	{
		size_t n = 10u << 20;
		char *big = malloc(n + 1024);
		strcpy(big, good_yaml);
		strcat(big, "# ");
		size_t l = strlen(big);
		memset(big + l, 'x', n);
		big[l + n] = '\0';
		REFUSED(make("big-file", big, good_sample, good_hidden), "problem.yaml: 104859");
		free(big);
	}

	/* The same through the JSON form (an upload): the statement's own bound. */
	{
		json_t *errors = json_array();
		struct problem *p;
		json_t *o =
			json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:{s:[], s:[{s:[i,i], "
				  "s:i}]}}",
				  "id", "big", "title", "Big", "difficulty", "easy", "statement",
				  "x", "signature", "kind", "function", "entry", "add", "starter",
				  "def add(a, b):\n    ...\n", "tests", "sample", "hidden", "args",
				  1, 2, "expected", 3);
		char *huge = malloc((10u << 20) + 1);
		memset(huge, 'y', 10u << 20);
		huge[10u << 20] = '\0';
		json_object_set_new(o, "statement", json_string(huge));
		free(huge);
		CHECK(problem_from_json(o, "upload", &p, errors) == -1, "a 10 MB statement loaded");
		const char *e = json_string_value(json_array_get(errors, 0));
		CHECK(e && strstr(e, "upload: 'statement' is 10485760 bytes; at most 262144"),
		      "got %s", e ? e : "(none)");
		json_decref(o);
		json_decref(errors);
	}

	/* Design tests need {"calls", "args"} starting with the class. */
	{
		const char *dy = "id: counter\ntitle: Counter\ndifficulty: easy\nstatement: s\n"
				 "signature: {kind: design, entry: Counter}\n"
				 "starter: |\n  class Counter:\n      def __init__(self):\n"
				 "          ...\n      def hit(self):\n          ...\n";
		REFUSED(make("design", dy,
			     "{\"args\": {\"calls\": [\"Counter\", \"hit\"], \"args\": [[]]}, "
			     "\"expected\": [null, 1]}\n",
			     good_hidden),
			"tests/sample.jsonl:1: calls and args must be non-empty lists of one "
			"length");
		REFUSED(make("design2", dy,
			     "{\"args\": {\"calls\": [\"Other\"], \"args\": [[]]}, \"expected\": "
			     "[null]}\n",
			     good_hidden),
			"the first call must construct 'Counter', not 'Other'");
		struct problem *p = loads(make("design-ok", dy,
					       "{\"args\": {\"calls\": [\"Counter\", \"hit\"], "
					       "\"args\": [[], []]}, \"expected\": [null, 1]}\n",
					       "{\"args\": {\"calls\": [\"Counter\"], \"args\": "
					       "[[]]}, \"expected\": [null]}\n"));
		CHECK(p && p->kind == JUDGE_MODE_DESIGN, "design problem");
		problem_destroy(p);
	}

	/* Not a problem at all. */
	REFUSED(make("empty", NULL, NULL, NULL), "problem.yaml: cannot read");
	put(root, "notes.txt", "hello\n");
	char path[512];
	snprintf(path, sizeof(path), "%s/notes.txt", root);
	REFUSED(path, "neither a problem folder nor a kata .yaml file");
}

static void katas(void)
{
	char path[512];

	/* The Py-Katas example, as its README writes it. */
	put(root, "new_kata.yaml",
	    "id: new_kata\ntitle: \"New Kata\"\ndescription: A description of the new kata.\n"
	    "starter_code: |\n  def solution(x):\n        # Your code here\n        return x\n"
	    "test_cases:\n  - name: \"Basic test\"\n    input: 5\n    expected: 5\n"
	    "  - name: \"Another test\"\n    input: 10\n    expected: 10\n"
	    "  - name: \"Third\"\n    input: [1, 2]\n    expected: [1, 2]\n"
	    "  - name: \"Fourth\"\n    input: 'text'\n    expected: text\n"
	    "function_name: \"solution\"\n");
	snprintf(path, sizeof(path), "%s/new_kata.yaml", root);
	struct problem *p = loads(path);
	if (p) {
		CHECK(!strcmp(p->id, "new-kata"), "kata id %s", p->id);
		CHECK(p->nsamples == 2 && p->ntests == 4, "samples %zu tests %zu", p->nsamples,
		      p->ntests);
		CHECK(p->tests[2].hidden && !p->tests[1].hidden, "the first two are samples");
		json_t *want = json_pack("[[i,i]]", 1, 2);

		CHECK(json_equal(p->tests[2].args, want), "input is the one argument");
		json_decref(want);
		CHECK(json_is_string(p->tests[3].expected), "quoted scalar stays a string");
		CHECK(p->kind == JUDGE_MODE_FUNCTION && !strcmp(p->entry, "solution"), "entry %s",
		      p->entry);
	}
	problem_destroy(p);

	put(root, "bad_kata.yaml",
	    "id: k\ntitle: K\ndescription: d\nstarter_code: |\n  def f(x):\n    return x\n"
	    "test_cases:\n  - {name: a, input: 1, expected: 1}\n  - {name: b, inptu: 1, expected: "
	    "1}\n"
	    "function_name: f\n");
	snprintf(path, sizeof(path), "%s/bad_kata.yaml", root);
	REFUSED(path, "test_cases[1] must be {name, input, expected}");
	put(root, "bad_kata2.yaml",
	    "id: k\ntitle: K\ndescription: d\nstarter_code: x\n"
	    "test_cases: []\nfunction_name: f\nauthor: me\n");
	snprintf(path, sizeof(path), "%s/bad_kata2.yaml", root);
	REFUSED(path, "bad_kata2.yaml:7: unknown key 'author'");
}

static void fixtures_roundtrip(void)
{
	char path[512];
	static const char *const names[] = { "pair-sum", "growth" };

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", fixtures, names[i]);
		struct problem *p = loads(path);
		if (!p)
			continue;
		json_t *store = problem_json(p, PROBLEM_VIEW_STORE);
		json_t *errors = json_array();
		struct problem *q;
		CHECK(problem_from_json(store, "store", &q, errors) == 0, "%s does not round-trip",
		      names[i]);
		if (q) {
			json_t *again = problem_json(q, PROBLEM_VIEW_STORE);
			CHECK(json_equal(store, again), "%s: JSON form changed on a round trip",
			      names[i]);
			json_decref(again);
		}
		/* The room view never holds a hidden test's args or expected value. */
		json_t *room = problem_json(p, PROBLEM_VIEW_ROOM);
		char *text = json_dumps(room, 0);
		for (size_t t = 0; t < p->ntests; t++) {
			if (!p->tests[t].hidden)
				continue;
			char *args = json_dumps(p->tests[t].args, JSON_ENCODE_ANY);
			CHECK(!strstr(text, args), "%s: hidden args %s in the room view", names[i],
			      args);
			free(args);
		}
		CHECK(json_integer_value(json_object_get(room, "hidden")) ==
			      (json_int_t)(p->ntests - p->nsamples),
		      "hidden count");
		free(text);
		json_decref(room);
		problem_destroy(q);
		json_decref(errors);
		json_decref(store);
		problem_destroy(p);
	}
	snprintf(path, sizeof(path), "%s/pair-sum", fixtures);
	struct problem *p = loads(path);
	if (p) {
		CHECK(p->nsolutions == 4, "pair-sum has %zu solutions", p->nsolutions);
		CHECK(json_array_size(p->params) == 2, "params");
		char *why;
		json_t *custom = json_pack("[{s:[[i],i]}]", "args", 1, 2);
		CHECK(problem_check_custom(p, custom, &why) == 0, "custom test refused: %s", why);
		json_decref(custom);
		custom = json_pack("[{s:[i]}]", "args", 1);
		CHECK(problem_check_custom(p, custom, &why) == -1 && why &&
			      strstr(why,
				     "custom test 1: args: pair_sum() takes 2 arguments, got 1"),
		      "custom test: %s", why ? why : "(accepted)");
		free(why);
		json_decref(custom);
	}
	problem_destroy(p);
}

static void fit(void)
{
	/* Exact curves of each class (plus a constant) are classified as such. */
	double n[10], t[10];
	for (int c = 0; c < 7; c++) {
		size_t k = c == 6 ? 5 : 10;
		for (size_t i = 0; i < k; i++) {
			n[i] = c == 6 ? (double)(2 + 3 * i) : (double)(8u << i);
			double f[] = { 1,	    log2(n[i] + 1),
				       n[i],	    n[i] * log2(n[i] + 1),
				       n[i] * n[i], n[i] * n[i] * n[i],
				       exp2(n[i]) };
			t[i] = 1e-5 + f[c] * 1e-6;
		}
		double conf;
		int alt;
		int got = problem_fit(n, t, k, &conf, &alt);
		CHECK(got == c, "class %s fitted as %s", problem_complexity_class(c),
		      problem_complexity_class(got));
	}

	/*
	 * Measured under load: an O(1) call at ~0.09 us creeping to ~0.125 us
	 * over n = 2..4096 (a growth exponent near 0 over a 2000x range) is
	 * O(1), or at most O(log n) with O(1) as the alternative.
	 */
	static const double flat[12] = { 9.0e-5,  9.1e-5,  9.0e-5,  9.4e-5,  9.3e-5,  9.8e-5,
					 10.1e-5, 10.6e-5, 10.9e-5, 11.4e-5, 12.0e-5, 12.5e-5 };
	double nf[12];
	for (size_t i = 0; i < 12; i++)
		nf[i] = (double)(2u << i);
	double conf;
	int alt;
	int got = problem_fit(nf, flat, 12, &conf, &alt);
	CHECK(got == 0 || (got == 1 && alt == 0),
	      "a near-flat curve fitted as %s (alternative %s, confidence %.3f)",
	      problem_complexity_class(got), problem_complexity_class(alt), conf);

	/*
	 * A linear call whose largest sizes run a little slower per element
	 * (caches) is O(n), not O(n log n): the growth exponent of the upper
	 * half of the sizes stays at 1.
	 */
	double lin[12];
	for (size_t i = 0; i < 12; i++)
		lin[i] = 2e-4 + nf[i] * 1e-5 * (i > 6 ? 1 + 0.03 * (double)(i - 6) : 1.0);
	got = problem_fit(nf, lin, 12, &conf, &alt);
	CHECK(got == 2, "a linear curve with slower large sizes fitted as %s (%.3f)",
	      problem_complexity_class(got), conf);

	/*
	 * Measured curves (n doubling from n0), each misclassified once:
	 * move-zeros (linear, ~30% slower per element at its largest sizes)
	 * twice as O(n log n); on a quiet machine, before the growth exponent
	 * settled close calls, an O(1) call with steps of ~50 ns as O(log n)
	 * and a bisect whose largest inputs outgrew the caches as O(n);
	 * merge-k-lists' heap merge on six sizes is an n log n one.
	 */
	static const struct {
		const char *what;
		double n0;
		size_t k;
		int cls;
		double t[12];
	} measured[] = {
		{ "move-zeros",
		  32,
		  12,
		  2,
		  { 1.0e-3, 1.8e-3, 3.3e-3, 6.6e-3, 13.6e-3, 29.3e-3, 59.2e-3, 130.6e-3, 266.2e-3,
		    548.7e-3, 1109.1e-3, 2220.7e-3 } },
		{ "move-zeros again",
		  32,
		  12,
		  2,
		  { 1.045e-3, 1.819e-3, 3.416e-3, 6.575e-3, 14.98e-3, 29.26e-3, 58.66e-3, 132.9e-3,
		    272.8e-3, 553.0e-3, 1098e-3, 2507e-3 } },
		{ "a stepped constant",
		  2,
		  12,
		  0,
		  { 1.068e-4, 1.049e-4, 1.040e-4, 1.087e-4, 1.059e-4, 1.144e-4, 1.469e-4, 1.240e-4,
		    1.640e-4, 1.602e-4, 1.736e-4, 1.230e-4 } },
		{ "a bisect",
		  2,
		  12,
		  1,
		  { 2.67e-4, 2.70e-4, 2.75e-4, 2.58e-4, 3.08e-4, 3.44e-4, 3.75e-4, 4.20e-4, 5.09e-4,
		    6.31e-4, 9.05e-4, 9.78e-4 } },
		{ "merge-k-lists' heap merge",
		  32,
		  6,
		  3,
		  { 8.141e-3, 16.03e-3, 37.05e-3, 74.96e-3, 130.9e-3, 337.7e-3 } },
	};
	for (size_t m = 0; m < sizeof(measured) / sizeof(measured[0]); m++) {
		double nn[12];
		for (size_t i = 0; i < measured[m].k; i++)
			nn[i] = measured[m].n0 * (double)(1u << i);
		got = problem_fit(nn, measured[m].t, measured[m].k, &conf, &alt);
		CHECK(got == measured[m].cls, "%s's measured curve fitted as %s (%.3f), not %s",
		      measured[m].what, problem_complexity_class(got), conf,
		      problem_complexity_class(measured[m].cls));
	}
}

/*
 * The figures of a result: after a compile error each test is SKIPPED
 * without figures (they were "-1.00 ms / 0 KB"); a TLE shows at least its
 * limit (851 ms of a 1000 ms limit was shown); the summary's memory is the
 * peak over its tests (8.2 MB beside tests of 14 MB was shown); a problem
 * without limits.submit_cpu_ms gets 2 x cpu_ms + 100 ms a test, at most
 * 20 s (it was 20 s: an infinite loop held a Submit ~35 s).
 */
static void result_figures(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/pair-sum", fixtures);
	struct problem *p = loads(path);
	if (!p)
		return;
	size_t n = p->nsamples;
	REQUIRE(n >= 2, "pair-sum has %zu samples", n);
	struct judge_test_result tests[2];
	struct judge_result res = { .verdict = JUDGE_VERDICT_OK, .mem_kb = 8400, .cpu_ms = 10 };

	/* A compile error: no test ran. */
	res.compile_error = json_pack("{s:s, s:s}", "type", "SyntaxError", "message", "bad");
	for (size_t i = 0; i < 2; i++)
		tests[i] = (struct judge_test_result){ .verdict = JUDGE_VERDICT_CE, .cpu_ms = -1 };
	res.tests = tests;
	res.ntests = 2;
	json_t *o = problem_result_json(p, NULL, &res, n, false);
	REQUIRE(o, "problem_result_json");
	CHECK(!strcmp(json_string_value(json_object_get(o, "verdict")), "CE"), "summary CE");
	for (size_t i = 0; i < 2; i++) {
		json_t *t = json_array_get(json_object_get(o, "tests"), i);
		CHECK(!strcmp(json_string_value(json_object_get(t, "verdict")), "SKIPPED"),
		      "test %zu after a compile error: %s", i,
		      json_string_value(json_object_get(t, "verdict")));
		CHECK(!json_object_get(t, "cpu_ms") && !json_object_get(t, "mem_kb"),
		      "test %zu after a compile error has figures", i);
	}
	json_decref(o);
	json_decref(res.compile_error);
	res.compile_error = NULL;

	/* A TLE measured under its limit; memory above the sandbox's figure. */
	json_t *tle = json_pack("{s:s, s:s}", "type", "TimeLimitExceeded", "message", "slow");
	tests[0] = (struct judge_test_result){ .cpu_ms = 851, .mem_kb = 14000, .error = tle };
	tests[1] = (struct judge_test_result){ .cpu_ms = 1,
					       .mem_kb = 14300,
					       .value = json_pack("[i,i]", 0, 1) };
	o = problem_result_json(p, NULL, &res, n, false);
	REQUIRE(o, "problem_result_json");
	json_t *t0 = json_array_get(json_object_get(o, "tests"), 0);
	CHECK(!strcmp(json_string_value(json_object_get(t0, "verdict")), "TLE"), "TLE");
	CHECK(json_number_value(json_object_get(t0, "cpu_ms")) >= (double)p->limits.cpu_ms,
	      "a TLE shows %.1f ms under its limit of %u ms",
	      json_number_value(json_object_get(t0, "cpu_ms")), p->limits.cpu_ms);
	CHECK(json_number_value(json_object_get(o, "max_cpu_ms")) >= (double)p->limits.cpu_ms,
	      "max_cpu_ms under the limit");
	CHECK(json_integer_value(json_object_get(o, "mem_kb")) == 14300,
	      "the summary's memory %lld is not the tests' peak 14300",
	      (long long)json_integer_value(json_object_get(o, "mem_kb")));
	json_decref(o);
	json_decref(tle);
	json_decref(tests[1].value);
	problem_destroy(p);

	/* The default Submit budget. */
	snprintf(path, sizeof(path), "%s/growth", fixtures);
	p = loads(path);
	if (!p)
		return;
	uint64_t want = 2 * (uint64_t)p->limits.cpu_ms + 100 * (uint64_t)p->ntests;
	CHECK(p->submit_cpu_ms == (want < 20000 ? want : 20000),
	      "default submit_cpu_ms %u, want 2 x %u + 100 x %zu", p->submit_cpu_ms,
	      p->limits.cpu_ms, p->ntests);
	problem_destroy(p);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2, "usage: test-problem FIXTURES_DIR");
	fixtures = argv[1];
	snprintf(root, sizeof(root), "/tmp/test-problem-XXXXXX");
	REQUIRE(mkdtemp(root), "mkdtemp");
	bad_inputs();
	katas();
	fixtures_roundtrip();
	fit();
	result_figures();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	CHECK_DONE();
}
