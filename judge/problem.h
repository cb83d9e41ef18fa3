/*
 * problem.h - problems: loading, validating and judging against them.
 *
 * Boundary: this is a library of its own (libjudge-problem), beside the
 * judge's core and not part of it.  The core stays libc + libseccomp +
 * jansson; this part adds libyaml (problem.yaml, Py-Katas files) and knows
 * the problem format of docs/problems.md.  It knows nothing of rooms,
 * sockets or storage: the server stores what problem_json() gives and
 * rebuilds a problem with problem_from_json(); tandem-run and `tandem
 * problems check` judge files against a problem without any server.
 *
 * Life cycle: problem_load() or problem_from_json() make a struct problem
 * (owned by the caller, freed with problem_destroy()).  Every error found
 * is appended to an `errors` array as a string "file:line: reason" (line
 * omitted when there is none); a problem with any error is not returned.
 */
#ifndef TANDEM_JUDGE_PROBLEM_H
#define TANDEM_JUDGE_PROBLEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "judge.h"

/* Bounds that make a problem "bad input" rather than a slow one. */
#define PROBLEM_MAX_FILE      (4u << 20)  /* problem.yaml, a kata file, gen.py, a solution */
#define PROBLEM_MAX_TESTFILE  (16u << 20) /* each tests/ .jsonl file */
#define PROBLEM_MAX_STATEMENT (256u << 10)
#define PROBLEM_MAX_STARTER   (64u << 10)
#define PROBLEM_MAX_TESTS     500 /* samples + hidden */
#define PROBLEM_MAX_SAMPLES   20
#define PROBLEM_MAX_CUSTOM    20 /* custom tests of one Run */

/* One test.  hidden tests never leave the server toward a browser. */
struct problem_test {
	char *name;	  /* "sample 1", "hidden 3", or the file's own name */
	json_t *args;	  /* owned: the argument list (design: {"calls","args"}) */
	json_t *expected; /* owned; NULL for a custom test without one */
	json_t *extra;	  /* owned; NULL or {"types","return_type","result_arg"} of this test */
	bool hidden;
};

/* A reference solution shipped with the problem (solutions/<kind>/x.py). */
struct problem_solution {
	char *path; /* as found, for messages */
	char *kind; /* "accepted", "wrong" or "slow" */
	char *code;
};

struct problem {
	char *id, *title, *difficulty, *statement, *starter, *entry;
	char *compare; /* the comparator text, e.g. "unordered" */
	json_t *tags;  /* owned array of strings */
	enum judge_mode kind;
	json_t *signature_extra; /* owned object: types, return_type, result_arg (may be empty) */
	json_t *params;		 /* owned array of parameter names read from the starter */
	int min_args, max_args;	 /* arity of the entry; max_args -1: unbounded */
	struct judge_limits limits;
	uint32_t submit_cpu_ms;	    /* summed CPU budget of a Submit */
	uint32_t max_n;		    /* complexity: largest n given to the generator */
	char *gen;		    /* gen.py source or NULL */
	struct problem_test *tests; /* samples first, then hidden */
	size_t ntests, nsamples;
	struct problem_solution *solutions;
	size_t nsolutions;
	struct judge_cmp cmp;
	char *source; /* where it was loaded from (folder or file), or NULL */
};

/*
 * Loads a problem folder (problem.yaml, tests/, gen.py, solutions/) or a
 * Py-Katas YAML file.  Returns 0 with *out set, or -1 with at least one
 * message appended to errors (an array, borrowed).  path is only read.
 */
int problem_load(const char *path, struct problem **out, json_t *errors);

/*
 * Builds a problem from its JSON form (problem_json(p, PROBLEM_VIEW_STORE),
 * or an admin's upload: the problem.yaml keys plus "tests": {"sample": [...],
 * "hidden": [...]} and optional "gen").  where names the source in
 * messages ("upload").  Same validation, same results, as problem_load().
 */
int problem_from_json(const json_t *o, const char *where, struct problem **out, json_t *errors);

/* Frees p and everything it owns; accepts NULL. */
void problem_destroy(struct problem *p);

enum problem_view {
	PROBLEM_VIEW_ROOM,  /* what every seat may see: samples, hidden count */
	PROBLEM_VIEW_ADMIN, /* the room view plus hidden tests */
	PROBLEM_VIEW_STORE, /* everything problem_from_json() needs (no solutions) */
};

/* A new JSON object of p as seen by view; NULL on OOM. */
json_t *problem_json(const struct problem *p, enum problem_view view);

/*
 * Checks a list of custom tests typed by a user (a Run in mode "tests"):
 * each {"args", optional "name", optional "expected"} must fit p's
 * signature.  Returns 0, or -1 with a message in *why (a new string the
 * caller frees).
 */
int problem_check_custom(const struct problem *p, const json_t *tests, char **why);

/*
 * The harness's "tests" array for p's first n tests (no expected values:
 * they never enter the sandbox) followed by custom (may be NULL).  New
 * reference; NULL on OOM.
 */
json_t *problem_harness_tests(const struct problem *p, size_t n, const json_t *custom);

/* The harness request options of p (types, return_type, result_arg). */
json_t *problem_harness_options(const struct problem *p);

/*
 * The verdict of test t (index i of the run: p's tests, then custom tests
 * whose expected values are in custom) after the judge classified it:
 * compares a value against the expected one.
 */
