/*
 * test-wait.c - the judge's blocking helpers when waiting itself fails.
 *
 * Why it exists: judge_run() hands the judge callbacks whose user data
 * lives in its own stack frame.  If it returned while the run was still
 * in flight, the judge would later call back into a frame that is gone.
 * This test makes the wait fail (poll() is wrapped at link time: the next
 * call fails with ENOMEM when armed) and checks that judge_run() reports
 * the failure only once the run has ended, so nothing of it is left in the
 * judge.  Needs root and cgroups like the judge (77 otherwise).
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
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
	CHECK_DONE();
}
