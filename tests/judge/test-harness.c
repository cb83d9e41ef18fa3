/*
 * test-harness.c - the Python harness's logic, without a sandbox.
 *
 * Runs Debian's /usr/bin/python3 -I -S -B on judge/py/harness_cli.py with
 * crafted requests (stdin), collecting the user's stdout and stderr and the
 * harness's result lines (fd 3) apart, then checks them: every mode,
 * tracebacks free of harness frames, compile errors, prints kept out of the
 * results, huge and cyclic values capped, ListNode/TreeNode round trips and
 * the canonical value form read back by the C comparator.  Sandboxing is
 * tested elsewhere; a failure here is a harness bug.
 *
 * Usage: test-harness PATH/TO/harness_cli.py
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "compare.h"

#include "check.h"

#define PYTHON "/usr/bin/python3"

static const char *cli;

/* What one harness process produced. */
struct run {
	char *out, *err, *res; /* NUL-terminated captures */
	size_t res_len;
	json_t *first; /* the compile / internal line */
	json_t *lines[32];
	size_t nlines;
	int status;
};

/* For messages: glibc prints "(null)", but the compiler rightly objects. */
static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

static bool is(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

static char *slurp(FILE *f, size_t *len)
{
	long size;
	char *buf;

	fflush(f);
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		return NULL;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return NULL;
	if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	if (len)
		*len = (size_t)size;
	return buf;
}

static void run_finish(struct run *r)
{
	free(r->out);
	free(r->err);
	free(r->res);
	json_decref(r->first);
	for (size_t i = 0; i < r->nlines; i++)
		json_decref(r->lines[i]);
	memset(r, 0, sizeof(*r));
}

/* Runs the harness on request (a JSON object; reference stolen). */
static void run_harness(json_t *request, struct run *r)
{
	FILE *in = tmpfile(), *out = tmpfile(), *err = tmpfile(), *res = tmpfile();
	char *text = json_dumps(request, JSON_COMPACT);
	pid_t pid;

	memset(r, 0, sizeof(*r));
	json_decref(request);
	if (!in || !out || !err || !res || !text) {
		fprintf(stderr, "test set-up failed: %s\n", strerror(errno));
		exit(1);
	}
	fputs(text, in);
	fflush(in);
	rewind(in);
	free(text);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		if (dup2(fileno(in), 0) < 0 || dup2(fileno(out), 1) < 0 ||
		    dup2(fileno(err), 2) < 0 || dup2(fileno(res), 3) < 0)
			_exit(126);
		execl(PYTHON, PYTHON, "-I", "-S", "-B", cli, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
		;
	r->out = slurp(out, NULL);
	r->err = slurp(err, NULL);
	r->res = slurp(res, &r->res_len);
	fclose(in);
	fclose(out);
	fclose(err);
	fclose(res);
	if (!r->out || !r->err || !r->res) {
		fprintf(stderr, "reading captures failed\n");
		exit(1);
	}
	CHECK(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
	      "harness_cli exited with status %d; stderr:\n%s", r->status, r->err);

	/* One JSON object per line: the first line, then one per test. */
	char *line = r->res;

	while (*line) {
		char *nl = strchr(line, '\n');
		json_error_t jerr;
		json_t *v;

		CHECK(nl != NULL, "result line without newline");
		if (!nl)
			break;
		v = json_loadb(line, (size_t)(nl - line), JSON_ALLOW_NUL, &jerr);
		CHECK(v != NULL, "result line is not JSON (%s): %.200s", jerr.text, line);
		if (v && !r->first)
			r->first = v;
		else if (v && r->nlines < sizeof(r->lines) / sizeof(r->lines[0]))
			r->lines[r->nlines++] = v;
		else
			json_decref(v);
		line = nl + 1;
	}
}

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

	if (!v) {
		fprintf(stderr, "bad JSON in the test itself (%s): %s\n", jerr.text, text);
		exit(1);
	}
	return v;
}

/* A request: tests_json is a JSON array of test objects. */
static json_t *request(const char *mode, const char *code, const char *entry,
		       const char *tests_json)
{
	return json_pack("{s:s, s:s, s:s, s:o}", "mode", mode, "code", code, "entry", entry,
			 "tests", parse(tests_json));
}

static const char *first_state(const struct run *r)
{
	return json_string_value(json_object_get(r->first, "compile"));
}

static const char *error_field(const json_t *line, const char *field)
{
	return json_string_value(json_object_get(json_object_get(line, "error"), field));
}

/* Test i's value equals the canonical text expected under comparator spec. */
static void check_value(const struct run *r, size_t i, const char *expected, const char *spec)
{
	struct judge_cmp cmp;
	json_t *exp = parse(expected);
	json_t *value;
	bool equal = false;
	int rc;

	judge_cmp_parse(spec, &cmp);
	if (i >= r->nlines) {
		CHECK(i < r->nlines, "test %zu has no result line (%zu lines)", i, r->nlines);
		json_decref(exp);
		return;
	}
	value = json_object_get(r->lines[i], "value");
	rc = judge_compare_json(exp, value, &cmp, &equal);
	char *got = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);

	CHECK(rc == 0 && equal, "test %zu: expected %s, got %.300s (rc %d)", i, expected,
	      got ? got : "(none)", rc);
	free(got);
	json_decref(exp);
}

