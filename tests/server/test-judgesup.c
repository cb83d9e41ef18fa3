/*
 * test-judgesup.c - the judge supervisor protocol, both ends (jproto.c,
 * jclient.c, judgesup.c).
 *
 * Why it exists: the network process and the privileged supervisor cut
 * one byte stream into frames.  If either end guesses where a frame starts
 * after one it could not take, everything after it is read out of step (a
 * forged result could finish someone's run).  This test pins the shared
 * reader on crafted bytes, then drives jclient from a socketpair this test
 * writes by hand (no supervisor: an oversized frame must make it hang up,
 * "judge busy" must arrive as a code), then the real supervisor: a run
 * through it, its hang-up on an oversized frame, and its refusal to serve
 * when the parent that forked it died before the death signal was armed.
 * The supervisor parts need root and cgroups (they are skipped, with a
 * message, otherwise; CI runs as root).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "check.h"
#include "jclient.h"
#include "jproto.h"
#include "judgesup.h"
#include "log.h"
#include "problem.h"

/* ---- helpers ------------------------------------------------------------- */

/* 0, or the errno of a failed write (EPIPE: the other end hung up). */
static int try_write(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static void write_all(int fd, const void *p, size_t n)
{
	int e = try_write(fd, p, n);

	REQUIRE(e == 0, "write: %s", strerror(e));
}

static int try_send_op(int fd, enum jproto_op op, json_t *body)
{
	size_t n = 0;
	char *f = jproto_frame(op, body, &n);

	REQUIRE(f, "jproto_frame(%s) failed", jproto_op_name(op));
	int e = try_write(fd, f, n);
	free(f);
	return e;
}

static void send_op(int fd, enum jproto_op op, json_t *body)
{
	int e = try_send_op(fd, op, body);

	REQUIRE(e == 0, "write: %s", strerror(e));
}

/*
 * Reads frames from fd into rd until one of op arrives (others are
 * dropped): 1 with *msg, 0 at the end of the stream, or the reader's error.
 */
static int read_op(int fd, struct jproto_reader *rd, enum jproto_op want, json_t **msg)
{
	for (;;) {
		enum jproto_op op;
		int rc = jproto_reader_next(rd, msg, &op);

		if (rc < 0)
			return rc;
		if (rc == 1 && op == want)
			return 1;
		if (rc == 1) {
			json_decref(*msg);
			continue;
		}
		size_t avail = 0;
		char *space = jproto_reader_space(rd, &avail);

		REQUIRE(space, "out of memory");
		ssize_t got = read(fd, space, avail);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0;
		jproto_reader_filled(rd, (size_t)got);
	}
}

/* ---- the shared reader on crafted bytes --------------------------------- */

static void test_reader(void)
{
	struct jproto_reader rd;
	enum jproto_op op;
	json_t *msg;
	size_t n = 0, avail;
	char *f =
		jproto_frame(JPROTO_OP_OUTPUT, json_pack("{s:i, s:s}", "id", 7, "data", "hé"), &n);

	REQUIRE(f && n > 4, "jproto_frame");
	/* Byte by byte: nothing until the last byte, then exactly the frame. */
	jproto_reader_init(&rd);
	for (size_t i = 0; i < n; i++) {
		char *space = jproto_reader_space(&rd, &avail);

		REQUIRE(space && avail >= 65536, "space: %zu", avail);
		space[0] = f[i];
		jproto_reader_filled(&rd, 1);
		int rc = jproto_reader_next(&rd, &msg, &op);

		if (i + 1 < n)
			CHECK(rc == 0, "byte %zu of %zu: %d", i, n, rc);
		else {
			CHECK(rc == 1 && op == JPROTO_OP_OUTPUT, "last byte: rc %d op %d", rc, op);
			CHECK(json_integer_value(json_object_get(msg, "id")) == 7, "id");
			CHECK(strcmp(json_string_value(json_object_get(msg, "op")), "output") == 0,
			      "op name");
			json_decref(msg);
		}
	}
	/* Two frames in one read come out one after the other. */
	char *space = jproto_reader_space(&rd, &avail);
	memcpy(space, f, n);
	memcpy(space + n, f, n);
	jproto_reader_filled(&rd, 2 * n);
	for (int k = 0; k < 2; k++) {
		CHECK(jproto_reader_next(&rd, &msg, &op) == 1, "frame %d of 2", k);
		json_decref(msg);
	}
	CHECK(jproto_reader_next(&rd, &msg, &op) == 0, "a third frame out of two");
	jproto_reader_finish(&rd);
	free(f);

	/* Broken streams stay broken: the reader never skips to a guess. */
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
		int want;
	} bad[] = {
		{ "longer than the maximum", "\x01\x00\x00\x01{}", 6, JPROTO_ETOOBIG },
		{ "not JSON", "\x00\x00\x00\x03{{{", 7, JPROTO_EBADFRAME },
		{ "no op", "\x00\x00\x00\x02{}", 6, JPROTO_EBADFRAME },
		{ "unknown op", "\x00\x00\x00\x0d{\"op\":\"zap\"}", 17, JPROTO_EBADFRAME },
		{ "an array", "\x00\x00\x00\x02[]", 6, JPROTO_EBADFRAME },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		jproto_reader_init(&rd);
		space = jproto_reader_space(&rd, &avail);
		memcpy(space, bad[i].bytes, bad[i].len);
		jproto_reader_filled(&rd, bad[i].len);
		for (int k = 0; k < 2; k++) {
			int rc = jproto_reader_next(&rd, &msg, &op);

			CHECK(rc == bad[i].want && !msg, "%s (call %d): %d, want %d", bad[i].what,
			      k, rc, bad[i].want);
		}
		jproto_reader_finish(&rd);
	}

	/* Names and errors come from the X-macro lists. */
	for (int k = 0; k < JPROTO__OP_COUNT; k++)
		CHECK(jproto_op_parse(jproto_op_name((enum jproto_op)k)) == k, "op %d", k);
	CHECK(jproto_op_parse("zap") == -1 && jproto_op_parse(NULL) == -1, "unknown op names");
	CHECK(strstr(jproto_strerror(JPROTO_EBUSY), "busy") != NULL, "EBUSY: %s",
	      jproto_strerror(JPROTO_EBUSY));
	CHECK(strcmp(jproto_strerror(-1000), "unknown error") == 0, "unknown code");
}

