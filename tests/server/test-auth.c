/*
 * test-auth.c - room tokens, random ids and the admin key compare.
 *
 * Every refusal path of auth_token_verify() is driven by a token built for
 * it: tampered payload and signature, wrong secret, expiry at the exact
 * second, alg "none" and its cousins, broken shapes and base64, oversize
 * input, and correctly signed payloads whose claims are wrong (the test
 * signs those itself with OpenSSL, independently of auth.c and its
 * libsodium, so a token's signature is checked against standard HS256).
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "check.h"

static const char secret[] = "test-secret-0123456789";
static const int64_t now = 1800000000;

static void b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			out[o++] = a[(acc >> (bits - 6)) & 63];
			bits -= 6;
		}
	}
	if (bits > 0)
		out[o++] = a[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

/* Builds header.payload.signature from raw JSON texts, signed with key. */
static void forge(const char *header, const char *payload, const char *key, char *out)
{
	unsigned char sig[32];
	unsigned int len = 0;
	size_t n;

	b64url((const unsigned char *)header, strlen(header), out);
	n = strlen(out);
	out[n++] = '.';
	b64url((const unsigned char *)payload, strlen(payload), out + n);
	n = strlen(out);
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)out, n, sig, &len);
	out[n++] = '.';
	b64url(sig, 32, out + n);
}

static struct auth_claims sample(void)
{
	struct auth_claims c;

	memset(&c, 0, sizeof(c));
	strcpy(c.room, "Room_42-x");
	c.role = AUTH_ROLE_CANDIDATE;
	strcpy(c.name, "Zo\xc3\xab \"the\" candidate");
	c.exp = now + 3600;
	c.epoch = 7;
	return c;
}

static void test_round_trip(void)
{
	struct auth_claims c = sample(), got;
	char *tok = NULL, *tok2 = NULL;
	int rc;

	rc = auth_token_make(secret, &c, now, &tok);
	REQUIRE(rc == 0, "make: %s", auth_strerror(rc));
	CHECK(strlen(tok) < AUTH_TOKEN_MAX, "length %zu", strlen(tok));
	CHECK(strchr(tok, '=') == NULL && strchr(tok, '+') == NULL && strchr(tok, '/') == NULL,
	      "not base64url: %s", tok);
	memset(&got, 0xAA, sizeof(got));
	rc = auth_token_verify(secret, tok, now, &got);
	CHECK(rc == 0, "verify: %s", auth_strerror(rc));
	CHECK(strcmp(got.room, c.room) == 0, "room '%s'", got.room);
	CHECK(got.role == AUTH_ROLE_CANDIDATE, "role %d", (int)got.role);
	CHECK(strcmp(got.name, c.name) == 0, "name '%s'", got.name);
	CHECK(got.exp == c.exp, "exp %lld", (long long)got.exp);
	CHECK(got.iat == now, "iat %lld", (long long)got.iat);
	CHECK(got.epoch == 7, "epoch %lld", (long long)got.epoch);
	CHECK(strlen(got.jti) == AUTH_JTI_LEN, "jti '%s'", got.jti);
	/* The signature auth.c made is the one OpenSSL makes for the same input. */
	char sig[64];
	const char *dot2 = strrchr(tok, '.');
	unsigned char mac[32];
	unsigned int maclen = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)tok,
	     (size_t)(dot2 - tok), mac, &maclen);
	b64url(mac, maclen, sig);
	CHECK(strcmp(dot2 + 1, sig) == 0, "signature %s, OpenSSL says %s", dot2 + 1, sig);
	/* One second before expiry still verifies. */
	rc = auth_token_verify(secret, tok, c.exp - 1, &got);
	CHECK(rc == 0, "at exp-1: %s", auth_strerror(rc));

	/* Two tokens for the same claims differ (fresh jti). */
	rc = auth_token_make(secret, &c, now, &tok2);
	REQUIRE(rc == 0, "make 2: %s", auth_strerror(rc));
	CHECK(strcmp(tok, tok2) != 0, "same token twice: %s", tok);

	for (int role = 0; role <= AUTH_ROLE_OBSERVER; role++) {
		char *t = NULL;
		c.role = (enum auth_role)role;
		REQUIRE(auth_token_make(secret, &c, now, &t) == 0, "make role %d", role);
		rc = auth_token_verify(secret, t, now, &got);
		CHECK(rc == 0 && got.role == (enum auth_role)role, "role %d: rc %d got %d", role,
		      rc, (int)got.role);
		free(t);
	}
	free(tok);
	free(tok2);
}

