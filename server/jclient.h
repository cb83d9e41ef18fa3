/*
 * jclient.h - running code through the judge supervisor, from the loop.
 *
 * The run API itself (jclient_run, jclient_forget, the callbacks) is in
 * server.h, where rooms use it; this header has the life cycle main.c
 * needs and the error codes.
 */
#ifndef TANDEM_JCLIENT_H
#define TANDEM_JCLIENT_H

#include <stdbool.h>

struct server;
struct jclient;

#define JCLIENT_EDOWN (-1) /* no supervisor, or it went away */

/* Talks to the supervisor over fd (a socketpair end, now owned by jc). */
int jclient_create(struct server *srv, int fd, struct jclient **out);
/* Fails the runs in flight and closes; the memory goes once libuv closes the pipe. */
void jclient_destroy(struct jclient *jc);
/* Is the supervisor there and has it not reported itself down? */
bool jclient_up(const struct jclient *jc);

#endif