enum judge_verdict problem_test_verdict(const struct problem *p, size_t i, const json_t *custom,
					const struct judge_test_result *t);

/*
 * One test's entry of a result, as tandem-run prints it and the server
 * sends it (run.test): name, hidden, verdict, cpu_ms, mem_kb and, unless
 * the test is hidden and redact is set, args, expected, actual, stdout,
 * stderr, error, hint.  A redacted hidden test is named "hidden <hidden_no>".
 * New reference; NULL on OOM.
 */
json_t *problem_test_json(const struct problem *p, size_t i, const json_t *custom,
			  const struct judge_test_result *t, enum judge_verdict v, size_t hidden_no,
			  bool redact);

/*
 * A run of p's first n tests then custom ones (problem_harness_tests): the
 * index of the run's test i in the numbering the functions here take
 * (p's tests 0..ntests-1, then custom test k as ntests + k).
 */
size_t problem_run_index(const struct problem *p, size_t n, size_t i);

/*
 * The summary and every test of a finished run of p's first n tests (then
 * custom ones): verdict, accepted, passed, total, cpu_ms, max_cpu_ms,
 * mem_kb, wall_ms, budget_exceeded, compile_error, tests.  New reference.
 */
json_t *problem_result_json(const struct problem *p, const json_t *custom,
			    const struct judge_result *res, size_t n, bool show_hidden);

/*
 * The reverse of judge_result_json() (and of one of its "tests" entries):
 * fills res (or t) from that JSON, so a result that travelled between
 * processes can be judged with the functions above.  The json_t members
 * of res/t are new references; release with judge_result_finish() (for t:
 * problem_test_result_finish()).  Returns 0, or -1 when o is malformed.
 */
int problem_result_from_json(const json_t *o, struct judge_result *res);
int problem_test_result_from_json(const json_t *o, struct judge_test_result *t);
void problem_test_result_finish(struct judge_test_result *t);

/*
 * A short hint for a wrong answer that is a form mistake rather than a
 * wrong value: None returned (printed instead?), a tuple or set where a
 * list was expected, an object the value format cannot carry.  Static
 * string or NULL.
 */
const char *problem_wrong_hint(const json_t *expected, const json_t *got);

/*
 * Judges code against p with a judge the caller created (blocking: CLI and
 * tests only).  submit: every test (samples only otherwise); the run stops
 * when the summed CPU time passes p->submit_cpu_ms.  Returns the
 * tandem-run JSON line object: verdict, passed, total, cpu_ms, mem_kb,
 * wall_ms, tests [{name, verdict, cpu_ms, mem_kb, ...}] (hidden tests
 * without args, expected or output unless show_hidden), compile_error.
 * NULL on OOM.
 */
json_t *problem_judge(struct judge *j, const struct problem *p, const char *code, size_t len,
		      bool submit, bool show_hidden);

/*
 * The request of a run of code against p (samples, or every test with
 * submit), for judge_submit(): req points into code and into *tests and
 * *opts (new references the caller releases once judge_submit() returned).
 * Returns 0, or -1 on OOM.
 */
int problem_prepare(const struct problem *p, const char *code, size_t len, bool submit,
		    struct judge_request *req, json_t **tests, json_t **opts);

/*
 * Whether reference solution sol's judged result r (problem_result_json,
 * every test) is what its kind says; appends the failure and returns 1
 * when not, else 0.
 */
int problem_check_one(const struct problem *p, const struct problem_solution *sol, const json_t *r,
		      json_t *failures);

/*
 * Runs every reference solution of p (all tests, p's limits).  Appends a
 * message per failure to failures: an accepted solution not accepted on
 * every test, or a wrong or slow one accepted.  Returns the number of
 * failures, or -1 when the judge failed.
 */
int problem_check(struct judge *j, const struct problem *p, json_t *failures);

/*
 * The complexity estimate (docs/problems.md): runs code on inputs of
 * doubling size from p's generator, in fresh sandboxes, and fits the
 * seven classes.  Returns {"class", "confidence", "alternative", "points",
 * "mem_growth_kb", "wall_ms"} (class null plus verdict/message when the
 * code failed), or NULL on OOM.  p must have a generator.
 */
json_t *problem_complexity(struct judge *j, const struct problem *p, const char *code, size_t len);
/*
 * problem_complexity() that calls pump(ud) at least every 20 ms while it
 * waits on its sandboxes, so that the caller's other work goes on (the
 * supervisor reads and starts other rooms' runs meanwhile; their events
 * are dispatched by the same judge_wait()).  pump must not start another
 * estimate.
 */
json_t *problem_complexity_pumped(struct judge *j, const struct problem *p, const char *code,
				  size_t len, void (*pump)(void *ud), void *ud);

/*
 * The fit alone, for tests: n[k], t_ms[k] (k < npoints, n ascending) ->
 * class index (0..6 in the order of problem_complexity_class()), its
 * confidence and the alternative (-1 when none).
 */
int problem_fit(const double *n, const double *t_ms, size_t npoints, double *confidence,
		int *alternative);
/* "O(1)", "O(log n)", ... for index 0..6; NULL otherwise. */
const char *problem_complexity_class(int index);

#endif /* TANDEM_JUDGE_PROBLEM_H */