static void check_no_error(const struct run *r, size_t i)
{
	CHECK(i < r->nlines && json_is_null(json_object_get(r->lines[i], "error")),
	      "test %zu raised: %s", i,
	      nz(i < r->nlines ? error_field(r->lines[i], "traceback") : ""));
}

static void test_function_mode(void)
{
	struct run r;
	const char *code = "def add(a, b):\n"
			   "    print('ARGS-SEEN', a, b)\n"
			   "    return a + b\n";

	run_harness(request("function", code, "add",
			    "[{\"name\": \"ints\", \"args\": [1, 2]},"
			    " {\"name\": \"mixed\", \"args\": [1, \"x\"]},"
			    " {\"name\": \"floats\", \"args\": [0.5, 0.25]},"
			    " {\"name\": \"big\", \"args\": [{\"$int\": \"99999999999999999999\"}, "
			    "1]}]"),
		    &r);
	CHECK(is(first_state(&r), "ok"), "compile ok: %s", r.res);
	CHECK(r.nlines == 4, "four result lines, got %zu", r.nlines);
	check_value(&r, 0, "3", NULL);
	check_value(&r, 2, "0.75", NULL);
	check_value(&r, 3, "{\"$int\": \"100000000000000000000\"}", NULL);
	check_no_error(&r, 0);
	/* The exception in test 1 must not stop test 2. */
	CHECK(r.nlines > 1 && is(error_field(r.lines[1], "type"), "TypeError"),
	      "test 1 is a TypeError");
	const char *tb = r.nlines > 1 ? error_field(r.lines[1], "traceback") : NULL;

	CHECK(tb && strstr(tb, "File \"solution.py\", line 3, in add"), "user frame: %s", nz(tb));
	CHECK(tb && !strstr(tb, "harness"), "no harness frame in: %s", nz(tb));
	CHECK(tb && strstr(tb, "return a + b"), "source line quoted: %s", nz(tb));
	/* cpu_ms is a number, for passing and failing tests alike. */
	for (size_t i = 0; i < r.nlines; i++) {
		json_t *cpu = json_object_get(r.lines[i], "cpu_ms");

		CHECK(json_is_number(cpu) && json_number_value(cpu) >= 0, "test %zu cpu_ms", i);
		CHECK(json_integer_value(json_object_get(r.lines[i], "test")) == (json_int_t)i,
		      "test index %zu", i);
	}
	/* Prints reach stdout only, never the result channel. */
	CHECK(strstr(r.out, "ARGS-SEEN 1 2") != NULL, "stdout: %s", r.out);
	CHECK(strstr(r.res, "ARGS-SEEN") == NULL, "a print leaked into the results");
	run_finish(&r);
}

