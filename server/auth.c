/*
 * auth.c - HS256 room tokens (see auth.h for the format and checks).
 *
 * Why hand-rolled rather than a JWT library: we need exactly one algorithm
 * and one claim set, and the classic JWT bugs (alg "none", algorithm
 * confusion, non-constant-time compares, lenient decoding) are easiest to
 * rule out when the whole verifier fits on a screen.  The primitives are
 * not ours: HMAC-SHA256, SHA-256, the constant-time compare, base64url and
 * random bytes come from libsodium (small, audited, no provider start-up,
 * unlike OpenSSL 3's ~2 MB).  The signature is checked before the payload
 * is parsed, so JSON from an unauthenticated party never reaches jansson
 * except the small header.  This file must never log or keep a secret.
 */
#include "auth.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#define SIG_LEN AUTH_MAC_LEN
#define B64	sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* The URL-safe alphabet, for random ids (and the room ids made of it). */
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const char *auth_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define AUTH_STRERROR_CASE(name, value, text) \
	case AUTH_E_##name:                   \
		return text;
		AUTH_ERRNO_MAP(AUTH_STRERROR_CASE)
#undef AUTH_STRERROR_CASE
	default:
		return "unknown auth error";
	}
}

static const char *const role_names[] = { "interviewer", "candidate", "observer" };

const char *auth_role_name(enum auth_role role)
{
	if ((unsigned)role > AUTH_ROLE_OBSERVER)
		return NULL;
	return role_names[role];
}

int auth_role_parse(const char *name, enum auth_role *out)
{
	for (int i = 0; i <= AUTH_ROLE_OBSERVER; i++) {
		if (name != NULL && strcmp(name, role_names[i]) == 0) {
			*out = (enum auth_role)i;
			return 0;
		}
	}
	return AUTH_E_INVAL;
}

/* Encoded length of n bytes without padding. */
static size_t b64_len(size_t n)
{
	return sodium_base64_ENCODED_LEN(n, B64) - 1;
}

/* Encodes n bytes into out (b64_len(n) + 1 bytes), NUL-terminated. */
static void b64_encode(const unsigned char *in, size_t n, char *out)
{
	sodium_bin2base64(out, b64_len(n) + 1, in, n, B64);
}

/*
 * Strictly decodes n characters into out (room for cap bytes); *outlen
 * gets the byte count.  libsodium refuses padding, foreign characters, a
 * length of 1 mod 4 and non-zero unused bits, and with no end pointer it
 * refuses input it did not consume whole.  Returns 0 or -1.
 */
static int b64_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *outlen)
{
	return sodium_base642bin(out, cap, in, n, NULL, outlen, NULL, B64) == 0 ? 0 : -1;
}

void auth_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
		      unsigned char out[AUTH_MAC_LEN])
{
	/* libsodium declares its pointers non-null even for a length of 0. */
	static const unsigned char none[1];
	crypto_auth_hmacsha256_state st;

	if (!key)
		key = none;
	if (!data)
		data = none;
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, data, n);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

static void sign(const char *secret, const char *data, size_t n, unsigned char sig[SIG_LEN])
{
	auth_hmac_sha256(secret, strlen(secret), data, n, sig);
}

static bool room_id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= AUTH_ROOM_MAX && strspn(s, b64url) == n;
}

