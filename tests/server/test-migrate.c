/*
 * test-migrate.c - `tandem migrate` against the real PostgreSQL.
 *
 * Uses the server of scripts/services (TANDEM_PG, or the default
 * conninfo) and creates throw-away databases tandem_test_<pid>_<n>, dropped
 * at exit.  Checked: the shipped migrations apply to a fresh database and
 * a second run is a no-op; the schema holds what the server relies on; a
 * broken file stops the run with its name, line and PostgreSQL's message
 * and leaves nothing of itself behind; duplicate versions, a missing folder
 * and an unreachable server are clear errors; two migrators at once apply
 * everything exactly once (advisory lock).
 */
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "check.h"
#include "log.h"
#include "migrate.h"
#include "services.h"

static char base[512];
static char created[8][64];
static int ncreated;
static char tmpdir[64];

static PGconn *connect_to(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* base with its dbname replaced: parsed and rebuilt, so URIs work too. */
static void conninfo_for(const char *db, char *out, size_t n)
{
	PQconninfoOption *opts = PQconninfoParse(base, NULL);
	size_t len = 0;

	REQUIRE(opts != NULL, "cannot parse conninfo '%s'", base);
	out[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		const char *v = strcmp(o->keyword, "dbname") == 0 ? db : o->val;
		if (v == NULL)
			continue;
		len += (size_t)snprintf(out + len, n - len, "%s%s='", len ? " " : "", o->keyword);
		for (const char *p = v; *p && len + 3 < n; p++) {
			if (*p == '\'' || *p == '\\')
				out[len++] = '\\';
			out[len++] = *p;
		}
		len += (size_t)snprintf(out + len, n - len, "'");
	}
	PQconninfoFree(opts);
}

static bool exec_admin(const char *sql)
{
	char ci[1024];
	PGconn *c;
	PGresult *r;
	bool ok;

	conninfo_for("postgres", ci, sizeof(ci));
	c = connect_to(ci);
	if (c == NULL)
		return false;
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return ok;
}

static void drop_all(void)
{
	char sql[640], cmd[128];

	for (int i = 0; i < ncreated; i++) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", created[i]);
		exec_admin(sql);
	}
	ncreated = 0;
	if (tmpdir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
		tmpdir[0] = '\0';
	}
}

/* Creates a fresh database and writes its conninfo into ci. */
static void fresh_db(char *ci, size_t n)
{
	char sql[128];

	REQUIRE(ncreated < 8, "too many databases");
	snprintf(created[ncreated], sizeof(created[0]), "tandem_test_%d_%d", (int)getpid(),
		 ncreated);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", created[ncreated]);
	REQUIRE(exec_admin(sql), "create database");
	conninfo_for(created[ncreated], ci, n);
	ncreated++;
}

