/*
 * exports.c - the WebAssembly face of crdt/, for crdt/wasm/crdt.mjs.
 *
 * The browser runs the very same crdt sources as the server, compiled for
 * wasm32; this file only flattens the C API into functions of integers and
 * pointers into linear memory that JavaScript can call (names prefixed tc_,
 * exported with export_name).  It must stay a thin shim: no logic that the
 * native build lacks, and no import at all, so the module needs nothing
 * from WASI (no files, no clock, no exit).  Positions crossing it are UTF-16
 * units, as JavaScript counts; crdt.mjs reads change lists and authorship
 * runs straight from their C arrays (struct crdt_change: 8 words on wasm32;
 * struct crdt_author_run: 3 words).
 *
 * Ownership: every object handed to JavaScript (documents, buffers,
 * versions, malloc'ed blocks) is freed by JavaScript through the matching
 * tc_*_destroy / tc_free.  Pointers into a buffer's data stay valid until
 * the next call that may allocate, because memory can grow and move.
 */
#include <stdint.h>
#include <stdlib.h>

#include "crdt.h"

#define TC_EXPORT(name) __attribute__((export_name(#name)))

/* Keeps the module free of prototype warnings without a header of its own. */
void *tc_malloc(size_t n);
void tc_free(void *p);
struct crdt_doc *tc_doc_create(void);
void tc_doc_destroy(struct crdt_doc *doc);
int tc_insert(struct crdt_doc *doc, uint32_t agent, size_t pos, const char *s, size_t n);
int tc_delete(struct crdt_doc *doc, uint32_t agent, size_t pos, size_t n);
int tc_insert16(struct crdt_doc *doc, uint32_t agent, size_t pos16, const char *s, size_t n);
int tc_delete16(struct crdt_doc *doc, uint32_t agent, size_t pos16, size_t n16);
size_t tc_len16(const struct crdt_doc *doc);
size_t tc_pos_to16(const struct crdt_doc *doc, size_t pos);
size_t tc_pos_from16(const struct crdt_doc *doc, size_t pos16);
uint32_t tc_doc_next(const struct crdt_doc *doc, uint32_t agent);
struct crdt_changes *tc_changes_create(void);
void tc_changes_destroy(struct crdt_changes *ch);
int tc_apply_changes(struct crdt_doc *doc, const uint8_t *data, size_t len,
		     struct crdt_changes *ch);
size_t tc_changes_count(const struct crdt_changes *ch);
const struct crdt_change *tc_changes_data(const struct crdt_changes *ch);
const uint8_t *tc_changes_text(const struct crdt_changes *ch);
size_t tc_changes_text_len(const struct crdt_changes *ch);
int tc_anchor_at16(const struct crdt_doc *doc, size_t pos16, int assoc, uint32_t *out);
long tc_anchor_pos16(const struct crdt_doc *doc, uint32_t agent, uint32_t seq, int assoc, int edge);
struct crdt_authors *tc_authors_create(void);
void tc_authors_destroy(struct crdt_authors *au);
int tc_authors(const struct crdt_doc *doc, size_t from16, size_t to16,
	       const struct crdt_version *at, struct crdt_authors *au);
size_t tc_authors_count(const struct crdt_authors *au);
const struct crdt_author_run *tc_authors_data(const struct crdt_authors *au);
int tc_version_includes(const struct crdt_version *a, const struct crdt_version *b);
size_t tc_len(const struct crdt_doc *doc);
size_t tc_len_bytes(const struct crdt_doc *doc);
size_t tc_text(const struct crdt_doc *doc, char *buf, size_t cap);
size_t tc_pending(const struct crdt_doc *doc);
size_t tc_op_count(const struct crdt_doc *doc);
struct crdt_buf *tc_buf_create(void);
void tc_buf_destroy(struct crdt_buf *buf);
uint8_t *tc_buf_data(const struct crdt_buf *buf);
size_t tc_buf_len(const struct crdt_buf *buf);
int tc_encode_since(const struct crdt_doc *doc, const struct crdt_version *since,
		    struct crdt_buf *out);
int tc_encode_between(const struct crdt_doc *doc, const struct crdt_version *since,
		      const struct crdt_version *until, struct crdt_buf *out);
