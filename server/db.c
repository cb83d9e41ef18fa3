/*
 * db.c - libpq in non-blocking mode, driven by a uv_poll_t (see db.h).
 *
 * Why this exists: libpq's convenient calls (PQexec, PQconnectdb) block,
 * and one blocked call would freeze every room on the node.  So the
 * connection is a small state machine fed by socket readiness:
 *
 *   DOWN --timer--> CONNECTING --PQconnectPoll OK--> READY <--> BUSY
 *     ^                 |                              |         |
 *     +--- backoff -----+-------- socket error --------+---------+
 *
 * Rules this file keeps: a callback is the last thing a code path does
 * with the connection (the callback may destroy the client or queue more),
 * and after every callback the code checks `destroying` before touching
 * anything.  Memory is released from the timer's close callback, so the
 * struct stays valid until the loop has unwound.  This file must never call
 * a blocking libpq function (PQexec, PQconnectdb, PQcancel, PQreset).
 */
#include "db.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

const char *db_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define DB_STRERROR_CASE(name, value, text) \
	case DB_E_##name:                   \
		return text;
		DB_ERRNO_MAP(DB_STRERROR_CASE)
#undef DB_STRERROR_CASE
	default:
		return "unknown db error";
	}
}

/*
 * One accepted query.  Its SQL and parameters live in the same allocation
 * (after the struct), so a query is one malloc and one free.
 */
struct db_query {
	struct db_query *next;
	db_result_cb cb;
	void *ud;
	char *sql;
	int nparams;
	int result_format;
	const char **values;
	int *lengths;
	int *formats;
};

/*
 * A poll handle for one socket.  It is its own allocation because libpq
 * may replace the socket (each address it tries is a new one) while a
 * closing handle must stay in memory until libuv's close callback.
 */
struct db_watch {
	uv_poll_t poll;
	struct db *db; /* NULL once detached */
};

enum db_state { DB_DOWN, DB_CONNECTING, DB_READY, DB_BUSY };

struct db {
	uv_loop_t *loop;
	char *conninfo;
	struct db_options opt;

	enum db_state state;
	PGconn *conn;
	struct db_watch *watch;
	int watch_fd;
	int watch_events;

	/* Reconnect delay while DOWN, attempt deadline while CONNECTING. */
	uv_timer_t timer;
	unsigned backoff_ms;

	struct db_query *head, *tail; /* waiting, FIFO */
	size_t queued;
	struct db_query *inflight;
	PGresult *result; /* the result kept for inflight so far */

	/*
	 * A failure found inside pump(), which db_query() calls, is finished
	 * from the timer (idle while READY/BUSY), so no callback ever runs
	 * inside db_query().
	 */
	enum { DEFER_NONE, DEFER_SEND_FAILED, DEFER_LOST } deferred;
	bool destroying;
	bool down_logged;
	char errmsg[512];
	char down_msg[512]; /* why the connection last went down */
};

static void on_poll(uv_poll_t *handle, int status, int events);
static void on_timer(uv_timer_t *t);
static void pump(struct db *db);

static void watch_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void watch_close(struct db *db)
{
	if (db->watch == NULL)
		return;
	db->watch->db = NULL;
	uv_close((uv_handle_t *)&db->watch->poll, watch_close_cb);
	db->watch = NULL;
	db->watch_fd = -1;
	db->watch_events = 0;
}

/* Watches the connection's current socket for events; returns 0 or -1. */
static int watch_set(struct db *db, int events)
{
	int fd = PQsocket(db->conn);

	if (fd < 0)
		return -1;
	if (db->watch != NULL && db->watch_fd != fd)
		watch_close(db);
	if (db->watch == NULL) {
		struct db_watch *w = malloc(sizeof(*w));
		if (w == NULL)
			return -1;
		if (uv_poll_init(db->loop, &w->poll, fd) != 0) {
			free(w);
			return -1;
		}
		w->db = db;
		w->poll.data = w;
		db->watch = w;
		db->watch_fd = fd;
		db->watch_events = 0;
	}
	if (db->watch_events != events || !uv_is_active((uv_handle_t *)&db->watch->poll)) {
		if (uv_poll_start(&db->watch->poll, events, on_poll) != 0)
			return -1;
		db->watch_events = events;
	}
	return 0;
}

