/*
 * bank.c - problems as the server uses them: loaded once from PostgreSQL,
 * kept while rooms use them (bank.h).
 *
 * Why it exists: every join sends the room's problem, and every test run
 * needs its tests; reading and validating the stored JSON each time would
 * be waste.  The cache holds one entry per id (its newest revision); a
 * load in flight for an id is shared by everyone who asks meanwhile.
 *
 * It must never block the loop (db.h only), and never hand out a problem
 * that failed validation: stored content is validated again on load
 * (problem_from_json), since the database is not trusted more than a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bank.h"
#include "db.h"
#include "log.h"
#include "problem.h"
#include "server.h"

struct waiter {
	bank_cb *cb;
	void *ud;
	struct waiter *next;
};

/* A load in flight for one id, and everyone waiting for it. */
struct load {
	struct bank *b;
	char id[65];
	struct waiter *waiters;
	struct load *next;
	bool orphan; /* the bank was destroyed meanwhile */
};

struct bank {
	struct server *srv;
	struct bank_problem *cache;
	struct load *loads;
};

int bank_create(struct server *srv, struct bank **out)
{
	struct bank *b = calloc(1, sizeof(*b));

	if (!b)
		return -1;
	b->srv = srv;
	*out = b;
	return 0;
}

static void entry_free(struct bank_problem *bp)
{
	problem_destroy(bp->p);
	json_decref(bp->view);
	free(bp);
}

struct bank_problem *bank_ref(struct bank_problem *bp)
{
	if (bp)
		bp->refs++;
	return bp;
}

void bank_unref(struct bank_problem *bp)
{
	if (bp && --bp->refs == 0)
		entry_free(bp);
}

static void uncache(struct bank *b, struct bank_problem *bp)
{
	for (struct bank_problem **pp = &b->cache; *pp; pp = &(*pp)->next)
		if (*pp == bp) {
			*pp = bp->next;
			bp->cached = false;
			bank_unref(bp); /* the cache's own reference */
			return;
		}
}

void bank_forget(struct bank *b, const char *id)
{
	for (struct bank_problem *bp = b ? b->cache : NULL; bp; bp = bp->next)
		if (!strcmp(bp->id, id)) {
			uncache(b, bp);
			return;
		}
}

void bank_destroy(struct bank *b)
{
	if (!b)
		return;
	while (b->cache)
		uncache(b, b->cache);
	for (struct load *l = b->loads; l; l = l->next)
		l->orphan = true;
	free(b);
}

static void finish_load(struct load *l, struct bank_problem *bp, int status)
{
	struct waiter *w = l->waiters;

	while (w) {
		struct waiter *next = w->next;
		w->cb(w->ud, bp ? bank_ref(bp) : NULL, status);
		free(w);
		w = next;
	}
	free(l);
}

static void loaded(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct load *l = ud;
	struct bank *b = l->orphan ? NULL : l->b;
	struct bank_problem *bp = NULL;
	int status = 404;

	if (b)
		for (struct load **pp = &b->loads; *pp; pp = &(*pp)->next)
			if (*pp == l) {
				*pp = l->next;
				break;
			}
	if (err) {
		log_event(LOG_WARN, "bank.load", "problem=%s error=%s", l->id,
			  errmsg ? errmsg : db_strerror(err));
		status = 503;
	} else if (PQntuples(res) == 1) {
		json_t *content = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
		json_t *errors = json_array();
		struct problem *p;

		if (content && !problem_from_json(content, l->id, &p, errors)) {
			bp = calloc(1, sizeof(*bp));
			if (bp) {
				snprintf(bp->id, sizeof(bp->id), "%s", l->id);
				bp->revision = atoi(PQgetvalue(res, 0, 0));
				bp->p = p;
				bp->view = problem_json(p, PROBLEM_VIEW_ROOM);
				json_object_set_new(bp->view, "revision",
						    json_integer(bp->revision));
				bp->refs = 1; /* the cache's */
			} else {
				problem_destroy(p);
			}
		} else {
			log_event(LOG_ERROR, "bank.invalid", "problem=%s error=%s", l->id,
				  json_string_value(json_array_get(errors, 0)));
		}
		json_decref(content);
		json_decref(errors);
		if (!bp)
			status = 503;
	}
	if (bp && b) {
		/* A write may have made this stale meanwhile; the newest load wins. */
		bank_forget(b, bp->id);
		bp->cached = true;
		bp->next = b->cache;
		b->cache = bp;
	}
	finish_load(l, bp, bp ? 200 : status);
	if (bp && !b)
		bank_unref(bp);
}

int bank_get(struct bank *b, const char *id, bank_cb *cb, void *ud)
{
	struct waiter *w;
	struct load *l;

	for (struct bank_problem *bp = b->cache; bp; bp = bp->next)
		if (!strcmp(bp->id, id)) {
			cb(ud, bank_ref(bp), 200);
			return 0;
		}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->cb = cb;
	w->ud = ud;
	for (l = b->loads; l; l = l->next)
		if (!strcmp(l->id, id)) {
			w->next = l->waiters;
			l->waiters = w;
			return 0;
		}
	l = calloc(1, sizeof(*l));
	if (!l || strlen(id) >= sizeof(l->id) || !b->srv->db) {
		free(l);
		free(w);
		return -1;
	}
	l->b = b;
	snprintf(l->id, sizeof(l->id), "%s", id);
	l->waiters = w;
	const char *params[] = { id };
	if (db_query(b->srv->db,
		     "SELECT p.revision, r.content FROM problems p JOIN problem_revisions r ON "
		     "r.problem = p.id AND r.revision = p.revision "
		     "WHERE p.id = $1 AND p.archived_at IS NULL",
		     1, params, loaded, l)) {
		free(l);
		free(w);
		return -1;
	}
	l->next = b->loads;
	b->loads = l;
	return 0;
}
