/*
 * fmt.h - decimal numbers without printf, for the hot paths: an XADD and
 * an ack format a few numbers each, thousands a second, and snprintf
 * costs more than the rest of building them.
 */
#ifndef TANDEM_FMT_H
#define TANDEM_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Decimal digits of v at p (no NUL; at most 20), returning how many. */
static inline size_t fmt_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* The same for a signed v (at most 20 bytes). */
static inline size_t fmt_i64(char *p, int64_t v)
{
	if (v >= 0)
		return fmt_u64(p, (uint64_t)v);
	p[0] = '-';
	return 1 + fmt_u64(p + 1, (uint64_t)0 - (uint64_t)v);
}

#endif