/* Copies a libpq message into db->errmsg as one line. */
static void set_errmsg(struct db *db, const char *msg)
{
	size_t n;

	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg != NULL && *msg ? msg : "unknown error");
	for (char *p = db->errmsg; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	}
	n = strlen(db->errmsg);
	while (n > 0 && db->errmsg[n - 1] == ' ')
		db->errmsg[--n] = '\0';
}

/* Drops the connection (socket watch first, then libpq). */
static void teardown(struct db *db)
{
	watch_close(db);
	if (db->result != NULL) {
		PQclear(db->result);
		db->result = NULL;
	}
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->state = DB_DOWN;
	db->deferred = DEFER_NONE;
}

static unsigned next_backoff(struct db *db)
{
	unsigned delay = db->backoff_ms;
	/* Up to 25% jitter so many nodes do not reconnect in lockstep. */
	unsigned jitter = delay / 4 > 0 ? (unsigned)(uv_hrtime() % (delay / 4 + 1)) : 0;

	if (db->backoff_ms < db->opt.backoff_max_ms) {
		db->backoff_ms *= 2;
		if (db->backoff_ms > db->opt.backoff_max_ms)
			db->backoff_ms = db->opt.backoff_max_ms;
	}
	return delay + jitter;
}

static void schedule_retry(struct db *db)
{
	teardown(db);
	memcpy(db->down_msg, db->errmsg, sizeof(db->down_msg));
	if (!db->down_logged) {
		log_event(LOG_WARN, "db.down", "error=%s", db->errmsg);
		db->down_logged = true;
	}
	uv_timer_start(&db->timer, on_timer, next_backoff(db), 0);
}

static void deliver(struct db *db, struct db_query *q, int err, const PGresult *res,
		    const char *msg)
{
	q->cb(q->ud, err, res, err == 0 ? NULL : msg);
	free(q);
}

/* The connection broke: fail the query on the wire, keep the rest, reconnect. */
static void lost(struct db *db)
{
	struct db_query *q = db->inflight;

	/* Keep a message a result already gave; libpq's own is often empty then. */
	if (db->conn != NULL && PQerrorMessage(db->conn)[0] != '\0')
		set_errmsg(db, PQerrorMessage(db->conn));
	else if (db->errmsg[0] == '\0')
		set_errmsg(db, "connection lost");
	db->inflight = NULL;
	schedule_retry(db);
	if (q != NULL)
		deliver(db, q, DB_E_CONNLOST, NULL, db->errmsg);
}

static void connected(struct db *db)
{
	uv_timer_stop(&db->timer);
	if (PQsetnonblocking(db->conn, 1) != 0 || watch_set(db, UV_READABLE) < 0) {
		lost(db);
		return;
	}
	db->state = DB_READY;
	db->backoff_ms = db->opt.backoff_min_ms;
	log_event(db->down_logged ? LOG_INFO : LOG_DEBUG, "db.up", "server_version=%d",
		  PQserverVersion(db->conn));
	db->down_logged = false;
	pump(db);
}

/* One step of PQconnectPoll; called when the socket is ready as asked. */
static void connect_step(struct db *db)
{
	PostgresPollingStatusType st = PQconnectPoll(db->conn);

	/*
	 * libpq may have closed the socket and opened another (next address)
	 * that got the same number: the kernel dropped the old epoll
	 * registration, so a watch kept on "the same fd" would never fire.
	 * A fresh watch per step is cheap and always right.
	 */
	watch_close(db);
	switch (st) {
	case PGRES_POLLING_READING:
		if (watch_set(db, UV_READABLE) < 0)
			goto failed;
		return;
	case PGRES_POLLING_WRITING:
		if (watch_set(db, UV_WRITABLE) < 0)
			goto failed;
		return;
	case PGRES_POLLING_OK:
		connected(db);
		return;
	default:
		goto failed;
	}
failed:
	set_errmsg(db, PQerrorMessage(db->conn));
	schedule_retry(db);
}

