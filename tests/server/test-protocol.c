/*
 * test-protocol.c - docs/protocol.md and server/proto.h say the same thing.
 *
 * The protocol is defined once (STYLE.md rule 10): the X-macro lists in
 * proto.h are what the server enforces, the document is what clients are
 * written against.  This test reads the document's message table (who may
 * send each message, and whom it is delivered to and how), its list of
 * error codes and its table of close codes, and fails on any difference in
 * either direction, so neither can change alone.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Seat mask named by a table cell: "all", "—", or a comma list of seat names. */
static unsigned cell_mask(const char *cell, size_t len)
{
	char buf[256];
	unsigned mask = 0;
	char *save = NULL, *tok;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, cell, len);
	buf[len] = '\0';
	/* "(reserved)" and other asides do not name seats. */
	if (strchr(buf, '('))
		*strchr(buf, '(') = '\0';
	if (strstr(buf, "all"))
		return SEATS_ALL;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		enum seat s = proto_seat_parse(tok);

		mask |= (unsigned)s;
	}
	return mask;
}

/*
 * How a "delivered to" cell says a message travels: "—" (never sent),
 * "the ... connection" (a reply to that one connection), "... others" (not
 * back to its sender), otherwise to the room; "latest only" marks a message
 * superseded by the next.  Its seats: those named, "all", or for a reply
 * "the editing connection" (an editing seat) and any other (all seats);
 * "all, and the ... connection" is both: to the room, and as a reply.
 */
static void cell_delivery(const char *cell, size_t len, unsigned *how, unsigned *to)
{
	char buf[256];

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, cell, len);
	buf[len] = '\0';
	*how = 0;
	*to = 0;
	if (strstr(buf, "—"))
		return;
	if (strstr(buf, "connection")) {
		*how = PROTO_REPLY;
		*to = strstr(buf, "editing") ? SEATS_EDIT : SEATS_ALL;
		/* "all, and the joining connection ...": to the room, and a reply too. */
		if (!strncmp(buf + strspn(buf, " "), "all, and ", 9))
			*how |= PROTO_ROOM;
		return;
	}
	*how = strstr(buf, "others") ? PROTO_OTHERS : PROTO_ROOM;
	if (strstr(buf, "latest only"))
		*how |= PROTO_LATEST;
	*to = cell_mask(cell, len);
}

/* The message table: rows "| `a`, `b` | senders | receivers |". */
static void check_messages(const char *doc)
{
	const char *table = strstr(doc, "| message | client may send | delivered to |");
	bool seen[PROTO__COUNT] = { false };

	CHECK(table != NULL, "docs/protocol.md has no message table");
	if (!table)
		return;
	for (const char *line = strchr(table, '\n') + 1; *line == '|';
	     line = strchr(line, '\n') + 1) {
		const char *c1 = line + 1, *c2 = strchr(c1, '|'), *c3, *end;

		if (!c2 || strncmp(line, "|---", 4) == 0)
			continue;
		c3 = strchr(c2 + 1, '|');
		end = c3 ? strchr(c3 + 1, '|') : NULL;
		if (!c3 || !end)
			break;
		/* Every backticked name in the first cell. */
		for (const char *p = c1; p < c2;) {
			const char *a = memchr(p, '`', (size_t)(c2 - p)), *b;
			char name[64];
			int m;
			unsigned from, how, to;

			if (!a)
				break;
			b = memchr(a + 1, '`', (size_t)(c2 - a - 1));
			if (!b || (size_t)(b - a - 1) >= sizeof(name))
				break;
			memcpy(name, a + 1, (size_t)(b - a - 1));
			name[b - a - 1] = '\0';
			p = b + 1;
			m = proto_msg_parse(name);
			CHECK(m >= 0, "docs list message %s, proto.h does not", name);
			if (m < 0)
				continue;
			seen[m] = true;
			from = cell_mask(c2 + 1, (size_t)(c3 - c2 - 1));
			cell_delivery(c3 + 1, (size_t)(end - c3 - 1), &how, &to);
			for (unsigned s = SEAT_INTERVIEWER; s <= SEAT_OBSERVER; s <<= 1) {
				CHECK(proto_may_send((enum proto_msg)m, (enum seat)s) ==
					      !!(from & s),
				      "%s: docs say %s %s send it, proto.h disagrees", name,
				      proto_seat_name((enum seat)s),
				      (from & s) ? "may" : "may not");
				CHECK(proto_receives((enum proto_msg)m, (enum seat)s) == !!(to & s),
				      "%s: docs say %s %s receive it, proto.h disagrees", name,
				      proto_seat_name((enum seat)s),
				      (to & s) ? "does" : "does not");
			}
			/* A message never sent has no way of delivery to compare. */
			CHECK(!to || proto_delivery((enum proto_msg)m) == how,
			      "%s: docs say it is delivered as %#x, proto.h as %#x", name, how,
			      proto_delivery((enum proto_msg)m));
		}
	}
	for (int m = 0; m < PROTO__COUNT; m++)
		CHECK(seen[m], "proto.h has message %s, the docs' table does not",
		      proto_msg_name((enum proto_msg)m));
}

