/*
 * migrate.h - applies migrations/NNNN_name.sql to PostgreSQL (`tandem migrate`).
 *
 * Boundary: this is the one part of the server that uses blocking libpq
 * calls, because it runs only as the one-shot `tandem migrate` command
 * (and in tests), never on the serving loop.  It knows nothing of the
 * schema it applies.
 *
 * Rules:
 *  - A migration is a file named NNNN_name.sql (four digits, then letters,
 *    digits, '_' or '-') in the migrations folder; other files are ignored.
 *    Its version is NNNN; two files with one version are an error.
 *  - Applied versions are recorded in schema_migrations(version text primary
 *    key, applied_at timestamptz), created on first use.
 *  - Pending files run in version order, each once, each in its own
 *    transaction: BEGIN; the file; INSERT its version; COMMIT.  A file must
 *    therefore not contain transaction control or statements that cannot
 *    run in a transaction (CREATE INDEX CONCURRENTLY).
 *  - The first failure stops the run: that file's transaction is rolled
 *    back (nothing of it stays), earlier files stay applied, and the error
 *    names the file, the line and PostgreSQL's message.
 *  - A session-level advisory lock serialises concurrent migrators: a
 *    second `tandem migrate` waits, then finds nothing to do.
 */
#ifndef TANDEM_MIGRATE_H
#define TANDEM_MIGRATE_H

#include <stddef.h>

#define MIGRATE_ERRNO_MAP(X)                                      \
	X(CONNECT, -1, "cannot connect to PostgreSQL")            \
	X(DIR, -2, "cannot read the migrations folder")           \
	X(DUPLICATE, -3, "two migration files share one version") \
	X(FAILED, -4, "a migration failed (rolled back)")         \
	X(SQL, -5, "bookkeeping query failed")                    \
	X(NOMEM, -6, "out of memory")

enum {
#define MIGRATE_ERRNO_ENUM(name, value, text) MIGRATE_E_##name = (value),
	MIGRATE_ERRNO_MAP(MIGRATE_ERRNO_ENUM)
#undef MIGRATE_ERRNO_ENUM
};

/* A static string for 0 or a MIGRATE_E_* code. */
const char *migrate_strerror(int err);

/*
 * Applies the pending migrations of dir to the database of conninfo,
 * blocking until done.  Progress goes to the log (event migrate.apply per
 * file).  *applied (may be NULL) gets the number of files applied by this
 * call.  On error, err (errlen bytes, may be NULL) gets one line such as
 * "0002_timeline.sql: line 3: ERROR: syntax error at or near \"TABLE\"".
 * All arguments are borrowed.  Returns 0 or a MIGRATE_E_* code.
 */
int migrate_run(const char *conninfo, const char *dir, int *applied, char *err, size_t errlen);

#endif
