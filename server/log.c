/*
 * log.c - one structured line per event (see log.h for the format).
 *
 * Why its own formatter: a plain vsnprintf of "msg=%s" would let a value
 * holding a space or '=' break every logfmt parser downstream, and values
 * here come from clients (display names, error texts).  So the format is
 * walked conversion by conversion, each value is formatted alone and then
 * quoted and escaped as needed.  This file must never allocate (it runs on
 * out-of-memory paths) and never block for long: one write(2) per line.
 */
#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* The per-value specs below are built at run time from the caller's format,
 * which the compiler has already checked at the call site. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

static enum log_level log_min = LOG_INFO;
static int log_fd = -1;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level > LOG_ERROR)
		return "info";
	return level_names[level];
}

int log_level_parse(const char *name, enum log_level *out)
{
	if (name == NULL)
		return -1;
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

int log_init_from_env(void)
{
	const char *v = getenv("TANDEM_LOG_LEVEL");
	enum log_level level = LOG_INFO;

	if (v == NULL || *v == '\0') {
		log_min = LOG_INFO;
		return 0;
	}
	if (log_level_parse(v, &level) < 0) {
		log_min = LOG_INFO;
		log_event(LOG_WARN, "log.level", "msg=%s value=%s",
			  "TANDEM_LOG_LEVEL must be debug, info, warn or error", v);
		return -1;
	}
	log_min = level;
	return 0;
}

void log_set_level(enum log_level level)
{
	log_min = level;
}

enum log_level log_get_level(void)
{
	return log_min;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

bool log_enabled(enum log_level level)
{
	return level >= log_min;
}

/* A line under construction; len never exceeds LOG_LINE_MAX - 1 (room for '\n'). */
struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
	bool cut;
};

static void put(struct line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->len;

	if (n > room) {
		n = room;
		l->cut = true;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static bool needs_quotes(const char *v, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			return true;
	}
	return false;
}

static void put_value(struct line *l, const char *v, size_t n)
{
	if (!needs_quotes(v, n)) {
		put(l, v, n);
		return;
	}
	put(l, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		char esc[5];

		switch (c) {
		case '"':
			put(l, "\\\"", 2);
			break;
		case '\\':
			put(l, "\\\\", 2);
			break;
		case '\n':
			put(l, "\\n", 2);
			break;
		case '\t':
			put(l, "\\t", 2);
			break;
		case '\r':
			put(l, "\\r", 2);
			break;
		default:
			if (c < ' ' || c == 0x7f) {
				snprintf(esc, sizeof(esc), "\\x%02x", c);
				put(l, esc, 4);
			} else {
				put(l, (const char *)&v[i], 1);
			}
		}
	}
	put(l, "\"", 1);
}

/*
 * Formats the one conversion that starts at fmt[0] == '%' into val,
 * consuming its arguments from ap.  Returns the number of format bytes
 * used, or 0 for a conversion this formatter does not know (the rest of
 * the format is then copied literally: the compiler's format check makes
 * that a programming error, not an input problem).
 */
static size_t format_one(const char *fmt, va_list *ap, char *val, size_t vallen)
{
	char spec[32];
	size_t si = 0, fi = 1;
	enum { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_J, L_T, L_BIGL } len = L_NONE;

	spec[si++] = '%';
	while (fmt[fi] != '\0' && strchr("-+ #0", fmt[fi]) != NULL && si < 8)
		spec[si++] = fmt[fi++];
	if (fmt[fi] == '*') {
		si += (size_t)snprintf(spec + si, sizeof(spec) - si, "%d", va_arg(*ap, int));
		fi++;
	} else {
		while (fmt[fi] >= '0' && fmt[fi] <= '9' && si < 16)
			spec[si++] = fmt[fi++];
	}
	if (fmt[fi] == '.') {
		spec[si++] = fmt[fi++];
		if (fmt[fi] == '*') {
			si += (size_t)snprintf(spec + si, sizeof(spec) - si, "%d",
					       va_arg(*ap, int));
			fi++;
		} else {
			while (fmt[fi] >= '0' && fmt[fi] <= '9' && si < 24)
				spec[si++] = fmt[fi++];
		}
	}
	switch (fmt[fi]) {
	case 'h':
		len = fmt[fi + 1] == 'h' ? L_HH : L_H;
		break;
	case 'l':
		len = fmt[fi + 1] == 'l' ? L_LL : L_L;
		break;
	case 'z':
		len = L_Z;
		break;
	case 'j':
		len = L_J;
		break;
	case 't':
		len = L_T;
		break;
	case 'L':
		len = L_BIGL;
		break;
	default:
		break;
	}
	if (len == L_HH || len == L_LL)
		fi += 2;
	else if (len != L_NONE)
		fi += 1;
	if (si > sizeof(spec) - 4)
		return 0;

	char conv = fmt[fi];
	switch (conv) {
	case 'd':
	case 'i':
		spec[si++] = 'j';
		spec[si++] = conv;
		spec[si] = '\0';
		{
			intmax_t v;
			switch (len) {
			case L_L:
				v = va_arg(*ap, long);
				break;
			case L_LL:
				v = va_arg(*ap, long long);
				break;
			case L_Z:
				v = va_arg(*ap, ssize_t);
				break;
			case L_J:
				v = va_arg(*ap, intmax_t);
				break;
			case L_T:
				v = va_arg(*ap, ptrdiff_t);
				break;
			case L_HH:
				v = (signed char)va_arg(*ap, int);
				break;
			case L_H:
				v = (short)va_arg(*ap, int);
				break;
			default:
				v = va_arg(*ap, int);
			}
			snprintf(val, vallen, spec, v);
		}
		break;
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		spec[si++] = 'j';
		spec[si++] = conv;
		spec[si] = '\0';
		{
			uintmax_t v;
			switch (len) {
			case L_L:
				v = va_arg(*ap, unsigned long);
				break;
			case L_LL:
				v = va_arg(*ap, unsigned long long);
				break;
			case L_Z:
				v = va_arg(*ap, size_t);
				break;
			case L_J:
				v = va_arg(*ap, uintmax_t);
				break;
			case L_T:
				v = (uintmax_t)va_arg(*ap, ptrdiff_t);
				break;
			case L_HH:
				v = (unsigned char)va_arg(*ap, unsigned);
				break;
			case L_H:
				v = (unsigned short)va_arg(*ap, unsigned);
				break;
			default:
				v = va_arg(*ap, unsigned);
			}
			snprintf(val, vallen, spec, v);
		}
		break;
	case 'f':
	case 'F':
	case 'e':
	case 'E':
	case 'g':
	case 'G':
	case 'a':
	case 'A':
		spec[si++] = conv;
		spec[si] = '\0';
		if (len == L_BIGL) {
			spec[si - 1] = 'L';
			spec[si++] = conv;
			spec[si] = '\0';
			snprintf(val, vallen, spec, va_arg(*ap, long double));
		} else {
			snprintf(val, vallen, spec, va_arg(*ap, double));
		}
		break;
	case 'c':
		spec[si++] = 'c';
		spec[si] = '\0';
		snprintf(val, vallen, spec, va_arg(*ap, int));
		break;
	case 's': {
		const char *s = va_arg(*ap, const char *);
		spec[si++] = 's';
		spec[si] = '\0';
		snprintf(val, vallen, spec, s != NULL ? s : "(null)");
		break;
	}
	case 'p':
		snprintf(val, vallen, "%p", va_arg(*ap, void *));
		break;
	default:
		return 0;
	}
	return fi + 1;
}

static void put_timestamp(struct line *l)
{
	struct timespec ts;
	struct tm tm;
	char buf[96];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, sizeof(buf), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	puts_(l, buf);
}

void log_eventv(enum log_level level, const char *event, const char *fmt, va_list ap)
{
	struct line l;
	char val[LOG_LINE_MAX];
	va_list aq;

	if (!log_enabled(level))
		return;
	l.len = 0;
	l.cut = false;
	put_timestamp(&l);
	puts_(&l, " level=");
	puts_(&l, log_level_name(level));
	puts_(&l, " event=");
	put_value(&l, event != NULL ? event : "", event != NULL ? strlen(event) : 0);

	va_copy(aq, ap);
	if (fmt != NULL && *fmt != '\0') {
		puts_(&l, " ");
		for (const char *p = fmt; *p != '\0';) {
			if (*p != '%') {
				const char *q = strchr(p, '%');
				size_t n = q != NULL ? (size_t)(q - p) : strlen(p);
				put(&l, p, n);
				p += n;
				continue;
			}
			if (p[1] == '%') {
				put(&l, "%", 1);
				p += 2;
				continue;
			}
			val[0] = '\0';
			size_t used = format_one(p, &aq, val, sizeof(val));
			if (used == 0) {
				puts_(&l, p);
				break;
			}
			put_value(&l, val, strlen(val));
			p += used;
		}
	}
	va_end(aq);

	if (l.cut && l.len >= 3)
		memcpy(l.buf + l.len - 3, "...", 3);
	l.buf[l.len++] = '\n';

	/* One write per line; a short write to a pipe or tty is finished off. */
	int fd = log_fd >= 0 ? log_fd : STDERR_FILENO;
	size_t off = 0;
	while (off < l.len) {
		ssize_t w = write(fd, l.buf + off, l.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

void log_event(enum log_level level, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_eventv(level, event, fmt, ap);
	va_end(ap);
}