/* The single value of a one-row query, or "" (static buffer). */
static const char *value(const char *ci, const char *sql)
{
	static char buf[256];
	PGconn *c = connect_to(ci);
	PGresult *r;

	REQUIRE(c != NULL, "connect");
	r = PQexec(c, sql);
	buf[0] = '\0';
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		snprintf(buf, sizeof(buf), "%s",
			 PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
	else if (PQresultStatus(r) != PGRES_TUPLES_OK)
		snprintf(buf, sizeof(buf), "ERROR %s",
			 PQresultErrorField(r, PG_DIAG_SQLSTATE)
				 ? PQresultErrorField(r, PG_DIAG_SQLSTATE)
				 : "");
	PQclear(r);
	PQfinish(c);
	return buf;
}

__attribute__((format(printf, 3, 4))) static void write_file(const char *dir, const char *name,
							     const char *fmt, ...)
{
	char path[256];
	FILE *f;
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	REQUIRE(f != NULL, "write %s", path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static void test_shipped(const char *dir)
{
	char ci[1024], err[1024];
	int applied = -1, rc;

	fresh_db(ci, sizeof(ci));
	rc = migrate_run(ci, dir, &applied, err, sizeof(err));
	REQUIRE(rc == 0, "migrate: %s: %s", migrate_strerror(rc), err);
	CHECK(applied >= 1, "applied %d", applied);
	CHECK(strcmp(value(ci, "SELECT count(*) FROM schema_migrations"), "0") != 0,
	      "nothing recorded");
	CHECK(strcmp(value(ci, "SELECT min(version) FROM schema_migrations"), "0001") == 0,
	      "first version '%s'", value(ci, "SELECT min(version) FROM schema_migrations"));

	int again = -1;
	rc = migrate_run(ci, dir, &again, err, sizeof(err));
	CHECK(rc == 0 && again == 0, "second run: rc %d applied %d: %s", rc, again, err);

	static const char *const tables[] = { "rooms", "room_members", "timeline_events",
					      "room_docs", "schema_migrations" };
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "SELECT to_regclass('%s') IS NOT NULL", tables[i]);
		CHECK(strcmp(value(ci, sql), "t") == 0, "table %s missing", tables[i]);
	}

	/* What the server relies on. */
	PGconn *c = connect_to(ci);
	REQUIRE(c != NULL, "connect");
	static const struct {
		const char *sql;
		bool ok;
	} stmts[] = {
		{ "INSERT INTO rooms (id, problem) VALUES ('room1', 'two-sum')", true },
		{ "INSERT INTO rooms (id) VALUES ('bad id')", false },
		{ "INSERT INTO room_members (room, seat, name, state) VALUES ('room1', "
		  "'candidate', "
		  "'C', 'PRESENT')",
		  true },
		{ "INSERT INTO room_members (room, seat, state) VALUES ('room1', 'x', 'BOGUS')",
		  false },
		{ "INSERT INTO timeline_events (room, seq, at, kind, actor, payload) VALUES "
		  "('room1', "
		  "0, now(), 'join', 'candidate', '{\"seat\":\"candidate\"}')",
		  true },
		{ "INSERT INTO timeline_events (room, seq, at, kind, ops) VALUES ('room1', 1, "
		  "now(), "
		  "'ops', '\\x0155'::bytea)",
		  true },
		{ "INSERT INTO timeline_events (room, seq, at, kind) VALUES ('room1', 1, now(), "
		  "'x')",
		  false },
		{ "INSERT INTO timeline_events (room, seq, at, kind) VALUES ('room1', 1, now(), "
		  "'x') "
		  "ON CONFLICT DO NOTHING",
		  true },
		{ "INSERT INTO room_docs (room, snapshot, version) VALUES ('room1', '\\x00', "
		  "'\\x00')",
		  true },
		{ "UPDATE rooms SET closed_at = now(), token_epoch = token_epoch + 1 WHERE id = "
		  "'room1'",
		  true },
		{ "DELETE FROM rooms WHERE id = 'room1'", true },
	};
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		PGresult *r = PQexec(c, stmts[i].sql);
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		CHECK(ok == stmts[i].ok, "%s: %s", stmts[i].sql,
		      ok ? "succeeded" : PQresultErrorMessage(r));
		PQclear(r);
	}
	PQfinish(c);
	CHECK(strcmp(value(ci, "SELECT count(*) FROM timeline_events"), "0") == 0,
	      "events not deleted with their room");
}

