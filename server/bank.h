/*
 * bank.h - the server's view of the problem bank: problems loaded from
 * PostgreSQL (their newest revision), cached, shared by the rooms that
 * use them, and the admin's writes.
 *
 * Boundary: below room and http, beside store; talks to PostgreSQL only
 * through db.h (never blocking the loop) and to the problem format only
 * through judge/problem.h.  Knows nothing of connections.
 *
 * A struct bank_problem is reference counted: a room holds one for its
 * current problem and a run holds one for the problem it started with, so
 * a switch or an admin's replacement while a Submit runs changes nothing
 * for that Submit.  A replaced or deleted problem leaves the cache at once
 * (the next bank_get() loads the new revision) and is freed at its last
 * bank_unref().
 */
#ifndef TANDEM_BANK_H
#define TANDEM_BANK_H

#include <stdbool.h>

#include <jansson.h>

struct server;
struct problem;

struct bank_problem {
	char id[65];
	int revision;
	struct problem *p; /* owned */
	json_t *view;	   /* owned: the room view (PROBLEM_VIEW_ROOM) with "revision" */
	unsigned refs;
	bool cached; /* still the cache's entry for id */
	struct bank_problem *next;
};

struct bank;

int bank_create(struct server *srv, struct bank **out);
/* Drops the cache (entries still referenced live on until unreferenced); accepts NULL. */
void bank_destroy(struct bank *b);

/*
 * The newest revision of problem id.  cb gets a new reference (the caller
 * unrefs it) or NULL with status 404 (no such problem, or archived) or 503
 * (database unavailable).  A cached problem is answered before bank_get()
 * returns; otherwise cb comes later from the loop.  Returns 0, or -1 when
 * the query could not be queued (cb is then never called).
 */
typedef void bank_cb(void *ud, struct bank_problem *bp, int status);
int bank_get(struct bank *b, const char *id, bank_cb *cb, void *ud);

struct bank_problem *bank_ref(struct bank_problem *bp);
/* Accepts NULL. */
void bank_unref(struct bank_problem *bp);

/* The cache forgets id (after a write): the next bank_get() reads PostgreSQL. */
void bank_forget(struct bank *b, const char *id);

/*
 * The admin's side (REST, http-problems.c).  Each answers cb(ud, status,
 * body) later from the loop (body a new reference), or returns -1 when the
 * query could not be queued (cb never called).
 */
typedef void bank_json_cb(void *ud, int status, json_t *body);

/* 200 {"problems": [summary...]}: archived ones too when archived. */
int bank_list(struct bank *b, bool archived, bank_json_cb *cb, void *ud);
/* 200 the admin view (hidden tests, revisions, open rooms using it); 404. */
int bank_admin_get(struct bank *b, const char *id, bank_json_cb *cb, void *ud);
/*
 * Stores p (validated; borrowed for the call) as a new revision when it
 * changed: 201 (new), 200 {"id", "revision", "changed"}.
 */
int bank_put(struct bank *b, const struct problem *p, bank_json_cb *cb, void *ud);
/* Archives id: 200 {"id", "archived": true}; 409 {"error": "in_use", "rooms"}; 404. */
int bank_archive(struct bank *b, const char *id, bank_json_cb *cb, void *ud);

#endif
