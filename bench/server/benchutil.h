/*
 * benchutil.h - what the load benchmark's C programs (floor.c, typists.c)
 * measure with: the monotonic clock, a process's CPU time from /proc and
 * its own from getrusage, and an order for sorting latencies.
 */
#ifndef TANDEM_BENCHUTIL_H
#define TANDEM_BENCHUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* utime + stime of pid in seconds, from /proc/PID/stat; -1 when it cannot be read. */
static inline double proc_cpu_s(pid_t pid)
{
	char path[64], line[1024];
	unsigned long ut = 0, st = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	/* After the command name's closing parenthesis: state is field 3, utime 14, stime 15. */
	p = strrchr(line, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* getrusage(who)'s user + system time in seconds (RUSAGE_SELF, RUSAGE_CHILDREN). */
static inline double rusage_s(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static inline int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

#endif