/* ---- jclient against a hand-driven socket -------------------------------- */

struct seen {
	int done, err;
	bool result;
	char message[200];
	int states;
	bool down;
};

static void on_done(void *ud, uint64_t run, json_t *result, int err, const char *message)
{
	struct seen *s = ud;

	s->done++;
	s->err = err;
	s->result = result != NULL;
	snprintf(s->message, sizeof(s->message), "%s", message ? message : "");
}

static void on_state(void *ud, const char *down)
{
	struct seen *s = ud;

	s->states++;
	s->down = down != NULL;
}

/* Turns the loop until *flag is set (each turn waits for an event). */
static void turn_until(uv_loop_t *loop, const int *flag)
{
	for (int i = 0; i < 100 && !*flag; i++)
		uv_run(loop, UV_RUN_ONCE);
	REQUIRE(*flag, "the loop never delivered the expected callback");
}

/* A client with one run in flight; *peer is the supervisor's end. */
static struct jclient *client(uv_loop_t *loop, struct seen *s, int *peer, uint64_t *run)
{
	struct jclient_events ev = { .state = on_state, .ud = s };
	struct jproto_reader rd;
	struct jclient *jc;
	json_t *msg;
	int sv[2];

	memset(s, 0, sizeof(*s));
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	REQUIRE(jclient_create(loop, sv[0], &ev, &jc) == 0, "jclient_create");
	REQUIRE(jclient_run(jc, "print(1)", 8, NULL, on_done, s, run) == 0, "jclient_run");
	uv_run(loop, UV_RUN_NOWAIT); /* the request is written */
	jproto_reader_init(&rd);
	REQUIRE(read_op(sv[1], &rd, JPROTO_OP_RUN, &msg) == 1, "no run frame");
	CHECK(strcmp(json_string_value(json_object_get(msg, "code")), "print(1)") == 0, "code");
	CHECK((uint64_t)json_integer_value(json_object_get(msg, "id")) == *run, "id");
	json_decref(msg);
	jproto_reader_finish(&rd);
	*peer = sv[1];
	return jc;
}

static void close_client(uv_loop_t *loop, struct jclient *jc, int peer)
{
	jclient_destroy(jc);
	uv_run(loop, UV_RUN_DEFAULT);
	close(peer);
}

