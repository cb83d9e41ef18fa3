/*
 * sha256.h - SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104), and the two
 * helpers every user of a MAC needs: a constant-time compare and a wipe
 * the compiler cannot drop.
 *
 * Boundary: libc only; no I/O, no allocation, no globals.  It exists so
 * the server does not load OpenSSL's libcrypto for one hash: initialising
 * OpenSSL 3's providers costs about 2 MB of resident memory per process.
 * It is not meant to be fast (no SIMD, no SHA extensions); the server
 * hashes a token or a key per request, not bulk data.
 *
 * Every length is a byte count and may be 0; a pointer paired with a
 * length of 0 may be NULL.  Messages are limited to 2^61 - 1 bytes (the
 * 64-bit bit count of the padding), far beyond anything the server sees.
 */
#ifndef TANDEM_SHA256_H
#define TANDEM_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN  64

/*
 * An incremental hash.  Lives in caller memory (usually the stack); no
 * _finish is needed because it owns nothing.  Invariant: used <
 * SHA256_BLOCK_LEN, and buf[0..used) are the bytes of the current block
 * not yet compressed.
 */
struct sha256_ctx {
	uint32_t state[8];
	uint64_t len; /* bytes fed so far, for the length in the padding */
	size_t used;
	unsigned char buf[SHA256_BLOCK_LEN];
};

/* Starts a new hash in ctx (caller memory; any previous content is overwritten). */
void sha256_init(struct sha256_ctx *ctx);

/* Feeds n bytes of data (borrowed for the call only); any number of calls, any split. */
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t n);

/*
 * Writes the digest of everything fed since sha256_init() to out and wipes
 * ctx; call sha256_init() again before reusing it.
 */
void sha256_final(struct sha256_ctx *ctx, unsigned char out[SHA256_DIGEST_LEN]);

/* One-shot: the digest of data[0..n) into out.  out must not overlap data. */
void sha256_digest(const void *data, size_t n, unsigned char out[SHA256_DIGEST_LEN]);

/*
 * HMAC-SHA256 of data[0..n) under key[0..keylen) into out (RFC 2104; a
 * key longer than the 64-byte block is hashed first, as the RFC says).
 * All inputs are borrowed for the call only; out must not overlap them.
 * The derived key pads are wiped before returning.
 */
void sha256_hmac(const void *key, size_t keylen, const void *data, size_t n,
		 unsigned char out[SHA256_DIGEST_LEN]);

/*
 * True when a[0..n) and b[0..n) are equal, in time that depends on n only,
 * never on where the first difference is.  For comparing MACs and digests;
 * the length itself is not secret.
 */
bool sha256_equal(const void *a, const void *b, size_t n);

/* Zeroes p[0..n) in a way the compiler may not elide as a dead store. */
void sha256_wipe(void *p, size_t n);

#endif
