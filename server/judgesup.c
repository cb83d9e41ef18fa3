/*
 * judgesup.c - the judge supervisor: the one part of tandem that keeps root.
 *
 * `tandem serve`, started as root, forks this process before it opens any
 * socket; the network-facing process then drops to --user.  The two talk
 * over a socketpair in the frames of jproto.h (jclient.c is the other end).
 *
 * This process parses nothing a browser sent except what the server put in
 * those frames, and treats even that as untrusted: a broken frame ends
 * the connection (and so the supervisor).  Output chunks are cut back to
 * whole UTF-8 characters so the JSON never carries a broken sequence.  It
 * must never outlive the server: it asks the kernel for a signal when its
 * parent dies, and checks that parent is still the one that forked it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "judge.h"
#include "jproto.h"
#include "judgesup.h"
#include "problem.h"
#include "log.h"

#define RUNS_MAX 256

struct srun {
	bool used;
	uint64_t client_id;
	uint64_t judge_id;
	/* bytes of an unfinished UTF-8 sequence held back per stream */
	char carry[2][4];
	size_t ncarry[2];
	/* the captured (capped) streams, for the result */
	char *cap[2];
	size_t ncap[2];
};

struct sup {
	int sock;
	struct judge *judge;
	struct srun runs[RUNS_MAX];
	bool dead;
	bool estimating;	  /* inside problem_complexity_pumped() */
	struct jproto_reader *rd; /* the socket's reader, for the pump */
};

static bool read_frames(struct sup *sp, struct jproto_reader *rd);
static bool take_frames(struct sup *sp, struct jproto_reader *rd);

/*
 * Called by an estimate while it waits on its sandboxes: what other rooms
 * sent is read and started now (it waited up to ~5 s in the socket).
 */
static void pump(void *ud)
{
	struct sup *sp = ud;
	struct pollfd pfd = { sp->sock, POLLIN, 0 };

	/* Frames that came in the estimate's own read first, then the socket's. */
	if (!sp->dead && !take_frames(sp, sp->rd))
		sp->dead = true;
	if (!sp->dead && poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
	    !read_frames(sp, sp->rd))
		sp->dead = true;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int judgesup_send(int fd, enum jproto_op op, json_t *body)
{
	size_t n = 0;
	char *frame = jproto_frame(op, body, &n);
	int rc = frame ? write_all(fd, frame, n) : -1;

	free(frame);
	return rc;
}

/* Ends run id (of the server's numbering) with err, and message as detail (NULL: none). */
static void send_error(struct sup *sp, json_int_t id, int err, const char *message)
{
	judgesup_send(sp->sock, JPROTO_OP_RESULT,
		      json_pack("{s:I, s:i, s:s}", "id", id, "error", err, "message",
				message ? message : jproto_strerror(err)));
}

static struct srun *run_by_judge(struct sup *sp, uint64_t judge_id)
{
	for (int i = 0; i < RUNS_MAX; i++)
		if (sp->runs[i].used && sp->runs[i].judge_id == judge_id)
			return &sp->runs[i];
	return NULL;
}

/* Length of the longest prefix of s that does not end inside a UTF-8 sequence. */
static size_t utf8_complete(const char *s, size_t n)
{
	size_t i = n, back = 0;

	while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
		i--;
		back++;
	}
	if (i > 0) {
		unsigned char c = (unsigned char)s[i - 1];
		size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

		if (need > 1 && back + 1 < need)
			return i - 1;
	}
	return n;
}

