/*
 * subs.h - submissions in PostgreSQL: storing a judged Submit with one row
 * per test, and reading them back for the REST API.
 *
 * Boundary: beside store (db.h only, never blocking the loop); knows the
 * submissions tables of migrations/0004_problems.sql and nothing of
 * connections.  What it stores of a hidden test is its name, verdict, time
 * and memory: the summary it is given must already be redacted
 * (problem_result_json(..., show_hidden = false)).
 */
#ifndef TANDEM_SUBS_H
#define TANDEM_SUBS_H

#include <stdint.h>

#include <jansson.h>

struct server;

/* One submission; every pointer borrowed for the subs_store() call. */
struct subs_row {
	const char *id, *room, *seat, *problem, *code;
	uint32_t agent;
	int revision;
	const json_t *summary; /* problem_result_json(): verdict, passed, ..., tests */
};

/* Who a callback is for: the room may be gone when it comes. */
struct subs_ctx {
	struct server *srv;
	char room[48];
	uint64_t run;
};
struct subs_ctx *subs_ctx_new(struct server *srv, const char *room, uint64_t run);
void subs_ctx_free(struct subs_ctx *sc);

/*
 * Stores row and its tests in one statement.  Returns 0 (cb(ud, err) comes
 * later, err 0 or -1) or -1 (cb never called).
 */
int subs_store(struct server *srv, const struct subs_row *row, void (*cb)(void *ud, int err),
	       void *ud);

/*
 * REST reads.  cb gets an HTTP status and a new JSON reference (the
 * answer's body).  seat: NULL for every seat's submissions, or the only
 * seat whose submissions may be seen (a candidate).
 */
typedef void subs_json_cb(void *ud, int status, json_t *body);
int subs_list(struct server *srv, const char *room, const char *seat, const char *before,
	      unsigned limit, subs_json_cb *cb, void *ud);
int subs_get(struct server *srv, const char *room, const char *id, const char *seat,
	     subs_json_cb *cb, void *ud);

#endif
