/*
 * test-wait.c - the judge's blocking helpers when waiting itself fails.
 *
 * Why it exists: judge_run() hands the judge callbacks whose user data
 * lives in its own stack frame.  If it returned while the run was still
 * in flight, the judge would later call back into a frame that is gone.
 * This test makes the wait fail (poll() is wrapped at link time: the next
 * call fails with ENOMEM when armed) and checks that judge_run() reports
 * the failure only once the run has ended, so nothing of it is left in the
 * judge.  Also: a judge killed while it starts leaves no process behind.
 * Needs root and cgroups like the judge (77 otherwise).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "judge.h"

int __real_poll(struct pollfd *fds, nfds_t n, int timeout);
int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout);

static bool fail_next_poll;

int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (fail_next_poll) {
		fail_next_poll = false;
		errno = ENOMEM;
		return -1;
	}
	return __real_poll(fds, n, timeout);
}

static void quiet(void *ud, enum judge_log_level level, const char *msg)
{
}

/* A run that takes long enough for judge_run() to wait in poll(). */
static void test_run_poll_fails(struct judge *j)
{
	static const char code[] = "import time\ntime.sleep(0.3)\nprint('late')\n";
	struct judge_request req = { .mode = JUDGE_MODE_SCRIPT,
				     .code = code,
				     .code_len = sizeof(code) - 1 };
	struct judge_result res;
	struct judge_stats st;

	fail_next_poll = true;
	int e = judge_run(j, &req, NULL, NULL, &res);
	CHECK(e == JUDGE_ESYS, "judge_run returned %d (%s), want JUDGE_ESYS", e, judge_strerror(e));
	CHECK(!fail_next_poll, "the wrapped poll() was never called");
	judge_get_stats(j, &st);
	/* Nothing of the run may be left: its callbacks would reach a dead frame. */
	REQUIRE(st.running == 0 && st.queued == 0,
		"after judge_run returned, %u run(s) running and %u queued", st.running, st.queued);
	CHECK(res.message == NULL && res.verdict == JUDGE_VERDICT_NONE,
	      "the result is not zeroed after an error: verdict %s",
	      judge_verdict_str(res.verdict));

	/* The judge goes on working. */
	static const char ok[] = "print('hi')\n";
	struct judge_request again = { .mode = JUDGE_MODE_SCRIPT,
				       .code = ok,
				       .code_len = sizeof(ok) - 1 };
	e = judge_run(j, &again, NULL, NULL, &res);
	CHECK(e == 0 && res.verdict == JUDGE_VERDICT_OK, "next run: %s, verdict %s",
	      judge_strerror(e), judge_verdict_str(res.verdict));
	if (e == 0)
		judge_result_finish(&res);
}

/*
 * A judge killed while it launches its zygote (`tandem serve` failing to
 * start kills its supervisor then): the launch's child, pid 1 of its pid
 * namespace and so deaf to SIGTERM, must die with it.  It once waited
 * forever on a pipe whose write end it held itself, an orphan keeping the
 * server's stderr open.  Killed as soon as the child exists, in rounds.
 */
static void test_killed_while_starting(void)
{
	int caught = 0;

	for (int round = 0; round < 6; round++) {
		pid_t pid = fork();
		REQUIRE(pid >= 0, "fork");
		if (pid == 0) {
			struct judge_config cfg = { .pool_size = 1, .log = quiet };
			struct judge *j = NULL;
			_exit(judge_create(&cfg, &j) == 0 ? 0 : 1);
		}
		char path[64];
		long kid = 0;
		int st;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
		while (!kid && waitpid(pid, &st, WNOHANG) == 0) {
			FILE *f = fopen(path, "r");
			if (f) {
				if (fscanf(f, "%ld", &kid) != 1)
					kid = 0;
				fclose(f);
			}
		}
		int pidfd = kid ? (int)syscall(SYS_pidfd_open, (pid_t)kid, 0) : -1;
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		if (pidfd < 0)
			continue; /* the judge was done before its child was seen */
		caught++;
		/* A bound, not a synchronisation: the child dies at once or never. */
		struct pollfd pfd = { pidfd, POLLIN, 0 };
		int n = __real_poll(&pfd, 1, 5000);
		CHECK(n == 1, "round %d: the zygote launch's child %ld outlived its judge by 5 s",
		      round, kid);
		if (n != 1)
			kill((pid_t)kid, SIGKILL);
		close(pidfd);
	}
	printf("killed mid-start: the launch's child seen in %d of 6 rounds\n", caught);
	CHECK(caught > 0, "the launch's child was never seen before the judge was killed");
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root\n");
		return 77;
	}
	struct judge_config cfg = { .pool_size = 1, .log = quiet };
	struct judge *j = NULL;
	int e = judge_create(&cfg, &j);
	if (e == JUDGE_ENOCGROUP || e == JUDGE_EPRIV) {
		fprintf(stderr, "skip: %s\n", judge_strerror(e));
		return 77;
	}
	REQUIRE(e == 0, "judge_create: %s", judge_strerror(e));
	REQUIRE(judge_wait_warm(j, 1, 10000) == 0, "no warm sandbox within 10 s");
	test_run_poll_fails(j);
	judge_destroy(j);
	test_killed_while_starting();
	CHECK_DONE();
}
