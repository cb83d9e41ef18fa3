/*
 * test-sha256.c - server/sha256.c against published answers.
 *
 * The digests are the FIPS 180 examples and the HMACs the RFC 4231 test
 * cases, so nothing here trusts another implementation.  Around them:
 * every split of a message through sha256_update() against the one-shot
 * digest, and every message length 0..300 (every key length 0..200 for
 * HMAC) folded into one digest, so each way the padding can fall (55, 56,
 * 63, 64 bytes left over...) is run; those two folded values come from
 * Python's hashlib, as the comment by each says.
 */
#include <string.h>

#include "check.h"
#include "sha256.h"

static void hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Checks the first strlen(want) / 2 bytes of got against the hex string want. */
static void check_hex(const char *what, const unsigned char *got, const char *want)
{
	char buf[2 * SHA256_DIGEST_LEN + 1];

	hex(got, strlen(want) / 2, buf);
	CHECK(strcmp(buf, want) == 0, "%s: got %s, want %s", what, buf, want);
}

/* p[i] = i * mul + add (mod 256): the byte patterns below and RFC 4231's 0x01..0x19 key. */
static void fill(unsigned char *p, size_t n, unsigned mul, unsigned add)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * mul + add) & 255);
}

static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char msg896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
			     "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static void test_fips(void)
{
	static const struct {
		const char *msg;
		const char *want;
	} cases[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ msg448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ msg896, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	unsigned char d[SHA256_DIGEST_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sha256_digest(cases[i].msg, strlen(cases[i].msg), d);
		check_hex(cases[i].msg, d, cases[i].want);
	}
	/* An empty message may come with a NULL pointer. */
	sha256_digest(NULL, 0, d);
	check_hex("NULL, 0", d, cases[0].want);
}

/* One million 'a' in chunks of 0..199 bytes, so blocks are cut everywhere. */
static void test_million(void)
{
	static unsigned char a[200];
	struct sha256_ctx ctx;
	unsigned char d[SHA256_DIGEST_LEN];
	size_t left = 1000000, chunk = 0;

	memset(a, 'a', sizeof(a));
	sha256_init(&ctx);
	while (left > 0) {
		chunk = (chunk * 7 + 13) % sizeof(a);
		if (chunk > left)
			chunk = left;
		sha256_update(&ctx, a, chunk);
		left -= chunk;
	}
	sha256_final(&ctx, d);
	check_hex("a x 1000000", d,
		  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_rfc4231(void)
{
	static const char c7[] = "This is a test using a larger than block-size key and a larger "
				 "than block-size data. The key needs to be hashed before being "
				 "used by the HMAC algorithm.";
	unsigned char k0b[20], kaa[20], k0c[20], k25[25], k131[131], dd[50], cd[50];
	const struct {
		const char *name;
		const void *key;
		size_t keylen;
		const void *data;
		size_t n;
		const char *want; /* case 5 is truncated to 128 bits by the RFC */
	} cases[] = {
		{ "case 1", k0b, 20, "Hi There", 8,
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ "case 2", "Jefe", 4, "what do ya want for nothing?", 28,
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ "case 3", kaa, 20, dd, 50,
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
		{ "case 4", k25, 25, cd, 50,
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
		{ "case 5", k0c, 20, "Test With Truncation", 20,
		  "a3b6167473100ee06e0c796c2955552b" },
		{ "case 6", k131, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
		{ "case 7", k131, 131, c7, sizeof(c7) - 1,
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
	};
	unsigned char mac[SHA256_DIGEST_LEN];

	memset(k0b, 0x0b, sizeof(k0b));
	memset(kaa, 0xaa, sizeof(kaa));
	memset(k0c, 0x0c, sizeof(k0c));
	fill(k25, sizeof(k25), 1, 1);
	memset(k131, 0xaa, sizeof(k131));
	memset(dd, 0xdd, sizeof(dd));
	memset(cd, 0xcd, sizeof(cd));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sha256_hmac(cases[i].key, cases[i].keylen, cases[i].data, cases[i].n, mac);
		check_hex(cases[i].name, mac, cases[i].want);
	}
	sha256_hmac(NULL, 0, NULL, 0, mac);
	check_hex("empty key and data", mac,
		  "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* Every two-way split of msg896 (112 bytes, two blocks) equals the one-shot digest. */
static void test_splits(void)
{
	size_t n = strlen(msg896);
	unsigned char want[SHA256_DIGEST_LEN], got[SHA256_DIGEST_LEN];
	char a[2 * SHA256_DIGEST_LEN + 1], b[2 * SHA256_DIGEST_LEN + 1];
	struct sha256_ctx ctx;

	sha256_digest(msg896, n, want);
	hex(want, sizeof(want), b);
	for (size_t at = 0; at <= n; at++) {
		sha256_init(&ctx);
		sha256_update(&ctx, msg896, at);
		sha256_update(&ctx, msg896 + at, n - at);
		sha256_final(&ctx, got);
		hex(got, sizeof(got), a);
		CHECK(strcmp(a, b) == 0, "split at %zu: got %s, want %s", at, a, b);
	}
	/* And one byte at a time, with empty updates in between. */
	sha256_init(&ctx);
	for (size_t i = 0; i < n; i++) {
		sha256_update(&ctx, msg896 + i, 1);
		sha256_update(&ctx, NULL, 0);
	}
	sha256_final(&ctx, got);
	hex(got, sizeof(got), a);
	CHECK(strcmp(a, b) == 0, "byte by byte: got %s, want %s", a, b);
}

/*
 * The digests of every length 0..300 of one byte pattern, hashed together.
 * Expected value:
 *   m = lambda n: bytes((i * 31 + 7) & 255 for i in range(n))
 *   sha256(b"".join(sha256(m(n)).digest() for n in range(301))).hexdigest()
 * and for HMAC, with k = lambda n: bytes((i * 17 + 3) & 255 for i in range(n)):
 *   sha256(b"".join(hmac.new(k(n), m(n), "sha256").digest() for n in range(201)))
 */
static void test_lengths(void)
{
	unsigned char m[300], k[200], d[SHA256_DIGEST_LEN];
	struct sha256_ctx all;

	fill(m, sizeof(m), 31, 7);
	fill(k, sizeof(k), 17, 3);
	sha256_init(&all);
	for (size_t n = 0; n <= sizeof(m); n++) {
		sha256_digest(m, n, d);
		sha256_update(&all, d, sizeof(d));
	}
	sha256_final(&all, d);
	check_hex("lengths 0..300", d,
		  "78f25692e2f4dd74482ac3dcf4f505a7c278fa279588b764b99a497144bcd49c");

	sha256_init(&all);
	for (size_t n = 0; n <= sizeof(k); n++) {
		sha256_hmac(k, n, m, n, d);
		sha256_update(&all, d, sizeof(d));
	}
	sha256_final(&all, d);
	check_hex("hmac key lengths 0..200", d,
		  "f8d8a49b46c78c89b7475272349ce89ba3fc458d324e5ef65b05b1af86da5723");
}

static void test_equal_wipe(void)
{
	unsigned char a[33], b[33];

	fill(a, sizeof(a), 5, 1);
	memcpy(b, a, sizeof(b));
	CHECK(sha256_equal(a, b, sizeof(a)), "equal buffers");
	CHECK(sha256_equal(NULL, NULL, 0), "empty buffers");
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		CHECK(!sha256_equal(a, b, sizeof(a)), "difference at %zu not seen", i);
		b[i] ^= 0x80;
	}

	sha256_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		CHECK(a[i] == 0, "byte %zu after wipe: %d", i, a[i]);
	sha256_wipe(NULL, 0);
}

int main(void)
{
	test_fips();
	test_million();
	test_rfc4231();
	test_splits();
	test_lengths();
	test_equal_wipe();
	CHECK_DONE();
}