static void test_tampering(void)
{
	struct auth_claims c = sample(), got;
	char *a = NULL, *b = NULL, mixed[4096];
	int rc;

	REQUIRE(auth_token_make(secret, &c, now, &a) == 0, "make a");
	strcpy(c.name, "someone else");
	c.role = AUTH_ROLE_INTERVIEWER;
	REQUIRE(auth_token_make(secret, &c, now, &b) == 0, "make b");

	/* Payload of b under the header and signature of a. */
	const char *a1 = strchr(a, '.'), *a2 = strrchr(a, '.');
	const char *b1 = strchr(b, '.'), *b2 = strrchr(b, '.');
	snprintf(mixed, sizeof(mixed), "%.*s%.*s%s", (int)(a1 - a), a, (int)(b2 - b1), b1, a2);
	rc = auth_token_verify(secret, mixed, now, &got);
	CHECK(rc == AUTH_E_BAD_SIGNATURE, "swapped payload: %d %s", rc, auth_strerror(rc));

	/* One changed character of the signature (the first: no padding bits). */
	strcpy(mixed, a);
	char *sig = strrchr(mixed, '.') + 1;
	sig[0] = sig[0] == 'A' ? 'B' : 'A';
	rc = auth_token_verify(secret, mixed, now, &got);
	CHECK(rc == AUTH_E_BAD_SIGNATURE, "changed signature: %d %s", rc, auth_strerror(rc));

	/* One changed character in the payload. */
	strcpy(mixed, a);
	char *pl = strchr(mixed, '.') + 1;
	pl[3] = pl[3] == 'A' ? 'B' : 'A';
	rc = auth_token_verify(secret, mixed, now, &got);
	CHECK(rc == AUTH_E_BAD_SIGNATURE, "changed payload: %d %s", rc, auth_strerror(rc));

	/* Wrong secret. */
	rc = auth_token_verify("another-secret", a, now, &got);
	CHECK(rc == AUTH_E_BAD_SIGNATURE, "wrong secret: %d %s", rc, auth_strerror(rc));
	rc = auth_token_verify("", a, now, &got);
	CHECK(rc == AUTH_E_INVAL, "empty secret: %d", rc);

	/* A signature truncated by one character. */
	strcpy(mixed, a);
	mixed[strlen(mixed) - 1] = '\0';
	rc = auth_token_verify(secret, mixed, now, &got);
	CHECK(rc == AUTH_E_MALFORMED, "short signature: %d %s", rc, auth_strerror(rc));

	/* Non-zero unused bits in the last signature character: a second spelling. */
	strcpy(mixed, a);
	size_t n = strlen(mixed);
	char last = mixed[n - 1];
	mixed[n - 1] = last == 'A' ? 'B' : (char)(last ^ 1);
	rc = auth_token_verify(secret, mixed, now, &got);
	CHECK(rc == AUTH_E_MALFORMED || rc == AUTH_E_BAD_SIGNATURE, "stray bits: %d", rc);
	CHECK(rc != 0, "stray bits accepted");

	free(a);
	free(b);
}

