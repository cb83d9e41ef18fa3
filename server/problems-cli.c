/*
 * problems-cli.c - `tandem problems import|check|list`.
 *
 * Why it exists: the problem bank lives in folders (problems/, or a
 * Py-Katas file), and PostgreSQL holds what rooms use.  import validates
 * every problem it is given and stores each valid one in one transaction
 * (a new revision only when its content changed); check judges every
 * reference solution without any database; list prints what is stored.
 *
 * It runs as a command, not on the serving loop, so libpq is used in its
 * blocking form here.  It must never store part of a problem: any error in
 * a problem means nothing of that problem is written.
 *
 * import is quick because it overlaps what it can: the problems are read
 * and validated by one thread a core, and stored over two connections in
 * pipeline mode (each problem still its own statement, Sync and so its
 * own transaction), so PostgreSQL's work on one problem does not wait for
 * a round trip, nor for the reading of the next.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "problem.h"
#include "problems.h"

static const char usage[] =
	"usage: tandem problems import [--pg CONNINFO] PATH...\n"
	"       tandem problems check PATH...\n"
	"       tandem problems list [--pg CONNINFO] [--json]\n"
	"PATH is a problem folder (problem.yaml, tests/, gen.py, solutions/), a Py-Katas\n"
	"YAML file, or a folder of either.  import validates everything, then stores each\n"
	"valid problem in one transaction (a new revision only when it changed); errors are\n"
	"printed as file:line: reason and the exit status is 1.  check runs every reference\n"
	"solution through the judge (needs root, as the judge does; no database).\n"
	"--pg defaults to TANDEM_PG.\n";

static bool is_problem(const char *path)
{
	struct stat st;
	char yaml[4096];
	size_t n = strlen(path);

	if (stat(path, &st) < 0)
		return false;
	if (S_ISREG(st.st_mode))
		return (n > 5 && !strcmp(path + n - 5, ".yaml")) ||
		       (n > 4 && !strcmp(path + n - 4, ".yml"));
	snprintf(yaml, sizeof(yaml), "%s/problem.yaml", path);
	return stat(yaml, &st) == 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the problems under path (itself, or its entries in name order) to paths. */
static void collect(const char *path, json_t *paths, json_t *errors)
{
	struct stat st;

	if (is_problem(path) || stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		json_array_append_new(paths, json_string(path));
		return;
	}
	DIR *d = opendir(path);
	char *names[4096];
	size_t n = 0;
	struct dirent *e;

	while (d && (e = readdir(d)) && n < 4096)
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_name);
	size_t before = json_array_size(paths);
	for (size_t i = 0; i < n; i++) {
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
		if (is_problem(sub))
			json_array_append_new(paths, json_string(sub));
		free(names[i]);
	}
	if (json_array_size(paths) == before) {
		char msg[4200];
		snprintf(msg, sizeof(msg), "%s: no problem folder or kata file here", path);
		json_array_append_new(errors, json_string(msg));
	}
}

/* The shared work list of load_all()'s threads. */
struct load_work {
	json_t *paths;
	struct problem **ps;
	json_t **errors;	       /* per path, merged in path order afterwards */
	char *(*args)[PROBLEMS_NARGS]; /* per path when not NULL: problems_args() */
	size_t n, next;
	pthread_mutex_t lock;
};

static void *load_worker(void *ud)
{
	struct load_work *w = ud;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		size_t i = w->next++;
		pthread_mutex_unlock(&w->lock);
		if (i >= w->n)
			return NULL;
		problem_load(json_string_value(json_array_get(w->paths, i)), &w->ps[i],
			     w->errors[i]);
		if (w->ps[i] && w->args && problems_args(w->ps[i], w->args[i])) {
			json_array_append_new(w->errors[i],
					      json_sprintf("%s: out of memory", w->ps[i]->source));
			problem_destroy(w->ps[i]);
			w->ps[i] = NULL;
		}
	}
}