static void test_prints_and_exits(void)
{
	struct run r;
	const char *code = "import sys\n"
			   "def f(x):\n"
			   "    print('secret', x)\n"
			   "    print('to-stderr', x, file=sys.stderr)\n"
			   "    if x == 1:\n"
			   "        sys.exit(5)\n"
			   "    return x\n";

	run_harness(request("function", code, "f",
			    "[{\"args\": [\"hidden-input\"]}, {\"args\": [1]}, {\"args\": [2]}]"),
		    &r);
	CHECK(r.nlines == 3, "three lines, got %zu", r.nlines);
	check_value(&r, 0, "\"hidden-input\"", NULL);
	CHECK(strstr(r.out, "secret hidden-input") && !strstr(r.out, "to-stderr"), "stdout: %s",
	      r.out);
	CHECK(strstr(r.err, "to-stderr hidden-input") != NULL, "stderr: %s", r.err);
	CHECK(strstr(r.res, "secret") == NULL, "print leaked into the results");
	/* sys.exit() inside a test fails that test only. */
	CHECK(r.nlines > 1 && is(error_field(r.lines[1], "type"), "SystemExit"),
	      "SystemExit reported");
	check_value(&r, 2, "2", NULL);
	run_finish(&r);
}

static void test_compile_errors(void)
{
	struct run r;

	run_harness(request("function", "def f(:\n    pass\n", "f", "[{\"args\": []}]"), &r);
	CHECK(is(first_state(&r), "error"), "syntax error: %s", r.res);
	CHECK(r.nlines == 0, "no test runs after a compile error");
	CHECK(is(error_field(r.first, "type"), "SyntaxError"), "SyntaxError: %s", r.res);
	const char *tb = error_field(r.first, "traceback");

	CHECK(tb && strstr(tb, "solution.py") && !strstr(tb, "harness"), "traceback: %s", nz(tb));
	run_finish(&r);

	run_harness(request("function", "def g():\n    return 1\n", "f", "[{\"args\": []}]"), &r);
	CHECK(is(first_state(&r), "error"), "missing function");
	CHECK(is(error_field(r.first, "type"), "NameError"), "NameError: %s", r.res);
	run_finish(&r);

	run_harness(request("solution", "class Solution:\n    def other(self):\n        pass\n",
			    "twoSum", "[{\"args\": []}]"),
		    &r);
	CHECK(is(first_state(&r), "error"), "missing method: %s", r.res);
	run_finish(&r);

	run_harness(request("solution", "def twoSum(a):\n    pass\n", "twoSum", "[{\"args\": []}]"),
		    &r);
	CHECK(is(first_state(&r), "error"), "missing Solution");
	run_finish(&r);

	run_harness(request("design", "class A:\n    def get(self):\n        return 1\n", "A",
			    "[{\"args\": {\"calls\": [\"A\", \"get\", \"put\"],"
			    " \"args\": [[], [], [1]]}}]"),
		    &r);
	CHECK(is(first_state(&r), "error"), "missing design method");
	run_finish(&r);

	/* An exception while the module body runs: no test can run either. */
	run_harness(request("function", "import no_such_module\ndef f():\n    pass\n", "f",
			    "[{\"args\": []}]"),
		    &r);
	CHECK(is(first_state(&r), "error") &&
		      is(error_field(r.first, "type"), "ModuleNotFoundError"),
	      "import error: %s", r.res);
	run_finish(&r);

	/* A malformed request is the judge's fault, reported apart. */
	run_harness(request("nonsense", "", "f", "[]"), &r);
	CHECK(r.first && json_object_get(r.first, "internal") && !first_state(&r),
	      "internal error line: %s", r.res);
	run_finish(&r);
}

