/*
 * ws.h - the listener: libwebsockets on the server's loop (ws.c).
 *
 * Owns the lws context, its mounts (REST API, probes, static files) and
 * the WebSocket protocol's callbacks; main.c starts and stops it.
 */
#ifndef TANDEM_WS_H
#define TANDEM_WS_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"

struct server;

/* ws.c: starts libwebsockets on srv->loop listening on host:port. */
int ws_start(struct server *srv, const char *host, int port, const char *static_dir);
/* Stops accepting and closes every connection with 1001. */
void ws_stop(struct server *srv);
/* Frees what ws_start allocated besides the lws context (after the loop ended). */
void ws_finish(struct server *srv);

/*
 * For tests (tests/server/test-room.c): the hooks ws_start gives conn.c,
 * and one complete message of len bytes (borrowed) from c, as the
 * WebSocket callback hands it on: budget, awareness pacing, parsing, the
 * seat's check, then the room.
 */
extern const struct conn_hooks ws__conn_hooks;
void ws__on_message(struct conn *c, const unsigned char *data, size_t len, bool binary);

#endif /* TANDEM_WS_H */