static void test_client_oversized(uv_loop_t *loop)
{
	struct seen s;
	uint64_t run;
	int peer;
	struct jclient *jc = client(loop, &s, &peer, &run);
	uint32_t big = htonl(JPROTO_FRAME_MAX + 1);

	/* A header no frame may have, then (separately) bytes that look like a result. */
	write_all(peer, &big, 4);
	write_all(peer, "xxxx", 4);
	uv_run(loop, UV_RUN_ONCE);
	/* EPIPE when the client has hung up already (as it should). */
	try_send_op(peer, JPROTO_OP_RESULT,
		    json_pack("{s:I, s:{s:s}}", "id", (json_int_t)run, "result", "verdict", "OK"));
	turn_until(loop, &s.done);
	CHECK(s.done == 1 && !s.result && s.err == JPROTO_EDOWN,
	      "after an oversized frame the run ended: done %d, result %d, err %d (%s)", s.done,
	      s.result, s.err, s.message);
	CHECK(!jclient_up(jc) && s.down, "the client still says the judge is up");
	CHECK(strstr(s.message, "frame") != NULL, "the reason names the frame: %s", s.message);
	/* It hung up: the supervisor's end reads the end of the stream. */
	struct pollfd pfd = { .fd = peer, .events = POLLIN };
	char c;
	ssize_t r = -1;

	/* The shutdown came before the callback: 5 s only bounds a broken client. */
	if (poll(&pfd, 1, 5000) == 1)
		r = read(peer, &c, 1);
	CHECK(r == 0, "the client did not hang up: read %zd", r);
	CHECK(jclient_run(jc, "x", 1, NULL, on_done, &s, &run) == JPROTO_EDOWN,
	      "a run after the hang-up was accepted");
	close_client(loop, jc, peer);
}

static void test_client_busy(uv_loop_t *loop)
{
	struct seen s;
	uint64_t run;
	int peer;
	struct jclient *jc = client(loop, &s, &peer, &run);

	send_op(peer, JPROTO_OP_RESULT,
		json_pack("{s:I, s:i, s:s}", "id", (json_int_t)run, "error", JPROTO_EBUSY,
			  "message", "some words that say nothing of being busy"));
	turn_until(loop, &s.done);
	CHECK(s.done == 1 && !s.result && s.err == JPROTO_EBUSY, "busy: done %d err %d", s.done,
	      s.err);
	CHECK(jclient_up(jc), "a busy judge is not down");
	close_client(loop, jc, peer);
}

/* ---- the real supervisor ------------------------------------------------- */

static bool can_judge(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skip (supervisor parts): needs root\n");
		return false;
	}
	return true;
}

