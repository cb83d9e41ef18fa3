/*
 * test-log.c - the structured log line format.
 *
 * Lines are written to a pipe and read back: the timestamp shape, the
 * level filter, quoting and escaping of values that would break logfmt
 * parsing, the conversions the formatter supports, and truncation of
 * overlong lines into one line that still ends in a newline.
 */
#include <regex.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

static int fds[2];

/* Reads everything written so far (the pipe is large enough for these lines). */
static char *drain(void)
{
	static char buf[1 << 16];
	ssize_t n;

	log_set_fd(-1);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	REQUIRE(pipe(fds) == 0, "pipe");
	log_set_fd(fds[1]);
	return buf;
}

int main(void)
{
	regex_t re;
	char *out;

	REQUIRE(pipe(fds) == 0, "pipe");
	log_set_fd(fds[1]);
	log_set_level(LOG_INFO);

	log_event(LOG_INFO, "room.join", "room=%s conn=%u seat=%s", "abc", 12u, "candidate");
	out = drain();
	REQUIRE(regcomp(&re,
			"^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
			"level=info event=room\\.join room=abc conn=12 seat=candidate\n$",
			REG_EXTENDED) == 0,
		"regcomp");
	CHECK(regexec(&re, out, 0, NULL, 0) == 0, "line: '%s'", out);
	regfree(&re);

	/* Below the level: nothing; debug enabled: written. */
	log_event(LOG_DEBUG, "x", "a=%d", 1);
	out = drain();
	CHECK(out[0] == '\0', "debug written at info: '%s'", out);
	log_set_level(LOG_DEBUG);
	CHECK(log_enabled(LOG_DEBUG), "enabled");
	log_event(LOG_DEBUG, "x", NULL);
	out = drain();
	CHECK(strstr(out, " level=debug event=x\n") != NULL, "debug: '%s'", out);

	/* Quoting and escaping. */
	log_event(LOG_WARN, "e", "msg=%s empty=%s eq=%s nl=%s ctl=%s ok=%s", "a \"b\" \\c", "",
		  "k=v", "l1\nl2", "\x01", "plain");
	out = drain();
	CHECK(strstr(out, " level=warn event=e msg=\"a \\\"b\\\" \\\\c\" empty=\"\" eq=\"k=v\" "
			  "nl=\"l1\\nl2\" ctl=\"\\x01\" ok=plain\n") != NULL,
	      "escaping: '%s'", out);

	/* Conversions. */
	log_event(LOG_ERROR, "c", "i=%d l=%ld ll=%lld z=%zu u=%u x=%x f=%.2f c=%c pct=%% w=%5s|",
		  -3, -4L, -5LL, (size_t)6, 7u, 255u, 1.5, 'q', "ab");
	out = drain();
	CHECK(strstr(out, "i=-3 l=-4 ll=-5 z=6 u=7 x=ff f=1.50 c=q pct=% w=\"   ab\"|") != NULL,
	      "conversions: '%s'", out);
	const char *volatile nothing = NULL;
	log_event(LOG_INFO, "n", "s=%s j=%jd hh=%hhu", nothing, (intmax_t)-9, (unsigned char)200);
	out = drain();
	CHECK(strstr(out, "s=(null) j=-9 hh=200") != NULL, "null: '%s'", out);

	/* An event name with a space is quoted too. */
	log_event(LOG_INFO, "bad event", NULL);
	out = drain();
	CHECK(strstr(out, "event=\"bad event\"\n") != NULL, "event: '%s'", out);

	/* Overlong: cut to LOG_LINE_MAX, one line, ends in "...\n". */
	static char big[3 * LOG_LINE_MAX];
	memset(big, 'v', sizeof(big) - 1);
	log_event(LOG_INFO, "big", "v=%s after=%d", big, 1);
	out = drain();
	size_t n = strlen(out);
	CHECK(n == LOG_LINE_MAX, "length %zu", n);
	CHECK(n > 4 && strcmp(out + n - 4, "...\n") == 0, "end '%s'", out + (n > 8 ? n - 8 : 0));
	CHECK(strchr(out, '\n') == out + n - 1, "one line");

	/* Level names. */
	enum log_level lv;
	CHECK(log_level_parse("WARN", &lv) == 0 && lv == LOG_WARN, "WARN");
	CHECK(log_level_parse("warning", &lv) == 0 && lv == LOG_WARN, "warning");
	CHECK(log_level_parse("loud", &lv) < 0, "loud");
	CHECK(strcmp(log_level_name(LOG_ERROR), "error") == 0, "name");

	log_set_fd(-1);
	close(fds[0]);
	close(fds[1]);
	CHECK_DONE();
}
