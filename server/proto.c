/*
 * proto.c - lookups over the protocol tables in proto.h.
 *
 * Nothing here parses a frame; it only answers "what is this message and
 * who may send it", so that role enforcement has one source of truth.
 */
#include <stdlib.h>
#include <string.h>

#include "crdt.h"
#include "proto.h"

static const struct {
	const char *wire;
	unsigned from, to, how;
} msgs[] = {
#define PROTO__ROW(name, wire, from, to, how) { wire, from, to, how },
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

unsigned proto_delivery(enum proto_msg m)
{
	return (unsigned)m < PROTO__COUNT ? msgs[m].how : 0;
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

int proto_parse_text(const char *data, size_t len, json_t **msg, int *type, const char **why)
{
	json_error_t jerr;
	json_t *m;

	*msg = NULL;
	*type = -1;
	m = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!m) {
		*why = "malformed JSON";
		return -1;
	}
	if (!json_is_object(m)) {
		json_decref(m);
		*why = "expected a JSON object";
		return -1;
	}
	*type = proto_msg_parse(json_string_value(json_object_get(m, "t")));
	*msg = m;
	return 0;
}

int proto_parse_version(const json_t *o, struct crdt_version *ver)
{
	const char *key;
	json_t *val;

	if (!o)
		return 0;
	if (!json_is_object(o) || json_object_size(o) > 100000)
		return -1;
	json_object_foreach((json_t *)o, key, val)
	{
		char *end;
		unsigned long agent;

		/* Canonical decimal only: "07" and "7" must not name one agent twice. */
		if (*key < '0' || *key > '9' || (key[0] == '0' && key[1] != '\0'))
			return -1;
		agent = strtoul(key, &end, 10);
		if (*end != '\0' || agent > UINT32_MAX || !json_is_integer(val) ||
		    json_integer_value(val) < 0 || json_integer_value(val) > UINT32_MAX)
			return -1;
		if (crdt_version_set(ver, (uint32_t)agent, (uint32_t)json_integer_value(val)))
			return -1;
	}
	return 0;
}
