/*
 * wsframe.h - the head of a WebSocket frame as a server sends it, for the
 * hand-written clients of tests/server/test-conn.c and
 * bench/server/typists.c.
 *
 * RFC 6455 5.2: FIN and opcode, then a 7-bit length, or 126 and 16 bits,
 * or 127 and 64 bits, big-endian; a server's frames are never masked.
 */
#ifndef TANDEM_WSFRAME_H
#define TANDEM_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * The frame at p (avail bytes there): its head's length, with its payload's
 * in *len; 0 while the head is incomplete; -1 for a masked frame.
 */
static inline int wsframe_head(const unsigned char *p, size_t avail, uint64_t *len)
{
	int h = 2;

	if (avail < 2)
		return 0;
	if (p[1] & 0x80)
		return -1;
	*len = p[1] & 0x7f;
	if (*len == 126)
		h = 4;
	else if (*len == 127)
		h = 10;
	if (avail < (size_t)h)
		return 0;
	if (h > 2)
		*len = 0;
	for (int i = 2; i < h; i++)
		*len = *len << 8 | p[i];
	return h;
}

#endif