int tc_encode_doc(const struct crdt_doc *doc, struct crdt_buf *out);
int tc_apply(struct crdt_doc *doc, const uint8_t *data, size_t len);
int tc_text_at(const struct crdt_doc *doc, const struct crdt_version *at, struct crdt_buf *out);
struct crdt_version *tc_version_create(void);
void tc_version_destroy(struct crdt_version *ver);
int tc_doc_version(const struct crdt_doc *doc, struct crdt_version *ver);
int tc_version_set(struct crdt_version *ver, uint32_t agent, uint32_t next);
uint32_t tc_version_get(const struct crdt_version *ver, uint32_t agent);
size_t tc_version_count(const struct crdt_version *ver);
uint32_t tc_version_agent_at(const struct crdt_version *ver, size_t i);
uint32_t tc_version_next_at(const struct crdt_version *ver, size_t i);
int tc_version_encode(const struct crdt_version *ver, struct crdt_buf *out);
int tc_version_decode(struct crdt_version *ver, const uint8_t *data, size_t len);
long tc_utf8_check(const char *s, size_t n);
size_t tc_utf16_to_cp(const char *s, size_t n, size_t u16);
size_t tc_cp_to_utf16(const char *s, size_t n, size_t cp);
const char *tc_strerror(int err);

/* ---- memory for the JavaScript side ------------------------------------- */

TC_EXPORT(tc_malloc) void *tc_malloc(size_t n)
{
	return malloc(n ? n : 1);
}

TC_EXPORT(tc_free) void tc_free(void *p)
{
	free(p);
}

/* ---- documents ---------------------------------------------------------- */

TC_EXPORT(tc_doc_create) struct crdt_doc *tc_doc_create(void)
{
	return crdt_doc_create(NULL);
}

TC_EXPORT(tc_doc_destroy) void tc_doc_destroy(struct crdt_doc *doc)
{
	crdt_doc_destroy(doc);
}

TC_EXPORT(tc_insert)
int tc_insert(struct crdt_doc *doc, uint32_t agent, size_t pos, const char *s, size_t n)
{
	return crdt_insert(doc, agent, pos, s, n);
}

TC_EXPORT(tc_delete) int tc_delete(struct crdt_doc *doc, uint32_t agent, size_t pos, size_t n)
{
	return crdt_delete(doc, agent, pos, n);
}

TC_EXPORT(tc_insert16)
int tc_insert16(struct crdt_doc *doc, uint32_t agent, size_t pos16, const char *s, size_t n)
{
	return crdt_insert16(doc, agent, pos16, s, n);
}

TC_EXPORT(tc_delete16)
int tc_delete16(struct crdt_doc *doc, uint32_t agent, size_t pos16, size_t n16)
{
	return crdt_delete16(doc, agent, pos16, n16);
}

TC_EXPORT(tc_len16) size_t tc_len16(const struct crdt_doc *doc)
{
	return crdt_len16(doc);
}

TC_EXPORT(tc_pos_to16) size_t tc_pos_to16(const struct crdt_doc *doc, size_t pos)
{
	return crdt_pos_to16(doc, pos);
}

/* Rounds down inside a surrogate pair. */
TC_EXPORT(tc_pos_from16) size_t tc_pos_from16(const struct crdt_doc *doc, size_t pos16)
{
	return crdt_pos_from16(doc, pos16, NULL);
}

TC_EXPORT(tc_doc_next) uint32_t tc_doc_next(const struct crdt_doc *doc, uint32_t agent)
{
	return crdt_doc_next(doc, agent);
}

TC_EXPORT(tc_len) size_t tc_len(const struct crdt_doc *doc)
{
	return crdt_len(doc);
}

TC_EXPORT(tc_len_bytes) size_t tc_len_bytes(const struct crdt_doc *doc)
{
	return crdt_len_bytes(doc);
}

TC_EXPORT(tc_text) size_t tc_text(const struct crdt_doc *doc, char *buf, size_t cap)
{
	return crdt_text(doc, buf, cap);
}

TC_EXPORT(tc_pending) size_t tc_pending(const struct crdt_doc *doc)
{
	return crdt_pending(doc);
}