static void test_solution_mode(void)
{
	struct run r;
	const char *code = "class Solution:\n"
			   "    def __init__(self):\n"
			   "        self.calls = 0\n"
			   "    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
			   "        self.calls += 1\n"
			   "        assert self.calls == 1, 'a fresh Solution per test'\n"
			   "        seen = {}\n"
			   "        for i, n in enumerate(nums):\n"
			   "            if target - n in seen:\n"
			   "                return [seen[target - n], i]\n"
			   "            seen[n] = i\n"
			   "        raise ValueError('no pair')\n";

	run_harness(request("solution", code, "twoSum",
			    "[{\"args\": [[2, 7, 11, 15], 9]}, {\"args\": [[3, 3], 6]},"
			    " {\"args\": [[1], 5]}, {\"args\": [[3, 2, 4], 6]}]"),
		    &r);
	CHECK(is(first_state(&r), "ok"), "compile: %s", r.res);
	check_value(&r, 0, "[0, 1]", NULL);
	check_value(&r, 1, "[0, 1]", NULL);
	check_value(&r, 3, "[1, 2]", NULL);
	CHECK(r.nlines > 2 && is(error_field(r.lines[2], "message"), "no pair"),
	      "ValueError message");
	const char *tb = r.nlines > 2 ? error_field(r.lines[2], "traceback") : NULL;

	CHECK(tb && strstr(tb, "in twoSum") && !strstr(tb, "harness"), "traceback: %s", nz(tb));
	run_finish(&r);
}

static void test_design_mode(void)
{
	struct run r;
	const char *code = "class MinStack:\n"
			   "    def __init__(self):\n"
			   "        self.s = []\n"
			   "    def push(self, x: int) -> None:\n"
			   "        m = min(x, self.s[-1][1]) if self.s else x\n"
			   "        self.s.append((x, m))\n"
			   "    def pop(self) -> None:\n"
			   "        self.s.pop()\n"
			   "    def top(self) -> int:\n"
			   "        return self.s[-1][0]\n"
			   "    def getMin(self) -> int:\n"
			   "        return self.s[-1][1]\n";

	run_harness(request("design", code, "MinStack",
			    "[{\"args\": {\"calls\": [\"MinStack\", \"push\", \"push\", \"push\","
			    " \"getMin\", \"pop\", \"top\", \"getMin\"],"
			    " \"args\": [[], [-2], [0], [-3], [], [], [], []]}},"
			    " {\"args\": {\"calls\": [\"MinStack\", \"push\", \"top\", \"pop\", "
			    "\"top\"],"
			    " \"args\": [[], [4], [], [], []]}},"
			    " {\"args\": {\"calls\": [\"MinStack\", \"push\", \"getMin\"],"
			    " \"args\": [[], [7], []]}}]"),
		    &r);
	CHECK(is(first_state(&r), "ok"), "compile: %s", r.res);
	check_value(&r, 0, "[null, null, null, null, -3, null, 0, -2]", NULL);
	/* A failing call reports the returns before it, and the next test still runs. */
	check_value(&r, 1, "[null, null, 4, null]", NULL);
	CHECK(r.nlines > 1 && is(error_field(r.lines[1], "type"), "IndexError"),
	      "IndexError in design call");
	check_value(&r, 2, "[null, null, 7]", NULL);
	run_finish(&r);
}

