/*
 * redisuv.h - hiredis async contexts on a libuv loop.
 *
 * Boundary: a tiny event adapter, nothing else; it knows no command and no
 * reconnect policy.  It exists because hiredis' own adapters/libuv.h drops
 * libuv's error status: a poll callback with status < 0 (EPOLLERR, e.g. a
 * Redis killed with unread data resets the connection) is ignored while
 * libuv stops the handle, so hiredis never learns of the error and the
 * connection hangs until some timeout.  This adapter hands such an event to
 * hiredis as a read, which then sees the error and disconnects at once.
 * It also writes without waiting for POLLOUT: commands issued during one
 * loop iteration go out together just before the loop sleeps (see
 * redisuv.c), so a command costs no epoll_ctl.
 */
#ifndef TANDEM_REDISUV_H
#define TANDEM_REDISUV_H

#include <hiredis/async.h>
#include <uv.h>

/*
 * Attaches ac (borrowed: hiredis keeps owning it) to loop.  The adapter's
 * own memory is released by hiredis' cleanup hook when ac is freed, through
 * a libuv close callback, so run the loop once more after the last
 * redisAsyncFree().  Commands are written just before the loop next sleeps,
 * or with batch_ms > 0 up to that many milliseconds later, together with
 * whatever else was issued meanwhile (fewer, larger writes; replies come
 * later by as much).  Returns 0, or -1 (already attached, out of memory, or
 * libuv refused the socket); on -1 the caller still owns and frees ac.
 */
int redisuv_attach(redisAsyncContext *ac, uv_loop_t *loop, unsigned batch_ms);

#endif
