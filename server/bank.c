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
#include "problems.h"
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

/* ---- the admin's side ------------------------------------------------------ */

struct admin_call {
	struct bank *b;
	bank_json_cb *cb;
	void *ud;
	char id[65];
};

static struct admin_call *admin_call(struct bank *b, const char *id, bank_json_cb *cb, void *ud)
{
	struct admin_call *ac = calloc(1, sizeof(*ac));

	if (!ac)
		return NULL;
	ac->b = b;
	ac->cb = cb;
	ac->ud = ud;
	snprintf(ac->id, sizeof(ac->id), "%s", id ? id : "");
	return ac;
}

/* The common failure answer; true when err (cb called). */
static bool failed(struct admin_call *ac, int err, const char *errmsg)
{
	if (!err)
		return false;
	log_event(LOG_ERROR, "bank.admin", "problem=%s error=%s", ac->id,
		  errmsg ? errmsg : db_strerror(err));
	ac->cb(ac->ud, 503, json_pack("{s:s}", "error", "database unavailable"));
	return true;
}

static void listed(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct admin_call *ac = ud;

	if (!failed(ac, err, errmsg)) {
		json_t *list = json_array();
		for (int i = 0; i < PQntuples(res); i++) {
			json_t *o = json_loads(PQgetvalue(res, i, 0), 0, NULL);
			if (o)
				json_array_append_new(list, o);
		}
		ac->cb(ac->ud, 200, json_pack("{s:o}", "problems", list));
	}
	free(ac);
}

int bank_list(struct bank *b, bool archived, bank_json_cb *cb, void *ud)
{
	struct admin_call *ac = admin_call(b, NULL, cb, ud);
	const char *params[] = { archived ? "true" : "false" };

	if (!ac || !b->srv->db ||
	    db_query(b->srv->db,
		     "SELECT json_build_object('id', p.id, 'title', p.title, 'difficulty', "
		     "p.difficulty, 'tags', p.tags, 'kind', p.kind, 'revision', p.revision, "
		     "'samples', jsonb_array_length(r.content->'tests'->'sample'), 'hidden', "
		     "jsonb_array_length(r.content->'tests'->'hidden'), 'generator', r.content ? "
		     "'gen', 'archived', p.archived_at IS NOT NULL, 'updated_at', "
		     "(extract(epoch FROM p.updated_at) * 1000)::bigint) FROM problems p JOIN "
		     "problem_revisions r ON r.problem = p.id AND r.revision = p.revision "
		     "WHERE $1::boolean OR p.archived_at IS NULL ORDER BY p.id",
		     1, params, listed, ac)) {
		free(ac);
		return -1;
	}
	return 0;
}

static void got(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct admin_call *ac = ud;
	json_t *errors = json_array();
	struct problem *p = NULL;

	if (failed(ac, err, errmsg)) {
	} else if (PQntuples(res) != 1) {
		ac->cb(ac->ud, 404, json_pack("{s:s}", "error", "no such problem"));
	} else {
		json_t *content = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
		json_t *view = NULL;
		if (content && !problem_from_json(content, ac->id, &p, errors))
			view = problem_json(p, PROBLEM_VIEW_ADMIN);
		if (view) {
			json_object_set_new(view, "revision",
					    json_integer(atoi(PQgetvalue(res, 0, 0))));
			json_object_set_new(view, "archived",
					    json_boolean(PQgetvalue(res, 0, 2)[0] == 't'));
			json_t *revs = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
			json_t *rooms = json_loads(PQgetvalue(res, 0, 4), 0, NULL);
			json_object_set_new(view, "revisions", revs ? revs : json_array());
			json_object_set_new(view, "rooms", rooms ? rooms : json_array());
			if (p->gen)
				json_object_set_new(view, "gen", json_string(p->gen));
			ac->cb(ac->ud, 200, view);
		} else {
			ac->cb(ac->ud, 500,
			       json_pack("{s:s}", "error", "stored problem is invalid"));
		}
		json_decref(content);
	}
	problem_destroy(p);
	json_decref(errors);
	free(ac);
}