static void test_nodes(void)
{
	struct run r;
	/* Annotated parameters are built as nodes; returns become arrays again. */
	const char *code =
		"class Solution:\n"
		"    def reverseList(self, head: Optional[ListNode]) -> Optional[ListNode]:\n"
		"        prev = None\n"
		"        while head:\n"
		"            head.next, prev, head = prev, head, head.next\n"
		"        return prev\n"
		"    def invertTree(self, root: Optional[TreeNode]) -> Optional[TreeNode]:\n"
		"        if root:\n"
		"            root.left, root.right = (self.invertTree(root.right),\n"
		"                                     self.invertTree(root.left))\n"
		"        return root\n"
		"    def merge(self, lists: List[Optional[ListNode]]) -> Optional[ListNode]:\n"
		"        vals = []\n"
		"        for node in lists:\n"
		"            while node:\n"
		"                vals.append(node.val)\n"
		"                node = node.next\n"
		"        head = None\n"
		"        for v in sorted(vals, reverse=True):\n"
		"            head = ListNode(v, head)\n"
		"        return head\n"
		"    def same(self, root):\n"
		"        assert root is None or isinstance(root, TreeNode)\n"
		"        return root\n";

	run_harness(request("solution", code, "reverseList",
			    "[{\"args\": [[1, 2, 3, 4, 5]]}, {\"args\": [[]]}, {\"args\": [[7]]}]"),
		    &r);
	check_value(&r, 0, "[5, 4, 3, 2, 1]", NULL);
	check_value(&r, 1, "[]", NULL); /* None where a list is declared is [] */
	check_value(&r, 2, "[7]", NULL);
	run_finish(&r);

	run_harness(
		request("solution", code, "invertTree",
			"[{\"args\": [[4, 2, 7, 1, 3, 6, 9]]}, {\"args\": [[1, null, 2, null, 3]]},"
			" {\"args\": [[]]}, {\"args\": [[2, 1]]}]"),
		&r);
	check_value(&r, 0, "[4, 7, 2, 9, 6, 3, 1]", NULL);
	check_value(&r, 1, "[1, 2, null, 3]", NULL);
	check_value(&r, 2, "[]", NULL);
	check_value(&r, 3, "[2, null, 1]", NULL);
	run_finish(&r);

	run_harness(request("solution", code, "merge",
			    "[{\"args\": [[[1, 4, 5], [1, 3, 4], [2, 6]]]}, {\"args\": [[]]}]"),
		    &r);
	check_value(&r, 0, "[1, 1, 2, 3, 4, 4, 5, 6]", NULL);
	check_value(&r, 1, "[]", NULL);
	run_finish(&r);

	/* No annotation: the test's "types" hint says what to build. */
	run_harness(
		request("solution", code, "same",
			"[{\"args\": [[3, 9, 20, null, null, 15, 7]], \"types\": [\"TreeNode\"]},"
			" {\"args\": [[1, 2, 3, null, 4, null, 5, 6]], \"types\": "
			"[\"TreeNode\"]}]"),
		&r);
	check_value(&r, 0, "[3, 9, 20, null, null, 15, 7]", NULL);
	check_value(&r, 1, "[1, 2, 3, null, 4, null, 5, 6]", NULL);
	check_no_error(&r, 0);
	run_finish(&r);
}

static void test_value_form(void)
{
	struct run r;
	const char *code =
		"def values():\n"
		"    return [1, 1.0, True, None, 2**70, -2**70, float('nan'),\n"
		"            float('inf'), (1, 'a'), {3, 1, 2}, {'k': [1]}, {1: 'one'},\n"
		"            {'$k': 1}, b'\\x00\\xff', '\\ud800x', 'h\\u00e9\\u20ac\\U0001F600',\n"
		"            frozenset(), 'nul\\x00byte', -0.0, 1e300]\n"
		"def ident(*args):\n"
		"    return list(args)\n"
		"def kinds(*args):\n"
		"    return [type(a).__name__ for a in args]\n";
	const char *expected =
		"[1, 1.0, true, null, {\"$int\": \"1180591620717411303424\"},"
		" {\"$int\": \"-1180591620717411303424\"}, {\"$float\": \"nan\"},"
		" {\"$float\": \"inf\"}, {\"$tuple\": [1, \"a\"]}, {\"$set\": [1, 2, 3]},"
		" {\"k\": [1]}, {\"$dict\": [[1, \"one\"]]}, {\"$dict\": [[\"$k\", 1]]},"
		" {\"$bytes\": \"AP8=\"}, {\"$str\": [55296, 120]},"
		" \"h\\u00e9\\u20ac\\ud83d\\ude00\", {\"$set\": []},"
		" \"nul\\u0000byte\", 0.0, 1e300]";

	run_harness(request("function", code, "values", "[{\"args\": []}]"), &r);
	check_value(&r, 0, expected, "exact");
	/* The float form keeps its point: 1.0 stays a float on the wire. */
	CHECK(strstr(r.res, "[1,1.0,true,null,") != NULL, "wire form: %.200s", r.res);
	run_finish(&r);

	/* Arguments decode from the same form and come back unchanged. */
	char tests[2048];

	snprintf(tests, sizeof(tests), "[{\"args\": %s}]", expected);
	run_harness(request("function", code, "ident", tests), &r);
	check_value(&r, 0, expected, "exact");
	run_finish(&r);
	run_harness(request("function", code, "kinds",
			    "[{\"args\": [1, 1.0, true, {\"$tuple\": []}, {\"$set\": [[1, 2]]},"
			    " {\"$int\": \"5\"}, {\"$bytes\": \"\"}, {\"$dict\": [[1, 2]]}]}]"),
		    &r);
	check_value(&r, 0,
		    "[\"int\", \"float\", \"bool\", \"tuple\", \"set\", \"int\", \"bytes\","
		    " \"dict\"]",
		    NULL);
	run_finish(&r);
}

