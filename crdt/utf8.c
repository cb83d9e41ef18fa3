/*
 * utf8.c - UTF-8 validation and offset conversions.
 *
 * The document counts positions in code points and stores UTF-8; browsers
 * count UTF-16 units.  Everything that crosses that line goes through here.
 * Validation is strict (RFC 3629): text that is not UTF-8 never enters a
 * document, so the rest of crdt/ may assume well-formed input.
 */
#include <string.h>

#include "crdt-internal.h"

/* Length of the sequence starting with lead byte c, 0 when c cannot lead. */
static int lead_len(uint8_t c)
{
	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0)
		return 3;
	if (c < 0xf5)
		return 4;
	return 0;
}

/* Eight bytes of s, all ASCII? (Most text is mostly ASCII: these skip it a word at a time.) */
static int ascii8(const uint8_t *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof(w));
	return (w & 0x8080808080808080ull) == 0;
}

int crdt_utf8_check(const char *str, size_t nbytes, size_t *cps)
{
	const uint8_t *s = (const uint8_t *)str, *end;
	size_t count = 0;

	/* The empty string may come as NULL (a deletion's change callback): no pointer math on it.
	 */
	if (nbytes == 0) {
		if (cps)
			*cps = 0;
		return 0;
	}
	end = s + nbytes;

	while (s < end) {
		uint8_t c = *s;
		int n;

		/* ASCII is most text: the short paths, a word and a byte at a time. */
		if (end - s >= 8 && ascii8(s)) {
			s += 8;
			count += 8;
			continue;
		}
		if (c < 0x80) {
			s++;
			count++;
			continue;
		}
		n = lead_len(c);
		if (n == 0 || end - s < n)
			return CRDT_EUTF8;
		for (int k = 1; k < n; k++)
			if ((s[k] & 0xc0) != 0x80)
				return CRDT_EUTF8;
		if (n == 3) {
			if (c == 0xe0 && s[1] < 0xa0)
				return CRDT_EUTF8; /* overlong */
			if (c == 0xed && s[1] >= 0xa0)
				return CRDT_EUTF8; /* surrogate */
		} else if (n == 4) {
			if (c == 0xf0 && s[1] < 0x90)
				return CRDT_EUTF8; /* overlong */
			if (c == 0xf4 && s[1] >= 0x90)
				return CRDT_EUTF8; /* above U+10FFFF */
		}
		s += n;
		count++;
	}
	if (cps)
		*cps = count;
	return 0;
}

size_t crdt__utf8_skip(const char *str, size_t n, size_t cp)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0;

	while (cp > 0 && i < n) {
		int len;

		if (cp >= 8 && n - i >= 8 && ascii8(s + i)) {
			i += 8;
			cp -= 8;
			continue;
		}
		len = lead_len(s[i]);
		i += len ? (size_t)len : 1;
		cp--;
	}
	return i < n ? i : n;
}

size_t crdt_cp_to_byte(const char *s, size_t nbytes, size_t cp)
{
	return crdt__utf8_skip(s, nbytes, cp);
}

size_t crdt_utf16_to_cp(const char *str, size_t nbytes, size_t u16)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0, units = 0, cp = 0;

	while (i < nbytes) {
		int len = lead_len(s[i]);
		size_t w = len == 4 ? 2 : 1;

		if (units + w > u16)
			break;
		units += w;
		i += len ? (size_t)len : 1;
		cp++;
	}
	return cp;
}

size_t crdt_cp_to_utf16(const char *str, size_t nbytes, size_t cp)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0, units = 0;

	while (cp > 0 && i < nbytes) {
		int len = lead_len(s[i]);

		units += len == 4 ? 2 : 1;
		i += len ? (size_t)len : 1;
		cp--;
	}
	return units;
}

size_t crdt__utf16_count(const char *str, size_t n)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t units = 0, i = 0;

	/* A unit for every byte that is not a continuation, one more for a 4-byte lead. */
	while (i < n) {
		if (n - i >= 8 && ascii8(s + i)) {
			units += 8;
			i += 8;
			continue;
		}
		units += ((s[i] & 0xc0) != 0x80) + (s[i] >= 0xf0);
		i++;
	}
	return units;
}
