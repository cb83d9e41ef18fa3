/*
 * probe.c - configure-time check that clang-14 can link a wasm32-wasi module
 * against the WASI libc here (meson runs it; it is never part of a build).
 */
#include <stdlib.h>
#include <string.h>

__attribute__((export_name("probe"))) size_t probe(const char *s);

size_t probe(const char *s)
{
	char *p = malloc(strlen(s) + 1);
	size_t n = strlen(strcpy(p, s));

	free(p);
	return n;
}