static void test_caps(void)
{
	struct run r;
	const char *code = "def huge():\n"
			   "    return list(range(10_000_000))\n"
			   "def cyclic():\n"
			   "    a = [1]\n"
			   "    a.append(a)\n"
			   "    return a\n"
			   "def deep():\n"
			   "    x = []\n"
			   "    for _ in range(100_000):\n"
			   "        x = [x]\n"
			   "    return x\n"
			   "def ring():\n"
			   "    a = ListNode(1, ListNode(2))\n"
			   "    a.next.next = a\n"
			   "    return a\n"
			   "def text():\n"
			   "    return 'x' * 50_000_000\n"
			   "def bigkey():\n"
			   "    return {'k' * 50_000_000: 1}\n"
			   "def many():\n"
			   "    return ['y' * 1_000_000] * 100\n"
			   "def obj():\n"
			   "    class Odd:\n"
			   "        def __repr__(self):\n"
			   "            raise RuntimeError('no repr')\n"
			   "    return [Odd(), object]\n";
	const char *names[] = { "huge", "cyclic", "deep", "ring", "text", "bigkey", "many" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		run_harness(request("function", code, names[i], "[{\"args\": []}]"), &r);
		CHECK(r.nlines == 1, "%s: one line", names[i]);
		CHECK(strstr(r.res, "\"$capped\"") != NULL, "%s capped: %.200s", names[i], r.res);
		/*
		 * A capped value is bounded on the wire (small, or the 2^22-character
		 * string budget for "many") and never accepted.
		 */
		size_t bound = strcmp(names[i], "many") == 0 ? (size_t)5 << 20 : 64 * 1024;

		CHECK(r.res_len < bound, "%s: %zu bytes of results", names[i], r.res_len);
		if (r.nlines == 1) {
			json_t *value = json_object_get(r.lines[0], "value");
			enum judge_verdict v = judge_compare_verdict(value, value, NULL);

			CHECK(v == JUDGE_VERDICT_WA, "%s: a capped value must not equal itself",
			      names[i]);
		}
		run_finish(&r);
	}
	run_harness(request("function", code, "obj", "[{\"args\": []}]"), &r);
	CHECK(strstr(r.res, "\"$repr\":\"<Odd object; repr() raised RuntimeError>\"") &&
		      strstr(r.res, "\"$repr\":\"<class 'object'>\""),
	      "reprs: %s", r.res);
	run_finish(&r);
}