/* The error codes: every code in proto.h is in the "Codes:" paragraph and back. */
static void check_errors(const char *doc)
{
	const char *codes = strstr(doc, "Codes:");
	const char *end = codes ? strstr(codes, "\n\n") : NULL;
	int n = 0;

	CHECK(codes && end, "docs/protocol.md has no error code list");
	if (!codes || !end)
		return;
#define CHECK_ERR(name, wire, msg)                                                \
	do {                                                                      \
		char want[64];                                                    \
		const char *hit;                                                  \
                                                                                  \
		snprintf(want, sizeof(want), "`%s`", wire);                       \
		hit = strstr(codes, want);                                        \
		CHECK(hit &&hit < end, "error code %s is not in the docs", wire); \
		n++;                                                              \
	} while (0);
	PROTO_ERR_MAP(CHECK_ERR)
#undef CHECK_ERR
	{
		/* Codes are the backticked words outside parentheses (asides name messages). */
		int listed = 0, depth = 0;
		bool in_tick = false;

		for (const char *p = codes; p < end; p++) {
			if (*p == '(')
				depth++;
			else if (*p == ')' && depth)
				depth--;
			else if (*p == '`' && depth == 0 && !(in_tick = !in_tick))
				listed++;
		}
		CHECK(listed == n, "docs list %d error codes, proto.h has %d", listed, n);
	}
}

/* The close codes table: exactly the codes proto.h defines. */
static void check_closes(const char *doc)
{
	static const int codes[] = { PROTO_CLOSE_GOING_AWAY,   PROTO_CLOSE_BAD_UTF8,
				     PROTO_CLOSE_POLICY,       PROTO_CLOSE_TOO_BIG,
				     PROTO_CLOSE_JOIN_TIMEOUT, PROTO_CLOSE_ROOM_CLOSED,
				     PROTO_CLOSE_REPLACED,     PROTO_CLOSE_TOO_SLOW };
	const char *table = strstr(doc, "| close code | meaning |");
	int rows = 0;

	CHECK(table != NULL, "docs/protocol.md has no close code table");
	if (!table)
		return;
	for (const char *line = strchr(table, '\n') + 1; *line == '|';
	     line = strchr(line, '\n') + 1) {
		int code = atoi(line + 1);
		bool known = false;

		if (code == 0)
			continue;
		rows++;
		for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
			known |= codes[i] == code;
		CHECK(known, "docs list close code %d, proto.h does not", code);
	}
	CHECK(rows == (int)(sizeof(codes) / sizeof(codes[0])),
	      "docs list %d close codes, proto.h defines %zu", rows,
	      sizeof(codes) / sizeof(codes[0]));
}

int main(int argc, char **argv)
{
	char *doc;

	if (argc != 2) {
		fprintf(stderr, "usage: test-protocol docs/protocol.md\n");
		return 2;
	}
	doc = slurp(argv[1]);
	if (!doc) {
		fprintf(stderr, "cannot read %s\n", argv[1]);
		return 1;
	}
	check_messages(doc);
	check_errors(doc);
	check_closes(doc);
	free(doc);
	if (failures) {
		fprintf(stderr, "%d difference(s) between docs/protocol.md and server/proto.h\n",
			failures);
		return 1;
	}
	printf("docs/protocol.md and server/proto.h agree\n");
	return 0;
}
