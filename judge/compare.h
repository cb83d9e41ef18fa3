/*
 * compare.h - comparing test results and deciding a test's verdict.
 *
 * The Python harness returns each test's value in the canonical JSON value
 * form (docs/judge-values.md); expected values of hidden tests never enter
 * the sandbox, so the comparison happens here, outside it.  This part of the
 * judge knows nothing of sandboxes, rooms or sockets: it reads jansson
 * values (or JSON text) and returns verdicts.  judge.h includes this header
 * at its end; other modules include judge.h only.
 *
 * Invariants: no function here keeps a pointer to its arguments after it
 * returns or allocates memory the caller must free, and all are safe to call
 * from any thread (no global state but the allocator hook that tests set
 * before any other call).
 */
#ifndef TANDEM_JUDGE_COMPARE_H
#define TANDEM_JUDGE_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "judge.h"

/*
 * Error codes of this part, in a range of their own (-201...).  Same shape
 * as JUDGE_ERRNO_MAP; judge_strerror() falls back to judge_compare_strerror().
 */
#define JUDGE_COMPARE_ERRNO_MAP(X)                                      \
	X(EXPECTED, -201, "expected value is not valid canonical JSON") \
	X(GOT, -202, "returned value is not valid canonical JSON")      \
	X(CMP, -203, "invalid comparator specification")                \
	X(VNOMEM, -204, "out of memory while comparing values")         \
	X(VERDICT, -205, "run verdict cannot end a test run")

enum judge_compare_err {
#define JUDGE__COMPARE_ERR(name, code, msg) JUDGE_E##name = (code),
	JUDGE_COMPARE_ERRNO_MAP(JUDGE__COMPARE_ERR)
#undef JUDGE__COMPARE_ERR
};

/* A static string for a code of the list above, or NULL for any other. */
const char *judge_compare_strerror(int err);

/*
 * Comparators.  A problem names one in problem.yaml; judge_cmp_parse() reads
 * that text.  docs/judge-values.md specifies the rules; in short:
 *  - exact: structural equality of canonical values; true != 1, 1 != 1.0,
 *    a tuple != a list, NaN equals NaN, -0.0 equals 0.0;
 *  - unordered: a top-level list or tuple is compared as a multiset;
 *  - float: where either side is a float, numbers are equal within the
 *    tolerance (abs_tol, or rel_tol times the larger magnitude), at any
 *    depth; ints against ints stay exact.
 * unordered and float combine.
 */
enum judge_cmp_flags {
	JUDGE_CMP_UNORDERED = 1u << 0,
	JUDGE_CMP_FLOAT = 1u << 1,
	/* A tuple equals a list holding equal elements (for lenient problems). */
	JUDGE_CMP_TUPLE_AS_LIST = 1u << 2,
};

/* A comparator: flags from enum judge_cmp_flags and the float tolerances. */
struct judge_cmp {
	unsigned flags;
	double rel_tol;
	double abs_tol;
};

/* Sets cmp to exact with the default tolerances (1e-9 relative and absolute). */
void judge_cmp_init(struct judge_cmp *cmp);

/*
 * Parses a comparator specification: words separated by commas or spaces
 * among "exact", "unordered", "float", "tuple_as_list", "rel=X", "abs=X"
 * (e.g. "unordered,float,rel=1e-6").  NULL or "" is exact.  Returns 0, or
 * JUDGE_ECMP with cmp set to exact.  spec is only read.
 */
int judge_cmp_parse(const char *spec, struct judge_cmp *cmp);

/*
 * Compares an expected value with a returned one, both jansson values in
 * canonical form (only read).  A NULL cmp is exact.  Returns 0 and sets
 * *equal, or JUDGE_EEXPECTED / JUDGE_EGOT when that side is not canonical
 * form (an IE, never a WA), or JUDGE_EVNOMEM; *equal is then false.
 */
int judge_compare_json(const json_t *expected, const json_t *got, const struct judge_cmp *cmp,
		       bool *equal);

/*
 * The same on JSON text (len bytes each, need not be NUL-terminated), parsed
 * as the judge parses result lines.  Nothing is retained.
 */
int judge_compare(const char *expected, size_t expected_len, const char *got, size_t got_len,
		  const struct judge_cmp *cmp, bool *equal);

/*
 * Verdict of a test whose value arrived without an error: AC or WA against
 * expected (AC when expected is NULL: a custom Run has nothing to compare
 * with), IE when either value is not canonical form.  Both only read.
 */
enum judge_verdict judge_compare_verdict(const json_t *expected, const json_t *value,
					 const struct judge_cmp *cmp);

/*
 * Classifies a test run's result lines before any comparison, so the core
 * and the comparator agree on one set of rules.  first is the harness's
 * first line ({"compile": ...} or {"internal": ...}; NULL if none came),
 * lines[i] test i's line (NULL if none came), run the verdict of the whole
 * run (OK, RE, TLE, MLE, OLE or IE).  Writes verdicts[0..n):
 *  - {"compile": "error"}: every test CE; {"internal"} or a line of an
 *    unknown shape: every test IE;
 *  - a test line with an error: MLE for MemoryError, IE for HarnessError
 *    (a malformed test), RE otherwise; with a value: JUDGE_VERDICT_NONE,
 *    to be compared (judge_compare_verdict());
 *  - the first test with no line gets the run's verdict (RE when the run
 *    ended "OK", i.e. the code exited without reporting), the rest SKIPPED;
 *    with no first line at all, test 0 is that first test;
 *  - every test reported yet the run ended TLE, MLE or OLE (killed after
 *    the last line, e.g. output flushed at exit): the last test gets it.
 * Returns 0, or JUDGE_EVERDICT for another run verdict (all tests IE).
 * Everything is only read; verdicts is caller memory.
 */
int judge_tests_classify(const json_t *first, enum judge_verdict run, const json_t *const *lines,
			 size_t n, enum judge_verdict *verdicts);

/*
 * The same rules on the judge's own result of a test-mode run: sets
 * res->tests[i].verdict from what the harness reported (error, value, or
 * neither when no line came), res->compile_error, internal (the harness
 * sent {"internal"}) and the run's verdict, which the caller keeps in
 * res->verdict.  Returns 0, or JUDGE_EVERDICT (all tests IE).
 */
int judge_result_classify(struct judge_result *res, enum judge_verdict run, bool internal);

/*
 * The submission's verdict: the first test verdict that is not AC (AC when
 * all are, or n is 0); *passed (may be NULL) receives the number of ACs.
 */
enum judge_verdict judge_verdicts_summary(const enum judge_verdict *verdicts, size_t n,
					  size_t *passed);

#endif /* TANDEM_JUDGE_COMPARE_H */