static void start_connect(struct db *db)
{
	db->conn = PQconnectStart(db->conninfo);
	if (db->conn == NULL) {
		set_errmsg(db, "out of memory");
		schedule_retry(db);
		return;
	}
	if (PQstatus(db->conn) == CONNECTION_BAD) {
		set_errmsg(db, PQerrorMessage(db->conn));
		schedule_retry(db);
		return;
	}
	db->state = DB_CONNECTING;
	uv_timer_start(&db->timer, on_timer, db->opt.connect_timeout_ms, 0);
	/* libpq: behave as if PQconnectPoll had answered PGRES_POLLING_WRITING. */
	if (watch_set(db, UV_WRITABLE) < 0) {
		set_errmsg(db, "cannot watch the PostgreSQL socket");
		schedule_retry(db);
	}
}

static void on_timer(uv_timer_t *t)
{
	struct db *db = t->data;

	if (db->state == DB_DOWN) {
		start_connect(db);
	} else if (db->state == DB_BUSY && db->deferred == DEFER_SEND_FAILED) {
		struct db_query *q = db->inflight;
		db->inflight = NULL;
		db->deferred = DEFER_NONE;
		db->state = DB_READY;
		deliver(db, q, DB_E_QUERY, NULL, db->errmsg);
		if (!db->destroying)
			pump(db);
	} else if (db->state == DB_BUSY && db->deferred == DEFER_LOST) {
		db->deferred = DEFER_NONE;
		lost(db);
	} else if (db->state == DB_CONNECTING) {
		snprintf(db->errmsg, sizeof(db->errmsg), "connection attempt timed out after %u ms",
			 db->opt.connect_timeout_ms);
		schedule_retry(db);
	}
}

/* Sends the next waiting query if the connection is idle. */
static void pump(struct db *db)
{
	while (db->state == DB_READY && db->head != NULL && !db->destroying) {
		struct db_query *q = db->head;
		int r;

		db->head = q->next;
		if (db->head == NULL)
			db->tail = NULL;
		db->queued--;
		q->next = NULL;

		if (!PQsendQueryParams(db->conn, q->sql, q->nparams, NULL, q->values, q->lengths,
				       q->formats, q->result_format)) {
			if (PQstatus(db->conn) == CONNECTION_BAD) {
				/* Never sent: put it back in front and reconnect. */
				q->next = db->head;
				db->head = q;
				if (db->tail == NULL)
					db->tail = q;
				db->queued++;
				lost(db);
				return;
			}
			/* libpq refused it locally (out of memory...). */
			set_errmsg(db, PQerrorMessage(db->conn));
			db->inflight = q;
			db->deferred = DEFER_SEND_FAILED;
			db->state = DB_BUSY;
			uv_timer_start(&db->timer, on_timer, 0, 0);
			return;
		}
		db->inflight = q;
		db->state = DB_BUSY;
		r = PQflush(db->conn);
		if (r < 0 || watch_set(db, r == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE) < 0) {
			db->deferred = DEFER_LOST;
			uv_timer_start(&db->timer, on_timer, 0, 0);
		}
		return;
	}
}

