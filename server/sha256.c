/*
 * sha256.c - SHA-256 and HMAC-SHA256, written from FIPS 180-4 and RFC 2104.
 *
 * Why our own: the only cryptography the server does is signing and
 * checking room tokens and comparing the admin key, and linking libcrypto
 * for that made every process pay for OpenSSL 3's provider setup (about
 * 2 MB resident).  The code follows the specification's own names (section
 * numbers below) so a reader can check it line by line; correctness is
 * pinned by the FIPS and RFC 4231 vectors in tests/server/test-sha256.c.
 *
 * Byte order is done with shifts, never by casting buffers to uint32_t *,
 * so the code is independent of the host's endianness and alignment.  This
 * file must never allocate or log; the HMAC key pads it derives are wiped.
 */
#include "sha256.h"

#include <string.h>

/*
 * FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes.
 */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

/*
 * FIPS 180-4 5.3.3: the first 32 bits of the fractional parts of the square
 * roots of the first 8 primes.
 */
static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* n is 2..25 at every call, so neither shift is by 0 or 32. */
static inline uint32_t rotr(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

/* The six functions of FIPS 180-4 4.1.2. */
static inline uint32_t ch(uint32_t x, uint32_t y, uint32_t z)
{
	return (x & y) ^ (~x & z);
}

static inline uint32_t maj(uint32_t x, uint32_t y, uint32_t z)
{
	return (x & y) ^ (x & z) ^ (y & z);
}

static inline uint32_t big_sigma0(uint32_t x)
{
	return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22);
}

static inline uint32_t big_sigma1(uint32_t x)
{
	return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25);
}

static inline uint32_t small_sigma0(uint32_t x)
{
	return rotr(x, 7) ^ rotr(x, 18) ^ x >> 3;
}

static inline uint32_t small_sigma1(uint32_t x)
{
	return rotr(x, 17) ^ rotr(x, 19) ^ x >> 10;
}

static inline uint32_t load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void store_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* FIPS 180-4 6.2.2: folds one 64-byte block into the hash state. */
static void compress(uint32_t state[8], const unsigned char block[SHA256_BLOCK_LEN])
{
	uint32_t w[64];
	uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
	uint32_t e = state[4], f = state[5], g = state[6], h = state[7];

	for (int t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (int t = 16; t < 64; t++)
		w[t] = small_sigma1(w[t - 2]) + w[t - 7] + small_sigma0(w[t - 15]) + w[t - 16];

	for (int t = 0; t < 64; t++) {
		uint32_t t1 = h + big_sigma1(e) + ch(e, f, g) + K[t] + w[t];
		uint32_t t2 = big_sigma0(a) + maj(a, b, c);
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}

	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	state[4] += e;
	state[5] += f;
	state[6] += g;
	state[7] += h;
}

void sha256_init(struct sha256_ctx *ctx)
{
	memcpy(ctx->state, H0, sizeof(H0));
	ctx->len = 0;
	ctx->used = 0;
}

void sha256_update(struct sha256_ctx *ctx, const void *data, size_t n)
{
	const unsigned char *p = data;

	/* Also keeps a NULL data pointer out of memcpy and pointer arithmetic. */
	if (n == 0)
		return;
	ctx->len += n;
	if (ctx->used > 0) {
		size_t take = SHA256_BLOCK_LEN - ctx->used;
		if (take > n)
			take = n;
		memcpy(ctx->buf + ctx->used, p, take);
		ctx->used += take;
		p += take;
		n -= take;
		if (ctx->used < SHA256_BLOCK_LEN)
			return;
		compress(ctx->state, ctx->buf);
		ctx->used = 0;
	}
	/* Whole blocks straight from the caller's memory, without a copy. */
	for (; n >= SHA256_BLOCK_LEN; p += SHA256_BLOCK_LEN, n -= SHA256_BLOCK_LEN)
		compress(ctx->state, p);
	if (n > 0) {
		memcpy(ctx->buf, p, n);
		ctx->used = n;
	}
}

/*
 * FIPS 180-4 5.1.1: a 1 bit, zeros up to 56 mod 64 bytes, then the
 * message length in bits as a big-endian 64-bit number.  When fewer than
 * 8 bytes remain after the 1 bit (used > 56), the padding spills into a
 * second block.
 */
void sha256_final(struct sha256_ctx *ctx, unsigned char out[SHA256_DIGEST_LEN])
{
	uint64_t bits = ctx->len << 3;
	size_t used = ctx->used;

	ctx->buf[used++] = 0x80;
	if (used > SHA256_BLOCK_LEN - 8) {
		memset(ctx->buf + used, 0, SHA256_BLOCK_LEN - used);
		compress(ctx->state, ctx->buf);
		used = 0;
	}
	memset(ctx->buf + used, 0, SHA256_BLOCK_LEN - 8 - used);
	store_be32(ctx->buf + 56, (uint32_t)(bits >> 32));
	store_be32(ctx->buf + 60, (uint32_t)bits);
	compress(ctx->state, ctx->buf);

	for (int i = 0; i < 8; i++)
		store_be32(out + 4 * i, ctx->state[i]);
	sha256_wipe(ctx, sizeof(*ctx));
}

void sha256_digest(const void *data, size_t n, unsigned char out[SHA256_DIGEST_LEN])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, data, n);
	sha256_final(&ctx, out);
}

/* RFC 2104 section 2: H(K ^ opad, H(K ^ ipad, text)), K zero-padded to the block. */
void sha256_hmac(const void *key, size_t keylen, const void *data, size_t n,
		 unsigned char out[SHA256_DIGEST_LEN])
{
	unsigned char k[SHA256_BLOCK_LEN] = { 0 }, pad[SHA256_BLOCK_LEN];
	unsigned char inner[SHA256_DIGEST_LEN];
	struct sha256_ctx ctx;

	if (keylen > SHA256_BLOCK_LEN)
		sha256_digest(key, keylen, k);
	else if (keylen > 0)
		memcpy(k, key, keylen);

	for (size_t i = 0; i < SHA256_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_init(&ctx);
	sha256_update(&ctx, pad, sizeof(pad));
	sha256_update(&ctx, data, n);
	sha256_final(&ctx, inner);

	for (size_t i = 0; i < SHA256_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_init(&ctx);
	sha256_update(&ctx, pad, sizeof(pad));
	sha256_update(&ctx, inner, sizeof(inner));
	sha256_final(&ctx, out);

	sha256_wipe(k, sizeof(k));
	sha256_wipe(pad, sizeof(pad));
	sha256_wipe(inner, sizeof(inner));
}

/*
 * The volatile reads keep the compiler from turning the loop into memcmp
 * or stopping at the first difference: every byte is read and folded in.
 */
bool sha256_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/*
 * A plain memset before a buffer goes out of scope is a dead store the
 * optimiser may delete; glibc's explicit_bzero (2.25+, visible with
 * _DEFAULT_SOURCE, which the build's _GNU_SOURCE implies) is guaranteed
 * not to be.
 */
void sha256_wipe(void *p, size_t n)
{
	if (n > 0)
		explicit_bzero(p, n);
}