int bank_admin_get(struct bank *b, const char *id, bank_json_cb *cb, void *ud)
{
	struct admin_call *ac = admin_call(b, id, cb, ud);
	const char *params[] = { id };

	if (!ac || !b->srv->db ||
	    db_query(
		    b->srv->db,
		    "SELECT p.revision, r.content, p.archived_at IS NOT NULL, "
		    "(SELECT json_agg(json_build_object('revision', v.revision, 'created_at', "
		    "(extract(epoch FROM v.created_at) * 1000)::bigint) ORDER BY v.revision) FROM "
		    "problem_revisions v WHERE v.problem = p.id), "
		    "(SELECT coalesce(json_agg(m.id ORDER BY m.id), '[]') FROM rooms m WHERE "
		    "m.problem = p.id AND m.closed_at IS NULL) "
		    "FROM problems p JOIN problem_revisions r ON r.problem = p.id AND r.revision = "
		    "p.revision WHERE p.id = $1",
		    1, params, got, ac)) {
		free(ac);
		return -1;
	}
	return 0;
}

static void put_done(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct admin_call *ac = ud;

	if (!failed(ac, err, errmsg)) {
		int rev = atoi(PQgetvalue(res, 0, 0));
		bool changed = PQgetvalue(res, 0, 1)[0] == 't';
		/* Rooms pick the new revision up at their next switch or load. */
		bank_forget(ac->b, ac->id);
		ac->cb(ac->ud, changed && rev == 1 ? 201 : 200,
		       json_pack("{s:s, s:i, s:b}", "id", ac->id, "revision", rev, "changed",
				 changed));
	}
	free(ac);
}

int bank_put(struct bank *b, const struct problem *p, bank_json_cb *cb, void *ud)
{
	struct admin_call *ac = admin_call(b, p->id, cb, ud);
	char *args[PROBLEMS_NARGS];

	if (!ac || !b->srv->db || problems_args(p, args)) {
		free(ac);
		return -1;
	}
	int rc = db_query(b->srv->db, PROBLEMS_STORE_SQL, PROBLEMS_NARGS, (const char *const *)args,
			  put_done, ac);
	problems_args_free(args);
	if (rc) {
		free(ac);
		return -1;
	}
	return 0;
}

static void archived(void *ud, int err, const PGresult *res, const char *errmsg)
{
	struct admin_call *ac = ud;

	if (!failed(ac, err, errmsg)) {
		json_t *rooms = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
		if (atoi(PQgetvalue(res, 0, 0)) == 0) {
			ac->cb(ac->ud, 404, json_pack("{s:s}", "error", "no such problem"));
			json_decref(rooms);
		} else if (json_array_size(rooms)) {
			ac->cb(ac->ud, 409,
			       json_pack("{s:s, s:o}", "error", "in_use", "rooms", rooms));
		} else {
			bank_forget(ac->b, ac->id);
			ac->cb(ac->ud, 200, json_pack("{s:s, s:b}", "id", ac->id, "archived", 1));
			json_decref(rooms);
		}
	}
	free(ac);
}

int bank_archive(struct bank *b, const char *id, bank_json_cb *cb, void *ud)
{
	struct admin_call *ac = admin_call(b, id, cb, ud);
	const char *params[] = { id };

	/* One statement: the check for open rooms and the archiving are atomic. */
	if (!ac || !b->srv->db ||
	    db_query(b->srv->db,
		     "WITH busy AS (SELECT coalesce(json_agg(id ORDER BY id), '[]') AS rooms FROM "
		     "rooms WHERE problem = $1 AND closed_at IS NULL), upd AS (UPDATE problems SET "
		     "archived_at = coalesce(archived_at, now()) WHERE id = $1 AND (SELECT "
		     "json_array_length(rooms) FROM busy) = 0 RETURNING id) "
		     "SELECT (SELECT count(*) FROM problems WHERE id = $1), (SELECT rooms FROM "
		     "busy), "
		     "(SELECT count(*) FROM upd)",
		     1, params, archived, ac)) {
		free(ac);
		return -1;
	}
	return 0;
}
