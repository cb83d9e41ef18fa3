/*
 * gen-corpus.c - writes the seed corpora for the CRDT fuzz targets.
 *
 * Seeds for the decoder must be valid encodings in the current format, so
 * rather than commit bytes that go stale when the format changes, they are
 * made at build time from the library itself: updates (whole, a slice,
 * since a version, empty), snapshots (with history, of tombstones only, of
 * an empty document) and version vectors.  Seeds for the apply target are
 * a few fixed edit programs; seeds for the LZ4 target are blocks of a few
 * texts, each after its size.  Inputs that once found a bug are committed
 * under tests/fuzz/corpus/<target>/ and copied in as well, so every fuzz run
 * starts by replaying them.  Usage: gen-corpus decode|apply|lz4 DIR
 * [FILE...].
 * The directory is created if needed; libFuzzer then adds its own finds to it,
 * which is why it lives in the build directory and never in the source tree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crdt-internal.h"
#include "crdt-lz4.h"

static int write_seed(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		fprintf(stderr, "gen-corpus: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_buf(const char *dir, const char *name, const struct crdt_buf *b)
{
	return write_seed(dir, name, b->data, b->len);
}

#define TRY(expr)                                                                           \
	do {                                                                                \
		int rc_ = (expr);                                                           \
		if (rc_ != 0) {                                                             \
			fprintf(stderr, "gen-corpus: %s: %s\n", #expr, crdt_strerror(rc_)); \
			return 1;                                                           \
		}                                                                           \
	} while (0)

static int decode_seeds(const char *dir)
{
	struct crdt_doc *a = crdt_doc_create(NULL), *b = crdt_doc_create(NULL);
	struct crdt_doc *empty = crdt_doc_create(NULL), *tomb = crdt_doc_create(NULL);
	struct crdt_version v1, v2;
	struct crdt_buf out;

	if (!a || !b || !empty || !tomb)
		return 1;
	crdt_version_init(&v1, NULL);
	crdt_version_init(&v2, NULL);
	crdt_buf_init(&out, NULL);

	TRY(crdt_insert(a, 1, 0, "hello world", 11));
	TRY(crdt_doc_version(a, &v1));
	TRY(crdt_encode_since(a, NULL, &out));
	TRY(crdt_apply(b, out.data, out.len));
	TRY(write_buf(dir, "update-first", &out));
	TRY(crdt_insert(a, 1, 5, ", \xC3\xA9\xF0\x9F\x98\x80", 8));
	TRY(crdt_delete(a, 1, 0, 2));
	TRY(crdt_insert(b, 2, 3, "\xE2\x82\xAC", 3));
	TRY(crdt_insert(b, 2, 3, "<", 1));
	TRY(crdt_delete(b, 2, 6, 3));
	out.len = 0;
	TRY(crdt_encode_since(b, &v1, &out));
	TRY(crdt_apply(a, out.data, out.len));
	TRY(write_buf(dir, "update-since", &out));
	TRY(crdt_doc_version(a, &v2));
	out.len = 0;
	TRY(crdt_encode_between(a, &v1, &v2, &out));
	TRY(write_buf(dir, "update-between", &out));
	out.len = 0;
	TRY(crdt_encode_since(a, NULL, &out));
	TRY(write_buf(dir, "update-all", &out));
	out.len = 0;
	TRY(crdt_encode_since(a, &v2, &out));
	TRY(write_buf(dir, "update-empty", &out));
	out.len = 0;
	TRY(crdt_encode_doc(a, &out));
	TRY(write_buf(dir, "snapshot", &out));
	out.len = 0;
	TRY(crdt_encode_doc(empty, &out));
	TRY(write_buf(dir, "snapshot-empty", &out));
	TRY(crdt_insert(tomb, 3, 0, "gone \xF0\x9F\x98\x80", 9));
	TRY(crdt_delete(tomb, 3, 0, 6));
	out.len = 0;
	TRY(crdt_encode_doc(tomb, &out));
	TRY(write_buf(dir, "snapshot-tombstones", &out));
	out.len = 0;
	TRY(crdt_version_encode(&v2, &out));
	TRY(write_buf(dir, "version", &out));

	crdt_buf_finish(&out);
	crdt_version_finish(&v1);
	crdt_version_finish(&v2);
	crdt_doc_destroy(a);
	crdt_doc_destroy(b);
	crdt_doc_destroy(empty);
	crdt_doc_destroy(tomb);
	return 0;
}

static int apply_seeds(const char *dir)
{
	/* Byte programs for fuzz-crdt-apply.c: see step() there for the opcodes. */
	static const unsigned char typing[] = { 0,    0,    1,	  0x00, 2,    0, 1,
						0x10, 1,    0,	  5,	0x06, 0, 0x16,
						0,    0x0a, 0x1a, 0x01, 0,    0, 3 };
	static const unsigned char concurrent[] = { 1,	  1,	0,    0x00, 2,	  0, 1, 2,    0x10,
						    2,	  0,	3,    4,    0x20, 2, 0, 5,    6,
						    0x0d, 0x04, 1,    0,    0x14, 0, 2, 0x26, 1,
						    0x0c, 0x1c, 0x0e, 0x0f, 0,	  1 };
	static const unsigned char pending[] = { 0, 0, 0, 0x00, 1, 0,	 2, 0x00, 1, 1,	   3, 0x00,
						 0, 2, 4, 0x16, 2, 0x16, 1, 0x16, 0, 0x0b, 0 };

	if (write_seed(dir, "typing", typing, sizeof typing) ||
	    write_seed(dir, "concurrent", concurrent, sizeof concurrent) ||
	    write_seed(dir, "pending", pending, sizeof pending))
		return 1;
	return 0;
}

