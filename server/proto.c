/*
 * proto.c - lookups over the protocol tables in proto.h.
 *
 * Nothing here parses a frame; it only answers "what is this message and
 * who may send it", so that role enforcement has one source of truth.
 */
#include <string.h>

#include "proto.h"

static const struct {
	const char *wire;
	unsigned from, to;
} msgs[] = {
#define PROTO__ROW(name, wire, from, to) { wire, from, to },
	PROTO_MSG_MAP(PROTO__ROW)
#undef PROTO__ROW
};

int proto_msg_parse(const char *wire)
{
	if (!wire)
		return -1;
	for (int i = 0; i < PROTO__COUNT; i++)
		if (strcmp(msgs[i].wire, wire) == 0)
			return i;
	return -1;
}

const char *proto_msg_name(enum proto_msg m)
{
	return (unsigned)m < PROTO__COUNT ? msgs[m].wire : "?";
}

bool proto_may_send(enum proto_msg m, enum seat seat)
{
	return (unsigned)m < PROTO__COUNT && (msgs[m].from & (unsigned)seat) != 0;
}

bool proto_receives(enum proto_msg m, enum seat seat)
{
	return (unsigned)m < PROTO__COUNT && (msgs[m].to & (unsigned)seat) != 0;
}

const char *proto_seat_name(enum seat seat)
{
	switch (seat) {
	case SEAT_INTERVIEWER:
		return "interviewer";
	case SEAT_CANDIDATE:
		return "candidate";
	case SEAT_OBSERVER:
		return "observer";
	default:
		return NULL;
	}
}

enum seat proto_seat_parse(const char *name)
{
	if (!name)
		return SEAT_NONE;
	if (strcmp(name, "interviewer") == 0)
		return SEAT_INTERVIEWER;
	if (strcmp(name, "candidate") == 0)
		return SEAT_CANDIDATE;
	if (strcmp(name, "observer") == 0)
		return SEAT_OBSERVER;
	return SEAT_NONE;
}

static const struct {
	const char *code, *msg;
} errs[] = {
#define PROTO__ERR_ROW(name, wire, msg) { wire, msg },
	PROTO_ERR_MAP(PROTO__ERR_ROW)
#undef PROTO__ERR_ROW
};

const char *proto_err_code(enum proto_err e)
{
	return errs[e].code;
}

const char *proto_err_message(enum proto_err e)
{
	return errs[e].msg;
}