/* Reads what arrived; completes the query on the wire when its last result is in. */
static void read_results(struct db *db)
{
	PGnotify *n;

	if (!PQconsumeInput(db->conn)) {
		lost(db);
		return;
	}
	while ((n = PQnotifies(db->conn)) != NULL)
		PQfreemem(n);
	if (db->state != DB_BUSY) {
		if (PQstatus(db->conn) == CONNECTION_BAD)
			lost(db);
		return;
	}
	while (!PQisBusy(db->conn)) {
		PGresult *res = PQgetResult(db->conn);
		if (res != NULL) {
			/* Keep the first error, else the last result. */
			ExecStatusType st = PQresultStatus(db->result);
			if (db->result == NULL ||
			    (st != PGRES_FATAL_ERROR && st != PGRES_BAD_RESPONSE)) {
				PQclear(db->result);
				db->result = res;
			} else {
				PQclear(res);
			}
			continue;
		}

		/* NULL: the query is complete. */
		struct db_query *q = db->inflight;
		PGresult *r = db->result;
		ExecStatusType st = PQresultStatus(r);
		db->inflight = NULL;
		db->result = NULL;
		if (r == NULL || st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE ||
		    st == PGRES_NONFATAL_ERROR) {
			if (PQstatus(db->conn) == CONNECTION_BAD) {
				set_errmsg(db, r != NULL ? PQresultErrorMessage(r) : NULL);
				PQclear(r);
				db->inflight = q;
				lost(db);
				return;
			}
			set_errmsg(db,
				   r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
			db->state = DB_READY;
			deliver(db, q, DB_E_QUERY, r, db->errmsg);
		} else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
			/* COPY needs its own protocol; this client does not speak it. */
			PQclear(r);
			db->inflight = q;
			snprintf(db->errmsg, sizeof(db->errmsg), "COPY is not supported");
			lost(db);
			return;
		} else {
			db->state = DB_READY;
			deliver(db, q, 0, r, NULL);
		}
		PQclear(r);
		if (db->destroying)
			return;
		pump(db);
		return;
	}
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
	struct db_watch *w = handle->data;
	struct db *db = w->db;

	/* A deferred failure is finished by the timer; nothing to read meanwhile. */
	if (db == NULL || db->destroying || db->deferred != DEFER_NONE)
		return;
	if (status < 0) {
		/*
		 * libuv reports a socket error (EPOLLERR, e.g. a refused
		 * connect) as UV_EBADF and stops the handle.  libpq finds the
		 * real error itself on its next read or connect step.
		 */
		db->watch_events = 0;
		events = db->state == DB_BUSY ? UV_READABLE | UV_WRITABLE : UV_READABLE;
	}
	if (db->state == DB_CONNECTING) {
		connect_step(db);
		return;
	}
	if (db->state == DB_BUSY && (events & UV_WRITABLE)) {
		int r = PQflush(db->conn);
		if (r < 0) {
			lost(db);
			return;
		}
		if (r == 0 && watch_set(db, UV_READABLE) < 0) {
			lost(db);
			return;
		}
	}
	if (events & UV_READABLE)
		read_results(db);
}

int db_create(uv_loop_t *loop, const char *conninfo, const struct db_options *opts, struct db **out)
{
	struct db *db;

	if (loop == NULL || conninfo == NULL || out == NULL)
		return DB_E_INVAL;
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return DB_E_NOMEM;
	db->conninfo = strdup(conninfo);
	if (db->conninfo == NULL)
		goto err_conninfo;
	if (opts != NULL)
		db->opt = *opts;
	if (db->opt.queue_max == 0)
		db->opt.queue_max = 4096;
	if (db->opt.backoff_min_ms == 0)
		db->opt.backoff_min_ms = 50;
	if (db->opt.backoff_max_ms == 0)
		db->opt.backoff_max_ms = 2000;
	if (db->opt.backoff_max_ms < db->opt.backoff_min_ms)
		db->opt.backoff_max_ms = db->opt.backoff_min_ms;
	if (db->opt.connect_timeout_ms == 0)
		db->opt.connect_timeout_ms = 5000;
	db->loop = loop;
	db->watch_fd = -1;
	db->backoff_ms = db->opt.backoff_min_ms;
	if (uv_timer_init(loop, &db->timer) != 0)
		goto err_timer;
	db->timer.data = db;
	db->state = DB_DOWN;
	start_connect(db);
	*out = db;
	return 0;

err_timer:
	free(db->conninfo);
err_conninfo:
	free(db);
	return DB_E_NOMEM;
}

