/*
 * test-alloc.c - the judge under allocation failure (STYLE.md rule 7).
 *
 * Why it exists: every allocation of the judge goes through its hook, so
 * this test fails the 1st, 2nd, ... allocation of a whole life cycle
 * (create, one run, destroy) until the cycle needs no more, and checks
 * that each failure is reported as JUDGE_ENOMEM (or absorbed), never a
 * crash, a hang or a leak (the sanitizer build counts the leaks; the hook
 * counts live bytes here).  Needs root and cgroups (77 otherwise).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "judge.h"

static unsigned calls, fail_at;
static long long live;

static void *hook(void *ud, void *p, size_t old_size, size_t new_size)
{
	if (new_size == 0) {
		if (p)
			live -= (long long)old_size;
		free(p);
		return NULL;
	}
	if (++calls == fail_at)
		return NULL;
	void *q = realloc(p, new_size);
	if (q)
		live += (long long)new_size - (p ? (long long)old_size : 0);
	return q;
}

static void quiet(void *ud, enum judge_log_level level, const char *msg)
{
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
				if (res.verdict != JUDGE_VERDICT_OK &&
				    res.verdict != JUDGE_VERDICT_IE) {
					fprintf(stderr, "fail_at %u: verdict %s\n", fail_at,
						judge_verdict_str(res.verdict));
					failures++;
				}
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
		if (calls < fail_at)
			break; /* a whole cycle without reaching the failure: done */
	}
	if (fail_at >= 200) {
		fprintf(stderr, "the cycle never completed without failure\n");
		failures++;
	}
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("ok: %u allocation points\n", fail_at - 1);
	return 0;
}