static void test_expiry(void)
{
	struct auth_claims c = sample(), got;
	char *t = NULL;
	int rc;

	REQUIRE(auth_token_make(secret, &c, now, &t) == 0, "make");
	memset(&got, 0, sizeof(got));
	rc = auth_token_verify(secret, t, c.exp, &got);
	CHECK(rc == AUTH_E_EXPIRED, "at exp: %d %s", rc, auth_strerror(rc));
	CHECK(strcmp(got.room, c.room) == 0, "expired claims still filled: '%s'", got.room);
	rc = auth_token_verify(secret, t, c.exp + 100000, &got);
	CHECK(rc == AUTH_E_EXPIRED, "long after: %d", rc);
	free(t);

	c.exp = now;
	t = NULL;
	rc = auth_token_make(secret, &c, now, &t);
	CHECK(rc == AUTH_E_INVAL && t == NULL, "make with exp == now: %d", rc);
}

static void test_alg(void)
{
	static const char payload[] = "{\"room\":\"r1\",\"role\":\"interviewer\",\"name\":\"x\","
				      "\"iat\":1800000000,\"exp\":1900000000,\"jti\":\"j\"}";
	static const struct {
		const char *header;
		int want;
	} cases[] = {
		{ "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 0 },
		{ "{\"alg\":\"HS256\"}", 0 },
		{ "{\"alg\":\"none\",\"typ\":\"JWT\"}", AUTH_E_BAD_ALG },
		{ "{\"alg\":\"None\"}", AUTH_E_BAD_ALG },
		{ "{\"alg\":\"hs256\"}", AUTH_E_BAD_ALG },
		{ "{\"alg\":\"HS512\"}", AUTH_E_BAD_ALG },
		{ "{\"alg\":\"RS256\"}", AUTH_E_BAD_ALG },
		{ "{\"typ\":\"JWT\"}", AUTH_E_BAD_ALG },
		{ "{\"alg\":null}", AUTH_E_BAD_ALG },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWE\"}", AUTH_E_MALFORMED },
		{ "[\"HS256\"]", AUTH_E_MALFORMED },
		{ "not json", AUTH_E_MALFORMED },
	};
	char tok[4096];
	struct auth_claims got;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		forge(cases[i].header, payload, secret, tok);
		int rc = auth_token_verify(secret, tok, now, &got);
		CHECK(rc == cases[i].want, "header %s: got %d (%s), want %d", cases[i].header, rc,
		      auth_strerror(rc), cases[i].want);
	}

	/* The classic unsigned token: alg none with an empty signature. */
	char h[256], p[512];
	b64url((const unsigned char *)"{\"alg\":\"none\"}", 14, h);
	b64url((const unsigned char *)payload, strlen(payload), p);
	snprintf(tok, sizeof(tok), "%s.%s.", h, p);
	int rc = auth_token_verify(secret, tok, now, &got);
	CHECK(rc == AUTH_E_BAD_ALG, "alg none, empty signature: %d", rc);
}

