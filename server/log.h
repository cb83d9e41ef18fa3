/*
 * log.h - structured log lines for the tandem server.
 *
 * Boundary: this module writes text to one file descriptor (stderr unless a
 * test redirects it) and knows nothing of rooms or sockets.  It keeps one
 * process-wide setting (the level and the fd): logging is the one place
 * where a global is the honest shape.
 *
 * Format: one event per line, key=value pairs, so `grep room=abc` and any
 * logfmt parser work:
 *
 *   ts=2026-11-22T00:00:00.123Z level=info event=room.join room=abc conn=12 seat=candidate
 *
 * ts is UTC with milliseconds.  The caller's pairs come from a printf-style
 * format where every conversion is one value; each formatted value is quoted
 * ("...") when it is empty or holds a space, '"', '=', '\' or a control byte,
 * with '"' and '\' escaped as \" and \\ and control bytes as \n, \t, \r or
 * \xNN.  Literal text of the format is copied as is, so keys stay bare:
 *
 *   log_event(LOG_INFO, "room.join", "room=%s conn=%u msg=%s", id, conn, "a b");
 *   -> ... event=room.join room=abc conn=12 msg="a b"
 *
 * A line is written with a single write(2) (at most LOG_LINE_MAX bytes;
 * longer values are cut and end in "..."), so lines from the judge
 * supervisor and the network process never interleave mid-line.
 */
#ifndef TANDEM_LOG_H
#define TANDEM_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#define LOG_LINE_MAX 4096

enum log_level {
	LOG_DEBUG = 0,
	LOG_INFO = 1,
	LOG_WARN = 2,
	LOG_ERROR = 3,
};

/*
 * Sets the minimum level from TANDEM_LOG_LEVEL (debug, info, warn, error;
 * default info).  Returns 0, or -1 when the variable holds something else
 * (the level is then left at info, and a warning is logged).
 */
int log_init_from_env(void);

/* Sets the minimum level written; lower levels are dropped cheaply. */
void log_set_level(enum log_level level);

/* The current minimum level. */
enum log_level log_get_level(void);

/*
 * Parses "debug", "info", "warn"/"warning" or "error" into *out.
 * Returns 0, or -1 for anything else (*out untouched).
 */
int log_level_parse(const char *name, enum log_level *out);

/* The lower-case name of a level ("info"); never NULL. */
const char *log_level_name(enum log_level level);

/*
 * Redirects output to fd (tests use a pipe); -1 restores stderr.  The fd is
 * borrowed: the caller keeps it open while it is in use and closes it.
 */
void log_set_fd(int fd);

/* True when a line of this level would be written. */
bool log_enabled(enum log_level level);

/*
 * Writes one line: ts, level, event, then the pairs of fmt (which may be
 * NULL or "" for none).  fmt supports the usual integer (with hh, h, l, ll,
 * z, j, t), floating, %c, %s, %p and %% conversions with flags, width and
 * precision (also '*').  event and every argument are borrowed for the call.
 */
void log_event(enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* log_event() with a va_list. */
void log_eventv(enum log_level level, const char *event, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