TC_EXPORT(tc_op_count) size_t tc_op_count(const struct crdt_doc *doc)
{
	return crdt_op_count(doc);
}

/* ---- encoded bytes ------------------------------------------------------ */

TC_EXPORT(tc_buf_create) struct crdt_buf *tc_buf_create(void)
{
	struct crdt_buf *buf = malloc(sizeof(*buf));

	if (buf != NULL)
		crdt_buf_init(buf, NULL);
	return buf;
}

TC_EXPORT(tc_buf_destroy) void tc_buf_destroy(struct crdt_buf *buf)
{
	if (buf == NULL)
		return;
	crdt_buf_finish(buf);
	free(buf);
}

TC_EXPORT(tc_buf_data) uint8_t *tc_buf_data(const struct crdt_buf *buf)
{
	return buf->data;
}

TC_EXPORT(tc_buf_len) size_t tc_buf_len(const struct crdt_buf *buf)
{
	return buf->len;
}

TC_EXPORT(tc_encode_since)
int tc_encode_since(const struct crdt_doc *doc, const struct crdt_version *since,
		    struct crdt_buf *out)
{
	return crdt_encode_since(doc, since, out);
}

TC_EXPORT(tc_encode_between)
int tc_encode_between(const struct crdt_doc *doc, const struct crdt_version *since,
		      const struct crdt_version *until, struct crdt_buf *out)
{
	return crdt_encode_between(doc, since, until, out);
}

TC_EXPORT(tc_encode_doc) int tc_encode_doc(const struct crdt_doc *doc, struct crdt_buf *out)
{
	return crdt_encode_doc(doc, out);
}

TC_EXPORT(tc_apply) int tc_apply(struct crdt_doc *doc, const uint8_t *data, size_t len)
{
	return crdt_apply(doc, data, len);
}

TC_EXPORT(tc_text_at)
int tc_text_at(const struct crdt_doc *doc, const struct crdt_version *at, struct crdt_buf *out)
{
	return crdt_text_at(doc, at, out);
}

/* ---- change lists, anchors, authorship ---------------------------------- */

TC_EXPORT(tc_changes_create) struct crdt_changes *tc_changes_create(void)
{
	struct crdt_changes *ch = malloc(sizeof(*ch));

	if (ch != NULL)
		crdt_changes_init(ch, NULL);
	return ch;
}

TC_EXPORT(tc_changes_destroy) void tc_changes_destroy(struct crdt_changes *ch)
{
	if (ch == NULL)
		return;
	crdt_changes_finish(ch);
	free(ch);
}

TC_EXPORT(tc_apply_changes)
int tc_apply_changes(struct crdt_doc *doc, const uint8_t *data, size_t len, struct crdt_changes *ch)
{
	return crdt_apply_changes(doc, data, len, ch);
}

TC_EXPORT(tc_changes_count) size_t tc_changes_count(const struct crdt_changes *ch)
{
	return ch->len;
}

TC_EXPORT(tc_changes_data) const struct crdt_change *tc_changes_data(const struct crdt_changes *ch)
{
	return ch->v;
}

TC_EXPORT(tc_changes_text) const uint8_t *tc_changes_text(const struct crdt_changes *ch)
{
	return ch->text.data;
}

TC_EXPORT(tc_changes_text_len) size_t tc_changes_text_len(const struct crdt_changes *ch)
{
	return ch->text.len;
}

/* Writes the anchor as three words at out: agent, seq, edge. */
TC_EXPORT(tc_anchor_at16)
int tc_anchor_at16(const struct crdt_doc *doc, size_t pos16, int assoc, uint32_t *out)
{
	struct crdt_anchor a;
	int rc = crdt_anchor_at16(doc, pos16, assoc, &a);

	if (rc == 0) {
		out[0] = a.agent;
		out[1] = a.seq;
		out[2] = a.edge;
	}
	return rc;
}

/* The anchor's UTF-16 position, -1 when its character is unknown, or an error (< -1). */
TC_EXPORT(tc_anchor_pos16)
long tc_anchor_pos16(const struct crdt_doc *doc, uint32_t agent, uint32_t seq, int assoc, int edge)
{
	struct crdt_anchor a = { agent, seq, assoc < 0 ? -1 : 1, edge != 0 };
	size_t pos16 = 0;
	int rc = crdt_anchor_pos(doc, &a, NULL, &pos16);

	if (rc == 1)
		return -1;
	return rc < 0 ? rc : (long)pos16;
}