static void test_claims(void)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	static const struct {
		const char *payload;
		int want;
	} cases[] = {
		{ "{\"room\":\"r\",\"role\":\"observer\",\"name\":\"\",\"iat\":1,\"exp\":"
		  "1900000000,"
		  "\"jti\":\"j\"}",
		  0 },
		{ "{\"role\":\"observer\",\"name\":\"\",\"iat\":1,\"exp\":1900000000,\"jti\":"
		  "\"j\"}",
		  AUTH_E_BAD_CLAIMS },
		{ "{\"room\":\"r\",\"role\":\"admin\",\"name\":\"\",\"iat\":1,\"exp\":1900000000,"
		  "\"jti\":\"j\"}",
		  AUTH_E_BAD_CLAIMS },
		{ "{\"room\":\"r\",\"role\":\"observer\",\"name\":\"\",\"iat\":1,\"exp\":"
		  "\"1900000000\","
		  "\"jti\":\"j\"}",
		  AUTH_E_BAD_CLAIMS },
		{ "{\"room\":\"a "
		  "b\",\"role\":\"observer\",\"name\":\"\",\"iat\":1,\"exp\":1900000000,"
		  "\"jti\":\"j\"}",
		  AUTH_E_BAD_CLAIMS },
		{ "{\"room\":\"r\",\"room\":\"s\",\"role\":\"observer\",\"name\":\"\",\"iat\":1,"
		  "\"exp\":1900000000,\"jti\":\"j\"}",
		  AUTH_E_BAD_CLAIMS },
		{ "{\"room\":\"r\",\"role\":\"observer\",\"name\":\"a\\u0000b\",\"iat\":1,"
		  "\"exp\":1900000000,\"jti\":\"j\"}",
		  AUTH_E_BAD_CLAIMS },
		{ "{\"room\":\"r\",\"role\":\"observer\",\"name\":\"\",\"iat\":1,\"exp\":"
		  "1900000000,"
		  "\"jti\":\"j\",\"ep\":\"x\"}",
		  AUTH_E_BAD_CLAIMS },
		{ "{\"room\":\"r\",\"role\":\"observer\",\"name\":\"\",\"iat\":1,\"exp\":"
		  "1700000000,"
		  "\"jti\":\"j\"}",
		  AUTH_E_EXPIRED },
		{ "[1,2,3]", AUTH_E_BAD_CLAIMS },
		{ "", AUTH_E_BAD_CLAIMS },
	};
	char tok[4096];
	struct auth_claims got;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		forge(hdr, cases[i].payload, secret, tok);
		int rc = auth_token_verify(secret, tok, now, &got);
		CHECK(rc == cases[i].want, "payload %s: got %d (%s), want %d", cases[i].payload, rc,
		      auth_strerror(rc), cases[i].want);
	}
	/* A payload forged with another key never reaches the claim checks. */
	forge(hdr, cases[0].payload, "other", tok);
	CHECK(auth_token_verify(secret, tok, now, &got) == AUTH_E_BAD_SIGNATURE, "forged");
}

static void test_garbage(void)
{
	static const char *const bad[] = {
		"",
		"abc",
		"a.b",
		"a.b.c.d",
		"..",
		"...",
		"eyJhbGciOiJIUzI1NiJ9..",
		"eyJhbGciOiJIUzI1NiJ9.e30=.AAAA",
		"eyJhbGciOiJIUzI1NiJ9.e30.AAA+",
		"eyJhbGciOiJIUzI1NiJ9.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"e*J.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"a.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		" eyJhbGciOiJIUzI1NiJ9.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	struct auth_claims got;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = auth_token_verify(secret, bad[i], now, &got);
		CHECK(rc == AUTH_E_MALFORMED || rc == AUTH_E_BAD_ALG, "'%s': %d (%s)", bad[i], rc,
		      auth_strerror(rc));
	}
	CHECK(auth_token_verify(secret, NULL, now, &got) == AUTH_E_MALFORMED, "NULL token");

	/* Huge input is refused before any parsing, at AUTH_TOKEN_MAX + 1 bytes. */
	char *huge = malloc(1 << 20);
	REQUIRE(huge != NULL, "malloc");
	memset(huge, 'A', (1 << 20) - 1);
	huge[(1 << 20) - 1] = '\0';
	huge[100] = '.';
	huge[200] = '.';
	CHECK(auth_token_verify(secret, huge, now, &got) == AUTH_E_TOO_LONG, "1 MiB token");
	huge[AUTH_TOKEN_MAX + 1] = '\0';
	CHECK(auth_token_verify(secret, huge, now, &got) == AUTH_E_TOO_LONG, "max+1");
	huge[AUTH_TOKEN_MAX] = '\0';
	int rc = auth_token_verify(secret, huge, now, &got);
	CHECK(rc != AUTH_E_TOO_LONG && rc < 0, "max: %d", rc);
	free(huge);
}

