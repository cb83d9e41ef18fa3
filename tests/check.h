/*
 * check.h - the assertion macros the C tests of tests/judge and tests/server share.
 *
 * CHECK records a failure and goes on (so one run shows every broken
 * case); REQUIRE stops the test.  Both print the condition and the values
 * the caller formats.
 */
#ifndef TANDEM_TESTS_CHECK_H
#define TANDEM_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int failures;

#define CHECK(cond, ...)                                                                         \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			failures++;                                                              \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                            \
			fputc('\n', stderr);                                                     \
		}                                                                                \
	} while (0)

#define REQUIRE(cond, ...)                                                                   \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: required: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                        \
			fputc('\n', stderr);                                                 \
			exit(1);                                                             \
		}                                                                            \
	} while (0)

#define CHECK_DONE()                                                       \
	do {                                                               \
		if (failures > 0) {                                        \
			fprintf(stderr, "%d check(s) failed\n", failures); \
			return 1;                                          \
		}                                                          \
		return 0;                                                  \
	} while (0)

#endif
