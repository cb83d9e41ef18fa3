/*
 * oom.h - out of memory on demand, for a test program of tests/server that
 * links with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (meson.build).
 *
 * The program's own code (the server's files it links, the CRDT) allocates
 * through these wrappers; the shared libraries (jansson, libuv, hiredis,
 * libpq) do not.  Include it once, in the test's one .c file.
 *
 * allocs_ok is how many allocations may still succeed (-1: all); the next
 * one fails, and so does every later one unless allocs_once is set, which
 * lets only that one fail.  allocs_failed counts the failures.
 */
#ifndef TANDEM_TESTS_OOM_H
#define TANDEM_TESTS_OOM_H

#include <stdbool.h>
#include <stddef.h>

static long allocs_ok = -1;
static bool allocs_once;
static long allocs_failed;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static bool alloc_fails(void)
{
	if (allocs_ok < 0)
		return false;
	if (allocs_ok == 0) {
		allocs_failed++;
		if (allocs_once)
			allocs_ok = -1;
		return true;
	}
	allocs_ok--;
	return false;
}

void *__wrap_malloc(size_t n)
{
	return alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : __real_realloc(p, n);
}

#endif /* TANDEM_TESTS_OOM_H */
