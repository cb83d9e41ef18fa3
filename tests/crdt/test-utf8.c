/*
 * test-utf8.c - the UTF-8 validator and the UTF-16/code point/byte offset
 * helpers.
 *
 * Browsers count in UTF-16 units, the CRDT counts code points and stores
 * UTF-8, so every boundary between those three must be exact: an offset
 * that is off by one inside a surrogate pair moves a peer's cursor or, worse,
 * splits a character.  The validator is compared with a straightforward
 * reference decoder (Unicode Table 3-7) over every 1- and 2-byte sequence
 * and over 3- and 4-byte sequences built from the interesting byte values;
 * the offset helpers are checked on a hand-made string and on random ones.
 */
#include "testutil.h"

/*
 * Reference validator written from the Unicode standard's table of
 * well-formed byte sequences.  Returns the code point count or -1.
 */
static long ref_utf8_count(const unsigned char *s, size_t n)
{
	long cps = 0;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t len;

		if (c < 0x80) {
			len = 1;
		} else if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			if (c == 0xE0)
				lo = 0xA0;
			if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			if (c == 0xF0)
				lo = 0x90;
			if (c == 0xF4)
				hi = 0x8F;
		} else {
			return -1;
		}
		if (n - i < len)
			return -1;
		for (size_t k = 1; k < len; k++) {
			unsigned char b = s[i + k];
			unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
			if (b < l || b > h)
				return -1;
		}
		i += len;
		cps++;
	}
	return cps;
}

/* Runs crdt_utf8_check on an exact-size heap copy (so ASan sees over-reads). */
static int check_copy(const void *s, size_t n, size_t *cps)
{
	char *copy = malloc(n ? n : 1);
	int rc;

	TU_CHECK(copy != NULL);
	if (n)
		memcpy(copy, s, n);
	rc = crdt_utf8_check(copy, n, cps);
	free(copy);
	return rc;
}

static void expect_valid(const char *s, size_t n, size_t want_cps)
{
	size_t cps = 12345;
	int rc = check_copy(s, n, &cps);

	if (rc != 0) {
		tu_print_bytes(stderr, s, n, 0);
		TU_FAIL(" rejected (%d), expected valid", rc);
	}
	TU_EQ_SIZE(cps, want_cps);
	TU_OK(check_copy(s, n, NULL));
}

static void expect_invalid(const char *s, size_t n)
{
	int rc = check_copy(s, n, NULL);

	if (rc != CRDT_EUTF8) {
		tu_print_bytes(stderr, s, n, 0);
		TU_FAIL(" returned %d, expected CRDT_EUTF8", rc);
	}
}

#define VALID(lit, cps) expect_valid(lit, sizeof(lit) - 1, cps)
#define INVALID(lit)	expect_invalid(lit, sizeof(lit) - 1)

static void test_boundaries(void)
{
	VALID("", 0);
	VALID("a", 1);
	VALID("\0", 1);
	VALID("\x7F", 1);	      /* U+007F */
	VALID("\xC2\x80", 1);	      /* U+0080 */
	VALID("\xDF\xBF", 1);	      /* U+07FF */
	VALID("\xE0\xA0\x80", 1);     /* U+0800 */
	VALID("\xED\x9F\xBF", 1);     /* U+D7FF, last before the surrogates */
	VALID("\xEE\x80\x80", 1);     /* U+E000, first after them */
	VALID("\xEF\xBF\xBF", 1);     /* U+FFFF */
	VALID("\xF0\x90\x80\x80", 1); /* U+10000 */
	VALID("\xF4\x8F\xBF\xBF", 1); /* U+10FFFF */
	VALID("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z", 5);

	/* Overlong forms. */
	INVALID("\xC0\x80");
	INVALID("\xC1\xBF");
	INVALID("\xE0\x80\x80");
	INVALID("\xE0\x9F\xBF");
	INVALID("\xF0\x80\x80\x80");
	INVALID("\xF0\x8F\xBF\xBF");
	/* UTF-16 surrogates encoded directly (CESU-8). */
	INVALID("\xED\xA0\x80");
	INVALID("\xED\xBF\xBF");
	INVALID("\xED\xA0\xBD\xED\xB8\x80");
	/* Beyond U+10FFFF and bytes that never appear. */
	INVALID("\xF4\x90\x80\x80");
	INVALID("\xF5\x80\x80\x80");
	INVALID("\xF7\xBF\xBF\xBF");
	INVALID("\xF8\x88\x80\x80\x80");
	INVALID("\xFC\x84\x80\x80\x80\x80");
	INVALID("\xFE");
	INVALID("\xFF");
	/* Truncated sequences, alone and at the end of valid text. */
	INVALID("\xC2");
	INVALID("\xE0\xA0");
	INVALID("\xE2\x82");
	INVALID("\xF0\x90\x80");
	INVALID("\xF0\x9F\x98");
	INVALID("abc\xC3");
	INVALID("abc\xF0\x9F");
	/* A continuation byte missing in the middle. */
	INVALID("\xC2\x41");
	INVALID("\xE2\x82\x41");
	INVALID("\xF0\x9F\x98\x41");
	INVALID("\xE2\x82\xF0\x9F\x98\x80");
	/* Stray continuation bytes. */
	INVALID("\x80");
	INVALID("\xBF");
	INVALID("a\x80z");
	INVALID("\xC3\xA9\xA9");
	INVALID("\xF0\x9F\x98\x80\x80");
}

