/*
 * test-regress.c - inputs the fuzzers once broke the decoder with.
 *
 * Each must be refused with an error code, leave the document as it was
 * and, under UBSan, do nothing undefined.  New finds go here, with where
 * they came from, so a fix can never quietly come undone.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

struct regress {
	const char *what;
	const uint8_t *data;
	size_t len;
};

/* fuzz-crdt-decode, 2026-11-22: a snapshot step of 2^63 overflowed anchor + step. */
static const uint8_t huge_step[] = { 0x01, 0x53, 0x02, 0x01, 0x02, 0x06, 0x03, 0x01, 0x2c, 0x00,
				     0x00, 0x10, 0x0c, 0x03, 0x12, 0x01, 0x03, 0x01, 0x04, 0xff,
				     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x53 };

static const struct regress cases[] = {
	{ "snapshot step of 2^63", huge_step, sizeof(huge_step) },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct crdt_doc *doc = crdt_doc_create(NULL);
		struct tu_state st;
		int rc;

		TU_CHECK(doc != NULL);
		TU_OK(crdt_insert(doc, 5, 0, "keep me", 7));
		tu_state_save(&st, doc);
		rc = crdt_apply(doc, cases[i].data, cases[i].len);
		if (rc >= 0)
			TU_FAIL("%s: accepted (rc %d)", cases[i].what, rc);
		TU_SAME_STATE(&st, doc);
		TU_CHECK_DOC(doc);
		tu_state_finish(&st);
		crdt_doc_destroy(doc);
		printf("ok %s: %s\n", cases[i].what, crdt_strerror(rc));
	}
	printf("test-regress: ok\n");
	return 0;
}
