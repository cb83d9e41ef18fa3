/*
 * db.h - an asynchronous PostgreSQL client on a libuv loop.
 *
 * Boundary: this module owns one libpq connection in non-blocking mode,
 * watched with a uv_poll_t on the loop it is given; it never blocks the loop
 * thread (see the one caveat on host names below) and knows nothing of
 * rooms or of the schema.  Callers hand it SQL and parameters and get each
 * result back in a callback.
 *
 * Guarantees:
 *  - Queries run one at a time, in the order db_query() accepted them.
 *  - db_query() either returns 0, and then the callback is called exactly
 *    once, later, from the loop (never from inside db_query()); or returns
 *    a negative code, and then the callback is never called.
 *  - While the server is unreachable, accepted queries wait in a bounded
 *    queue (db_options.queue_max); a full queue refuses new ones with
 *    DB_E_FULL.  The client reconnects by itself with exponential backoff
 *    (db_options.backoff_min_ms doubling up to backoff_max_ms, with
 *    jitter), and a connection attempt that hangs is abandoned after
 *    connect_timeout_ms.
 *  - A query that was on the wire when the connection broke fails with
 *    DB_E_CONNLOST: it may or may not have been committed, so it is never
 *    retried behind the caller's back (make writes idempotent, e.g. with
 *    ON CONFLICT DO NOTHING, and retry).  Queries not yet sent are kept and
 *    run after the reconnect.
 *  - db_destroy() fails everything pending with DB_E_DESTROYED (callbacks
 *    run inside db_destroy()).
 *
 * Caveat: libpq resolves host names synchronously while connecting; give a
 * numeric host (host=127.0.0.1 or hostaddr=...) so nothing blocks.  A query
 * that runs too long is best bounded on the server: add
 * options='-c statement_timeout=5000' to the conninfo.
 */
#ifndef TANDEM_DB_H
#define TANDEM_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>
#include <uv.h>

#define DB_ERRNO_MAP(X)                                                      \
	X(QUERY, -1, "query failed")                                         \
	X(CONNLOST, -2, "connection to PostgreSQL lost while the query ran") \
	X(FULL, -3, "database queue full")                                   \
	X(DESTROYED, -4, "database client destroyed")                        \
	X(NOMEM, -5, "out of memory")                                        \
	X(INVAL, -6, "invalid argument")

enum {
#define DB_ERRNO_ENUM(name, value, text) DB_E_##name = (value),
	DB_ERRNO_MAP(DB_ERRNO_ENUM)
#undef DB_ERRNO_ENUM
};

/* A static string for 0 or a DB_E_* code. */
const char *db_strerror(int err);

struct db;

/* Tunables; a zero field takes the default given in brackets. */
struct db_options {
	size_t queue_max;	     /* queries waiting (not counting the one running) [4096] */
	unsigned backoff_min_ms;     /* first reconnect delay [50] */
	unsigned backoff_max_ms;     /* reconnect delay ceiling [2000] */
	unsigned connect_timeout_ms; /* one connection attempt [5000] */
};

/*
 * Result callback.  err is 0 (res holds PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK), DB_E_QUERY (res holds the error result: use
 * PQresultErrorField(res, PG_DIAG_SQLSTATE) etc.), DB_E_CONNLOST or
 * DB_E_DESTROYED (res is NULL).  errmsg is NULL on success, else a one-line
 * message (PostgreSQL's own text when there is one).
 * Ownership: res and errmsg are borrowed; they are freed when the callback
 * returns (copy what you keep; never PQclear res).  The callback may call
 * db_query() and db_destroy().
 */
typedef void (*db_result_cb)(void *ud, int err, const PGresult *res, const char *errmsg);

/*
 * Creates a client for conninfo (a libpq conninfo string or URI, copied)
 * on loop (borrowed; it must outlive the client) and starts connecting; a
 * server that is down is not an error (queries wait).  opts may be NULL.
 * On success *out is the client, to be freed with db_destroy().  Returns 0,
 * DB_E_NOMEM or DB_E_INVAL.
 */
int db_create(uv_loop_t *loop, const char *conninfo, const struct db_options *opts,
	      struct db **out);

/*
 * Queues sql with nparams text parameters (params[i] may be NULL for SQL
 * NULL; refer to them as $1, $2...).  sql and params are copied: the caller
 * may free them on return.  One statement per query.  Results come back in
 * text format.  Returns 0 (cb will be called exactly once), DB_E_FULL,
 * DB_E_DESTROYED, DB_E_NOMEM or DB_E_INVAL.
 */
int db_query(struct db *db, const char *sql, int nparams, const char *const *params,
	     db_result_cb cb, void *ud);

/*
 * db_query() with binary-capable parameters, as PQsendQueryParams():
 * lengths[i] is the byte length of a binary parameter (formats[i] == 1);
 * lengths and formats may be NULL for all-text.  result_format 1 asks for
 * binary results (e.g. a bytea column as raw bytes).  Everything is copied.
 */
int db_query_params(struct db *db, const char *sql, int nparams, const char *const *values,
		    const int *lengths, const int *formats, int result_format, db_result_cb cb,
		    void *ud);

/* True while a connection is established (queries go straight out). */
bool db_healthy(const struct db *db);

/*
 * The last connection problem as one line ("" when there was none yet),
 * for logs and /readyz.  Borrowed: valid until the loop runs again.
 */
const char *db_last_error(const struct db *db);

/* Queries accepted but not yet answered (queued plus the one running). */
size_t db_pending(const struct db *db);

/*
 * Fails every pending query with DB_E_DESTROYED (their callbacks run before
 * this returns), closes the connection and releases the client.  Its libuv
 * handles close asynchronously: run the loop (uv_run) once more before
 * uv_loop_close() so their memory is released.  Accepts NULL.  Safe to call
 * from inside a db callback.
 */
void db_destroy(struct db *db);

#endif
