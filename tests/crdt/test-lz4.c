/*
 * test-lz4.c - the LZ4 block codec of crdt/lz4.c.
 *
 * Round trips over inputs of every shape (empty, tiny, incompressible,
 * runs, text) and search depth; a block made by the reference lz4 tool
 * decodes to its text; malformed blocks (truncated, lying sizes, bad
 * back-references, lengths past either end) are refused without reading
 * or writing outside the buffers (the suite also runs under ASan); random
 * corruption never crashes; and the encoder frees everything, also when
 * an allocation fails.
 */
#include "testutil.h"

#include "crdt-lz4.h"

/*
 * What `lz4 -9 --no-frame-crc` (lz4 1.9.4) made of ref_text: the one block
 * of its frame.  It proves that what other LZ4 encoders write decodes here.
 */
static const uint8_t ref_block[] = {
	0xf1, 0x17, 0x6c, 0x69, 0x6e, 0x65, 0x20, 0x30, 0x3a, 0x20, 0x74, 0x68, 0x65, 0x20,
	0x71, 0x75, 0x69, 0x63, 0x6b, 0x20, 0x62, 0x72, 0x6f, 0x77, 0x6e, 0x20, 0x66, 0x6f,
	0x78, 0x20, 0x6a, 0x75, 0x6d, 0x70, 0x73, 0x20, 0x6f, 0x76, 0x65, 0x72, 0x1f, 0x00,
	0xa1, 0x6c, 0x61, 0x7a, 0x79, 0x20, 0x64, 0x6f, 0x67, 0x3b, 0x20, 0x35, 0x00, 0x1f,
	0x31, 0x35, 0x00, 0x21, 0x1f, 0x32, 0x35, 0x00, 0x21, 0x1f, 0x33, 0x35, 0x00, 0x21,
	0x1f, 0x34, 0x35, 0x00, 0x21, 0x1f, 0x35, 0x35, 0x00, 0x21, 0x1f, 0x36, 0x35, 0x00,
	0x1c, 0x0f, 0x73, 0x01, 0xf1, 0x50, 0x64, 0x6f, 0x67, 0x3b, 0x20,
};

static char *ref_text(size_t *len)
{
	char *s = malloc(1024);
	size_t n = 0;

	TU_CHECK(s != NULL);
	for (int i = 0; i < 12; i++)
		n += (size_t)snprintf(s + n, 1024 - n,
				      "line %d: the quick brown fox jumps over the lazy dog; ",
				      i % 7);
	*len = n;
	return s;
}

/* Bytes after the output that the decoder must leave alone. */
#define GUARD 32

/* Checks that the GUARD bytes at p are still 0xa5. */
static void check_guard(const uint8_t *p)
{
	for (int k = 0; k < GUARD; k++)
		if (p[k] != 0xa5)
			TU_FAIL("the decoder wrote %d bytes past its output (0x%02x)", k + 1, p[k]);
}

/*
 * Compresses src, checks the bound, decompresses, compares; returns the
 * block size.  The decoder's wide copies write ahead of the output they
 * complete: the guard after the output shows they never pass its end,
 * whether the block fits or lies about the size.
 */
static size_t roundtrip(const uint8_t *src, size_t n, int depth)
{
	struct crdt_buf b;
	uint8_t *back = malloc(n + GUARD);
	size_t len;

	TU_CHECK(back != NULL);
	memset(back, 0xa5, n + GUARD);
	crdt_buf_init(&b, NULL);
	TU_OK(crdt__lz4_compress(NULL, src, n, depth, &b));
	TU_CHECK(b.len <= crdt__lz4_bound(n));
	TU_OK(crdt__lz4_decompress(b.data, b.len, back, n));
	TU_EQ_MEM((const char *)back, n, (const char *)src, n);
	check_guard(back + n);
	/* One byte less or more of output is a lie about the size. */
	if (n) {
		memset(back, 0xa5, n + GUARD);
		TU_ERR(crdt__lz4_decompress(b.data, b.len, back, n - 1), CRDT_EDECODE);
		check_guard(back + n - 1);
	}
	{
		uint8_t *more = malloc(n + 1);

		TU_CHECK(more != NULL);
		TU_ERR(crdt__lz4_decompress(b.data, b.len, more, n + 1), CRDT_EDECODE);
		free(more);
	}
	len = b.len;
	crdt_buf_finish(&b);
	free(back);
	return len;
}

