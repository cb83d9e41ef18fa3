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

#include <stdbool.h>
#include <stdlib.h>

/*
 * A poll handle for one hiredis context, and a prepare handle that writes
 * its commands just before the loop sleeps.  hiredis asks for "writable"
 * after every command; watching POLLOUT for that would cost two
 * epoll_ctl calls per command (libuv re-adds the fd whenever a poll
 * handle's events change).  Instead the commands of one loop iteration go
 * out in one write from the prepare callback, and POLLOUT is watched only
 * while the socket would not take everything, or while connecting.  With
 * batch_ms the write waits that long instead (a timer), so a steady stream
 * of commands goes out in a few large writes.  Freed once its handles are
 * closed.
 */
struct rwatch {
	uv_poll_t poll;
	uv_prepare_t prep;
	uv_timer_t batch;
	unsigned batch_ms;
	redisAsyncContext *ac; /* NULL once hiredis cleaned up */
	int want;	       /* events hiredis asked for */
	int on;		       /* events the poll handle watches */
	bool blocked;	       /* the last write left bytes behind: wait for POLLOUT */
	bool writing;	       /* inside redisAsyncHandleWrite from the prepare callback */
	int open_handles;
};

static void rwatch_cb(uv_poll_t *h, int status, int events);
static void rwatch_prep_cb(uv_prepare_t *h);
static void rwatch_batch_cb(uv_timer_t *h);

static void rwatch_apply(struct rwatch *w)
{
	int ev = w->want;

	if (w->writing)
		return; /* rwatch_prep_cb applies the outcome */
	if ((ev & UV_WRITABLE) && !w->blocked && (w->ac->c.flags & REDIS_CONNECTED)) {
		ev &= ~UV_WRITABLE;
		if (w->batch_ms == 0) {
			uv_prepare_start(&w->prep, rwatch_prep_cb);
		} else if (!uv_is_active((uv_handle_t *)&w->batch)) {
			uv_timer_start(&w->batch, rwatch_batch_cb, w->batch_ms, 0);
		}
	} else {
		uv_prepare_stop(&w->prep);
		uv_timer_stop(&w->batch);
	}
	if (ev == w->on)
		return;
	w->on = ev;
	if (ev != 0)
		uv_poll_start(&w->poll, ev, rwatch_cb);
	else
		uv_poll_stop(&w->poll);
}

static void rwatch_write(struct rwatch *w)
{
	if (w->ac == NULL || !(w->want & UV_WRITABLE))
		return;
	w->writing = true;
	redisAsyncHandleWrite(w->ac);
	w->writing = false;
	if (w->ac == NULL)
		return;
	if (w->want & UV_WRITABLE)
		w->blocked = true; /* the socket is full: POLLOUT says when it drained */
	rwatch_apply(w);
}

static void rwatch_prep_cb(uv_prepare_t *h)
{
	struct rwatch *w = h->data;

	uv_prepare_stop(&w->prep);
	rwatch_write(w);
}

static void rwatch_batch_cb(uv_timer_t *h)
{
	rwatch_write(h->data);
}

static void rwatch_cb(uv_poll_t *h, int status, int events)
{
	struct rwatch *w = h->data;

	if (w->ac == NULL)
		return;
	if (status < 0) {
		/* libuv stopped the handle; a read lets hiredis find the error. */
		w->on = 0;
		redisAsyncHandleRead(w->ac);
		if (w->ac != NULL)
			rwatch_apply(w);
		return;
	}
	if (events & UV_READABLE)
		redisAsyncHandleRead(w->ac);
	if (w->ac != NULL && (events & UV_WRITABLE)) {
		w->blocked = false;
		redisAsyncHandleWrite(w->ac);
	}
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
	struct rwatch *w = h->data;

	if (--w->open_handles == 0)
		free(w);
}

static void rwatch_cleanup(void *data)
{
	struct rwatch *w = data;

	w->ac = NULL;
	uv_close((uv_handle_t *)&w->poll, rwatch_close_cb);
	uv_close((uv_handle_t *)&w->prep, rwatch_close_cb);
	uv_close((uv_handle_t *)&w->batch, rwatch_close_cb);
}

int redisuv_attach(redisAsyncContext *ac, uv_loop_t *loop, unsigned batch_ms)
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
	uv_prepare_init(loop, &w->prep);
	uv_timer_init(loop, &w->batch);
	w->open_handles = 3;
	w->batch_ms = batch_ms;
	w->poll.data = w;
	w->prep.data = w;
	w->batch.data = w;
	w->ac = ac;
	ac->ev.data = w;
	ac->ev.addRead = rwatch_add_read;
	ac->ev.delRead = rwatch_del_read;
	ac->ev.addWrite = rwatch_add_write;
	ac->ev.delWrite = rwatch_del_write;
	ac->ev.cleanup = rwatch_cleanup;
	return 0;
}
