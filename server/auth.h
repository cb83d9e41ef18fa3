/*
 * auth.h - signed room tokens, random ids and the admin key check.
 *
 * Boundary: pure functions over strings, libsodium (HMAC-SHA256, SHA-256,
 * constant-time compare, base64url, random bytes) and jansson; no I/O, no
 * globals of its own, nothing that knows about rooms beyond the claims a
 * token carries.  Whether a room
 * exists or is closed (its token epoch) is the caller's check.
 *
 * Token format: JWT, JWS compact serialisation, HS256 only (RFC 7519/7515):
 *
 *   base64url(header) "." base64url(payload) "." base64url(HMAC-SHA256)
 *
 * base64url without padding.  header is {"alg":"HS256","typ":"JWT"}; the
 * payload is a JSON object
 *
 *   {"room": id, "role": "interviewer"|"candidate"|"observer", "name": str,
 *    "iat": unix s, "exp": unix s, "jti": random id, "ep": room token epoch}
 *
 * Verification refuses (in this order): more than AUTH_TOKEN_MAX bytes, a
 * shape other than three base64url parts, a header whose alg is not exactly
 * "HS256" ("none" included), a signature that does not match (compared in
 * constant time), a payload without the claims above or with wrong types,
 * and exp <= now.  Decoding is strict (no padding, no stray bits) so a token
 * has exactly one accepted spelling.
 */
#ifndef TANDEM_AUTH_H
#define TANDEM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors: negative codes, one list, also generating auth_strerror(). */
#define AUTH_ERRNO_MAP(X)                                                \
	X(MALFORMED, -1, "malformed token")                              \
	X(BAD_SIGNATURE, -2, "bad token signature")                      \
	X(EXPIRED, -3, "token expired")                                  \
	X(BAD_ALG, -4, "token algorithm is not HS256")                   \
	X(TOO_LONG, -5, "token too long")                                \
	X(BAD_CLAIMS, -6, "token claims missing or invalid")             \
	X(INVAL, -7, "invalid argument (empty secret, bad claim value)") \
	X(NOMEM, -8, "out of memory")                                    \
	X(RANDOM, -9, "no randomness available")

enum {
#define AUTH_ERRNO_ENUM(name, value, text) AUTH_E_##name = (value),
	AUTH_ERRNO_MAP(AUTH_ERRNO_ENUM)
#undef AUTH_ERRNO_ENUM
};

/* A static string for 0 or an AUTH_E_* code; "unknown auth error" otherwise. */
const char *auth_strerror(int err);

/* Longest token accepted, in bytes; longer ones fail with AUTH_E_TOO_LONG. */
#define AUTH_TOKEN_MAX 2048
/* Longest room id and display name (bytes, without the NUL). */
#define AUTH_ROOM_MAX 64
#define AUTH_NAME_MAX 128
/* Length of the random jti a new token gets. */
#define AUTH_JTI_LEN 22

enum auth_role {
	AUTH_ROLE_INTERVIEWER = 0,
	AUTH_ROLE_CANDIDATE = 1,
	AUTH_ROLE_OBSERVER = 2,
};

/* "interviewer", "candidate", "observer"; NULL for anything else. */
const char *auth_role_name(enum auth_role role);
/* Parses a role name; returns 0 or AUTH_E_INVAL. */
int auth_role_parse(const char *name, enum auth_role *out);

/*
 * What a token says.  Fixed-size fields, so claims live on the caller's
 * stack and need no freeing.  room is non-empty ASCII [A-Za-z0-9_-]; name
 * is any UTF-8 text without NUL (possibly empty).
 */
struct auth_claims {
	char room[AUTH_ROOM_MAX + 1];
	enum auth_role role;
	char name[AUTH_NAME_MAX + 1];
	int64_t iat;
	int64_t exp;
	int64_t epoch; /* the room's token epoch when issued; bump to revoke */
	char jti[AUTH_ROOM_MAX + 1];
};

/*
 * Makes a token for claims, issued at now (unix seconds): claims->iat and
 * claims->jti are ignored (set from now and a fresh random id), claims->exp
 * must be > now.  On success *out is a NUL-terminated string the caller
 * frees with free().  secret is borrowed; it must be non-empty.
 * Returns 0, AUTH_E_INVAL (empty secret, bad room/name/role, exp <= now),
 * AUTH_E_NOMEM or AUTH_E_RANDOM; *out is untouched on error.
 */
int auth_token_make(const char *secret, const struct auth_claims *claims, int64_t now, char **out);

/*
 * Verifies token against secret at time now and fills *out.  Both strings
 * are borrowed.  Returns 0 or AUTH_E_TOO_LONG, AUTH_E_MALFORMED,
 * AUTH_E_BAD_ALG, AUTH_E_BAD_SIGNATURE, AUTH_E_BAD_CLAIMS, AUTH_E_EXPIRED,
 * AUTH_E_INVAL (empty secret) or AUTH_E_NOMEM.  *out is filled only on
 * success; with AUTH_E_EXPIRED it is filled too (the claims were
 * authentic), so the caller can name the room in its log line.
 */
int auth_token_verify(const char *secret, const char *token, int64_t now, struct auth_claims *out);

/* Bytes of an HMAC-SHA256. */
#define AUTH_MAC_LEN 32

/*
 * HMAC-SHA256 (RFC 2104) of data[0..n) under key[0..keylen) into out: the
 * MAC that signs tokens (libsodium's; any key length, a key longer than the
 * 64-byte block is hashed first as the RFC says).  Inputs are borrowed for
 * the call; a pointer with a length of 0 may be NULL.
 */
void auth_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
		      unsigned char out[AUTH_MAC_LEN]);

/*
 * Writes n - 1 random characters from the URL-safe alphabet [A-Za-z0-9_-]
 * (6 bits each, from libsodium's randombytes_buf(): the kernel's CSPRNG)
 * and a NUL into buf.  n >= 2.  Returns 0,
 * AUTH_E_INVAL or AUTH_E_RANDOM (buf then holds "").  Room ids use 16
 * characters: 96 bits.
 */
int auth_random_id(char *buf, size_t n);

/*
 * Compares two secrets (e.g. the admin key from a request against the
 * configured one) in time independent of their contents and lengths: both
 * are hashed with SHA-256 and the digests compared with sodium_memcmp().
 * NULL never equals anything.  Strings are borrowed.
 */
bool auth_key_equal(const char *a, const char *b);

#endif