static void test_broken(void)
{
	char ci[1024], err[1024];
	int applied = -1, rc;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tandem-test-migrations-XXXXXX");
	REQUIRE(mkdtemp(tmpdir) != NULL, "mkdtemp");
	write_file(tmpdir, "0001_ok.sql", "CREATE TABLE t_ok (a int);\n");
	write_file(tmpdir, "0002_bad.sql",
		   "-- half of this must not survive\nCREATE TABLE t_half (a int);\n"
		   "INSERT INTO t_ok VALUES (1);\nINSERT INTO missing_table VALUES (1);\n");
	write_file(tmpdir, "0003_later.sql", "CREATE TABLE t_later (a int);\n");
	write_file(tmpdir, "README.md", "not a migration\n");
	write_file(tmpdir, "01_short.sql", "not a migration either\n");

	fresh_db(ci, sizeof(ci));
	rc = migrate_run(ci, tmpdir, &applied, err, sizeof(err));
	CHECK(rc == MIGRATE_E_FAILED, "broken: rc %d (%s)", rc, migrate_strerror(rc));
	CHECK(applied == 1, "applied %d", applied);
	CHECK(strstr(err, "0002_bad.sql") != NULL && strstr(err, "line 4") != NULL &&
		      strstr(err, "\"missing_table\" does not exist") != NULL &&
		      strchr(err, '\n') == NULL,
	      "message: '%s'", err);
	CHECK(strcmp(value(ci, "SELECT to_regclass('t_ok') IS NOT NULL"), "t") == 0, "t_ok");
	CHECK(strcmp(value(ci, "SELECT to_regclass('t_half') IS NULL"), "t") == 0,
	      "t_half survived a failed migration");
	CHECK(strcmp(value(ci, "SELECT count(*) FROM t_ok"), "0") == 0, "insert survived");
	CHECK(strcmp(value(ci, "SELECT to_regclass('t_later') IS NULL"), "t") == 0,
	      "ran past the failure");
	CHECK(strcmp(value(ci, "SELECT string_agg(version, ',') FROM schema_migrations"), "0001") ==
		      0,
	      "recorded '%s'", value(ci, "SELECT string_agg(version, ',') FROM schema_migrations"));

	/* Fixed: the rest applies, once. */
	write_file(tmpdir, "0002_bad.sql", "CREATE TABLE t_half (a int);\n");
	rc = migrate_run(ci, tmpdir, &applied, err, sizeof(err));
	CHECK(rc == 0 && applied == 2, "after fix: rc %d applied %d: %s", rc, applied, err);

	/* Two files, one version. */
	write_file(tmpdir, "0003_other.sql", "SELECT 1;\n");
	rc = migrate_run(ci, tmpdir, &applied, err, sizeof(err));
	CHECK(rc == MIGRATE_E_DUPLICATE && strstr(err, "0003_later.sql") &&
		      strstr(err, "0003_other.sql"),
	      "duplicate: rc %d '%s'", rc, err);

	char dup[128];
	snprintf(dup, sizeof(dup), "%s/0003_other.sql", tmpdir);
	unlink(dup);

	rc = migrate_run(ci, "/nonexistent/migrations", &applied, err, sizeof(err));
	CHECK(rc == MIGRATE_E_DIR && strstr(err, "/nonexistent/migrations"), "dir: %d '%s'", rc,
	      err);

	int port = svc_free_port();
	char bad[128];
	snprintf(bad, sizeof(bad),
		 "host=127.0.0.1 port=%d dbname=x user=postgres connect_timeout=5", port);
	rc = migrate_run(bad, tmpdir, &applied, err, sizeof(err));
	CHECK(rc == MIGRATE_E_CONNECT && strstr(err, "cannot connect"), "connect: %d '%s'", rc,
	      err);
}

static void test_concurrent(const char *dir)
{
	char ci[1024], err[1024];
	pid_t kids[2];
	int total = 0, rc;

	fresh_db(ci, sizeof(ci));
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		REQUIRE(kids[k] >= 0, "fork");
		if (kids[k] == 0) {
			int applied = -1;
			rc = migrate_run(ci, dir, &applied, err, sizeof(err));
			if (rc < 0)
				fprintf(stderr, "child: %s\n", err);
			_exit(rc < 0 ? 100 : applied);
		}
	}
	for (int k = 0; k < 2; k++) {
		int st;
		waitpid(kids[k], &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) != 100, "child %d failed", k);
		total += WIFEXITED(st) ? WEXITSTATUS(st) : 0;
	}
	int files = atoi(value(ci, "SELECT count(*) FROM schema_migrations"));
	CHECK(total == files && files >= 1, "two migrators applied %d in total, %d recorded", total,
	      files);
}

int main(int argc, char **argv)
{
	const char *env = getenv("TANDEM_PG");
	const char *dir = argc > 1 ? argv[1] : "migrations";
	PGconn *probe;

	log_init_from_env();
	snprintf(base, sizeof(base), "%s",
		 env != NULL && *env ? env
				     : "host=127.0.0.1 port=5490 dbname=tandem user=postgres "
				       "sslmode=disable gssencmode=disable");
	probe = connect_to(base);
	if (probe == NULL) {
		fprintf(stderr, "no PostgreSQL at '%s' (scripts/services start): skipped\n", base);
		return SVC_SKIP;
	}
	PQfinish(probe);
	atexit(drop_all);

	test_shipped(dir);
	test_broken();
	test_concurrent(dir);
	drop_all();
	CHECK_DONE();
}
