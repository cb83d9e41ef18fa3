/*
 * crdt-lz4.h - LZ4 blocks, for the text column of a snapshot.
 *
 * Private to crdt/ (and its tests): the rest of Tandem sees only crdt.h.
 * The block format is LZ4's (lz4_Block_format.md): sequences of a token
 * (literal length and match length nibbles), literals, a 16-bit
 * little-endian back-reference offset and the rest of the match length, the
 * last sequence literals only.  Any LZ4 block decoder reads what
 * crdt__lz4_compress() writes, and crdt__lz4_decompress() reads what other
 * LZ4 block encoders write, as long as the decompressed size is known (the
 * snapshot stores it).  Frames, checksums and dictionaries are not
 * implemented: nothing here needs them.
 */
#ifndef TANDEM_CRDT_LZ4_H
#define TANDEM_CRDT_LZ4_H

#include "crdt.h"

/*
 * How many earlier places with the same 4-byte prefix the encoder tries at
 * each position at most: it bounds the encoder's time (it runs on the
 * server's loop) whatever the input.  LZ4's HC levels try 16 (level 4) to
 * 256 (level 9); 32 gets within 2% of level 9's size on the traces' text.
 */
#define CRDT_LZ4_DEPTH 32

/* The largest block crdt__lz4_compress() can make of n bytes of input. */
size_t crdt__lz4_bound(size_t n);

/*
 * Appends to out one LZ4 block holding the n bytes at src, trying at most
 * depth (>= 1) candidates for each match.  Its tables (at most 384 KB, less
 * for small inputs) are allocated with a and freed before it returns.  On
 * failure (CRDT_ENOMEM) out is as it was.
 */
int crdt__lz4_compress(const struct crdt_allocator *a, const uint8_t *src, size_t n, int depth,
		       struct crdt_buf *out);

/*
 * Decodes the LZ4 block of srclen bytes at src into dst, which it must fill
 * exactly (dstlen bytes).  Every length and back-reference is checked
 * against both buffers: anything that would read or write outside them, an
 * offset of 0 or one reaching before dst, input left over or output short
 * is CRDT_EDECODE (dst's contents are then unspecified).  It allocates
 * nothing.
 */
int crdt__lz4_decompress(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen);

#endif /* TANDEM_CRDT_LZ4_H */
