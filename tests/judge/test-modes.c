/*
 * test-modes.c - test modes end to end: judge, sandbox, harness, comparator.
 *
 * test-harness.c checks the harness alone; this file checks the seams: the
 * zygote imports the harness inside the minimal root, the core reads its
 * result lines, and judge_result_classify()/judge_compare_verdict() turn them
 * into the verdicts a submission shows.  Each case is a real sandboxed run.
 * Needs root and cgroups (as the judge does); exits 77 without them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "compare.h"

#include "check.h"

/* Captured stdout of the run in progress (capped by the judge anyway). */
static char out_buf[65536];
static size_t out_len;

static void on_output(void *ud, uint64_t run_id, enum judge_stream stream, const char *data,
		      size_t len)
{
	(void)ud;
	(void)run_id;
	if (stream != JUDGE_STDOUT)
		return;
	if (len > sizeof(out_buf) - 1 - out_len)
		len = sizeof(out_buf) - 1 - out_len;
	memcpy(out_buf + out_len, data, len);
	out_len += len;
	out_buf[out_len] = '\0';
}

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

	if (!v) {
		fprintf(stderr, "bad JSON in the test itself (%s): %s\n", err.text, text);
		exit(1);
	}
	return v;
}

static const char *vname(enum judge_verdict v)
{
	const char *s = judge_verdict_str(v);

	return s && *s ? s : "NONE";
}

/*
 * Runs code against tests (JSON array) and checks each test's final verdict
 * against want (space-separated names) after comparing with expected (JSON
 * array of canonical values) under the comparator spec.
 */
static void run_case(struct judge *j, const char *label, enum judge_mode mode, const char *code,
		     const char *entry, const char *tests, const char *expected, const char *spec,
		     uint32_t cpu_ms, const char *want)
{
	struct judge_request req;
	struct judge_result res;
	struct judge_cmp cmp;
	json_t *t = parse(tests), *exp = parse(expected);
	char got[256] = "";
	int rc;

	memset(&req, 0, sizeof(req));
	req.mode = mode;
	req.code = code;
	req.code_len = strlen(code);
	req.entry = entry;
	req.tests = t;
	req.limits.cpu_ms = cpu_ms;
	out_len = 0;
	out_buf[0] = '\0';
	judge_cmp_parse(spec, &cmp);
	rc = judge_run(j, &req, on_output, NULL, &res);
	CHECK(rc == 0, "%s: judge_run: %s", label, judge_strerror(rc));
	if (rc)
		goto out;
	for (size_t i = 0; i < res.ntests; i++) {
		enum judge_verdict v = res.tests[i].verdict;

		if (v == JUDGE_VERDICT_NONE)
			v = judge_compare_verdict(json_array_get(exp, i), res.tests[i].value, &cmp);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
			 vname(v));
	}
	CHECK(strcmp(got, want) == 0, "%s: verdicts \"%s\", want \"%s\" (run %s, %s)", label, got,
	      want, vname(res.verdict), res.message ? res.message : "");
	/* Tracebacks that reach a user never show the harness. */
	for (size_t i = 0; i < res.ntests; i++) {
		const char *tb =
			json_string_value(json_object_get(res.tests[i].error, "traceback"));

		CHECK(!tb || !strstr(tb, "harness"), "%s: test %zu traceback: %s", label, i, tb);
	}
	judge_result_finish(&res);
out:
	json_decref(t);
	json_decref(exp);
}

