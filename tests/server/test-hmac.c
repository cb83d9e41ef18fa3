/*
 * test-hmac.c - the MAC that signs tokens (auth_hmac_sha256(), libsodium's
 * HMAC-SHA256) against published answers.
 *
 * The HMACs are the RFC 4231 test cases, so nothing here trusts another
 * implementation.  Around them, every key length 0..200 (with a message of
 * the same length) folded into one SHA-256, so each way a key can fall
 * against the 64-byte block (shorter, equal, longer: hashed first) is run;
 * the folded value comes from Python's hashlib, as the comment by it says.
 * (The SHA-256 of our own that these vectors once checked is gone: the
 * primitives are libsodium's now.)
 */
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "check.h"

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
	char buf[2 * AUTH_MAC_LEN + 1];

	hex(got, strlen(want) / 2, buf);
	CHECK(strcmp(buf, want) == 0, "%s: got %s, want %s", what, buf, want);
}

/* p[i] = i * mul + add (mod 256): the byte patterns below and RFC 4231's 0x01..0x19 key. */
static void fill(unsigned char *p, size_t n, unsigned mul, unsigned add)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * mul + add) & 255);
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
	unsigned char mac[AUTH_MAC_LEN];

	memset(k0b, 0x0b, sizeof(k0b));
	memset(kaa, 0xaa, sizeof(kaa));
	memset(k0c, 0x0c, sizeof(k0c));
	fill(k25, sizeof(k25), 1, 1);
	memset(k131, 0xaa, sizeof(k131));
	memset(dd, 0xdd, sizeof(dd));
	memset(cd, 0xcd, sizeof(cd));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		auth_hmac_sha256(cases[i].key, cases[i].keylen, cases[i].data, cases[i].n, mac);
		check_hex(cases[i].name, mac, cases[i].want);
	}
	auth_hmac_sha256(NULL, 0, NULL, 0, mac);
	check_hex("empty key and data", mac,
		  "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/*
 * The HMACs of every key length 0..200, each over a message as long as its
 * key, hashed together.  Expected value, with
 * m = lambda n: bytes((i * 31 + 7) & 255 for i in range(n)) and
 * k = lambda n: bytes((i * 17 + 3) & 255 for i in range(n)):
 *   sha256(b"".join(hmac.new(k(n), m(n), "sha256").digest() for n in range(201)))
 */
static void test_lengths(void)
{
	unsigned char m[300], k[200], d[AUTH_MAC_LEN];
	crypto_hash_sha256_state all;

	fill(m, sizeof(m), 31, 7);
	fill(k, sizeof(k), 17, 3);
	crypto_hash_sha256_init(&all);
	for (size_t n = 0; n <= sizeof(k); n++) {
		auth_hmac_sha256(k, n, m, n, d);
		crypto_hash_sha256_update(&all, d, sizeof(d));
	}
	crypto_hash_sha256_final(&all, d);
	check_hex("hmac key lengths 0..200", d,
		  "f8d8a49b46c78c89b7475272349ce89ba3fc458d324e5ef65b05b1af86da5723");
}

int main(void)
{
	test_rfc4231();
	test_lengths();
	CHECK_DONE();
}