/*
 * Loads every problem of paths, one thread a core; refuses duplicate ids
 * (both places named).  Returns the loaded problems (NULL entries for the
 * refused ones); with args, also fills args[i] (problems_args()) for each
 * loaded one (the caller frees them with problems_args_free()).  The
 * errors come in path order whatever the threads' order.
 */
static struct problem **load_all(json_t *paths, json_t *errors, char *(*args)[PROBLEMS_NARGS])
{
	size_t n = json_array_size(paths);
	struct problem **ps = calloc(n ? n : 1, sizeof(*ps));
	struct load_work w = { .paths = paths, .ps = ps, .args = args, .n = n };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = ncpu > 1 ? (size_t)ncpu : 1, started = 0;
	pthread_t th[16];

	w.errors = calloc(n ? n : 1, sizeof(*w.errors));
	if (!ps || !w.errors) {
		free(ps);
		free(w.errors);
		json_array_append_new(errors, json_string("out of memory"));
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		w.errors[i] = json_array();
	pthread_mutex_init(&w.lock, NULL);
	if (nthreads > 16)
		nthreads = 16;
	if (nthreads > n)
		nthreads = n;
	/* This thread loads too: a thread that cannot start only means fewer. */
	for (size_t t = 1; t < nthreads; t++)
		if (!pthread_create(&th[started], NULL, load_worker, &w))
			started++;
	load_worker(&w);
	for (size_t t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	pthread_mutex_destroy(&w.lock);
	for (size_t i = 0; i < n; i++) {
		json_array_extend(errors, w.errors[i]);
		json_decref(w.errors[i]);
	}
	free(w.errors);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; ps[i] && k < i; k++) {
			if (ps[k] && !strcmp(ps[i]->id, ps[k]->id)) {
				char msg[8400];
				snprintf(msg, sizeof(msg),
					 "%s: duplicate id '%s' (also %s); neither is imported",
					 ps[i]->source, ps[i]->id, ps[k]->source);
				json_array_append_new(errors, json_string(msg));
			}
		}
	}
	/* Drop every holder of a duplicated id, first ones included. */
	bool *dup = calloc(n ? n : 1, sizeof(*dup));
	for (size_t i = 0; dup && i < n; i++)
		for (size_t k = 0; ps[i] && k < n; k++)
			if (k != i && ps[k] && !strcmp(ps[i]->id, ps[k]->id))
				dup[i] = true;
	for (size_t i = 0; dup && i < n; i++)
		if (dup[i]) {
			problem_destroy(ps[i]);
			ps[i] = NULL;
		}
	free(dup);
	return ps;
}

static void print_errors(const json_t *errors)
{
	size_t i;
	json_t *e;

	json_array_foreach((json_t *)errors, i, e) fprintf(stderr, "%s\n", json_string_value(e));
}

static const char *pg_arg(int *argc, char ***argv)
{
	const char *pg = getenv("TANDEM_PG");

	for (int i = 1; i < *argc; i++) {
		if (!strcmp((*argv)[i], "--pg") && i + 1 < *argc) {
			pg = (*argv)[i + 1];
			memmove(&(*argv)[i], &(*argv)[i + 2],
				(size_t)(*argc - i - 2) * sizeof(char *));
			*argc -= 2;
			i--;
		}
	}
	return pg;
}