static void fill(struct tu_rng *rng, uint8_t *p, size_t n, int shape)
{
	static const char *words[] = { "int ", "return ", "foo",  "(",	   ")", ";\n",
				       "  ",   "bar",	  "the ", "crdt_", "x", "0" };

	for (size_t i = 0; i < n;) {
		switch (shape) {
		case 0: /* incompressible */
			p[i++] = (uint8_t)tu_rand(rng);
			break;
		case 1: /* one byte repeated */
			p[i++] = 'a';
			break;
		case 2: /* a small alphabet */
			p[i++] = (uint8_t)('a' + tu_below(rng, 3));
			break;
		default: { /* words, like code */
			const char *w = words[tu_below(rng, sizeof words / sizeof *words)];

			for (size_t k = 0; w[k] && i < n; k++)
				p[i++] = (uint8_t)w[k];
		}
		}
	}
}

static void test_roundtrips(struct tu_rng *rng)
{
	static const size_t sizes[] = { 0,  1,	 4,   5,   12,	 13,   14,    17,
					64, 255, 256, 270, 1000, 4096, 70000, 200000 };
	uint8_t *buf = malloc(200000);

	TU_CHECK(buf != NULL);
	for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
		for (int shape = 0; shape < 4; shape++) {
			size_t n = sizes[si], len;

			fill(rng, buf, n, shape);
			len = roundtrip(buf, n, 1);
			len = roundtrip(buf, n, CRDT_LZ4_DEPTH);
			/* Repetitive input of some size must shrink: words, runs a lot. */
			if (n >= 4096 && shape == 3)
				TU_CHECK(len < n * 3 / 4);
			if (n >= 1000 && shape == 1)
				TU_CHECK(len < n / 50);
		}
	/* Long matches and long literal runs use the length continuation bytes. */
	fill(rng, buf, 5000, 0);
	memcpy(buf + 5000, buf, 5000);
	roundtrip(buf, 10000, CRDT_LZ4_DEPTH);
	free(buf);
	printf("test-lz4: round trips of every shape and size\n");
}

static void test_reference(void)
{
	size_t n;
	char *want = ref_text(&n);
	uint8_t *out = malloc(n);

	TU_CHECK(out != NULL);
	TU_EQ_SIZE(n, 636);
	TU_OK(crdt__lz4_decompress(ref_block, sizeof ref_block, out, n));
	TU_EQ_MEM((const char *)out, n, want, n);
	/* Ours is no bigger than the reference's level 9 on this text. */
	TU_CHECK(roundtrip((const uint8_t *)want, n, CRDT_LZ4_DEPTH) <= sizeof ref_block);
	free(out);
	free(want);
	printf("test-lz4: the reference encoder's block decodes\n");
}

static int decode(const uint8_t *src, size_t srclen, size_t dstlen)
{
	uint8_t out[64];

	TU_CHECK(dstlen <= sizeof out);
	return crdt__lz4_decompress(src, srclen, out, dstlen);
}