static void on_output(void *ud, uint64_t run_id, enum judge_stream stream, const char *data,
		      size_t len)
{
	struct sup *sp = ud;
	struct srun *r = run_by_judge(sp, run_id);
	int k = stream == JUDGE_STDERR ? 1 : 0;
	char *buf, *clean;
	size_t n, keep, clen;

	if (!r)
		return;
	/* Keep the capped stream for the result. */
	{
		char *grown = realloc(r->cap[k], r->ncap[k] + len + 1);

		if (grown) {
			memcpy(grown + r->ncap[k], data, len);
			r->ncap[k] += len;
			r->cap[k] = grown;
		}
	}
	n = r->ncarry[k] + len;
	buf = malloc(n);
	if (!buf)
		return;
	memcpy(buf, r->carry[k], r->ncarry[k]);
	memcpy(buf + r->ncarry[k], data, len);
	keep = utf8_complete(buf, n);
	r->ncarry[k] = n - keep;
	memcpy(r->carry[k], buf + keep, n - keep);
	clean = judge_utf8_sanitize(NULL, buf, keep, &clen);
	free(buf);
	if (!clean)
		return;
	if (clen)
		judgesup_send(sp->sock, JPROTO_OP_OUTPUT,
			      json_pack("{s:I, s:s, s:s%}", "id", (json_int_t)r->client_id,
					"stream", k ? "stderr" : "stdout", "data", clean, clen));
	judge_free(NULL, clean, clen + 1);
}

static void on_done(void *ud, uint64_t run_id, struct judge_result *res)
{
	struct sup *sp = ud;
	struct srun *r = run_by_judge(sp, run_id);
	json_t *result;

	if (!r)
		return;
	result = judge_result_json(res, r->cap[0], r->ncap[0], r->cap[1], r->ncap[1]);
	if (result)
		judgesup_send(
			sp->sock, JPROTO_OP_RESULT,
			json_pack("{s:I, s:o}", "id", (json_int_t)r->client_id, "result", result));
	else
		send_error(sp, (json_int_t)r->client_id, JPROTO_ENOMEM, NULL);
	free(r->cap[0]);
	free(r->cap[1]);
	memset(r, 0, sizeof(*r));
}

static void on_test(void *ud, uint64_t run_id, size_t index, const struct judge_test_result *t)
{
	struct sup *sp = ud;
	struct srun *r = run_by_judge(sp, run_id);
	json_t *o;

	if (!r)
		return;
	o = json_pack("{s:s, s:f, s:I}", "verdict", judge_verdict_str(t->verdict), "cpu_ms",
		      t->cpu_ms, "mem_kb", (json_int_t)t->mem_kb);
	if (o && t->value)
		json_object_set(o, "value", t->value);
	if (o && t->error)
		json_object_set(o, "error", t->error);
	if (o && t->output)
		json_object_set(o, "output", t->output);
	if (o)
		judgesup_send(sp->sock, JPROTO_OP_TEST,
			      json_pack("{s:I, s:I, s:o}", "id", (json_int_t)r->client_id, "index",
					(json_int_t)index, "test", o));
}

/*
 * A complexity estimate: problem_complexity_pumped() drives the judge
 * itself for up to ~5 s, and pump() serves the socket meanwhile: other
 * rooms' runs start and finish during it.  One estimate at a time: another
 * arriving meanwhile is answered busy.
 */
static void run_complexity(struct sup *sp, json_t *msg)
{
	json_int_t id = json_integer_value(json_object_get(msg, "id"));
	json_t *code = json_object_get(msg, "code"), *errors = json_array();
	struct problem *p = NULL;
	json_t *res = NULL;

	if (sp->estimating) {
		send_error(sp, id, JPROTO_EBUSY, NULL);
		json_decref(errors);
		return;
	}
	if (json_is_string(code) &&
	    !problem_from_json(json_object_get(msg, "problem"), "complexity", &p, errors) &&
	    p->gen) {
		sp->estimating = true;
		res = problem_complexity_pumped(sp->judge, p, json_string_value(code),
						json_string_length(code), pump, sp);
		sp->estimating = false;
	}
	if (res)
		judgesup_send(sp->sock, JPROTO_OP_RESULT,
			      json_pack("{s:I, s:o}", "id", id, "result", res));
	else
		send_error(sp, id, p ? JPROTO_EJUDGE : JPROTO_EBADREQ,
			   p ? "the estimate failed"
			     : json_string_value(json_array_get(errors, 0)));
	problem_destroy(p);
	json_decref(errors);
}

