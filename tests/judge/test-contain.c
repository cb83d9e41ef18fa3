/*
 * test-contain: checks the outer fence of the hostile tests (tests/judge/contain.c) by itself.
 *
 * test-hostile trusts contain twice: to keep a broken judge from hurting the machine, and to say
 * when its own limits were reached (which fails a hostile case).  Both must be true before the
 * hostile results mean anything, so this test runs plain, unsandboxed Python programs under
 * contain (no judge) that do what a judge might let through, and checks what contain did and
 * reported: kill(-1, SIGKILL) reaches nothing outside; a fork bomb stops at the pids limit and is
 * reported; a memory hog is OOM-killed and reported; a program that outlives the command is
 * reported and killed; the wall timeout and SIGTERM kill the namespace; files in /tmp land in the
 * private tmpfs; and after every run contain's cgroups are gone.
 *
 * Usage: test-contain CONTAIN.  Exit 0 all passed, 1 some failed, 77 not root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"

static const char *contain_path;
static char report_path[64];
static int failures;

static void check(bool ok, const char *scenario, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check(bool ok, const char *scenario, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s: ", ok ? "ok  " : "FAIL", scenario);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures += !ok;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The value of "key N" in the report; -1 when absent. */
static long report_num(const char *key)
{
	FILE *f = fopen(report_path, "re");
	char line[4096];
	size_t klen = strlen(key);
	long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			v = strtol(line + klen + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static bool report_has(const char *key, const char *word)
{
	FILE *f = fopen(report_path, "re");
	char line[4096];
	size_t klen = strlen(key);
	bool found = false;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ' && strstr(line, word))
			found = true;
	if (f)
		fclose(f);
	return found;
}

/* Does a cgroup directory named after contain's pid still exist in a v1 hierarchy we know? */
static bool cgroup_left(pid_t pid)
{
	static const char *const roots[] = { "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpuacct" };
	char path[PATH_MAX];
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[1024], mempath[512] = "";
	struct stat st;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(strchr(line, ':') ? strchr(line, ':') + 1 : "", "memory:", 7) == 0)
			sscanf(strchr(line, ':') + 8, "%511s", mempath);
	if (f)
		fclose(f);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/tandem-contain-%ld", roots[i], (long)pid);
		if (stat(path, &st) == 0)
			return true;
	}
	snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/tandem-contain-%ld",
		 strcmp(mempath, "/") ? mempath : "", (long)pid);
	return stat(path, &st) == 0;
}

/*
 * Runs `code` with python under contain; returns its exit status (128 + signal when killed) and
 * contain's pid.  With stop_after_ms, SIGTERM is sent to contain that long after the start.
 */
static int run(const char *mem, const char *pids, const char *timeout, const char *code,
	       int stop_after_ms, pid_t *pid_out, double *ms)
{
	const char *argv[] = { contain_path, "--report", report_path, "--mem-mb",
			       mem,	     "--pids",	 pids,	      "--timeout-s",
			       timeout,	     "--",	 PYTHON,      "-I",
			       "-S",	     "-c",	 code,	      NULL };
	double start = now_ms();
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(null, 0);
		dup2(null, 1);
		execv(contain_path, (char **)argv);
		_exit(127);
	}
	if (stop_after_ms > 0) {
		struct timespec ts = { stop_after_ms / 1000, (stop_after_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		kill(pid, SIGTERM);
	}
	waitpid(pid, &status, 0);
	*pid_out = pid;
	*ms = now_ms() - start;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	pid_t canary, pid;
	double ms;
	int st;

	if (argc != 2) {
		fprintf(stderr, "usage: test-contain CONTAIN\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP: contain needs root\n");
		return 77;
	}
	contain_path = argv[1];
	snprintf(report_path, sizeof(report_path), "/var/tmp/test-contain-%ld.report",
		 (long)getpid());

	/* A process outside the fence, which kill(-1, SIGKILL) inside must not reach. */
	canary = fork();
	if (canary == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}

	st = run("256", "64", "20",
		 "import os, time\n"
		 "if os.fork() == 0:\n    time.sleep(30)\n"
		 "os.kill(-1, 9)\n",
		 0, &pid, &ms);
	if (st == 77) {
		printf("SKIP: contain cannot set up its fence here\n");
		kill(canary, SIGKILL);
		return 77;
	}
	check(st == 0, "kill(-1)", "the command survives its own kill(-1) (status %d)", st);
	check(waitpid(canary, NULL, WNOHANG) == 0 && kill(canary, 0) == 0, "kill(-1)",
	      "the canary outside the namespace is alive");
	check(report_num("leftover") == 0, "kill(-1)",
	      "the sibling inside was killed (leftover %ld)", report_num("leftover"));
	check(!cgroup_left(pid), "kill(-1)", "contain's cgroups are removed");

	st = run("256", "24", "20",
		 "import os, time\n"
		 "for i in range(200):\n"
		 "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
		 "    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n",
		 0, &pid, &ms);
	check(st == 0, "fork bomb", "the command exits 0 (status %d)", st);
	check(report_num("pids_peak") >= report_num("pids_max") && report_num("pids_max") == 24,
	      "fork bomb", "the pids limit is reached and reported (peak %ld of %ld)",
	      report_num("pids_peak"), report_num("pids_max"));
	check(report_num("leftover") > 0, "fork bomb",
	      "children that outlive the command are reported (%ld) and killed",
	      report_num("leftover"));
	check(!cgroup_left(pid), "fork bomb", "contain's cgroups are removed");

	st = run("64", "64", "20", "b = bytearray(256 << 20)\n", 0, &pid, &ms);
	check(st == 128 + SIGKILL, "memory", "the hog is OOM-killed (status %d)", st);
	check(report_num("mem_failcnt") > 0 || report_num("mem_oom_kill") > 0, "memory",
	      "the memory limit is reached and reported (failcnt %ld, oom_kill %ld)",
	      report_num("mem_failcnt"), report_num("mem_oom_kill"));
	check(!cgroup_left(pid), "memory", "contain's cgroups are removed");

	st = run("64", "64", "1", "import time\ntime.sleep(60)\n", 0, &pid, &ms);
	check(st == 124 && report_num("timed_out") == 1, "timeout",
	      "the wall timeout kills the namespace (status %d, timed_out %ld)", st,
	      report_num("timed_out"));
	check(ms < 3000, "timeout", "within a second of the limit (%.0f ms)", ms);
	check(!cgroup_left(pid), "timeout", "contain's cgroups are removed");

	st = run("64", "64", "20", "import time\ntime.sleep(60)\n", 500, &pid, &ms);
	check(st == 128 + SIGTERM && ms < 2500, "sigterm",
	      "SIGTERM kills the namespace (status %d, %.0f ms)", st, ms);
	check(!cgroup_left(pid), "sigterm", "contain's cgroups are removed");

	st = run("64", "64", "20",
		 "open('/tmp/test-contain-probe', 'w').write('x')\n"
		 "open('/dev/shm/test-contain-probe', 'w').write('x')\n",
		 0, &pid, &ms);
	check(st == 0 && report_has("tmp", "test-contain-probe") &&
		      report_has("shm", "test-contain-probe"),
	      "tmpfs", "/tmp and /dev/shm inside are contain's own, and reported (status %d)", st);
	check(access("/tmp/test-contain-probe", F_OK) != 0 &&
		      access("/dev/shm/test-contain-probe", F_OK) != 0,
	      "tmpfs", "nothing reached the host's /tmp or /dev/shm");

	kill(canary, SIGKILL);
	waitpid(canary, NULL, 0);
	unlink(report_path);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