int auth_random_id(char *buf, size_t n)
{
	unsigned char raw[256];

	if (buf == NULL || n < 2)
		return AUTH_E_INVAL;
	/* Idempotent; it picks the kernel's getrandom(2) for randombytes_buf(). */
	if (sodium_init() < 0) {
		buf[0] = '\0';
		return AUTH_E_RANDOM;
	}
	for (size_t done = 0; done < n - 1;) {
		size_t chunk = n - 1 - done;
		if (chunk > sizeof(raw))
			chunk = sizeof(raw);
		randombytes_buf(raw, chunk);
		/* 256 is a multiple of 64, so masking keeps the alphabet uniform. */
		for (size_t i = 0; i < chunk; i++)
			buf[done + i] = b64url[raw[i] & 63];
		done += chunk;
	}
	buf[n - 1] = '\0';
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

bool auth_key_equal(const char *a, const char *b)
{
	unsigned char da[crypto_hash_sha256_BYTES], db[crypto_hash_sha256_BYTES];

	if (a == NULL || b == NULL)
		return false;
	crypto_hash_sha256(da, (const unsigned char *)a, strlen(a));
	crypto_hash_sha256(db, (const unsigned char *)b, strlen(b));
	return sodium_memcmp(da, db, sizeof(da)) == 0;
}

static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

int auth_token_make(const char *secret, const struct auth_claims *claims, int64_t now, char **out)
{
	char jti[AUTH_JTI_LEN + 1];
	const char *role;
	json_t *payload = NULL;
	char *json = NULL, *tok = NULL;
	unsigned char sig[SIG_LEN];
	int rc;

	if (secret == NULL || *secret == '\0' || claims == NULL || out == NULL)
		return AUTH_E_INVAL;
	role = auth_role_name(claims->role);
	if (role == NULL || !room_id_ok(claims->room) ||
	    strnlen(claims->name, sizeof(claims->name)) > AUTH_NAME_MAX || claims->exp <= now)
		return AUTH_E_INVAL;
	rc = auth_random_id(jti, sizeof(jti));
	if (rc < 0)
		return rc;

	payload = json_pack("{s:s, s:s, s:s%, s:I, s:I, s:s, s:I}", "room", claims->room, "role",
			    role, "name", claims->name, strnlen(claims->name, AUTH_NAME_MAX), "iat",
			    (json_int_t)now, "exp", (json_int_t)claims->exp, "jti", jti, "ep",
			    (json_int_t)claims->epoch);
	if (payload == NULL) {
		/* json_pack also fails on invalid UTF-8 in the name. */
		rc = AUTH_E_INVAL;
		goto err_pack;
	}
	json = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	if (json == NULL) {
		rc = AUTH_E_NOMEM;
		goto err_dump;
	}

	size_t hlen = b64_len(sizeof(header_json) - 1), plen = b64_len(strlen(json));
	size_t slen = b64_len(SIG_LEN);
	tok = malloc(hlen + 1 + plen + 1 + slen + 1);
	if (tok == NULL) {
		rc = AUTH_E_NOMEM;
		goto err_alloc;
	}
	b64_encode((const unsigned char *)header_json, sizeof(header_json) - 1, tok);
	tok[hlen] = '.';
	b64_encode((const unsigned char *)json, strlen(json), tok + hlen + 1);
	sign(secret, tok, hlen + 1 + plen, sig);
	tok[hlen + 1 + plen] = '.';
	b64_encode(sig, SIG_LEN, tok + hlen + 1 + plen + 1);

	free(json);
	json_decref(payload);
	*out = tok;
	return 0;

err_alloc:
	free(json);
err_dump:
	json_decref(payload);
err_pack:
	return rc;
}

/* Decodes one base64url part into a fresh NUL-terminated buffer; NULL on error. */
static unsigned char *decode_part(const char *s, size_t n, size_t *outlen)
{
	size_t cap = n / 4 * 3 + 3;
	unsigned char *buf = malloc(cap);

	if (buf == NULL)
		return NULL;
	if (b64_decode(s, n, buf, cap - 1, outlen) < 0) {
		free(buf);
		return NULL;
	}
	buf[*outlen] = '\0';
	return buf;
}

static int check_header(const char *token, size_t n)
{
	unsigned char *raw;
	size_t len;
	json_t *hdr, *alg, *typ;
	int rc = 0;

	raw = decode_part(token, n, &len);
	if (raw == NULL)
		return AUTH_E_MALFORMED;
	hdr = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (!json_is_object(hdr)) {
		json_decref(hdr);
		return AUTH_E_MALFORMED;
	}
	alg = json_object_get(hdr, "alg");
	typ = json_object_get(hdr, "typ");
	if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0)
		rc = AUTH_E_BAD_ALG;
	else if (typ != NULL &&
		 (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0))
		rc = AUTH_E_MALFORMED;
	json_decref(hdr);
	return rc;
}

