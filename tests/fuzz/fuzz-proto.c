/*
 * fuzz-proto.c - libFuzzer target for the server's decoders of client text.
 *
 * Every text frame a client sends reaches proto_parse_text() before any
 * room code sees it, and the version object of a join goes through
 * proto_parse_version() (server/proto.h).  Both run on raw bytes from the
 * network in the unprivileged process, so they must survive anything and
 * must mean exactly what they say.  The input is one text frame; this
 * target checks:
 *
 *  - proto_parse_text() either succeeds with a JSON object and a type in
 *    [-1, PROTO__COUNT) that is -1 exactly when "t" is not a known wire
 *    name, and otherwise names the message whose wire name "t" is; or it
 *    fails with no message, type -1 and a reason.
 *  - proto_parse_version(), run on the message's "version" member and on
 *    the message itself (so arbitrary objects reach it), either fails or
 *    yields a vector whose entries are sorted, non-zero, each justified by a
 *    key spelling that agent with that count, no more entries than keys,
 *    and which survives a crdt_version_encode()/_decode() round trip.
 *  - The role tables answer for the decoded type without crashing, and a
 *    server-only message is never one a client may send.
 *
 * Anything else calls abort().  Memory is checked by the sanitizers
 * libFuzzer is built with (every reference and vector is released).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crdt.h"
#include "fuzz.h"
#include "proto.h"

/* Is there a key of o that spells agent (as proto_parse_version reads keys) with value next? */
static int justified(const json_t *o, uint32_t agent, uint32_t next)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)o, key, val)
	{
		char *end;
		unsigned long a;

		if (*key < '0' || *key > '9')
			continue;
		a = strtoul(key, &end, 10);
		if (*end == '\0' && a == agent && json_is_integer(val) &&
		    json_integer_value(val) == (json_int_t)next)
			return 1;
	}
	return 0;
}

static void check_version(const json_t *o)
{
	struct crdt_version ver, back;
	struct crdt_buf buf;

	crdt_version_init(&ver, NULL);
	if (proto_parse_version(o, &ver) != 0) {
		/* Refused: a non-object (NULL is the empty vector) or a bad entry. */
		REQUIRE(o != NULL);
		crdt_version_finish(&ver);
		return;
	}
	if (!o)
		REQUIRE(ver.len == 0);
	else
		REQUIRE(json_is_object(o) && ver.len <= json_object_size(o));
	for (size_t i = 0; i < ver.len; i++) {
		REQUIRE(ver.v[i].next > 0);
		REQUIRE(i == 0 || ver.v[i - 1].agent < ver.v[i].agent);
		REQUIRE(o && justified(o, ver.v[i].agent, ver.v[i].next));
	}

	/* What the server then encodes for the CRDT must read back the same. */
	crdt_buf_init(&buf, NULL);
	crdt_version_init(&back, NULL);
	REQUIRE(crdt_version_encode(&ver, &buf) == 0);
	REQUIRE(crdt_version_decode(&back, buf.data, buf.len) == 0);
	REQUIRE(back.len == ver.len);
	for (size_t i = 0; i < ver.len; i++) {
		REQUIRE(back.v[i].agent == ver.v[i].agent);
		REQUIRE(back.v[i].next == ver.v[i].next);
		REQUIRE(crdt_version_get(&back, ver.v[i].agent) == ver.v[i].next);
	}
	crdt_version_finish(&back);
	crdt_buf_finish(&buf);
	crdt_version_finish(&ver);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum seat seats[] = { SEAT_NONE, SEAT_INTERVIEWER, SEAT_CANDIDATE,
					   SEAT_OBSERVER };
	json_t *msg = (json_t *)1;
	const char *why = NULL;
	int type = 42;

	if (proto_parse_text((const char *)data, size, &msg, &type, &why) != 0) {
		REQUIRE(msg == NULL);
		REQUIRE(type == -1);
		REQUIRE(why != NULL && why[0] != '\0');
		return 0;
	}
	REQUIRE(msg != NULL && json_is_object(msg));
	REQUIRE(type >= -1 && type < PROTO__COUNT);
	{
		const char *t = json_string_value(json_object_get(msg, "t"));

		if (type >= 0) {
			REQUIRE(t != NULL);
			REQUIRE(strcmp(proto_msg_name((enum proto_msg)type), t) == 0);
			REQUIRE(proto_msg_parse(t) == type);
		} else {
			REQUIRE(t == NULL || proto_msg_parse(t) == -1);
		}
	}
	if (type >= 0) {
		int any = 0;

		for (size_t i = 0; i < sizeof(seats) / sizeof(seats[0]); i++) {
			any |= proto_may_send((enum proto_msg)type, seats[i]);
			(void)proto_receives((enum proto_msg)type, seats[i]);
		}
		REQUIRE(!proto_may_send((enum proto_msg)type, SEAT_NONE));
		/* welcome, presence, ack, error...: only the server sends them. */
		if (type == PROTO_WELCOME || type == PROTO_ERROR || type == PROTO_ACK ||
		    type == PROTO_PRESENCE || type == PROTO_RUN_RESULT)
			REQUIRE(!any);
	}

	check_version(json_object_get(msg, "version"));
	check_version(msg);
	json_decref(msg);
	return 0;
}