/* Every code point encodes to a sequence the validator accepts, except surrogates. */
static void test_every_code_point(void)
{
	char buf[4];

	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		size_t n = tu_utf8_put(cp, buf), cps = 0;
		int rc = crdt_utf8_check(buf, n, &cps);
		if (cp >= 0xD800 && cp <= 0xDFFF) {
			if (rc != CRDT_EUTF8)
				TU_FAIL("surrogate U+%04" PRIX32 " accepted (%d)", cp, rc);
		} else if (rc != 0 || cps != 1) {
			TU_FAIL("U+%04" PRIX32 " rejected (%d) or counted %zu", cp, rc, cps);
		}
	}
}

static void compare_with_ref(const unsigned char *s, size_t n)
{
	long want = ref_utf8_count(s, n);
	size_t cps = 0;
	int rc = crdt_utf8_check((const char *)s, n, &cps);

	if (want < 0 ? rc != CRDT_EUTF8 : rc != 0 || cps != (size_t)want) {
		tu_print_bytes(stderr, (const char *)s, n, 0);
		TU_FAIL(": crdt_utf8_check = %d (cps %zu), reference says %ld", rc, cps, want);
	}
}

/* All 1- and 2-byte strings, and 3/4-byte ones over the bytes around every boundary. */
static void test_against_reference(struct tu_rng *rng)
{
	static const unsigned char interesting[] = { 0x00, 0x41, 0x7F, 0x80, 0x81, 0x8F,
						     0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2,
						     0xDF, 0xE0, 0xED, 0xF0, 0xF4, 0xFF };
	const size_t ni = sizeof interesting;
	unsigned char s[8];

	for (unsigned a = 0; a < 256; a++) {
		s[0] = (unsigned char)a;
		compare_with_ref(s, 1);
		for (unsigned b = 0; b < 256; b++) {
			s[1] = (unsigned char)b;
			compare_with_ref(s, 2);
		}
	}
	for (unsigned a = 0; a < 256; a++) {
		s[0] = (unsigned char)a;
		for (size_t b = 0; b < ni; b++) {
			s[1] = interesting[b];
			for (size_t c = 0; c < ni; c++) {
				s[2] = interesting[c];
				compare_with_ref(s, 3);
				for (size_t d = 0; d < ni; d++) {
					s[3] = interesting[d];
					compare_with_ref(s, 4);
				}
			}
		}
	}
	/* Random mixes of valid characters with a random byte dropped in. */
	for (int iter = 0; iter < 20000; iter++) {
		unsigned char buf[64];
		size_t n = 0;
		while (n < sizeof buf - 4 && tu_below(rng, 12) != 0)
			n += tu_utf8_put(tu_rand_cp(rng), (char *)buf + n);
		if (n && tu_chance(rng, 50))
			buf[tu_below(rng, n)] = (unsigned char)tu_rand(rng);
		if (tu_chance(rng, 20))
			n -= tu_below(rng, n + 1) / 2;
		compare_with_ref(buf, n);
	}
}

/* a é 😀 € 😀 z: UTF-16 units 1 1 2 1 2 1, bytes 1 2 4 3 4 1. */
static void test_offsets_fixed(void)
{
	static const char s[] = "a\xC3\xA9\xF0\x9F\x98\x80\xE2\x82\xAC\xF0\x9F\x98\x80z";
	const size_t n = sizeof s - 1;
	static const size_t u16_to_cp[] = { 0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 6 };
	static const size_t cp_to_u16[] = { 0, 1, 2, 4, 5, 7, 8, 8, 8 };
	static const size_t cp_to_byte[] = { 0, 1, 3, 7, 10, 14, 15, 15, 15 };

	TU_EQ_SIZE(n, 15);
	for (size_t i = 0; i < sizeof u16_to_cp / sizeof u16_to_cp[0]; i++)
		TU_EQ_SIZE(crdt_utf16_to_cp(s, n, i), u16_to_cp[i]);
	for (size_t i = 0; i < sizeof cp_to_u16 / sizeof cp_to_u16[0]; i++)
		TU_EQ_SIZE(crdt_cp_to_utf16(s, n, i), cp_to_u16[i]);
	for (size_t i = 0; i < sizeof cp_to_byte / sizeof cp_to_byte[0]; i++)
		TU_EQ_SIZE(crdt_cp_to_byte(s, n, i), cp_to_byte[i]);
	TU_EQ_SIZE(crdt_utf16_to_cp(s, n, SIZE_MAX), 6);
	TU_EQ_SIZE(crdt_cp_to_utf16(s, n, SIZE_MAX), 8);
	TU_EQ_SIZE(crdt_cp_to_byte(s, n, SIZE_MAX), 15);

	/*
	 * NULL with length 0 is the empty string: the change observer passes
	 * ins == NULL for deletions, and an editor may validate or convert it.
	 */
	size_t cps = 99;
	TU_OK(crdt_utf8_check(NULL, 0, &cps));
	TU_EQ_SIZE(cps, 0);
	TU_EQ_SIZE(crdt_utf16_to_cp(NULL, 0, 5), 0);
	TU_EQ_SIZE(crdt_cp_to_utf16(NULL, 0, 5), 0);
	TU_EQ_SIZE(crdt_cp_to_byte(NULL, 0, 5), 0);

	/* Empty text: everything clamps to 0. */
	TU_EQ_SIZE(crdt_utf16_to_cp("", 0, 0), 0);
	TU_EQ_SIZE(crdt_utf16_to_cp("", 0, 3), 0);
	TU_EQ_SIZE(crdt_cp_to_utf16("", 0, 3), 0);
	TU_EQ_SIZE(crdt_cp_to_byte("", 0, 3), 0);

	/* Text made only of astral characters: every odd UTF-16 offset is inside a pair. */
	static const char astral[] = "\xF0\x9F\x98\x80\xF0\x90\x80\x80\xF4\x8F\xBF\xBF";
	for (size_t u = 0; u <= 8; u++)
		TU_EQ_SIZE(crdt_utf16_to_cp(astral, 12, u), u / 2 > 3 ? 3 : u / 2);
	for (size_t c = 0; c <= 4; c++)
		TU_EQ_SIZE(crdt_cp_to_utf16(astral, 12, c), c > 3 ? 6 : 2 * c);
}