static void test_tracebacks(void)
{
	struct run r;
	const char *code = "class Boom(Exception):\n"
			   "    pass\n"
			   "def inner(n):\n"
			   "    try:\n"
			   "        return 1 // n\n"
			   "    except ZeroDivisionError as e:\n"
			   "        raise Boom('wrapped') from e\n"
			   "def f(n):\n"
			   "    return inner(n)\n"
			   "def rec(n):\n"
			   "    return rec(n + 1)\n";

	run_harness(request("function", code, "f", "[{\"args\": [0]}, {\"args\": [1]}]"), &r);
	const char *tb = r.nlines ? error_field(r.lines[0], "traceback") : NULL;

	CHECK(r.nlines && is(error_field(r.lines[0], "type"), "Boom"), "user exception type: %s",
	      r.res);
	CHECK(tb && strstr(tb, "ZeroDivisionError") && strstr(tb, "direct cause") &&
		      strstr(tb, "line 9, in f") && strstr(tb, "line 7, in inner"),
	      "chained traceback: %s", nz(tb));
	CHECK(tb && !strstr(tb, "harness"), "no harness frames: %s", nz(tb));
	check_value(&r, 1, "1", NULL);
	run_finish(&r);

	/* A message with a lone surrogate must not break the result line. */
	run_harness(request("function", "def f():\n    raise ValueError('\\ud800 bad')\n", "f",
			    "[{\"args\": []}]"),
		    &r);
	CHECK(r.nlines == 1 && is(error_field(r.lines[0], "message"), "\\ud800 bad"),
	      "surrogate in a message: %s", r.res);
	run_finish(&r);

	run_harness(request("function", code, "rec", "[{\"args\": [0]}]"), &r);
	tb = r.nlines ? error_field(r.lines[0], "traceback") : NULL;
	CHECK(tb && strstr(tb, "RecursionError") && strlen(tb) < 20000, "recursion traceback: %s",
	      nz(tb));
	run_finish(&r);
}

/* In-place problems report the argument as the call left it. */
static void test_result_arg(void)
{
	struct run r;
	json_t *req;
	const char *code = "class Solution:\n"
			   "    def rotate(self, nums: List[int], k: int) -> None:\n"
			   "        k %= len(nums)\n"
			   "        nums[:] = nums[-k:] + nums[:-k]\n";

	req = request("solution", code, "rotate",
		      "[{\"args\": [[1, 2, 3, 4, 5, 6, 7], 3]}, {\"args\": [[1, 2], 5],"
		      " \"result_arg\": 7}]");
	json_object_set_new(req, "result_arg", json_integer(0));
	run_harness(req, &r);
	check_value(&r, 0, "[5, 6, 7, 1, 2, 3, 4]", NULL);
	/* A result_arg out of range is the problem's fault: HarnessError (IE). */
	CHECK(r.nlines == 2 && is(error_field(r.lines[1], "type"), "HarnessError"),
	      "bad result_arg: %s", r.res);
	run_finish(&r);
}

/* LeetCode's names are in scope without imports; builtins stay builtins. */
static void test_prelude(void)
{
	struct run r;
	const char *code = "def f() -> List[int]:\n"
			   "    q = deque([3, 1, 2])\n"
			   "    h = list(q)\n"
			   "    heapify(h)\n"
			   "    c = Counter('aab')\n"
			   "    return [heappop(h), bisect_left([1, 2, 4], 3), c['a'],\n"
			   "            pow(2, 10, 1000), gcd(12, 18), inf > 10**100,\n"
			   "            __name__, len(list(permutations([1, 2, 3])))]\n";

	run_harness(request("function", code, "f", "[{\"args\": []}]"), &r);
	check_no_error(&r, 0);
	check_value(&r, 0, "[1, 2, 2, 24, 6, true, \"solution\", 6]", NULL);
	run_finish(&r);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/harness_cli.py\n", argv[0]);
		return 2;
	}
	cli = argv[1];
	if (access(PYTHON, X_OK) != 0) {
		fprintf(stderr, "skip: %s not found\n", PYTHON);
		return 77;
	}
	test_function_mode();
	test_prints_and_exits();
	test_compile_errors();
	test_solution_mode();
	test_design_mode();
	test_nodes();
	test_value_form();
	test_caps();
	test_tracebacks();
	test_prelude();
	test_result_arg();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