static bool ok(PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/*
 * The arguments of SQL problem_store() (migrations/0004_problems.sql) for
 * p: id, title, difficulty, tags (a text[] literal), kind, the content's
 * SHA-256 (hex) and the content (the JSON form, keys sorted).
 */
int problems_args(const struct problem *p, char *args[PROBLEMS_NARGS])
{
	json_t *content = problem_json(p, PROBLEM_VIEW_STORE);
	char *tags = json_dumps(p->tags, JSON_COMPACT);
	unsigned char digest[crypto_hash_sha256_BYTES];

	memset(args, 0, PROBLEMS_NARGS * sizeof(args[0]));
	args[6] = content ? json_dumps(content, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(content);
	args[5] = malloc(2 * crypto_hash_sha256_BYTES + 1);
	if (!tags || !args[6] || !args[5]) {
		free(tags);
		free(args[5]);
		free(args[6]);
		return -1;
	}
	crypto_hash_sha256(digest, (const unsigned char *)args[6], strlen(args[6]));
	sodium_bin2hex(args[5], 2 * crypto_hash_sha256_BYTES + 1, digest, sizeof(digest));
	/* A JSON array of strings is a text[] literal once its brackets are braces. */
	tags[0] = '{';
	tags[strlen(tags) - 1] = '}';
	args[0] = strdup(p->id);
	args[1] = strdup(p->title);
	args[2] = strdup(p->difficulty);
	args[3] = tags;
	args[4] = strdup(judge_mode_str(p->kind));
	return 0;
}

void problems_args_free(char *args[PROBLEMS_NARGS])
{
	for (int i = 0; i < PROBLEMS_NARGS; i++)
		free(args[i]);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* What became of one problem of an import. */
struct import_one {
	char *args[PROBLEMS_NARGS];
	int revision;
	bool changed, done;
	char err[512]; /* non-empty: not stored, and why */
};

/* One connection of the import and the problems queued on it, in order. */
struct import_conn {
	PGconn *c;
	size_t *q, nq, sent, got;
	bool dead;
};

/* The results of c's next queued problem: one result, NULL, then the Sync's. */
static void import_result(struct import_conn *ic, struct import_one *all, PGresult *r)
{
	struct import_one *o = &all[ic->q[ic->got]];
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_PIPELINE_SYNC) {
		o->done = true;
		ic->got++;
	} else if (st == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		o->revision = atoi(PQgetvalue(r, 0, 0));
		o->changed = PQgetvalue(r, 0, 1)[0] == 't';
	} else if (!o->err[0]) {
		snprintf(o->err, sizeof(o->err), "%s",
			 st == PGRES_PIPELINE_ABORTED ? "aborted" : PQresultErrorMessage(r));
		if (strchr(o->err, '\n'))
			*strchr(o->err, '\n') = '\0';
		if (!o->err[0])
			snprintf(o->err, sizeof(o->err), "no result");
	}
	PQclear(r);
}

/* The connection is lost: what it had not answered is not known to be stored. */
static void import_conn_lost(struct import_conn *ic, struct import_one *all)
{
	for (size_t k = ic->got; k < ic->nq; k++)
		if (!all[ic->q[k]].err[0])
			snprintf(all[ic->q[k]].err, sizeof(all[ic->q[k]].err), "%s",
				 PQerrorMessage(ic->c));
	ic->dead = true;
}

/*
 * Stores the problems of all (those with args) over the connections, each
 * problem one statement and one Sync (its own transaction), every
 * connection in nonblocking pipeline mode: a problem is sent as soon as
 * the previous one has left the buffer, and answers are read as they come.
 */
static void import_pipelined(struct import_conn *ics, size_t nc, struct import_one *all)
{
	for (;;) {
		struct pollfd pfd[2];
		size_t np = 0;
		for (size_t k = 0; k < nc; k++) {
			struct import_conn *ic = &ics[k];
			if (ic->dead || ic->got == ic->nq)
				continue;
			int fl = PQflush(ic->c);
			while (fl == 0 && ic->sent < ic->nq) {
				struct import_one *o = &all[ic->q[ic->sent]];
				if (!PQsendQueryParams(ic->c, PROBLEMS_STORE_SQL, PROBLEMS_NARGS,
						       NULL, (const char *const *)o->args, NULL,
						       NULL, 0) ||
				    !PQpipelineSync(ic->c)) {
					fl = -1;
					break;
				}
				ic->sent++;
				fl = PQflush(ic->c);
			}
			if (fl < 0 || !PQconsumeInput(ic->c)) {
				import_conn_lost(ic, all);
				continue;
			}
			/* Two NULLs in a row: nothing more has arrived. */
			bool null = false;
			while (ic->got < ic->nq && !PQisBusy(ic->c)) {
				PGresult *r = PQgetResult(ic->c);
				if (!r && null)
					break;
				null = !r;
				if (r)
					import_result(ic, all, r);
			}
			if (ic->got == ic->nq)
				continue;
			pfd[np].fd = PQsocket(ic->c);
			pfd[np].events = (short)(POLLIN | (fl == 1 ? POLLOUT : 0));
			pfd[np].revents = 0;
			np++;
		}
		if (!np)
			return;
		if (poll(pfd, (nfds_t)np, -1) < 0 && errno != EINTR)
			return;
	}
}

static int cmd_import(int argc, char **argv)
{
	const char *pg = pg_arg(&argc, &argv);
	json_t *paths = json_array(), *errors = json_array();
	int rc = 0, stored = 0, unchanged = 0;
	double t0 = now_ms();
	struct import_conn ics[2];
	size_t nc = 0;
	struct import_one *all = NULL;
	char *(*args)[PROBLEMS_NARGS] = NULL;

	memset(ics, 0, sizeof(ics));
	if (argc < 2 || !pg) {
		fputs(pg ? usage : "tandem problems import: no --pg and no TANDEM_PG\n", stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		collect(argv[i], paths, errors);
	size_t n = json_array_size(paths);
	all = calloc(n ? n : 1, sizeof(*all));
	args = calloc(n ? n : 1, sizeof(*args));
	struct problem **ps = all && args ? load_all(paths, errors, args) : NULL;
	if (!ps) {
		fprintf(stderr, "tandem problems import: out of memory\n");
		rc = 1;
		goto out;
	}
	/* Two connections when there is that much to store: PostgreSQL works on both at once. */
	for (size_t k = 0; k < (n > 1 ? 2u : 1u); k++) {
		PGconn *c = PQconnectdb(pg);
		if (PQstatus(c) != CONNECTION_OK) {
			if (!k)
				fprintf(stderr,
					"tandem problems import: cannot connect to PostgreSQL: %s",
					PQerrorMessage(c));
			PQfinish(c);
			break;
		}
		PQclear(PQexec(c, "SET client_min_messages = warning"));
		ics[nc].q = calloc(n ? n : 1, sizeof(size_t));
		if (!ics[nc].q || PQsetnonblocking(c, 1) || !PQenterPipelineMode(c)) {
			free(ics[nc].q);
			PQfinish(c);
			break;
		}
		ics[nc++].c = c;
	}
	if (!nc) {
		rc = 1;
		goto out;
	}
	/* Each problem to the connection with the fewest bytes queued so far. */
	size_t bytes[2] = { 0, 0 };
	for (size_t i = 0; i < n; i++) {
		if (!ps[i])
			continue;
		size_t k = nc > 1 && bytes[1] < bytes[0] ? 1 : 0;
		memcpy(all[i].args, args[i], sizeof(all[i].args));
		memset(args[i], 0, sizeof(args[i]));
		bytes[k] += strlen(all[i].args[6]);
		ics[k].q[ics[k].nq++] = i;
	}
	import_pipelined(ics, nc, all);
	for (size_t i = 0; i < n; i++) {
		if (!ps[i])
			continue;
		if (all[i].err[0] || !all[i].done) {
			fprintf(stderr, "%s: not stored: %s\n", ps[i]->source,
				all[i].err[0] ? all[i].err : "no answer");
			rc = 1;
			continue;
		}
		printf("%s %s revision %d\n", all[i].changed ? "stored" : "unchanged", ps[i]->id,
		       all[i].revision);
		if (all[i].changed)
			stored++;
		else
			unchanged++;
	}
out:
	if (json_array_size(errors)) {
		print_errors(errors);
		rc = 1;
	}
	printf("tandem problems import: %d stored, %d unchanged, %zu refused in %.0f ms\n", stored,
	       unchanged, json_array_size(errors), now_ms() - t0);
	for (size_t k = 0; k < nc; k++) {
		PQfinish(ics[k].c);
		free(ics[k].q);
	}
	for (size_t i = 0; i < n; i++) {
		if (all)
			problems_args_free(all[i].args);
		if (args)
			problems_args_free(args[i]);
		if (ps)
			problem_destroy(ps[i]);
	}
	free(all);
	free(args);
	free(ps);
	json_decref(paths);
	json_decref(errors);
	return rc;
}

static void quiet_log(void *ud, enum judge_log_level level, const char *msg)
{
	if (level <= JUDGE_LOG_WARN)
		fprintf(stderr, "judge: %s\n", msg);
}

/* One reference solution being judged by `problems check`. */
struct check_job {
	const struct problem *p;
	const struct problem_solution *sol;
	struct judge_result res;
	bool done;
};

static void check_done(void *ud, uint64_t id, struct judge_result *res)
{
	struct check_job *cj = ud;

	(void)id;
	cj->res = *res;
	memset(res, 0, sizeof(*res));
	cj->done = true;
}

static int cmd_check(int argc, char **argv)
{
	json_t *paths = json_array(), *errors = json_array(), *failures = json_array();
	int rc = 0;
	size_t checked = 0, nsol = 0, njobs = 0;
	double t0 = now_ms();
	struct judge *j = NULL;
	struct check_job *jobs = NULL;

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		collect(argv[i], paths, errors);
	struct problem **ps = load_all(paths, errors, NULL);
	size_t n = json_array_size(paths);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct judge_config cfg = { .pool_size = ncpu > 1 ? (unsigned)ncpu : 2,
				    .queue_max = 4096,
				    .log = quiet_log };
	int e = judge_create(&cfg, &j);
	if (e) {
		fprintf(stderr, "tandem problems check: cannot start the judge: %s\n",
			judge_strerror(e));
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		nsol += ps && ps[i] ? ps[i]->nsolutions : 0;
	jobs = calloc(nsol ? nsol : 1, sizeof(*jobs));
	/* Every solution of every problem at once: the pool keeps the cores busy. */
	for (size_t i = 0; ps && jobs && i < n; i++) {
		for (size_t s = 0; ps[i] && s < ps[i]->nsolutions; s++) {
			struct check_job *cj = &jobs[njobs++];
			struct judge_request req;
			json_t *tests, *opts;
			cj->p = ps[i];
			cj->sol = &ps[i]->solutions[s];
			int bad = problem_prepare(cj->p, cj->sol->code, strlen(cj->sol->code), true,
						  &req, &tests, &opts);
			/*
			 * A wrong or slow solution is refuted by its first failing
			 * test: no need to spend each later test's CPU limit too.
			 */
			if (!bad && strcmp(cj->sol->kind, "accepted"))
				json_object_set_new(opts, "stop_over_ms",
						    json_integer(cj->p->limits.cpu_ms));
			if (bad || judge_submit(j, &req, NULL, check_done, cj, NULL)) {
				cj->done = true;
				cj->res.verdict = JUDGE_VERDICT_IE;
				cj->res.message = strdup("could not submit the run");
			}
			json_decref(tests);
			json_decref(opts);
		}
	}
	for (;;) {
		bool all = true;
		for (size_t k = 0; k < njobs; k++)
			all &= jobs[k].done;
		if (all)
			break;
		e = judge_wait(j, 1000);
		if (e && e != JUDGE_ETIMEOUT) {
			fprintf(stderr, "tandem problems check: %s\n", judge_strerror(e));
			rc = 1;
			break;
		}
	}
	for (size_t i = 0, k = 0; ps && i < n; i++) {
		if (!ps[i])
			continue;
		size_t before = json_array_size(failures);
		for (size_t s = 0; s < ps[i]->nsolutions; s++, k++) {
			struct check_job *cj = &jobs[k];
			json_t *r = cj->done ? problem_result_json(cj->p, NULL, &cj->res,
								   cj->p->ntests, true)
					     : NULL;
			if (r && cj->res.verdict == JUDGE_VERDICT_IE && cj->res.message)
				json_object_set_new(r, "message", json_string(cj->res.message));
			if (!r)
				json_array_append_new(
					failures, json_sprintf("%s: not judged", cj->sol->path));
			else
				problem_check_one(cj->p, cj->sol, r, failures);
			json_decref(r);
		}
		checked++;
		printf("%s %s (%zu solutions)\n",
		       json_array_size(failures) > before ? "FAIL" : "ok", ps[i]->source,
		       ps[i]->nsolutions);
	}
out:
	judge_destroy(j);
	for (size_t k = 0; jobs && k < njobs; k++)
		judge_result_finish(&jobs[k].res);
	free(jobs);
	print_errors(failures);
	print_errors(errors);
	if (json_array_size(errors) || json_array_size(failures))
		rc = 1;
	printf("tandem problems check: %zu problems, %zu solutions, %zu failures, %zu refused in "
	       "%.0f ms\n",
	       checked, nsol, json_array_size(failures), json_array_size(errors), now_ms() - t0);
	for (size_t i = 0; ps && i < n; i++)
		problem_destroy(ps[i]);
	free(ps);
	json_decref(paths);
	json_decref(errors);
	json_decref(failures);
	return rc;
}

static int cmd_list(int argc, char **argv)
{
	const char *pg = pg_arg(&argc, &argv);
	bool as_json = argc > 1 && !strcmp(argv[1], "--json");

	if (!pg || argc > 2 || (argc == 2 && !as_json)) {
		fputs(usage, stderr);
		return 2;
	}
	PGconn *c = PQconnectdb(pg);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "tandem problems list: cannot connect to PostgreSQL: %s",
			PQerrorMessage(c));
		PQfinish(c);
		return 1;
	}
	PGresult *r = PQexec(
		c,
		"SELECT p.id, p.title, p.difficulty, array_to_json(p.tags), p.kind, p.revision, "
		"(SELECT count(*) FILTER (WHERE NOT hidden) FROM problem_tests t WHERE t.problem = "
		"p.id AND t.revision = p.revision), (SELECT count(*) FILTER (WHERE hidden) FROM "
		"problem_tests t WHERE t.problem = p.id AND t.revision = p.revision), "
		"(SELECT content ? 'gen' FROM problem_revisions v WHERE v.problem = p.id AND "
		"v.revision = p.revision) FROM problems p WHERE p.archived_at IS NULL ORDER BY "
		"p.id");
	if (!ok(r)) {
		fprintf(stderr, "tandem problems list: %s", PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		return 1;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		if (as_json) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:i, s:i, s:i, s:b}", "id",
					      PQgetvalue(r, i, 0), "title", PQgetvalue(r, i, 1),
					      "difficulty", PQgetvalue(r, i, 2), "tags",
					      json_loads(PQgetvalue(r, i, 3), 0, NULL), "kind",
					      PQgetvalue(r, i, 4), "revision",
					      atoi(PQgetvalue(r, i, 5)), "samples",
					      atoi(PQgetvalue(r, i, 6)), "hidden",
					      atoi(PQgetvalue(r, i, 7)), "generator",
					      PQgetvalue(r, i, 8)[0] == 't');
			char *s = json_dumps(o, JSON_COMPACT);
			puts(s);
			free(s);
			json_decref(o);
		} else {
			printf("%-32s %-7s r%-3s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 2),
			       PQgetvalue(r, i, 5), PQgetvalue(r, i, 1));
		}
	}
	PQclear(r);
	PQfinish(c);
	return 0;
}

int problems_main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "import"))
		return cmd_import(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	fprintf(stderr, "tandem problems: unknown command '%s'\n%s", argv[1], usage);
	return 2;
}