static void start_run(struct sup *sp, json_t *msg)
{
	json_int_t id = json_integer_value(json_object_get(msg, "id"));
	const char *code = json_string_value(json_object_get(msg, "code"));
	json_t *lim = json_object_get(msg, "limits");
	struct judge_request req;
	struct srun *r = NULL;
	int rc;

	for (int i = 0; i < RUNS_MAX && !r; i++)
		if (!sp->runs[i].used)
			r = &sp->runs[i];
	if (!code || !r) {
		send_error(sp, id, r ? JPROTO_EBADREQ : JPROTO_EBUSY, NULL);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.mode = JUDGE_MODE_SCRIPT;
	if (json_is_string(json_object_get(msg, "mode")) &&
	    judge_mode_parse(json_string_value(json_object_get(msg, "mode")), &req.mode)) {
		send_error(sp, id, JPROTO_EBADREQ, "unknown mode");
		return;
	}
	if (req.mode != JUDGE_MODE_SCRIPT) {
		req.entry = json_string_value(json_object_get(msg, "entry"));
		req.tests = json_object_get(msg, "tests");
		req.options = json_object_get(msg, "options");
		req.test = on_test;
	}
	req.code = code;
	req.code_len = json_string_length(json_object_get(msg, "code"));
	req.stdin_data = json_string_value(json_object_get(msg, "stdin"));
	req.stdin_len = req.stdin_data ? strlen(req.stdin_data) : 0;
	if (json_is_object(lim)) {
		req.limits.cpu_ms = (uint32_t)json_integer_value(json_object_get(lim, "cpu_ms"));
		req.limits.wall_ms = (uint32_t)json_integer_value(json_object_get(lim, "wall_ms"));
		req.limits.mem_mb = (uint32_t)json_integer_value(json_object_get(lim, "mem_mb"));
		req.limits.output_kb =
			(uint32_t)json_integer_value(json_object_get(lim, "output_kb"));
	}
	memset(r, 0, sizeof(*r));
	r->used = true;
	r->client_id = (uint64_t)id;
	rc = judge_submit(sp->judge, &req, on_output, on_done, sp, &r->judge_id);
	if (rc) {
		memset(r, 0, sizeof(*r));
		if (rc == JUDGE_EBUSY)
			send_error(sp, id, JPROTO_EBUSY, NULL);
		else if (rc == JUDGE_ENOMEM)
			send_error(sp, id, JPROTO_ENOMEM, NULL);
		else if (rc == JUDGE_EINVAL)
			send_error(sp, id, JPROTO_EBADREQ, judge_strerror(rc));
		else
			send_error(sp, id, JPROTO_EJUDGE, judge_strerror(rc));
	}
}

static void on_frame(struct sup *sp, enum jproto_op op, json_t *msg)
{
	const char *kind = json_string_value(json_object_get(msg, "kind"));

	if (op == JPROTO_OP_RUN && kind && !strcmp(kind, "complexity")) {
		run_complexity(sp, msg);
	} else if (op == JPROTO_OP_RUN) {
		start_run(sp, msg);
	} else if (op == JPROTO_OP_CANCEL) {
		uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));

		for (int i = 0; i < RUNS_MAX; i++)
			if (sp->runs[i].used && sp->runs[i].client_id == id)
				judge_cancel(sp->judge, sp->runs[i].judge_id);
	} else {
		/* The server never sends what the supervisor says: the stream is broken. */
		log_event(LOG_ERROR, "judgesup.bad_frame", "op=%s", jproto_op_name(op));
		sp->dead = true;
	}
}

/* Reads what the server sent and acts on every whole frame; false: hang up. */
/* Acts on every whole frame the reader holds; false: hang up. */
static bool take_frames(struct sup *sp, struct jproto_reader *rd)
{
	enum jproto_op op;
	json_t *msg;
	int rc;

	while (!sp->dead && (rc = jproto_reader_next(rd, &msg, &op)) != 0) {
		if (rc < 0) {
			log_event(LOG_ERROR, "judgesup.bad_frame", "error=%s", jproto_strerror(rc));
			return false;
		}
		on_frame(sp, op, msg);
		json_decref(msg);
	}
	return !sp->dead;
}

static bool read_frames(struct sup *sp, struct jproto_reader *rd)
{
	size_t avail = 0;
	char *space = jproto_reader_space(rd, &avail);
	ssize_t got;

	if (!space)
		return false;
	got = read(sp->sock, space, avail);
	if (got < 0 && errno == EINTR)
		return true;
	if (got <= 0)
		return false; /* the server went away */
	jproto_reader_filled(rd, (size_t)got);
	return take_frames(sp, rd);
}

