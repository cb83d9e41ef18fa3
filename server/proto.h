/*
 * proto.h - the room protocol, defined once.
 *
 * Every JSON control message of protocol tandem.v1 is listed here, with who
 * may send it; docs/protocol.md is the prose for the same list, and
 * tests/server check the two agree.  Binary frames carry CRDT updates and
 * are not listed: a client sends updates of its own agents, the server
 * sends updates to catch a client up and to fan out peers' edits.
 */
#ifndef TANDEM_PROTO_H
#define TANDEM_PROTO_H

#include <stdbool.h>

/* Seats a connection can hold; bit masks below say who may send what. */
enum seat {
	SEAT_NONE = 0,
	SEAT_INTERVIEWER = 1,
	SEAT_CANDIDATE = 2,
	SEAT_OBSERVER = 4,
};

#define SEATS_EDIT  (SEAT_INTERVIEWER | SEAT_CANDIDATE)
#define SEATS_ALL   (SEAT_INTERVIEWER | SEAT_CANDIDATE | SEAT_OBSERVER)
#define SEATS_STAFF (SEAT_INTERVIEWER | SEAT_OBSERVER)

/*
 * How the server delivers a message (the "delivered to" column of
 * docs/protocol.md), together with the seats it goes to:
 *   PROTO_ROOM    every connection of the room whose seat receives it;
 *   PROTO_OTHERS  the same, except the connection it came from;
 *   PROTO_REPLY   only the one connection it concerns (the joining, the
 *                 editing, the offending one);
 *   PROTO_LATEST  (with ROOM or OTHERS) superseded by the next one: a
 *                 connection far behind is not sent it (conn_send_text).
 * ROOM | REPLY: to the room when it changes, and to one connection alone
 * (the joining one) when only that one lacks it (the room's problem).
 */
enum proto_delivery {
	PROTO_ROOM = 1,
	PROTO_OTHERS = 2,
	PROTO_REPLY = 4,
	PROTO_LATEST = 8,
};

/*
 * X(name, "wire name", client may send (seat mask, 0 = server only),
 *   server sends to (seat mask, 0 = never), how (enum proto_delivery))
 *
 * The table drives delivery: room.c sends a message with
 * room_send(r, PROTO_x, msg, from), which reaches exactly the seats and
 * connections this row names, and nothing retypes a wire name
 * (proto_msg_name(), PROTO_T()).
 */
#define PROTO_MSG_MAP(X)                                                             \
	X(JOIN, "join", SEATS_ALL, 0, PROTO_REPLY)                                   \
	X(WELCOME, "welcome", 0, SEATS_ALL, PROTO_REPLY)                             \
	X(PRESENCE, "presence", 0, SEATS_ALL, PROTO_ROOM)                            \
	X(AWARENESS, "awareness", SEATS_ALL, SEATS_ALL, PROTO_OTHERS | PROTO_LATEST) \
	X(ACK, "ack", 0, SEATS_EDIT, PROTO_REPLY)                                    \
	X(RUN, "run", SEATS_EDIT, 0, PROTO_REPLY)                                    \
	X(RUN_STARTED, "run.started", 0, SEATS_ALL, PROTO_ROOM)                      \
	X(RUN_OUTPUT, "run.output", 0, SEATS_ALL, PROTO_ROOM)                        \
	X(RUN_RESULT, "run.result", 0, SEATS_ALL, PROTO_ROOM)                        \
	X(RUN_TEST, "run.test", 0, SEATS_ALL, PROTO_ROOM)                            \
	X(NOTE, "note", SEATS_STAFF, SEATS_STAFF, PROTO_ROOM)                        \
	X(EVENT, "event", SEATS_EDIT, SEATS_STAFF, PROTO_ROOM)                       \
	X(PROBLEM, "problem", SEAT_INTERVIEWER, SEATS_ALL, PROTO_ROOM | PROTO_REPLY) \
	X(SUBMIT, "submit", SEAT_CANDIDATE | SEAT_INTERVIEWER, 0, PROTO_REPLY)       \
	X(COMPLEXITY, "complexity", SEATS_EDIT, 0, PROTO_REPLY)                      \
	X(COMPLEXITY_STARTED, "complexity.started", 0, SEATS_ALL, PROTO_ROOM)        \
	X(COMPLEXITY_RESULT, "complexity.result", 0, SEATS_ALL, PROTO_ROOM)          \
	X(ERROR, "error", 0, SEATS_ALL, PROTO_REPLY)

enum proto_msg {
#define PROTO__ENUM(name, wire, from, to, how) PROTO_##name,
	PROTO_MSG_MAP(PROTO__ENUM)
#undef PROTO__ENUM
		PROTO__COUNT
};

