/*
 * jproto.c - names, errors and framing of the judge supervisor protocol.
 *
 * Both ends of the socketpair use this file, so a frame is cut and checked
 * in one place.  It must never do I/O: the callers own their sockets.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "jproto.h"

#define READ_ROOM 65536

static const char *const op_names[] = {
#define JPROTO__NAME(name, wire) wire,
	JPROTO_OP_MAP(JPROTO__NAME)
#undef JPROTO__NAME
};

const char *jproto_op_name(enum jproto_op op)
{
	return (unsigned)op < JPROTO__OP_COUNT ? op_names[op] : NULL;
}

int jproto_op_parse(const char *wire)
{
	for (int i = 0; wire && i < JPROTO__OP_COUNT; i++)
		if (strcmp(op_names[i], wire) == 0)
			return i;
	return -1;
}

const char *jproto_strerror(int err)
{
	switch (err) {
#define JPROTO__STR(name, code, msg) \
	case code:                   \
		return msg;
		JPROTO_ERRNO_MAP(JPROTO__STR)
#undef JPROTO__STR
	case 0:
		return "success";
	}
	return "unknown error";
}

char *jproto_frame(enum jproto_op op, json_t *body, size_t *len)
{
	const char *name = jproto_op_name(op);
	char *frame = NULL, *s;
	uint32_t n;

	if (!body || !name || json_object_set_new(body, "op", json_string(name)))
		goto out;
	s = json_dumps(body, JSON_COMPACT);
	if (!s)
		goto out;
	n = (uint32_t)strlen(s);
	if (strlen(s) <= JPROTO_FRAME_MAX && (frame = malloc((size_t)n + 4))) {
		uint32_t be = htonl(n);

		memcpy(frame, &be, 4);
		memcpy(frame + 4, s, n);
		*len = (size_t)n + 4;
	}
	free(s);
out:
	json_decref(body);
	return frame;
}

void jproto_reader_init(struct jproto_reader *rd)
{
	memset(rd, 0, sizeof(*rd));
}

void jproto_reader_finish(struct jproto_reader *rd)
{
	if (!rd)
		return;
	free(rd->buf);
	memset(rd, 0, sizeof(*rd));
}

char *jproto_reader_space(struct jproto_reader *rd, size_t *avail)
{
	/* Move what is left to the front before growing. */
	if (rd->start) {
		memmove(rd->buf, rd->buf + rd->start, rd->len);
		rd->start = 0;
	}
	if (rd->cap - rd->len < READ_ROOM) {
		char *n = realloc(rd->buf, rd->len + READ_ROOM);

		if (!n)
			return NULL;
		rd->buf = n;
		rd->cap = rd->len + READ_ROOM;
	}
	*avail = rd->cap - rd->len;
	return rd->buf + rd->len;
}

void jproto_reader_filled(struct jproto_reader *rd, size_t n)
{
	rd->len += n;
}

int jproto_reader_next(struct jproto_reader *rd, json_t **msg, enum jproto_op *op)
{
	uint32_t be;
	size_t flen;
	json_t *o;
	int k;

	*msg = NULL;
	if (rd->len < 4)
		return 0;
	memcpy(&be, rd->buf + rd->start, 4);
	flen = ntohl(be);
	/* Nothing is consumed: a broken stream stays broken. */
	if (flen > JPROTO_FRAME_MAX)
		return JPROTO_ETOOBIG;
	if (rd->len < 4 + flen)
		return 0;
	o = json_loadb(rd->buf + rd->start + 4, flen, 0, NULL);
	k = jproto_op_parse(json_string_value(json_object_get(o, "op")));
	if (k < 0) {
		json_decref(o);
		return JPROTO_EBADFRAME;
	}
	rd->start += 4 + flen;
	rd->len -= 4 + flen;
	if (!rd->len)
		rd->start = 0;
	*msg = o;
	*op = (enum jproto_op)k;
	return 1;
}
