/*
 * jproto.h - the judge supervisor protocol: what the network process
 * (jclient.c) and the privileged supervisor (judgesup.c) say to each other.
 *
 * Boundary: names, error codes and framing only.  No I/O, no libuv, no
 * judge: both ends encode with jproto_frame() and decode with one
 * struct jproto_reader, so the two sides cannot drift apart.
 *
 * A frame is a 4-byte big-endian length and that many bytes of one compact
 * JSON object whose "op" is one of JPROTO_OP_MAP:
 *
 *   server -> supervisor  run     {"op":"run","id":N,"code":"..."}
 *                                 (optional "stdin", "limits":{"cpu_ms",...});
 *                                 test modes add "mode", "entry", "tests"
 *                                 (never an expected value) and "options"
 *                                 (judge_request.options); "kind":
 *                                 "complexity" with "problem" (its JSON
 *                                 form) asks for the complexity estimate
 *                         cancel  {"op":"cancel","id":N}
 *   supervisor -> server  ready   {"op":"ready","cgroup":"v1"}
 *                         down    {"op":"down","error":E,"message":"..."}
 *                         stats   {"op":"stats","warm":N,"running":N,
 *                                  "starting":N,"queued":N}
 *                         output  {"op":"output","id":N,"stream":"stdout",
 *                                  "data":"..."}
 *                         test    {"op":"test","id":N,"index":i,"test":{...}}
 *                                 as each test's line arrives (test modes)
 *                         result  {"op":"result","id":N,"result":{...}} or
 *                                 {"op":"result","id":N,"error":E,"message":"..."}
 *
 * E is a negative code of JPROTO_ERRNO_MAP; "message" is detail for logs
 * and users, never matched by the receiver.  A frame longer than
 * JPROTO_FRAME_MAX, or one that is not a JSON object with a known "op",
 * means the stream is broken: nothing says where the next frame starts, so
 * the end that reads it hangs up.
 */
#ifndef TANDEM_JPROTO_H
#define TANDEM_JPROTO_H

#include <stddef.h>

#include <jansson.h>

#define JPROTO_FRAME_MAX (16u << 20)

/* X(name, "wire name") */
#define JPROTO_OP_MAP(X)    \
	X(RUN, "run")       \
	X(CANCEL, "cancel") \
	X(READY, "ready")   \
	X(DOWN, "down")     \
	X(STATS, "stats")   \
	X(OUTPUT, "output") \
	X(TEST, "test")     \
	X(RESULT, "result")

enum jproto_op {
#define JPROTO__OP(name, wire) JPROTO_OP_##name,
	JPROTO_OP_MAP(JPROTO__OP)
#undef JPROTO__OP
		JPROTO__OP_COUNT
};

/* The wire name of op (static); NULL for an unknown value. */
const char *jproto_op_name(enum jproto_op op);
/* The op named wire; -1 when unknown or NULL. */
int jproto_op_parse(const char *wire);

/* X(name, code, message): the source of jproto_strerror(). */
#define JPROTO_ERRNO_MAP(X)                                              \
	X(BUSY, -1, "judge busy: every sandbox and queue slot is taken") \
	X(BADREQ, -2, "malformed run request")                           \
	X(NOMEM, -3, "out of memory")                                    \
	X(JUDGE, -4, "the judge failed")                                 \
	X(DOWN, -5, "the judge supervisor is not running")               \
	X(TOOBIG, -6, "frame longer than JPROTO_FRAME_MAX")              \
	X(BADFRAME, -7, "frame is not a JSON object with a known op")    \
	X(SHUTDOWN, -8, "server shutting down")

enum jproto_err {
#define JPROTO__ERR(name, code, msg) JPROTO_E##name = (code),
	JPROTO_ERRNO_MAP(JPROTO__ERR)
#undef JPROTO__ERR
};

/* A static string describing err; "unknown error" for codes not listed. */
const char *jproto_strerror(int err);

/*
 * Sets body's "op" to op and encodes it as one frame: returns a malloc'd
 * buffer of *len bytes (length prefix included) that the caller frees, or
 * NULL (out of memory, or longer than JPROTO_FRAME_MAX).  Consumes body.
 */
char *jproto_frame(enum jproto_op op, json_t *body, size_t *len);

/*
 * The frame reader both ends use.  Bytes go in through jproto_reader_space()
 * and jproto_reader_filled(); whole frames come out of jproto_reader_next().
 * Invariant: buf[start .. start+len) holds the bytes not yet returned.
 */
struct jproto_reader {
	char *buf; /* owned; NULL until the first jproto_reader_space() */
	size_t start, len, cap;
};

void jproto_reader_init(struct jproto_reader *rd);
/* Frees the buffer; the reader may be initialised again.  Accepts NULL. */
void jproto_reader_finish(struct jproto_reader *rd);
/*
 * Room for the next read: returns where to write (valid until the next call
 * on rd) and sets *avail (at least 64 KiB); NULL when out of memory.
 */
char *jproto_reader_space(struct jproto_reader *rd, size_t *avail);
/* n bytes were written at what jproto_reader_space() returned. */
void jproto_reader_filled(struct jproto_reader *rd, size_t n);
/*
 * The next whole frame: returns 1 with *msg (a new reference, the caller
 * decrefs it) and *op; 0 when more bytes are needed; JPROTO_ETOOBIG or
 * JPROTO_EBADFRAME when the stream is broken (then every later call returns
 * the same: hang up).
 */
int jproto_reader_next(struct jproto_reader *rd, json_t **msg, enum jproto_op *op);

#endif
