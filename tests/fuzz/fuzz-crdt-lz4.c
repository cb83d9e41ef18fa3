/*
 * fuzz-crdt-lz4.c - libFuzzer target for the LZ4 block codec (crdt/lz4.c).
 *
 * A snapshot's text column reaches crdt__lz4_decompress() from whoever
 * wrote the snapshot, so any block with any declared size must be refused
 * or decoded without a read or write outside its buffers (ASan watches).
 * The input is a declared output size (2 bytes, little-endian) and a block.
 * What decodes must survive a round trip through the encoder at two depths,
 * and so must the raw input itself.  A broken expectation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt-internal.h"
#include "fuzz.h"
#include "crdt-lz4.h"

static void roundtrip(const uint8_t *src, size_t n, int depth)
{
	struct crdt_buf b;
	uint8_t *back = malloc(n ? n : 1);

	REQUIRE(back != NULL);
	crdt_buf_init(&b, NULL);
	REQUIRE(crdt__lz4_compress(NULL, src, n, depth, &b) == 0);
	REQUIRE(b.len <= crdt__lz4_bound(n));
	REQUIRE(crdt__lz4_decompress(b.data, b.len, back, n) == 0);
	REQUIRE(n == 0 || memcmp(back, src, n) == 0);
	crdt_buf_finish(&b);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t dstlen;
	uint8_t *out;
	int rc;

	if (size < 2)
		return 0;
	dstlen = (size_t)data[0] | (size_t)data[1] << 8;
	/* Exactly dstlen bytes, so ASan sees any write past them. */
	out = malloc(dstlen ? dstlen : 1);
	REQUIRE(out != NULL);
	rc = crdt__lz4_decompress(data + 2, size - 2, out, dstlen);
	REQUIRE(rc == 0 || rc == CRDT_EDECODE);
	if (rc == 0) {
		roundtrip(out, dstlen, 1);
		roundtrip(out, dstlen, CRDT_LZ4_DEPTH);
	}
	free(out);
	roundtrip(data, size, CRDT_LZ4_DEPTH);
	return 0;
}