/* Copies a JSON string claim into dst[cap]; false when absent, not a string or too long. */
static bool copy_claim(json_t *obj, const char *key, char *dst, size_t cap)
{
	json_t *v = json_object_get(obj, key);
	size_t n;

	if (!json_is_string(v))
		return false;
	n = json_string_length(v);
	if (n >= cap || memchr(json_string_value(v), '\0', n) != NULL)
		return false;
	memcpy(dst, json_string_value(v), n + 1);
	return true;
}

static int parse_claims(const unsigned char *raw, size_t len, struct auth_claims *c)
{
	json_t *p, *iat, *exp, *ep;
	char role[16];
	int rc = AUTH_E_BAD_CLAIMS;

	p = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(p))
		goto out;
	iat = json_object_get(p, "iat");
	exp = json_object_get(p, "exp");
	ep = json_object_get(p, "ep");
	if (!copy_claim(p, "room", c->room, sizeof(c->room)) || !room_id_ok(c->room) ||
	    !copy_claim(p, "role", role, sizeof(role)) || auth_role_parse(role, &c->role) < 0 ||
	    !copy_claim(p, "name", c->name, sizeof(c->name)) ||
	    !copy_claim(p, "jti", c->jti, sizeof(c->jti)) || !json_is_integer(iat) ||
	    !json_is_integer(exp) || (ep != NULL && !json_is_integer(ep)))
		goto out;
	c->iat = json_integer_value(iat);
	c->exp = json_integer_value(exp);
	c->epoch = ep != NULL ? json_integer_value(ep) : 0;
	rc = 0;
out:
	json_decref(p);
	return rc;
}

int auth_token_verify(const char *secret, const char *token, int64_t now, struct auth_claims *out)
{
	const char *dot1, *dot2;
	unsigned char want[SIG_LEN], got[SIG_LEN + 3];
	unsigned char *payload;
	size_t n, glen, plen;
	struct auth_claims c;
	int rc;

	if (secret == NULL || *secret == '\0')
		return AUTH_E_INVAL;
	if (token == NULL)
		return AUTH_E_MALFORMED;
	n = strnlen(token, AUTH_TOKEN_MAX + 1);
	if (n > AUTH_TOKEN_MAX)
		return AUTH_E_TOO_LONG;
	dot1 = memchr(token, '.', n);
	if (dot1 == NULL)
		return AUTH_E_MALFORMED;
	dot2 = memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - token));
	if (dot2 == NULL || memchr(dot2 + 1, '.', n - (size_t)(dot2 + 1 - token)) != NULL)
		return AUTH_E_MALFORMED;

	rc = check_header(token, (size_t)(dot1 - token));
	if (rc < 0)
		return rc;

	/* The signature part must be exactly one HMAC-SHA256. */
	size_t slen = n - (size_t)(dot2 + 1 - token);
	if (slen != b64_len(SIG_LEN) || b64_decode(dot2 + 1, slen, got, sizeof(got), &glen) < 0 ||
	    glen != SIG_LEN)
		return AUTH_E_MALFORMED;
	sign(secret, token, (size_t)(dot2 - token), want);
	if (sodium_memcmp(want, got, SIG_LEN) != 0)
		return AUTH_E_BAD_SIGNATURE;

	payload = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen);
	if (payload == NULL)
		return AUTH_E_MALFORMED;
	memset(&c, 0, sizeof(c));
	rc = parse_claims(payload, plen, &c);
	free(payload);
	if (rc < 0)
		return rc;
	*out = c;
	if (c.exp <= now)
		return AUTH_E_EXPIRED;
	return 0;
}