TC_EXPORT(tc_authors_create) struct crdt_authors *tc_authors_create(void)
{
	struct crdt_authors *au = malloc(sizeof(*au));

	if (au != NULL)
		crdt_authors_init(au, NULL);
	return au;
}

TC_EXPORT(tc_authors_destroy) void tc_authors_destroy(struct crdt_authors *au)
{
	if (au == NULL)
		return;
	crdt_authors_finish(au);
	free(au);
}

TC_EXPORT(tc_authors)
int tc_authors(const struct crdt_doc *doc, size_t from16, size_t to16,
	       const struct crdt_version *at, struct crdt_authors *au)
{
	return crdt_authors(doc, from16, to16, true, at, au);
}

TC_EXPORT(tc_authors_count) size_t tc_authors_count(const struct crdt_authors *au)
{
	return au->len;
}

TC_EXPORT(tc_authors_data)
const struct crdt_author_run *tc_authors_data(const struct crdt_authors *au)
{
	return au->v;
}

/* ---- version vectors ---------------------------------------------------- */

TC_EXPORT(tc_version_create) struct crdt_version *tc_version_create(void)
{
	struct crdt_version *ver = malloc(sizeof(*ver));

	if (ver != NULL)
		crdt_version_init(ver, NULL);
	return ver;
}

TC_EXPORT(tc_version_destroy) void tc_version_destroy(struct crdt_version *ver)
{
	if (ver == NULL)
		return;
	crdt_version_finish(ver);
	free(ver);
}

TC_EXPORT(tc_doc_version) int tc_doc_version(const struct crdt_doc *doc, struct crdt_version *ver)
{
	return crdt_doc_version(doc, ver);
}

TC_EXPORT(tc_version_set)
int tc_version_set(struct crdt_version *ver, uint32_t agent, uint32_t next)
{
	return crdt_version_set(ver, agent, next);
}

TC_EXPORT(tc_version_get) uint32_t tc_version_get(const struct crdt_version *ver, uint32_t agent)
{
	return crdt_version_get(ver, agent);
}

TC_EXPORT(tc_version_count) size_t tc_version_count(const struct crdt_version *ver)
{
	return ver->len;
}

TC_EXPORT(tc_version_agent_at)
uint32_t tc_version_agent_at(const struct crdt_version *ver, size_t i)
{
	return i < ver->len ? ver->v[i].agent : 0;
}

TC_EXPORT(tc_version_next_at) uint32_t tc_version_next_at(const struct crdt_version *ver, size_t i)
{
	return i < ver->len ? ver->v[i].next : 0;
}

TC_EXPORT(tc_version_includes)
int tc_version_includes(const struct crdt_version *a, const struct crdt_version *b)
{
	return crdt_version_includes(a, b);
}

TC_EXPORT(tc_version_encode)
int tc_version_encode(const struct crdt_version *ver, struct crdt_buf *out)
{
	return crdt_version_encode(ver, out);
}

TC_EXPORT(tc_version_decode)
int tc_version_decode(struct crdt_version *ver, const uint8_t *data, size_t len)
{
	return crdt_version_decode(ver, data, len);
}

/* ---- UTF-8 / UTF-16 ----------------------------------------------------- */

/* The code point count of valid UTF-8, or CRDT_EUTF8. */
TC_EXPORT(tc_utf8_check) long tc_utf8_check(const char *s, size_t n)
{
	size_t cps = 0;
	int rc = crdt_utf8_check(s, n, &cps);

	return rc < 0 ? rc : (long)cps;
}

TC_EXPORT(tc_utf16_to_cp) size_t tc_utf16_to_cp(const char *s, size_t n, size_t u16)
{
	return crdt_utf16_to_cp(s, n, u16);
}

TC_EXPORT(tc_cp_to_utf16) size_t tc_cp_to_utf16(const char *s, size_t n, size_t cp)
{
	return crdt_cp_to_utf16(s, n, cp);
}

TC_EXPORT(tc_strerror) const char *tc_strerror(int err)
{
	return crdt_strerror(err);
}