static void judge_log(void *ud, enum judge_log_level level, const char *msg)
{
	static const enum log_level map[] = { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

	(void)ud;
	log_event(map[level <= JUDGE_LOG_DEBUG ? level : JUDGE_LOG_DEBUG], "judge", "msg=%s", msg);
}

/* Set by SIGTERM: the loop below ends, sandboxes are stopped, the process exits. */
static volatile sig_atomic_t term;

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

int judgesup_main(int sock, pid_t parent, unsigned workers, bool unsafe_no_cgroup)
{
	struct judge_config cfg;
	struct jproto_reader rd;
	struct sup sp;
	int rc;

	/*
	 * The death signal covers a parent that dies from now on; one that died
	 * before it was set has left this process to a new parent already.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent) {
		log_event(LOG_ERROR, "judgesup.orphan", "parent=%d now=%d", (int)parent,
			  (int)getppid());
		return 1;
	}
	prctl(PR_SET_NAME, "tandem-judge");
	signal(SIGPIPE, SIG_IGN);
	/*
	 * A handler, not the default action: SIGTERM must end this process
	 * even when it was started with SIGTERM ignored or blocked (both are
	 * inherited), and it ends through judge_destroy(), sandboxes included.
	 * No SA_RESTART: poll() below returns EINTR and the loop sees term.
	 */
	struct sigaction sa;
	sigset_t set;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	memset(&sp, 0, sizeof(sp));
	sp.sock = sock;
	memset(&cfg, 0, sizeof(cfg));
	cfg.pool_size = workers;
	/* Every run the supervisor can track may wait: a burst of 100 rooms submitting is queued.
	 */
	cfg.queue_max = RUNS_MAX;
	cfg.cgroup = unsafe_no_cgroup ? JUDGE_CGROUP_NONE : JUDGE_CGROUP_AUTO;
	cfg.log = judge_log;
	rc = judge_create(&cfg, &sp.judge);
	if (rc) {
		log_event(LOG_ERROR, "judgesup.start", "error=%s", judge_strerror(rc));
		judgesup_send(sock, JPROTO_OP_DOWN,
			      json_pack("{s:i, s:s}", "error", JPROTO_EJUDGE, "message",
					judge_strerror(rc)));
		return 1;
	}
	judgesup_send(sock, JPROTO_OP_READY,
		      json_pack("{s:s}", "cgroup", judge_cgroup_version(sp.judge)));
	log_event(LOG_INFO, "judgesup.ready", "pid=%d cgroup=%s", (int)getpid(),
		  judge_cgroup_version(sp.judge));

	jproto_reader_init(&rd);
	sp.rd = &rd;
	while (!sp.dead && !term) {
		struct pollfd pfd[2] = { { sock, POLLIN, 0 }, { judge_fd(sp.judge), POLLIN, 0 } };
		int timeout = judge_timeout_ms(sp.judge);
		int n = poll(pfd, 2, timeout);

		if (n < 0 && errno != EINTR)
			break;
		if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) && !read_frames(&sp, &rd))
			break;
		/* Once a second, tell the server how busy the pool is (for /metrics). */
		{
			static time_t last;
			time_t now = time(NULL);

			if (now != last) {
				struct judge_stats st;

				last = now;
				judge_get_stats(sp.judge, &st);
				judgesup_send(sock, JPROTO_OP_STATS,
					      json_pack("{s:i, s:i, s:i, s:i}", "warm",
							(int)st.warm, "running", (int)st.running,
							"starting", (int)st.starting, "queued",
							(int)st.queued));
			}
		}
		if (judge_process(sp.judge) == JUDGE_EZYGOTE)
			log_event(LOG_ERROR, "judgesup.zygote", "msg=%s", "zygote died");
	}
	jproto_reader_finish(&rd);
	judge_destroy(sp.judge);
	for (int i = 0; i < RUNS_MAX; i++) {
		free(sp.runs[i].cap[0]);
		free(sp.runs[i].cap[1]);
	}
	log_event(LOG_INFO, "judgesup.exit", "pid=%d", (int)getpid());
	return 0;
}