/* Copies a committed regression input (a file that once found a bug) into dir. */
/* LZ4 blocks, each after its decoded size (2 bytes, little-endian). */
static int lz4_seeds(const char *dir)
{
	static const char *texts[] = {
		"",
		"short",
		"int main(void)\n{\n\treturn 0;\n}\nint main(void)\n{\n\treturn 1;\n}\n",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"the quick brown fox jumps over the lazy dog; the quick brown fox jumps again",
	};

	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		struct crdt_buf out;
		size_t n = strlen(texts[i]);
		char name[32];
		uint8_t len[2] = { (uint8_t)(n & 0xff), (uint8_t)(n >> 8) };

		crdt_buf_init(&out, NULL);
		TRY(crdt__put_bytes(&out, len, 2));
		TRY(crdt__lz4_compress(NULL, (const uint8_t *)texts[i], n, CRDT_LZ4_DEPTH, &out));
		snprintf(name, sizeof name, "block-%zu", i);
		TRY(write_buf(dir, name, &out));
		crdt_buf_finish(&out);
	}
	return 0;
}

static int copy_seed(const char *dir, const char *path)
{
	const char *base = strrchr(path, '/');
	unsigned char buf[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "gen-corpus: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return write_seed(dir, base ? base + 1 : path, buf, n);
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 3 || (strcmp(argv[1], "decode") != 0 && strcmp(argv[1], "apply") != 0 &&
			 strcmp(argv[1], "lz4") != 0)) {
		fprintf(stderr, "usage: gen-corpus decode|apply|lz4 DIR [REGRESSION-INPUT...]\n");
		return 2;
	}
	if (mkdir(argv[2], 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen-corpus: mkdir %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (strcmp(argv[1], "lz4") == 0)
		rc = lz4_seeds(argv[2]);
	else
		rc = strcmp(argv[1], "decode") == 0 ? decode_seeds(argv[2]) : apply_seeds(argv[2]);
	for (int i = 3; i < argc && rc == 0; i++)
		rc = copy_seed(argv[2], argv[i]) ? 1 : 0;
	return rc;
}