/* Forks a supervisor on a fresh socketpair; returns its pid, *fd the server's end. */
static pid_t supervisor(int *fd)
{
	pid_t parent = getpid(), pid;
	int sv[2];

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	pid = fork();
	REQUIRE(pid >= 0, "fork");
	if (pid == 0) {
		close(sv[0]);
		_exit(judgesup_main(sv[1], parent, 1, false));
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

static int reap(pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_supervisor_run_and_hang_up(void)
{
	struct jproto_reader rd;
	json_t *msg;
	int fd;
	pid_t pid = supervisor(&fd);

	jproto_reader_init(&rd);
	REQUIRE(read_op(fd, &rd, JPROTO_OP_READY, &msg) == 1, "the supervisor never got ready");
	json_decref(msg);
	send_op(fd, JPROTO_OP_RUN, json_pack("{s:i, s:s}", "id", 41, "code", "print('hi')"));
	REQUIRE(read_op(fd, &rd, JPROTO_OP_RESULT, &msg) == 1, "no result");
	CHECK(json_integer_value(json_object_get(msg, "id")) == 41, "result id");
	CHECK(strcmp(json_string_value(json_object_get(json_object_get(msg, "result"), "verdict")),
		     "OK") == 0,
	      "verdict of print('hi')");
	json_decref(msg);
	/* A request without code is answered with a code, not a sentence. */
	send_op(fd, JPROTO_OP_RUN, json_pack("{s:i}", "id", 42));
	REQUIRE(read_op(fd, &rd, JPROTO_OP_RESULT, &msg) == 1, "no answer to a bad run");
	CHECK(json_integer_value(json_object_get(msg, "error")) == JPROTO_EBADREQ, "error %lld",
	      (long long)json_integer_value(json_object_get(msg, "error")));
	json_decref(msg);
	/* An oversized frame: the supervisor hangs up and exits. */
	uint32_t big = htonl(JPROTO_FRAME_MAX + 1);
	write_all(fd, &big, 4);
	CHECK(read_op(fd, &rd, JPROTO_OP_RESULT, &msg) == 0, "the supervisor went on");
	CHECK(reap(pid) == 0, "supervisor exit status");
	jproto_reader_finish(&rd);
	close(fd);
}

/*
 * The parent that forked the supervisor is gone before the supervisor
 * armed its death signal: the kernel will never send it, so the supervisor
 * must see the new parent and stop before it creates a judge.
 */
static void test_supervisor_orphan(void)
{
	struct jproto_reader rd;
	int sv[2], gate[2];
	json_t *msg;
	pid_t a;

	REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "subreaper: %s", strerror(errno));
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	REQUIRE(pipe(gate) == 0, "pipe");
	a = fork();
	REQUIRE(a >= 0, "fork");
	if (a == 0) {
		pid_t me = getpid();

		if (fork() == 0) {
			char c;

			/* Wait for a to be gone: its end of the gate closes when it exits. */
			close(gate[1]);
			while (read(gate[0], &c, 1) < 0 && errno == EINTR)
				;
			close(sv[0]);
			_exit(judgesup_main(sv[1], me, 1, false));
		}
		_exit(0);
	}
	close(gate[0]);
	close(gate[1]);
	close(sv[1]);
	reap(a);
	/* The end of the stream, when the orphan stops at once; "ready" when it serves. */
	jproto_reader_init(&rd);
	int rc = read_op(sv[0], &rd, JPROTO_OP_READY, &msg);
	CHECK(rc == 0, "an orphaned supervisor served: %d", rc);
	if (rc == 1)
		json_decref(msg);
	jproto_reader_finish(&rd);
	close(sv[0]);
	/* The grandchild, now this process's child. */
	int st = 0;
	pid_t b;

	while ((b = wait(&st)) < 0 && errno == EINTR)
		;
	REQUIRE(b > 0, "wait: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "orphaned supervisor status %d", st);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/*
 * A Run sent while a complexity estimate is in progress finishes before the
 * estimate does: the supervisor serves its socket during an estimate (it
 * was blocked in it for up to ~5 s, every other room's Run waiting).
 */
static void test_supervisor_run_during_estimate(const char *fixtures)
{
	char path[512];
	struct problem *p;
	json_t *errors = json_array();
	struct jproto_reader rd;
	json_t *msg;
	int fd;

	snprintf(path, sizeof(path), "%s/growth", fixtures);
	REQUIRE(problem_load(path, &p, errors) == 0, "%s does not load", path);
	json_decref(errors);
	pid_t pid = supervisor(&fd);
	jproto_reader_init(&rd);
	REQUIRE(read_op(fd, &rd, JPROTO_OP_READY, &msg) == 1, "the supervisor never got ready");
	json_decref(msg);
	send_op(fd, JPROTO_OP_RUN,
		json_pack("{s:i, s:s, s:o, s:s}", "id", 60, "kind", "complexity", "problem",
			  problem_json(p, PROBLEM_VIEW_STORE), "code",
			  "def count_below(nums, t):\n    return sum(1 for x in nums if x < t)\n"));
	send_op(fd, JPROTO_OP_RUN, json_pack("{s:i, s:s}", "id", 61, "code", "print('hi')"));
	json_int_t order[2] = { -1, -1 };
	for (int i = 0; i < 2; i++) {
		REQUIRE(read_op(fd, &rd, JPROTO_OP_RESULT, &msg) == 1, "result %d never came", i);
		order[i] = json_integer_value(json_object_get(msg, "id"));
		if (order[i] == 60)
			CHECK(json_is_string(
				      json_object_get(json_object_get(msg, "result"), "class")),
			      "the estimate has no class");
		json_decref(msg);
	}
	CHECK(order[0] == 61 && order[1] == 60,
	      "results in the order %lld, %lld: the run waited for the estimate",
	      (long long)order[0], (long long)order[1]);
	close(fd);
	CHECK(reap(pid) == 0, "supervisor exit status");
	jproto_reader_finish(&rd);
	problem_destroy(p);
}

int main(int argc, char **argv)
{
	uv_loop_t loop;

	log_init_from_env();
	signal(SIGPIPE, SIG_IGN);
	test_reader();
	REQUIRE(uv_loop_init(&loop) == 0, "uv_loop_init");
	test_client_oversized(&loop);
	test_client_busy(&loop);
	uv_loop_close(&loop);
	if (can_judge()) {
		test_supervisor_run_and_hang_up();
		test_supervisor_orphan();
		REQUIRE(argc == 2, "usage: test-judgesup FIXTURES_DIR (tests/problems)");
		test_supervisor_run_during_estimate(argv[1]);
	}
	CHECK_DONE();
}