int db_query_params(struct db *db, const char *sql, int nparams, const char *const *values,
		    const int *lengths, const int *formats, int result_format, db_result_cb cb,
		    void *ud)
{
	struct db_query *q;
	size_t size, sqllen, off;
	char *p;

	if (db == NULL || sql == NULL || cb == NULL || nparams < 0 || nparams > 65535 ||
	    (nparams > 0 && values == NULL))
		return DB_E_INVAL;
	if (db->destroying)
		return DB_E_DESTROYED;
	if (db->queued >= db->opt.queue_max)
		return DB_E_FULL;

	/* Layout: struct | values[] | lengths[] | formats[] | sql | param bytes... */
	sqllen = strlen(sql) + 1;
	size = sizeof(*q) + (size_t)nparams * (sizeof(char *) + 2 * sizeof(int)) + sqllen;
	for (int i = 0; i < nparams; i++) {
		if (values[i] == NULL)
			continue;
		bool bin = formats != NULL && formats[i] == 1;
		if (bin && (lengths == NULL || lengths[i] < 0))
			return DB_E_INVAL;
		size += bin ? (size_t)lengths[i] + 1 : strlen(values[i]) + 1;
	}
	q = malloc(size);
	if (q == NULL)
		return DB_E_NOMEM;
	memset(q, 0, sizeof(*q));
	q->cb = cb;
	q->ud = ud;
	q->nparams = nparams;
	q->result_format = result_format ? 1 : 0;
	off = sizeof(*q);
	q->values = (const char **)(void *)((char *)q + off);
	off += (size_t)nparams * sizeof(char *);
	q->lengths = (int *)(void *)((char *)q + off);
	off += (size_t)nparams * sizeof(int);
	q->formats = (int *)(void *)((char *)q + off);
	off += (size_t)nparams * sizeof(int);
	q->sql = (char *)q + off;
	memcpy(q->sql, sql, sqllen);
	p = q->sql + sqllen;
	for (int i = 0; i < nparams; i++) {
		bool bin = formats != NULL && formats[i] == 1;
		q->formats[i] = bin ? 1 : 0;
		q->lengths[i] = 0;
		if (values[i] == NULL) {
			q->values[i] = NULL;
			continue;
		}
		size_t n = bin ? (size_t)lengths[i] : strlen(values[i]);
		memcpy(p, values[i], n);
		p[n] = '\0';
		q->values[i] = p;
		q->lengths[i] = (int)n;
		p += n + 1;
	}
	if (nparams == 0) {
		q->values = NULL;
		q->lengths = NULL;
		q->formats = NULL;
	}

	if (db->tail != NULL)
		db->tail->next = q;
	else
		db->head = q;
	db->tail = q;
	db->queued++;
	pump(db);
	return 0;
}

int db_query(struct db *db, const char *sql, int nparams, const char *const *params,
	     db_result_cb cb, void *ud)
{
	return db_query_params(db, sql, nparams, params, NULL, NULL, 0, cb, ud);
}

bool db_healthy(const struct db *db)
{
	return db != NULL && (db->state == DB_READY || db->state == DB_BUSY);
}

const char *db_last_error(const struct db *db)
{
	return db != NULL ? db->down_msg : "";
}

size_t db_pending(const struct db *db)
{
	if (db == NULL)
		return 0;
	return db->queued + (db->inflight != NULL ? 1 : 0);
}

static void timer_close_cb(uv_handle_t *h)
{
	struct db *db = h->data;

	free(db->conninfo);
	free(db);
}

void db_destroy(struct db *db)
{
	struct db_query *q;

	if (db == NULL || db->destroying)
		return;
	db->destroying = true;
	uv_timer_stop(&db->timer);
	q = db->inflight;
	db->inflight = NULL;
	teardown(db);
	if (q != NULL)
		deliver(db, q, DB_E_DESTROYED, NULL, db_strerror(DB_E_DESTROYED));
	while ((q = db->head) != NULL) {
		db->head = q->next;
		db->queued--;
		deliver(db, q, DB_E_DESTROYED, NULL, db_strerror(DB_E_DESTROYED));
	}
	db->tail = NULL;
	uv_close((uv_handle_t *)&db->timer, timer_close_cb);
}
