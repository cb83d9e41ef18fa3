/*
 * migrate.c - the `tandem migrate` command (see migrate.h for the rules).
 *
 * Why blocking libpq is fine here and nowhere else: this runs as its own
 * short-lived command before (or beside) the server, with no loop to
 * stall.  Each file goes through the simple-query protocol (PQexec), which
 * accepts many statements in one string, inside an explicit transaction,
 * so a broken file leaves nothing behind.  This file must never be called
 * from the serving loop.
 */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"

/* "tandem" in ASCII: the advisory lock every migrator takes. */
#define MIGRATE_LOCK_KEY "127978577340781"

const char *migrate_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define MIGRATE_STRERROR_CASE(name, value, text) \
	case MIGRATE_E_##name:                   \
		return text;
		MIGRATE_ERRNO_MAP(MIGRATE_STRERROR_CASE)
#undef MIGRATE_STRERROR_CASE
	default:
		return "unknown migrate error";
	}
}

struct migration {
	char version[5];
	char *name; /* file name */
};

struct run {
	PGconn *conn;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct run *r, int code, const char *fmt, ...)
{
	va_list ap;

	if (r->err != NULL && r->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(r->err, r->errlen, fmt, ap);
		va_end(ap);
		/* PostgreSQL messages end in newlines; keep the error one line. */
		for (char *p = r->err; *p != '\0'; p++) {
			if (*p == '\n')
				*p = *(p + 1) == '\0' ? '\0' : ' ';
		}
	}
	return code;
}

static bool migration_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len < 10 || strcmp(n + len - 4, ".sql") != 0)
		return false;
	for (int i = 0; i < 4; i++) {
		if (n[i] < '0' || n[i] > '9')
			return false;
	}
	if (n[4] != '_')
		return false;
	for (size_t i = 5; i < len - 4; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int cmp_migration(const void *a, const void *b)
{
	return strcmp(((const struct migration *)a)->name, ((const struct migration *)b)->name);
}

static void free_list(struct migration *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

/* Lists dir's migrations, sorted; *out is freed with free_list(). */
static int list_dir(struct run *r, const char *dir, struct migration **out, size_t *nout)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct migration *list = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL)
		return fail(r, MIGRATE_E_DIR, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (!migration_name_ok(e->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct migration *nl = realloc(list, ncap * sizeof(*nl));
			if (nl == NULL)
				goto err_nomem;
			list = nl;
			cap = ncap;
		}
		list[n].name = strdup(e->d_name);
		if (list[n].name == NULL)
			goto err_nomem;
		memcpy(list[n].version, e->d_name, 4);
		list[n].version[4] = '\0';
		n++;
	}
	closedir(d);
	qsort(list, n, sizeof(*list), cmp_migration);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(list[i - 1].version, list[i].version) == 0) {
			int rc = fail(r, MIGRATE_E_DUPLICATE, "%s and %s share version %s",
				      list[i - 1].name, list[i].name, list[i].version);
			free_list(list, n);
			return rc;
		}
	}
	*out = list;
	*nout = n;
	return 0;

err_nomem:
	closedir(d);
	free_list(list, n);
	return fail(r, MIGRATE_E_NOMEM, "out of memory");
}

static char *read_file(const char *dir, const char *name, char *why, size_t whylen)
{
	char path[4096];
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, got;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);
			if (nb == NULL) {
				snprintf(why, whylen, "out of memory");
				goto err;
			}
			buf = nb;
			cap += 65536;
		}
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
	} while (got > 0);
	if (ferror(f)) {
		snprintf(why, whylen, "read error");
		goto err;
	}
	fclose(f);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(why, whylen, "file contains a NUL byte");
		free(buf);
		return NULL;
	}
	return buf;
err:
	fclose(f);
	free(buf);
	return NULL;
}