int main(void)
{
	struct judge_config cfg;
	struct judge *j;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.pool_size = 2;
	rc = judge_create(&cfg, &j);
	if (rc == JUDGE_EPRIV || rc == JUDGE_ENOCGROUP) {
		fprintf(stderr, "skip: %s\n", judge_strerror(rc));
		return 77;
	}
	if (rc) {
		fprintf(stderr, "judge_create: %s\n", judge_strerror(rc));
		return 1;
	}

	run_case(j, "solution", JUDGE_MODE_SOLUTION,
		 "class Solution:\n"
		 "    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
		 "        seen = {}\n"
		 "        for i, n in enumerate(nums):\n"
		 "            if target - n in seen:\n"
		 "                return [seen[target - n], i]\n"
		 "            seen[n] = i\n",
		 "twoSum",
		 "[{\"name\": \"a\", \"args\": [[2, 7, 11, 15], 9]},"
		 " {\"name\": \"b\", \"args\": [[3, 2, 4], 6]},"
		 " {\"name\": \"c\", \"args\": [[1, 2], 7]}]",
		 "[[0, 1], [1, 2], [0, 1]]", NULL, 0, "AC AC WA");

	run_case(j, "value form", JUDGE_MODE_FUNCTION,
		 "def f(n):\n"
		 "    return [float(n), 2**80, (n,), {n, 2}, None, True, float('nan')]\n",
		 "f", "[{\"args\": [1]}, {\"args\": [2]}]",
		 "[[1.0, {\"$int\": \"1208925819614629174706176\"}, {\"$tuple\": [1]},"
		 " {\"$set\": [2, 1]}, null, true, {\"$float\": \"nan\"}],"
		 " [2, {\"$int\": \"1208925819614629174706176\"}, {\"$tuple\": [2]},"
		 " {\"$set\": [2]}, null, true, {\"$float\": \"nan\"}]]",
		 "exact", 0, "AC WA");

	run_case(j, "float comparator", JUDGE_MODE_FUNCTION, "def f():\n    return 0.1 + 0.2\n",
		 "f", "[{\"args\": []}]", "[0.3]", "float", 0, "AC");
	run_case(j, "exact comparator", JUDGE_MODE_FUNCTION, "def f():\n    return 0.1 + 0.2\n",
		 "f", "[{\"args\": []}]", "[0.3]", "exact", 0, "WA");
	run_case(j, "unordered", JUDGE_MODE_FUNCTION, "def f(a):\n    return sorted(a)[::-1]\n",
		 "f", "[{\"args\": [[1, 3, 2]]}]", "[[1, 2, 3]]", "unordered", 0, "AC");

	/* Prints reach the output stream; the hidden input never reaches a value. */
	run_case(j, "prints", JUDGE_MODE_FUNCTION,
		 "def f(x):\n    print('ARGS', x)\n    return len(x)\n", "f",
		 "[{\"args\": [\"hidden-input-xyz\"]}]", "[16]", NULL, 0, "AC");
	CHECK(strstr(out_buf, "ARGS hidden-input-xyz") != NULL, "stdout: %s", out_buf);

	run_case(j, "exceptions", JUDGE_MODE_FUNCTION, "def f(n):\n    return 10 // n\n", "f",
		 "[{\"args\": [0]}, {\"args\": [5]}, {\"args\": [\"x\"]}]", "[0, 2, 0]", NULL, 0,
		 "RE AC RE");

	run_case(j, "compile error", JUDGE_MODE_FUNCTION, "def f(:\n    pass\n", "f",
		 "[{\"args\": []}, {\"args\": []}]", "[1, 1]", NULL, 0, "CE CE");
	run_case(j, "missing method", JUDGE_MODE_SOLUTION,
		 "class Solution:\n    def g(self):\n        pass\n", "f", "[{\"args\": []}]",
		 "[1]", NULL, 0, "CE");

	/* A test that loops ends the run: the rest are skipped, not failed. */
	run_case(j, "time limit", JUDGE_MODE_FUNCTION,
		 "def f(n):\n    while n:\n        pass\n    return n\n", "f",
		 "[{\"args\": [0]}, {\"args\": [1]}, {\"args\": [0]}]", "[0, 0, 0]", NULL, 300,
		 "AC TLE SKIPPED");

	/* MemoryError raised in a test is MLE for that test only. */
	run_case(j, "memory error", JUDGE_MODE_FUNCTION, "def f(n):\n    return len([0] * n)\n",
		 "f", "[{\"args\": [4611686018427387904]}, {\"args\": [3]}]", "[0, 3]", NULL, 0,
		 "MLE AC");

	run_case(j, "exit without reporting", JUDGE_MODE_FUNCTION,
		 "import os\ndef f():\n    os._exit(0)\n", "f", "[{\"args\": []}, {\"args\": []}]",
		 "[1, 1]", NULL, 0, "RE SKIPPED");

	run_case(j, "design", JUDGE_MODE_DESIGN,
		 "class Counter2:\n"
		 "    def __init__(self, start):\n"
		 "        self.n = start\n"
		 "    def inc(self, by):\n"
		 "        self.n += by\n"
		 "        return self.n\n",
		 "Counter2",
		 "[{\"args\": {\"calls\": [\"Counter2\", \"inc\", \"inc\"], \"args\": [[1], [2], "
		 "[3]]}},"
		 " {\"args\": {\"calls\": [\"Counter2\", \"inc\"], \"args\": [[0], [\"x\"]]}}]",
		 "[[null, 3, 6], [null, 1]]", NULL, 0, "AC RE");

	run_case(j, "linked list", JUDGE_MODE_SOLUTION,
		 "class Solution:\n"
		 "    def middleNode(self, head: Optional[ListNode]) -> Optional[ListNode]:\n"
		 "        slow = fast = head\n"
		 "        while fast and fast.next:\n"
		 "            slow, fast = slow.next, fast.next.next\n"
		 "        return slow\n",
		 "middleNode", "[{\"args\": [[1, 2, 3, 4, 5]]}, {\"args\": [[1, 2, 3, 4, 5, 6]]}]",
		 "[[3, 4, 5], [4, 5, 6]]", NULL, 0, "AC AC");

	judge_destroy(j);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