static void test_malformed(void)
{
	uint8_t *copy;

	/* The empty block is one token; nothing at all is not a block. */
	TU_OK(decode((const uint8_t[]){ 0x00 }, 1, 0));
	TU_ERR(decode(NULL, 0, 0), CRDT_EDECODE);
	/* Literals: "abc". */
	TU_OK(decode((const uint8_t[]){ 0x30, 'a', 'b', 'c' }, 4, 3));
	/* Literals running past the input, or past the output. */
	TU_ERR(decode((const uint8_t[]){ 0x40, 'a', 'b', 'c' }, 4, 4), CRDT_EDECODE);
	TU_ERR(decode((const uint8_t[]){ 0x30, 'a', 'b', 'c' }, 4, 2), CRDT_EDECODE);
	/* "ab" then a match of 4 at offset 2: "ababab", then an empty last sequence. */
	TU_OK(decode((const uint8_t[]){ 0x20, 'a', 'b', 0x02, 0x00, 0x00 }, 6, 6));
	/* Offset 0, and an offset reaching before the output. */
	TU_ERR(decode((const uint8_t[]){ 0x20, 'a', 'b', 0x00, 0x00, 0x00 }, 6, 6), CRDT_EDECODE);
	TU_ERR(decode((const uint8_t[]){ 0x20, 'a', 'b', 0x03, 0x00, 0x00 }, 6, 6), CRDT_EDECODE);
	TU_ERR(decode((const uint8_t[]){ 0x20, 'a', 'b', 0xff, 0xff, 0x00 }, 6, 6), CRDT_EDECODE);
	/* A match longer than the output left. */
	TU_ERR(decode((const uint8_t[]){ 0x21, 'a', 'b', 0x02, 0x00, 0x00 }, 6, 6), CRDT_EDECODE);
	/* An offset cut off, and a block ending after a match (no last sequence). */
	TU_ERR(decode((const uint8_t[]){ 0x20, 'a', 'b', 0x02 }, 4, 6), CRDT_EDECODE);
	TU_ERR(decode((const uint8_t[]){ 0x20, 'a', 'b', 0x02, 0x00 }, 5, 6), CRDT_EDECODE);
	/* Length continuations cut off, and ones claiming more than any output. */
	TU_ERR(decode((const uint8_t[]){ 0xf0, 0xff, 0xff }, 3, 40), CRDT_EDECODE);
	TU_ERR(decode((const uint8_t[]){ 0x2f, 'a', 'b', 0x02, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00 },
		      10, 60),
	       CRDT_EDECODE);
	/* Output left unfilled. */
	TU_ERR(decode((const uint8_t[]){ 0x30, 'a', 'b', 'c' }, 4, 5), CRDT_EDECODE);

	/* Every proper prefix of a real block is refused. */
	copy = malloc(sizeof ref_block);
	TU_CHECK(copy != NULL);
	for (size_t k = 0; k < sizeof ref_block; k++) {
		uint8_t out[636];

		memcpy(copy, ref_block, k);
		TU_ERR(crdt__lz4_decompress(copy, k, out, sizeof out), CRDT_EDECODE);
	}
	free(copy);
	printf("test-lz4: malformed blocks refused\n");
}

/* Random corruption: never out of bounds (ASan watches), refused or of the right size. */
static void test_corruption(struct tu_rng *rng)
{
	uint8_t src[3000], *out = malloc(sizeof src);
	struct crdt_buf b;

	TU_CHECK(out != NULL);
	fill(rng, src, sizeof src, 3);
	crdt_buf_init(&b, NULL);
	TU_OK(crdt__lz4_compress(NULL, src, sizeof src, CRDT_LZ4_DEPTH, &b));
	for (int round = 0; round < 20000; round++) {
		uint8_t *m = malloc(b.len);
		size_t cut = tu_chance(rng, 20) ? tu_below(rng, b.len + 1) : b.len;
		int flips = 1 + (int)tu_below(rng, 4), rc;

		TU_CHECK(m != NULL);
		memcpy(m, b.data, b.len);
		for (int f = 0; f < flips; f++)
			m[tu_below(rng, b.len)] = (uint8_t)tu_rand(rng);
		rc = crdt__lz4_decompress(m, cut, out, sizeof src);
		TU_CHECK(rc == 0 || rc == CRDT_EDECODE);
		free(m);
	}
	crdt_buf_finish(&b);
	free(out);
	printf("test-lz4: 20000 corrupted blocks, no fault\n");
}

static void test_alloc_failure(struct tu_rng *rng)
{
	uint8_t src[20000];
	struct tu_alloc a;
	struct crdt_buf b;

	fill(rng, src, sizeof src, 3);
	for (size_t n = 1;; n++) {
		int rc;

		tu_alloc_init(&a);
		crdt_buf_init(&b, &a.hook);
		TU_OK(crdt__put_bytes(&b, "keep", 4));
		a.fail_at = a.calls + n;
		rc = crdt__lz4_compress(&a.hook, src, sizeof src, CRDT_LZ4_DEPTH, &b);
		if (a.failed == 0) {
			TU_OK(rc);
			crdt_buf_finish(&b);
			TU_EQ_SIZE(a.live_bytes, 0);
			break;
		}
		TU_ERR(rc, CRDT_ENOMEM);
		/* What out held before is intact, and nothing was added. */
		TU_EQ_SIZE(b.len, 4);
		TU_EQ_MEM((const char *)b.data, 4, "keep", 4);
		crdt_buf_finish(&b);
		TU_EQ_SIZE(a.live_bytes, 0);
		TU_EQ_SIZE(a.live_blocks, 0);
	}
	printf("test-lz4: allocation failures leave nothing behind\n");
}

int main(void)
{
	struct tu_rng rng;

	tu_rng_init(&rng, tu_seed("test-lz4"));
	test_reference();
	test_roundtrips(&rng);
	test_malformed();
	test_corruption(&rng);
	test_alloc_failure(&rng);
	printf("test-lz4: ok\n");
	return 0;
}
