/*
 * timeline-redis.c - the timeline's hot log: one Redis Stream per room.
 *
 * An XADD's answer makes an event durable (well under a millisecond); the
 * connection itself is kept up by redisconn.c.  Only what PostgreSQL has
 * confirmed is ever XDELed, and while Redis is away those trims are
 * remembered (bounded) for the reconnect.  This file must never call a
 * blocking hiredis function, and never free an event that a reply
 * callback may still receive (an orphan is freed by its XADD's reply).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "fmt.h"
#include "log.h"
#include "timeline-internal.h"

/* ---- Redis ---------------------------------------------------------------- */

static void rsent(struct timeline *tl)
{
	redisconn_sent(&tl->redis);
}

static void rreplied(struct timeline *tl)
{
	redisconn_replied(&tl->redis);
}

static void xdel_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	(void)ac;
	if (r)
		rreplied(privdata);
}

/*
 * Remembers stream entries to trim while Redis is away (bounded: beyond
 * TRIM_MAX they stay in the stream until the room's next load trims them;
 * PostgreSQL has them either way).
 */
static void trim_later(struct timeline *tl, const char *room, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n && tl->ntrims < TRIM_MAX; i++) {
		if (tl->ntrims == tl->captrims) {
			size_t ncap = tl->captrims ? tl->captrims * 2 : 256;
			struct tl_trim *t = realloc(tl->trims, ncap * sizeof(*t));

			if (!t)
				return;
			tl->trims = t;
			tl->captrims = ncap;
		}
		snprintf(tl->trims[tl->ntrims].room, sizeof(tl->trims[0].room), "%s", room);
		snprintf(tl->trims[tl->ntrims].sid, sizeof(tl->trims[0].sid), "%s", ids[i]);
		tl->ntrims++;
	}
}

void timeline__xdel(struct timeline *tl, const char *room, const char *const *ids, size_t n)
{
	const char **argv;
	char key[ROOM_MAX + 32];

	if (n == 0)
		return;
	if (!redisconn_up(&tl->redis)) {
		trim_later(tl, room, ids, n);
		return;
	}
	argv = malloc((n + 2) * sizeof(*argv));
	if (!argv)
		return;
	timeline__stream_key(key, room, strlen(room));
	argv[0] = "XDEL";
	argv[1] = key;
	memcpy(argv + 2, ids, n * sizeof(*ids));
	if (redisAsyncCommandArgv(redisconn_ctx(&tl->redis), xdel_cb, tl, (int)n + 2, argv, NULL) ==
	    REDIS_OK)
		rsent(tl);
	free(argv);
}

static void xadd_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct tl_event *ev = privdata;
	struct timeline *tl = ev->tr->tl;
	const redisReply *reply = r;

	(void)ac;
	if (reply)
		rreplied(tl);
	if (!reply || reply->type != REDIS_REPLY_STRING) {
		if (reply && reply->type == REDIS_REPLY_ERROR)
			log_event(LOG_WARN, "timeline.xadd", "room=%s seq=%llu error=%s",
				  ev->tr->id, (unsigned long long)ev->seq, reply->str);
		ev->xadd = X_NONE;
		if (ev->orphan)
			timeline__event_free(ev);
		return;
	}
	ev->xadd = X_DONE;
	{
		size_t n = reply->len < sizeof(ev->sid) ? reply->len : sizeof(ev->sid) - 1;

		memcpy(ev->sid, reply->str, n); /* an id: "<ms>-<n>", 41 bytes at most */
		ev->sid[n] = '\0';
	}
	if (ev->orphan) {
		/* PostgreSQL confirmed it first: the stream copy is not needed. */
		const char *id = ev->sid;

		timeline__xdel(tl, ev->tr->id, &id, 1);
		timeline__event_free(ev);
		return;
	}
	timeline__mark_durable(ev);
	timeline__advance(ev->tr);
}

/*
 * Appends one RESP bulk string ("$len\r\nbytes\r\n") at p.  XADDs are built
 * here rather than by hiredis, whose formatter prints every argument's
 * length with sprintf: fifteen arguments, five thousand XADDs a second.
 */
static char *resp_bulk(char *p, const void *s, size_t n)
{
	*p++ = '$';
	p += fmt_u64(p, n);
	*p++ = '\r';
	*p++ = '\n';
	memcpy(p, s, n);
	p += n;
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

void timeline__xadd(struct timeline *tl, struct tl_event *ev)
{
	char key[ROOM_MAX + 32], seq[24], at[24], small[1024], *cmd, *p;
	const char *argv[15];
	size_t len[15], total = 5;
	int n = 0;

	if (!redisconn_up(&tl->redis) || ev->xadd != X_NONE)
		return;
#define ARG(s, l) (argv[n] = (s), len[n] = (l), n++)
	ARG("XADD", 4);
	ARG(key, timeline__stream_key(key, ev->tr->id, ev->tr->idlen));
	ARG("*", 1);
	ARG("seq", 3);
	ARG(seq, fmt_u64(seq, ev->seq));
	ARG("at", 2);
	ARG(at, fmt_i64(at, ev->at));
	ARG("kind", 4);
	ARG(ev->kind, ev->klen);
	ARG("actor", 5);
	ARG(ev->actor ? ev->actor : "", ev->alen);
	ARG("payload", 7);
	ARG(ev->payload, ev->plen);
	ARG("ops", 3);
	ARG(ev->ops ? (const char *)ev->ops : "", ev->ops_len);
#undef ARG
	for (int i = 0; i < n; i++)
		total += len[i] + 25; /* "$", up to 20 digits, two CRLFs */
	cmd = total <= sizeof(small) ? small : malloc(total);
	if (!cmd)
		return;
	p = cmd;
	memcpy(p, "*15\r\n", 5);
	p += 5;
	for (int i = 0; i < n; i++)
		p = resp_bulk(p, argv[i], len[i]);
	if (redisAsyncFormattedCommand(redisconn_ctx(&tl->redis), xadd_cb, ev, cmd,
				       (size_t)(p - cmd)) == REDIS_OK) {
		ev->xadd = X_SENT;
		rsent(tl);
	}
	if (cmd != small)
		free(cmd);
}

/* Redis is (back) up: what waited goes out. */
void timeline__redis_up(void *ud)
{
	struct timeline *tl = ud;

	/* What PostgreSQL confirmed while Redis was away leaves the stream now. */
	{
		size_t n = tl->ntrims;

		tl->ntrims = 0;
		for (size_t i = 0; i < n && redisconn_up(&tl->redis); i++) {
			const char *id = tl->trims[i].sid;

			timeline__xdel(tl, tl->trims[i].room, &id, 1);
		}
	}
	/* What waited while Redis was away goes out now, in order. */
	for (struct tl_event *ev = tl->qhead; ev && redisconn_up(&tl->redis); ev = ev->next)
		if (!ev->pg_sending)
			timeline__xadd(tl, ev);
}
