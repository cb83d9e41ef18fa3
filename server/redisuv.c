/*
 * redisuv.c - the hiredis event adapter for libuv (see redisuv.h for why
 * the stock one is not used).
 *
 * hiredis calls the add/del hooks to say which readiness it waits for and
 * the cleanup hook when it frees the context; from then on the poll handle
 * must never call back into it, which is why the watch forgets its context
 * before closing.  This file must never block.
 */
#include "redisuv.h"

#include <stdlib.h>

/* A poll handle for one hiredis context; freed by its close callback. */
struct rwatch {
	uv_poll_t poll;
	redisAsyncContext *ac; /* NULL once hiredis cleaned up */
	int want;	       /* events hiredis asked for */
};

static void rwatch_cb(uv_poll_t *h, int status, int events);

static void rwatch_apply(struct rwatch *w)
{
	if (w->want != 0)
		uv_poll_start(&w->poll, w->want, rwatch_cb);
	else
		uv_poll_stop(&w->poll);
}

static void rwatch_cb(uv_poll_t *h, int status, int events)
{
	struct rwatch *w = h->data;

	if (w->ac == NULL)
		return;
	if (status < 0) {
		/* libuv stopped the handle; a read lets hiredis find the error. */
		redisAsyncHandleRead(w->ac);
		if (w->ac != NULL)
			rwatch_apply(w);
		return;
	}
	if (events & UV_READABLE)
		redisAsyncHandleRead(w->ac);
	if (w->ac != NULL && (events & UV_WRITABLE))
		redisAsyncHandleWrite(w->ac);
}

static void rwatch_add_read(void *data)
{
	struct rwatch *w = data;

	w->want |= UV_READABLE;
	rwatch_apply(w);
}

static void rwatch_del_read(void *data)
{
	struct rwatch *w = data;

	w->want &= ~UV_READABLE;
	rwatch_apply(w);
}

static void rwatch_add_write(void *data)
{
	struct rwatch *w = data;

	w->want |= UV_WRITABLE;
	rwatch_apply(w);
}

static void rwatch_del_write(void *data)
{
	struct rwatch *w = data;

	w->want &= ~UV_WRITABLE;
	rwatch_apply(w);
}

static void rwatch_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void rwatch_cleanup(void *data)
{
	struct rwatch *w = data;

	w->ac = NULL;
	uv_close((uv_handle_t *)&w->poll, rwatch_close_cb);
}

int redisuv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
	struct rwatch *w;

	if (ac->ev.data != NULL)
		return -1;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -1;
	if (uv_poll_init(loop, &w->poll, ac->c.fd) != 0) {
		free(w);
		return -1;
	}
	w->poll.data = w;
	w->ac = ac;
	ac->ev.data = w;
	ac->ev.addRead = rwatch_add_read;
	ac->ev.delRead = rwatch_del_read;
	ac->ev.addWrite = rwatch_add_write;
	ac->ev.delWrite = rwatch_del_write;
	ac->ev.cleanup = rwatch_cleanup;
	return 0;
}