/* Looks up a wire name; -1 when unknown. */
int proto_msg_parse(const char *wire);
/* The wire name of m (static string). */
const char *proto_msg_name(enum proto_msg m);
/* May a client in seat send m? */
bool proto_may_send(enum proto_msg m, enum seat seat);
/* Does a client in seat receive m? */
bool proto_receives(enum proto_msg m, enum seat seat);
/* How m is delivered (enum proto_delivery bits); 0 for an unknown m. */
unsigned proto_delivery(enum proto_msg m);
/* The "t" member of message m, for json_pack: json_pack("{s:s, ...}", PROTO_T(PROTO_NOTE), ...). */
#define PROTO_T(m) "t", proto_msg_name(m)

/* "interviewer", "candidate", "observer" (static); NULL for SEAT_NONE. */
const char *proto_seat_name(enum seat seat);
/* Parses a seat name; SEAT_NONE when unknown. */
enum seat proto_seat_parse(const char *name);

/*
 * Error codes carried in {"t": "error", "code": ...} frames.
 * X(name, "wire code", "default message")
 */
#define PROTO_ERR_MAP(X)                                                         \
	X(BAD_REQUEST, "bad_request", "malformed message")                       \
	X(FORBIDDEN, "forbidden", "your seat may not do that")                   \
	X(UNKNOWN_TYPE, "unknown_type", "unknown message type")                  \
	X(RATE_LIMITED, "rate_limited", "too many messages; retry later")        \
	X(DOC_TOO_LARGE, "doc_too_large", "the document would exceed its limit") \
	X(BAD_UPDATE, "bad_update", "malformed or forged CRDT update")           \
	X(RUN_IN_PROGRESS, "run_in_progress", "a run is already in progress")    \
	X(JUDGE_BUSY, "judge_busy", "the judge is busy; retry later")            \
	X(JUDGE_DOWN, "judge_down", "the judge is unavailable")                  \
	X(NOT_IMPLEMENTED, "not_implemented", "reserved; not implemented yet")   \
	X(NO_PROBLEM, "no_problem", "the room has no problem")                   \
	X(UNKNOWN_PROBLEM, "unknown_problem", "no such problem")                 \
	X(NO_GENERATOR, "no_generator", "the problem has no input generator")    \
	X(ALREADY_JOINED, "already_joined", "this connection has joined")        \
	X(OVERLOADED, "overloaded", "edits cannot be recorded now; retry later") \
	X(ROOM_FULL, "room_full", "the room's timeline is full")                 \
	X(INTERNAL, "internal", "internal error")

enum proto_err {
#define PROTO__ERR(name, wire, msg) PERR_##name,
	PROTO_ERR_MAP(PROTO__ERR)
#undef PROTO__ERR
};

const char *proto_err_code(enum proto_err e);
const char *proto_err_message(enum proto_err e);

/*
 * Decoding what a client sends.  These are the only functions that look at
 * raw client bytes before the room does; tests/fuzz/fuzz-proto.c runs them
 * on arbitrary input.
 */
#include <stddef.h>
#include <jansson.h>

struct crdt_version;

/*
 * Parses a text frame: on success *msg is a new reference to a JSON object
 * and *type its message type (-1 when "t" names no known type).  On
 * failure returns -1 with *why a static reason and *msg NULL.
 */
int proto_parse_text(const char *data, size_t len, json_t **msg, int *type, const char **why);

/*
 * Reads a version vector given as {"agent-id": count, ...} (NULL: empty)
 * into ver.  Returns 0, or -1 when malformed (ver then holds a prefix).
 */
int proto_parse_version(const json_t *o, struct crdt_version *ver);

/* Size caps of client messages (docs/protocol.md): bytes of the frame, of a note's text. */
#define PROTO_AWARENESS_MAX 4096
#define PROTO_NOTE_MAX	    16384

/* WebSocket close codes the server uses (docs/protocol.md). */
#define PROTO_CLOSE_GOING_AWAY 1001
/* A text frame that is not UTF-8: sent by lws itself (LWS_SERVER_OPTION_VALIDATE_UTF8). */
#define PROTO_CLOSE_BAD_UTF8	 1007
#define PROTO_CLOSE_POLICY	 1008 /* bad or expired token, closed room */
#define PROTO_CLOSE_TOO_BIG	 1009
#define PROTO_CLOSE_JOIN_TIMEOUT 4001
#define PROTO_CLOSE_ROOM_CLOSED	 4002
#define PROTO_CLOSE_REPLACED	 4008
#define PROTO_CLOSE_TOO_SLOW	 4009

#endif /* TANDEM_PROTO_H */