static void test_make_inval(void)
{
	struct auth_claims c = sample();
	char *t = NULL;

	CHECK(auth_token_make("", &c, now, &t) == AUTH_E_INVAL && t == NULL, "empty secret");
	strcpy(c.room, "a b");
	CHECK(auth_token_make(secret, &c, now, &t) == AUTH_E_INVAL, "room with space");
	c = sample();
	c.room[0] = '\0';
	CHECK(auth_token_make(secret, &c, now, &t) == AUTH_E_INVAL, "empty room");
	c = sample();
	c.role = (enum auth_role)9;
	CHECK(auth_token_make(secret, &c, now, &t) == AUTH_E_INVAL, "bad role");
	c = sample();
	strcpy(c.name, "bad \xff utf8");
	CHECK(auth_token_make(secret, &c, now, &t) == AUTH_E_INVAL, "invalid UTF-8 name");
	c = sample();
	memset(c.name, 'n', AUTH_NAME_MAX);
	c.name[AUTH_NAME_MAX] = '\0';
	CHECK(auth_token_make(secret, &c, now, &t) == 0, "longest name");
	free(t);
	t = NULL;
	c = sample();
	memset(c.room, 'r', AUTH_ROOM_MAX);
	c.room[AUTH_ROOM_MAX] = '\0';
	CHECK(auth_token_make(secret, &c, now, &t) == 0, "longest room");
	struct auth_claims got;
	CHECK(t != NULL && auth_token_verify(secret, t, now, &got) == 0 &&
		      strlen(got.room) == AUTH_ROOM_MAX,
	      "longest room verifies");
	free(t);
}

static void test_random_and_keys(void)
{
	char a[17], b[17];

	CHECK(auth_random_id(a, sizeof(a)) == 0, "random a");
	CHECK(auth_random_id(b, sizeof(b)) == 0, "random b");
	CHECK(strlen(a) == 16, "length %zu", strlen(a));
	CHECK(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 16,
	      "alphabet: %s", a);
	CHECK(strcmp(a, b) != 0, "two ids equal: %s", a);
	CHECK(auth_random_id(a, 1) == AUTH_E_INVAL, "n = 1");
	CHECK(auth_random_id(NULL, 5) == AUTH_E_INVAL, "NULL");

	/* Every character of the alphabet shows up in a long id (it is not biased away). */
	char big[4097];
	CHECK(auth_random_id(big, sizeof(big)) == 0, "big");
	for (const char *c = "Az09-_"; *c; c++)
		CHECK(strchr(big, *c) != NULL, "'%c' never drawn", *c);

	CHECK(auth_key_equal("key-1", "key-1"), "equal");
	CHECK(!auth_key_equal("key-1", "key-2"), "different");
	CHECK(!auth_key_equal("key-1", "key-10"), "prefix");
	CHECK(!auth_key_equal("", "x"), "empty");
	CHECK(auth_key_equal("", ""), "both empty");
	CHECK(!auth_key_equal(NULL, "x") && !auth_key_equal("x", NULL) &&
		      !auth_key_equal(NULL, NULL),
	      "NULL");
}

static void test_strerror(void)
{
	static const int codes[] = {
#define CODE(name, value, text) AUTH_E_##name,
		AUTH_ERRNO_MAP(CODE)
#undef CODE
	};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		CHECK(strcmp(auth_strerror(codes[i]), "unknown auth error") != 0, "code %d",
		      codes[i]);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(auth_strerror(codes[i]), auth_strerror(codes[j])) != 0,
			      "same text for %d and %d", codes[i], codes[j]);
	}
	CHECK(strcmp(auth_strerror(-999), "unknown auth error") == 0, "unknown");
	enum auth_role r;
	CHECK(auth_role_parse("observer", &r) == 0 && r == AUTH_ROLE_OBSERVER, "parse");
	CHECK(auth_role_parse("Observer", &r) == AUTH_E_INVAL, "case");
}

int main(void)
{
	test_round_trip();
	test_tampering();
	test_expiry();
	test_alg();
	test_claims();
	test_garbage();
	test_make_inval();
	test_random_and_keys();
	test_strerror();
	CHECK_DONE();
}