/* Runs sql; true when it succeeded.  The result is cleared. */
static bool exec_ok(PGconn *conn, const char *sql, int nparams, const char *const *params,
		    char *why, size_t whylen, const char *text)
{
	PGresult *res;
	ExecStatusType st;

	if (nparams == 0)
		res = PQexec(conn, sql);
	else
		res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		return true;
	}
	if (why != NULL) {
		const char *pos =
			res != NULL ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
		const char *sev = res != NULL ? PQresultErrorField(res, PG_DIAG_SEVERITY) : NULL;
		const char *prim =
			res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		char one[512];
		const char *msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn);
		if (sev != NULL && prim != NULL) {
			snprintf(one, sizeof(one), "%s: %s", sev, prim);
			msg = one;
		}
		if (pos != NULL && text != NULL) {
			/* The position counts characters; count lines up to it. */
			long at = strtol(pos, NULL, 10), line = 1, chars = 0;
			for (const unsigned char *p = (const unsigned char *)text;
			     *p != '\0' && chars < at - 1; p++) {
				if ((*p & 0xC0) != 0x80)
					chars++;
				if (*p == '\n')
					line++;
			}
			snprintf(why, whylen, "line %ld: %s", line, msg);
		} else {
			snprintf(why, whylen, "%s",
				 msg != NULL && *msg ? msg : PQerrorMessage(conn));
		}
	}
	PQclear(res);
	return false;
}

static int apply_one(struct run *r, const char *dir, const struct migration *m)
{
	char why[1024];
	char *sql = read_file(dir, m->name, why, sizeof(why));
	const char *params[1] = { m->version };

	if (sql == NULL)
		return fail(r, MIGRATE_E_FAILED, "%s: %s", m->name, why);
	if (!exec_ok(r->conn, "BEGIN", 0, NULL, why, sizeof(why), NULL))
		goto err_begin;
	if (!exec_ok(r->conn, sql, 0, NULL, why, sizeof(why), sql))
		goto err_rollback;
	if (!exec_ok(r->conn, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, params, why,
		     sizeof(why), NULL))
		goto err_rollback;
	if (!exec_ok(r->conn, "COMMIT", 0, NULL, why, sizeof(why), NULL))
		goto err_rollback;
	free(sql);
	return 0;

err_rollback:
	exec_ok(r->conn, "ROLLBACK", 0, NULL, NULL, 0, NULL);
err_begin:
	free(sql);
	return fail(r, MIGRATE_E_FAILED, "%s: %s", m->name, why);
}

int migrate_run(const char *conninfo, const char *dir, int *applied, char *err, size_t errlen)
{
	struct run r = { .err = err, .errlen = errlen };
	struct migration *list = NULL;
	size_t n = 0;
	PGresult *res;
	char why[1024];
	int rc, count = 0;

	if (applied != NULL)
		*applied = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rc = list_dir(&r, dir, &list, &n);
	if (rc < 0)
		return rc;

	r.conn = PQconnectdb(conninfo);
	if (r.conn == NULL) {
		rc = fail(&r, MIGRATE_E_NOMEM, "out of memory");
		goto err_list;
	}
	if (PQstatus(r.conn) != CONNECTION_OK) {
		rc = fail(&r, MIGRATE_E_CONNECT, "cannot connect to PostgreSQL: %s",
			  PQerrorMessage(r.conn));
		goto err_conn;
	}
	/* "relation already exists, skipping" notices are noise here. */
	PQclear(PQexec(r.conn, "SET client_min_messages = warning"));
	if (!exec_ok(r.conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, why,
		     sizeof(why), NULL) ||
	    !exec_ok(r.conn,
		     "CREATE TABLE IF NOT EXISTS schema_migrations ("
		     " version text PRIMARY KEY,"
		     " applied_at timestamptz NOT NULL DEFAULT now())",
		     0, NULL, why, sizeof(why), NULL)) {
		rc = fail(&r, MIGRATE_E_SQL, "schema_migrations: %s", why);
		goto err_conn;
	}

	for (size_t i = 0; i < n; i++) {
		const char *params[1] = { list[i].version };
		res = PQexecParams(r.conn, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
				   NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			rc = fail(&r, MIGRATE_E_SQL, "schema_migrations: %s",
				  PQresultErrorMessage(res));
			PQclear(res);
			goto err_unlock;
		}
		bool done = PQntuples(res) > 0;
		PQclear(res);
		if (done)
			continue;
		rc = apply_one(&r, dir, &list[i]);
		if (rc < 0) {
			log_event(LOG_ERROR, "migrate.failed", "file=%s error=%s", list[i].name,
				  err != NULL ? err : "");
			goto err_unlock;
		}
		log_event(LOG_INFO, "migrate.apply", "file=%s version=%s", list[i].name,
			  list[i].version);
		count++;
	}
	log_event(LOG_INFO, "migrate.done", "applied=%d known=%zu", count, n);
	rc = 0;

err_unlock:
	PQclear(PQexec(r.conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
err_conn:
	PQfinish(r.conn);
err_list:
	free_list(list, n);
	if (applied != NULL)
		*applied = count;
	return rc;
}
