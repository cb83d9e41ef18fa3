/*
 * test-alloc.c - the judge under allocation failure (STYLE.md rule 7).
 *
 * Why it exists: every allocation of the judge goes through its hook, so
 * this test fails the 1st, 2nd, ... allocation of a whole life cycle
 * (create, one run, destroy) until the cycle needs no more, and checks
 * that each failure is reported as JUDGE_ENOMEM (or absorbed), never a
 * crash, a hang or a leak (the sanitizer build counts the leaks; the hook
 * counts live bytes here).  The cycle in which no allocation failed must
 * end OK: IE there is the judge's fault, not an absorbed failure.  Then one
 * more cycle with a hook that records every block checks that a result's
 * message and tests come from the hook too (and go back to it).  Needs
 * root and cgroups (77 otherwise).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "judge.h"

static unsigned calls, fail_at;
static long long live;

/* The blocks the hook handed out and has not had back (record mode only). */
#define BLOCKS_MAX 8192
static bool record;
static void *blocks[BLOCKS_MAX];
static size_t nblocks;

static void forget_block(void *p)
{
	for (size_t i = 0; i < nblocks; i++)
		if (blocks[i] == p) {
			blocks[i] = blocks[--nblocks];
			return;
		}
}

static bool from_hook(const void *p)
{
	for (size_t i = 0; i < nblocks; i++)
		if (blocks[i] == p)
			return true;
	return false;
}

static void *hook(void *ud, void *p, size_t old_size, size_t new_size)
{
	if (new_size == 0) {
		if (p)
			live -= (long long)old_size;
		if (record && p)
			forget_block(p);
		free(p);
		return NULL;
	}
	if (++calls == fail_at)
		return NULL;
	/*
	 * Everything about p is read before realloc, which may free it: the
	 * block list forgets it first and takes it back if realloc fails.
	 */
	long long before = p ? (long long)old_size : 0;
	uintptr_t was = (uintptr_t)p;

	if (record && p)
		forget_block(p);
	void *q = realloc(p, new_size);

	if (q)
		live += (long long)new_size - before;
	if (record && (q || was) && nblocks < BLOCKS_MAX)
		blocks[nblocks++] = q ? q : (void *)was;
	return q;
}

static void quiet(void *ud, enum judge_log_level level, const char *msg)
{
}

/*
 * A result's message and tests are the judge's allocations like any other:
 * a function-mode run over its CPU limit has both (TLE, "CPU time limit
 * exceeded", one test).  Returns the number of failures.
 */
static int result_memory(const struct judge_allocator *a)
{
	static const char code[] = "def f(x):\n    while True:\n        pass\n";
	int failures = 0;

	fail_at = 0;
	live = 0;
	nblocks = 0;
	record = true;
	struct judge_config cfg = { .pool_size = 1, .alloc = a, .log = quiet };
	struct judge *j = NULL;
	int e = judge_create(&cfg, &j);
	if (e) {
		fprintf(stderr, "result memory: create: %s\n", judge_strerror(e));
		record = false;
		return 1;
	}
	json_t *tests = json_pack("[{s:s, s:[i]}]", "name", "t1", "args", 1);
	struct judge_request req = { .mode = JUDGE_MODE_FUNCTION,
				     .code = code,
				     .code_len = sizeof(code) - 1,
				     .entry = "f",
				     .tests = tests,
				     .limits = { .cpu_ms = 100 } };
	struct judge_result res;
	e = judge_run(j, &req, NULL, NULL, &res);
	json_decref(tests);
	if (e) {
		fprintf(stderr, "result memory: run: %s\n", judge_strerror(e));
		failures++;
	} else {
		if (!res.message || !from_hook(res.message)) {
			fprintf(stderr, "result memory: message %p (\"%s\") not from the hook\n",
				(void *)res.message, res.message ? res.message : "");
			failures++;
		}
		if (res.ntests != 1 || !from_hook(res.tests)) {
			fprintf(stderr, "result memory: tests %p (%zu) not from the hook\n",
				(void *)res.tests, res.ntests);
			failures++;
		}
		judge_result_finish(&res);
	}
	judge_destroy(j);
	if (live != 0 || nblocks != 0) {
		fprintf(stderr, "result memory: %lld bytes in %zu blocks still held\n", live,
			nblocks);
		failures++;
	}
	record = false;
	return failures;
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root\n");
		return 77;
	}
	struct judge_allocator a = { hook, NULL };
	static const char code[] = "print('x' * 3)\n";
	int failures = 0;
	for (fail_at = 1; fail_at < 200; fail_at++) {
		calls = 0;
		live = 0;
		struct judge_config cfg = { .pool_size = 1, .alloc = &a, .log = quiet };
		struct judge *j = NULL;
		enum judge_verdict verdict = JUDGE_VERDICT_NONE;
		int e = judge_create(&cfg, &j);
		if (e == JUDGE_ENOCGROUP || e == JUDGE_EPRIV) {
			fprintf(stderr, "skip: %s\n", judge_strerror(e));
			return 77;
		}
		if (e) {
			if (e != JUDGE_ENOMEM) {
				fprintf(stderr, "fail_at %u: create: %s\n", fail_at,
					judge_strerror(e));
				failures++;
			}
		} else {
			struct judge_request req = { .mode = JUDGE_MODE_SCRIPT,
						     .code = code,
						     .code_len = sizeof(code) - 1,
						     .stdin_data = "in",
						     .stdin_len = 2 };
			struct judge_result res;
			e = judge_run(j, &req, NULL, NULL, &res);
			if (e == 0) {
				verdict = res.verdict;
				judge_result_finish(&res);
			} else if (e != JUDGE_ENOMEM) {
				fprintf(stderr, "fail_at %u: run: %s\n", fail_at,
					judge_strerror(e));
				failures++;
			}
			judge_destroy(j);
		}
		if (live != 0) {
			fprintf(stderr, "fail_at %u: %lld bytes still held\n", fail_at, live);
			failures++;
		}
		/* A failed allocation may end the run IE; with none failed it must be OK. */
		bool none_failed = calls < fail_at;
		if (e == 0 && verdict != JUDGE_VERDICT_OK &&
		    (none_failed || verdict != JUDGE_VERDICT_IE)) {
			fprintf(stderr, "fail_at %u: verdict %s (%s)\n", fail_at,
				judge_verdict_str(verdict),
				none_failed ? "no allocation failed" : "after a failed allocation");
			failures++;
		}
		if (none_failed)
			break; /* a whole cycle without reaching the failure: done */
	}
	if (fail_at >= 200) {
		fprintf(stderr, "the cycle never completed without failure\n");
		failures++;
	}
	unsigned points = fail_at - 1;
	failures += result_memory(&a);
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("ok: %u allocation points\n", points);
	return 0;
}