/* Random strings: the helpers agree with offsets computed while building them. */
static void test_offsets_random(struct tu_rng *rng)
{
	for (int iter = 0; iter < 500; iter++) {
		size_t ncp = tu_below(rng, 40);
		char *s = malloc(ncp * 4 + 1);
		size_t *u16_at = malloc((ncp + 1) * sizeof *u16_at);
		size_t *byte_at = malloc((ncp + 1) * sizeof *byte_at);
		size_t n = 0, u = 0;

		TU_CHECK(s && u16_at && byte_at);
		for (size_t i = 0; i < ncp; i++) {
			uint32_t cp = tu_rand_cp(rng);
			u16_at[i] = u;
			byte_at[i] = n;
			n += tu_utf8_put(cp, s + n);
			u += cp >= 0x10000 ? 2 : 1;
		}
		u16_at[ncp] = u;
		byte_at[ncp] = n;
		TU_OK(crdt_utf8_check(s, n, NULL));
		for (size_t i = 0; i <= ncp + 2; i++) {
			size_t c = i > ncp ? ncp : i;
			TU_EQ_SIZE(crdt_cp_to_utf16(s, n, i), u16_at[c]);
			TU_EQ_SIZE(crdt_cp_to_byte(s, n, i), byte_at[c]);
		}
		for (size_t c = 0, k = 0; k <= u + 2; k++) {
			/* c = the last code point whose UTF-16 offset is <= k. */
			while (c < ncp && u16_at[c + 1] <= k)
				c++;
			TU_EQ_SIZE(crdt_utf16_to_cp(s, n, k), c);
		}
		free(s);
		free(u16_at);
		free(byte_at);
	}
}

/* Invalid UTF-8 never reaches the document. */
static void test_insert_rejects(void)
{
	static const char *const bad[] = {
		"\xC0\x80", "\xED\xA0\x80",   "\xF4\x90\x80\x80",    "ab\xC3",
		"\x80",	    "ok\xE2\x82\x41", "\xF0\x9F\x98\x80\xFF"
	};
	struct crdt_doc *doc = crdt_doc_create(NULL);
	struct tu_state st;

	TU_CHECK(doc != NULL);
	for (int round = 0; round < 2; round++) {
		tu_state_save(&st, doc);
		size_t ops = crdt_op_count(doc);
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			size_t len = crdt_len(doc);
			TU_ERR(crdt_insert(doc, 7, len / 2, bad[i], strlen(bad[i])), CRDT_EUTF8);
			TU_SAME_STATE(&st, doc);
			TU_EQ_SIZE(crdt_op_count(doc), ops);
			TU_EQ_SIZE(crdt_len(doc), len);
			TU_CHECK_DOC(doc);
		}
		tu_state_finish(&st);
		/* Then the same with content around the insertion point. */
		if (round == 0)
			TU_OK(crdt_insert(doc, 7, 0, "h\xC3\xA9llo \xF0\x9F\x98\x80", 11));
	}
	TU_EQ_TEXT(doc, "h\xC3\xA9llo \xF0\x9F\x98\x80", 11);
	TU_EQ_SIZE(crdt_len(doc), 7);
	TU_EQ_SIZE(crdt_len_bytes(doc), 11);
	crdt_doc_destroy(doc);
}

int main(void)
{
	struct tu_rng rng;

	tu_rng_init(&rng, tu_seed("test-utf8"));
	test_boundaries();
	test_every_code_point();
	test_against_reference(&rng);
	test_offsets_fixed();
	test_offsets_random(&rng);
	test_insert_rejects();
	printf("test-utf8: ok\n");
	return 0;
}
