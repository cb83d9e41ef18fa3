/*
 * judge.c - the pool of pre-warmed, single-use sandboxes.
 *
 * Why it exists: it is the state machine between the caller's event loop
 * and the zygote.  It asks the zygote for sandboxes ahead of demand, puts
 * each into its own cgroup, hands a request to a warm one, streams its
 * output back under the caps, enforces CPU and wall time from outside,
 * turns what happened into a verdict, and destroys the sandbox.
 *
 * Life of a sandbox slot:
 *   EMPTY -> SPAWNING (asked the zygote) -> STARTING (have its fds; it sent
 *   "R": attach its cgroup, answer "G") -> ISOLATING (it drops everything)
 *   -> WARM ("K": waiting for a request) -> RUNNING -> ENDING (its init was
 *   reaped; collect, check the cgroup empty, remove it) -> EMPTY.
 *
 * What it must never do: block (every fd is non-blocking and driven by
 * epoll), open anything inside a sandbox's file system, trust what a
 * sandbox writes (result lines are parsed defensively and capped), or let
 * a run's state reach the next run (every slot is rebuilt from scratch).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "judge-internal.h"

#ifndef JUDGE_PY_DIR
#define JUDGE_PY_DIR "judge/py"
#endif

#define SPAWN_TIMEOUT_NS (10ull * 1000000000u)
#define END_RETRY_NS	 (1ull * 1000000u)
#define END_RETRIES	 2000
#define RESULT_CAP	 (16u << 20) /* bytes of result lines per run */
#define ZYGOTE_START_MS	 10000
#define ZYGOTE_RESTARTS	 5

enum box_state {
	BOX_EMPTY,
	BOX_SPAWNING,
	BOX_STARTING,
	BOX_ISOLATING,
	BOX_WARM,
	BOX_RUNNING,
	BOX_ENDING,
};

enum kill_reason {
	KILL_NONE,
	KILL_CPU,
	KILL_WALL,
	KILL_OUTPUT,
	KILL_CANCEL,
	KILL_INTERNAL,
};

enum fd_kind {
	FD_CTL = 1,
	FD_IN = 2,
	FD_OUT = 3,
	FD_ERR = 4,
	FD_PID = 5, /* the sandbox init's pidfd: readable once it has exited */
};

#define ZYGOTE_TAG UINT64_MAX

/*
 * One request from submit to completion.  It owns the serialized request
 * and stdin bytes until they have been written to the sandbox.
 */
struct run {
	uint64_t id;
	enum judge_mode mode;
	struct judge_limits lim;
	size_t ntests;
	char *req;
	size_t req_len, req_off;
	char *in;
	size_t in_len, in_off;
	judge_output_cb *out;
	judge_done_cb *done;
	judge_test_cb *test;
	void *ud;
	uint64_t t_start;
	enum kill_reason kill;
	char *line;
	size_t line_len, line_cap, result_bytes;
	bool memory_error;
	bool has_status; /* the sandbox's init reported the program's wait status */
	int status;
	char *internal;
	struct judge_result res;
};

/* One slot of the pool; see the life cycle above. */
struct box {
	unsigned slot, gen;
	enum box_state st;
	int ctl, in, out, err, pidfd;
	pid_t pid;
	struct judge__cgbox cg;
	struct run *run;
	uint64_t deadline_ns; /* spawn timeout, or the run's wall deadline */
	uint64_t cpu_check_ns;
	uint64_t retry_ns;
	unsigned retries;
	bool exited;
	int status;
	double rusage_ms;
	bool ctl_eof, ctl_wr_done;
	bool init_gone; /* pidfd readable: init and so every process of the namespace gone */
};

struct judge {
	const struct judge_allocator *alloc;
	void (*log)(void *ud, enum judge_log_level level, const char *msg);
	void *log_ud;
	struct judge_limits defaults;
	unsigned pool_size, queue_max, pids_max;
	int ep;
	struct judge__zygote z;
	struct judge__cg cg;
	struct box *boxes;
	struct run **queue;
	unsigned qhead, qlen;
	uint64_t next_id;
	uint64_t runs_done;
	unsigned spawn_failures;
	unsigned restarts;
	bool broken;
	long ncpu;
	char *python, *py_dir, *config;
	void *bpf;
	size_t bpf_len;
	/* judge_run()/judge_wait() bookkeeping. */
	unsigned finished_tick;
};

static void logf_(struct judge *j, enum judge_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_(struct judge *j, enum judge_log_level lvl, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (j->log) {
		j->log(j->log_ud, lvl, msg);
	} else if (lvl <= JUDGE_LOG_INFO) {
		static const char *const names[] = { "error", "warning", "info", "debug" };
		fprintf(stderr, "tandem-judge: %s: %s\n", names[lvl], msg);
	}
}

static uint64_t tag(const struct box *b, enum fd_kind k)
{
	return ((uint64_t)b->gen << 32) | ((uint64_t)b->slot << 3) | (uint64_t)k;
}

static int ep_add(struct judge *j, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(j->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void ep_mod(struct judge *j, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	epoll_ctl(j->ep, EPOLL_CTL_MOD, fd, &ev);
}

static void close_fd(struct judge *j, int *fd)
{
	if (*fd >= 0) {
		epoll_ctl(j->ep, EPOLL_CTL_DEL, *fd, NULL);
		close(*fd);
		*fd = -1;
	}
}

/* ---- Runs ---------------------------------------------------------------- */

static void run_free(struct judge *j, struct run *r)
{
	if (!r)
		return;
	judge__free(j->alloc, r->req, r->req_len + 1);
	judge__free(j->alloc, r->in, r->in_len);
	judge__free(j->alloc, r->line, r->line_cap);
	judge__strfree(j->alloc, r->internal);
	judge_result_finish(&r->res);
	judge__free(j->alloc, r, sizeof(*r));
}

static void run_complete(struct judge *j, struct run *r)
{
	j->runs_done++;
	j->finished_tick++;
	r->done(r->ud, r->id, &r->res);
	run_free(j, r);
}

/* Completes a run that never reached a sandbox (queued, shutdown, ...). */
static void run_fail(struct judge *j, struct run *r, const char *why)
{
	memset(&r->res, 0, sizeof(r->res));
	r->res.alloc = j->alloc;
	r->res.verdict = JUDGE_VERDICT_IE;
	r->res.exit_code = -1;
	r->res.message = judge__strdup(j->alloc, why);
	r->res.cgroup = judge_cgroup_version(j);
	run_complete(j, r);
}

/* ---- Sandboxes ----------------------------------------------------------- */

static void box_reset(struct judge *j, struct box *b)
{
	close_fd(j, &b->ctl);
	close_fd(j, &b->in);
	close_fd(j, &b->out);
	close_fd(j, &b->err);
	if (b->pidfd >= 0) {
		epoll_ctl(j->ep, EPOLL_CTL_DEL, b->pidfd, NULL);
		close(b->pidfd);
		b->pidfd = -1;
	}
	b->pid = 0;
	b->st = BOX_EMPTY;
	b->exited = false;
	b->init_gone = false;
	b->ctl_eof = b->ctl_wr_done = false;
	b->retries = 0;
	b->rusage_ms = 0;
	b->deadline_ns = b->cpu_check_ns = b->retry_ns = 0;
}

static void box_kill(struct judge *j, struct box *b, enum kill_reason why)
{
	if (b->run && b->run->kill == KILL_NONE)
		b->run->kill = why;
	if (b->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, b->pidfd, SIGKILL, NULL, 0);
	/* The pid-namespace init's death takes the rest; this is a backstop. */
	judge__cgbox_kill(&j->cg, &b->cg);
}

static void box_spawn(struct judge *j, struct box *b)
{
	char msg[64];
	b->gen++;
	int n = snprintf(msg, sizeof(msg), "S %u %u", b->slot, b->gen);
	if (send(j->z.fd, msg, (size_t)n, MSG_NOSIGNAL) != n) {
		logf_(j, JUDGE_LOG_ERROR, "cannot ask the zygote for a sandbox: %s",
		      strerror(errno));
		return;
	}
	b->st = BOX_SPAWNING;
	b->deadline_ns = judge__now_ns() + SPAWN_TIMEOUT_NS;
}

/* A sandbox that failed before running anything: tear it down quietly. */
static void box_abandon(struct judge *j, struct box *b, const char *why)
{
	logf_(j, JUDGE_LOG_WARN, "sandbox %u.%u failed during set-up: %s", b->slot, b->gen, why);
	j->spawn_failures++;
	box_kill(j, b, KILL_INTERNAL);
	close_fd(j, &b->ctl);
	close_fd(j, &b->in);
	close_fd(j, &b->out);
	close_fd(j, &b->err);
	if (b->st == BOX_SPAWNING) {
		box_reset(j, b);
		return;
	}
	b->st = BOX_ENDING;
	b->retry_ns = judge__now_ns() + END_RETRY_NS;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* The zygote handed over a new sandbox's fds. */
static void box_got_fds(struct judge *j, struct box *b, const int *fds)
{
	b->ctl = fds[0];
	b->in = fds[1];
	b->out = fds[2];
	b->err = fds[3];
	for (int i = 0; i < 4; i++)
		set_nonblock(fds[i]);
	b->st = BOX_STARTING;
	int e = judge__cgbox_create(&j->cg, &b->cg, b->slot, b->gen, j->pids_max);
	if (e) {
		box_abandon(j, b, "cannot create its cgroup");
		return;
	}
	if (ep_add(j, b->ctl, EPOLLIN, tag(b, FD_CTL)) < 0)
		box_abandon(j, b, "epoll");
}

/* "R" arrived with the sandbox's credentials: cgroup it and let it go on. */
static void box_starting_read(struct judge *j, struct box *b)
{
	char c = 0;
	char cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(b->ctl, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	struct cmsghdr *cm = n == 1 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (c != 'R' || !cm || cm->cmsg_type != SCM_CREDENTIALS) {
		box_abandon(j, b, "no ready message");
		return;
	}
	struct ucred cr;
	memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
	b->pid = cr.pid;
	b->pidfd = (int)syscall(SYS_pidfd_open, cr.pid, 0);
	if (b->pidfd < 0) {
		box_abandon(j, b, "pidfd_open");
		return;
	}
	if (judge__cgbox_attach(&j->cg, &b->cg, cr.pid) < 0) {
		box_abandon(j, b, "cannot attach to its cgroup");
		return;
	}
	char g = 'G';
	if (send(b->ctl, &g, 1, MSG_NOSIGNAL) != 1) {
		box_abandon(j, b, "cannot release it");
		return;
	}
	b->st = BOX_ISOLATING;
}

static void box_isolating_read(struct judge *j, struct box *b)
{
	char c = 0;
	ssize_t n = recv(b->ctl, &c, 1, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != 1 || c != 'K') {
		box_abandon(j, b, "did not confirm its isolation");
		return;
	}
	b->st = BOX_WARM;
	b->deadline_ns = 0;
	j->spawn_failures = 0;
}

/* ---- Running ------------------------------------------------------------- */

static void write_request(struct judge *j, struct box *b)
{
	struct run *r = b->run;
	while (r->req_off < r->req_len) {
		ssize_t n = send(b->ctl, r->req + r->req_off, r->req_len - r->req_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ep_mod(j, b->ctl, EPOLLIN | EPOLLOUT, tag(b, FD_CTL));
			return;
		}
		if (n < 0) {
			r->req_off = r->req_len; /* it is gone; the exit will tell */
			break;
		}
		r->req_off += (size_t)n;
	}
	shutdown(b->ctl, SHUT_WR);
	b->ctl_wr_done = true;
	ep_mod(j, b->ctl, EPOLLIN, tag(b, FD_CTL));
}

static void write_stdin(struct judge *j, struct box *b)
{
	struct run *r = b->run;
	while (r->in_off < r->in_len) {
		ssize_t n = write(b->in, r->in + r->in_off, r->in_len - r->in_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (ep_add(j, b->in, EPOLLOUT, tag(b, FD_IN)) < 0 && errno == EEXIST)
				return;
			return;
		}
		if (n < 0)
			break; /* EPIPE: the program stopped reading */
		r->in_off += (size_t)n;
	}
	close_fd(j, &b->in);
}

static void box_start_run(struct judge *j, struct box *b, struct run *r)
{
	b->run = r;
	b->st = BOX_RUNNING;
	judge__cgbox_arm(&j->cg, &b->cg, (uint64_t)r->lim.mem_mb << 20);
	r->t_start = judge__now_ns();
	b->deadline_ns = r->t_start + (uint64_t)r->lim.wall_ms * 1000000u;
	b->cpu_check_ns =
		j->cg.version ? r->t_start + (uint64_t)r->lim.cpu_ms * 1000000u / (uint64_t)j->ncpu
			      : 0;
	ep_add(j, b->out, EPOLLIN, tag(b, FD_OUT));
	ep_add(j, b->err, EPOLLIN, tag(b, FD_ERR));
	ep_add(j, b->pidfd, EPOLLIN, tag(b, FD_PID));
	write_request(j, b);
	write_stdin(j, b);
}

static void deliver(struct judge *j, struct box *b, enum judge_stream s, const char *buf, size_t n)
{
	struct run *r = b->run;
	uint64_t *count = s == JUDGE_STDOUT ? &r->res.stdout_bytes : &r->res.stderr_bytes;
	uint64_t cap = (uint64_t)r->lim.output_kb * 1024;
	uint64_t before = *count;
	*count += n;
	if (before < cap && r->out) {
		size_t give = (size_t)(cap - before < n ? cap - before : n);
		r->out(r->ud, r->id, s, buf, give);
	}
	if (*count > cap) {
		r->res.truncated = true;
		if (r->kill == KILL_NONE)
			box_kill(j, b, KILL_OUTPUT);
	}
}

static void read_stream(struct judge *j, struct box *b, int *fd, enum judge_stream s)
{
	char buf[65536];
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = read(*fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(j, fd);
			return;
		}
		if (b->run)
			deliver(j, b, s, buf, (size_t)n);
	}
}

static void handle_line(struct judge *j, struct run *r, const char *line, size_t len)
{
	json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return;
	}
	json_t *v;
	if (json_is_true(json_object_get(o, "memory_error"))) {
		r->memory_error = true;
	} else if ((v = json_object_get(o, "status")) && json_is_integer(v)) {
		r->has_status = true;
		r->status = (int)json_integer_value(v);
	} else if ((v = json_object_get(o, "compile")) && json_is_string(v)) {
		if (strcmp(json_string_value(v), "ok") != 0) {
			json_t *e = json_object_get(o, "error");
			json_decref(r->res.compile_error);
			r->res.compile_error = e ? json_incref(e) : json_object();
		}
	} else if ((v = json_object_get(o, "test")) && json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i >= 0 && (size_t)i < r->res.ntests) {
			struct judge_test_result *t = &r->res.tests[i];
			json_decref(t->value);
			json_decref(t->error);
			json_t *val = json_object_get(o, "value");
			json_t *err = json_object_get(o, "error");
			t->error = json_is_object(err) ? json_incref(err) : NULL;
			t->value = !t->error && val ? json_incref(val) : NULL;
			json_t *c = json_object_get(o, "cpu_ms");
			t->cpu_ms = json_is_number(c) ? json_number_value(c) : -1;
			json_t *m = json_object_get(o, "mem_kb");
			t->mem_kb = json_is_integer(m) && json_integer_value(m) > 0
					    ? (uint64_t)json_integer_value(m)
					    : 0;
			json_decref(t->output);
			t->output = NULL;
			json_t *so = json_object_get(o, "stdout"),
			       *se = json_object_get(o, "stderr");
			if (json_is_string(so) && json_is_string(se))
				t->output = json_pack(
					"{s:O, s:O, s:b}", "stdout", so, "stderr", se, "truncated",
					json_is_true(json_object_get(o, "truncated")));
			if (r->test) {
				const char *type =
					json_string_value(json_object_get(t->error, "type"));
				t->verdict = !t->error			     ? JUDGE_VERDICT_NONE
					     : !type			     ? JUDGE_VERDICT_RE
					     : !strcmp(type, "MemoryError")  ? JUDGE_VERDICT_MLE
					     : !strcmp(type, "HarnessError") ? JUDGE_VERDICT_IE
									     : JUDGE_VERDICT_RE;
				r->test(r->ud, r->id, (size_t)i, t);
				t->verdict = JUDGE_VERDICT_NONE;
			}
		}
	} else if ((v = json_object_get(o, "internal")) && json_is_string(v)) {
		judge__strfree(j->alloc, r->internal);
		r->internal = judge__strdup(j->alloc, json_string_value(v));
	}
	json_decref(o);
}

static void box_running_ctl(struct judge *j, struct box *b)
{
	struct run *r = b->run;
	char buf[65536];
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = recv(b->ctl, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			b->ctl_eof = true;
			close_fd(j, &b->ctl);
			return;
		}
		r->result_bytes += (size_t)n;
		if (r->result_bytes > RESULT_CAP) {
			r->res.truncated = true;
			box_kill(j, b, KILL_OUTPUT);
			continue;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				handle_line(j, r, r->line, r->line_len);
				r->line_len = 0;
				continue;
			}
			if (r->line_len == r->line_cap) {
				size_t nc = r->line_cap ? r->line_cap * 2 : 4096;
				char *nl = judge__realloc(j->alloc, r->line, r->line_cap, nc);
				if (!nl) {
					box_kill(j, b, KILL_INTERNAL);
					return;
				}
				r->line = nl;
				r->line_cap = nc;
			}
			r->line[r->line_len++] = buf[i];
		}
	}
}

/* ---- Ending -------------------------------------------------------------- */

static void finish_verdict(struct judge *j, struct box *b, uint64_t cpu_ns, uint64_t ooms)
{
	struct run *r = b->run;
	struct judge_result *res = &r->res;
	res->cpu_ms = j->cg.version ? (double)cpu_ns / 1e6 : b->rusage_ms;
	/* The init's own status says little (0, or SIGKILL when killed). */
	int st = r->has_status && (!b->exited || WIFEXITED(b->status)) ? r->status : b->status;
	res->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	res->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	bool cpu_over = res->cpu_ms > (double)r->lim.cpu_ms;
	enum judge_verdict v;
	const char *msg = NULL;
	switch (r->kill) {
	case KILL_OUTPUT:
		v = JUDGE_VERDICT_OLE;
		msg = "output limit exceeded";
		break;
	case KILL_CPU:
		v = JUDGE_VERDICT_TLE;
		msg = "CPU time limit exceeded";
		break;
	case KILL_WALL:
		v = JUDGE_VERDICT_TLE;
		msg = "wall time limit exceeded";
		break;
	case KILL_CANCEL:
		v = JUDGE_VERDICT_IE;
		msg = "cancelled";
		break;
	case KILL_INTERNAL:
		v = JUDGE_VERDICT_IE;
		msg = "judge error";
		break;
	default:
		if (ooms > 0 || r->memory_error) {
			v = JUDGE_VERDICT_MLE;
			msg = "memory limit exceeded";
		} else if (cpu_over || res->signal == SIGXCPU) {
			v = JUDGE_VERDICT_TLE;
			msg = "CPU time limit exceeded";
		} else if (res->signal || res->exit_code != 0) {
			v = JUDGE_VERDICT_RE;
		} else {
			v = JUDGE_VERDICT_OK;
		}
	}
	if (r->internal && v != JUDGE_VERDICT_TLE && v != JUDGE_VERDICT_OLE &&
	    v != JUDGE_VERDICT_MLE) {
		v = JUDGE_VERDICT_IE;
		msg = r->internal;
	}
	if (r->mode != JUDGE_MODE_SCRIPT) {
		/* One set of rules for tests (compare.h, docs/judge-values.md). */
		judge_result_classify(res, v, r->internal != NULL);
		if (res->compile_error && v != JUDGE_VERDICT_IE)
			v = JUDGE_VERDICT_CE;
	}
	res->verdict = v;
	if (msg && !res->message)
		res->message = judge__strdup(j->alloc, msg);
}

/*
 * Called when the sandbox's init has been reaped (and, for a run, its
 * streams have reached EOF): checks the cgroup is empty and removes it.
 */
static void box_try_end(struct judge *j, struct box *b)
{
	struct run *r = b->run;
	if (r) {
		/*
		 * The result is final once the streams are closed and the init
		 * is gone: when a pid namespace's init exits, the kernel has
		 * already killed and waited for every other process in it.  The
		 * program's status came from the init; without it (killed from
		 * here, or by the OOM killer) or without cgroup accounting, the
		 * zygote's report of the init's status is awaited.
		 */
		if (b->out >= 0 || b->err >= 0 || b->ctl >= 0)
			return;
		bool early =
			b->init_gone && j->cg.version && (r->has_status || r->kill != KILL_NONE);
		if (!b->exited && !early)
			return;
		if (!b->exited && !r->has_status)
			b->status = SIGKILL; /* killed by us, as a wait status */
		r->res.wall_ms = (double)(judge__now_ns() - r->t_start) / 1e6;
		r->res.mem_kb = judge__cgbox_mem_peak(&j->cg, &b->cg) / 1024;
		uint64_t cpu = judge__cgbox_cpu_ns(&j->cg, &b->cg);
		uint64_t ooms = judge__cgbox_oom_kills(&j->cg, &b->cg);
		finish_verdict(j, b, cpu, ooms);
		b->run = NULL;
		b->st = BOX_ENDING;
		run_complete(j, r);
	}
	/* Then, once the zygote has reaped the init: empty, and removed. */
	if (!b->exited)
		return;
	b->st = BOX_ENDING;
	long left = judge__cgbox_nprocs(&j->cg, &b->cg);
	if (left != 0) {
		judge__cgbox_kill(&j->cg, &b->cg);
		goto retry;
	}
	if (judge__cgbox_remove(&j->cg, &b->cg) < 0)
		goto retry;
	box_reset(j, b);
	return;
retry:
	b->st = BOX_ENDING;
	if (++b->retries > END_RETRIES) {
		logf_(j, JUDGE_LOG_ERROR, "sandbox %u.%u: cgroup not empty/removable; leaving it",
		      b->slot, b->gen);
		b->cg.created = false;
		box_reset(j, b);
		return;
	}
	b->retry_ns = judge__now_ns() + END_RETRY_NS;
}

/* ---- The zygote's messages ----------------------------------------------- */

static struct box *find_box(struct judge *j, unsigned slot, unsigned gen)
{
	if (slot >= j->pool_size || j->boxes[slot].gen != gen)
		return NULL;
	return &j->boxes[slot];
}

static void zygote_message(struct judge *j, const char *msg, size_t len, const int *fds, int nfds)
{
	unsigned slot = 0, gen = 0;
	int status = 0;
	double ru = 0;
	char text[256];
	size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
	memcpy(text, msg, n);
	text[n] = '\0';
	struct box *b = NULL;
	if (text[0] == 'S' && nfds == 4 && sscanf(text, "S %u %u", &slot, &gen) == 2 &&
	    (b = find_box(j, slot, gen)) && b->st == BOX_SPAWNING) {
		box_got_fds(j, b, fds);
		return;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (text[0] == 'X' && sscanf(text, "X %u %u %d %lf", &slot, &gen, &status, &ru) >= 3 &&
	    (b = find_box(j, slot, gen))) {
		b->exited = true;
		b->status = status;
		b->rusage_ms = ru;
		if (b->st != BOX_RUNNING && b->st != BOX_ENDING)
			box_abandon(j, b, "exited before its run");
		box_try_end(j, b);
	} else if (text[0] == 'E' && sscanf(text, "E %u %u", &slot, &gen) == 2 &&
		   (b = find_box(j, slot, gen))) {
		box_abandon(j, b, text);
	} else if (text[0] == 'L') {
		logf_(j, JUDGE_LOG_WARN, "zygote: %s", text + 1);
	}
}

static void zygote_died(struct judge *j);
static void fail_all(struct judge *j, const char *why);

static void zygote_read(struct judge *j)
{
	for (;;) {
		char buf[512];
		char cbuf[CMSG_SPACE(sizeof(int) * 8)];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(j->z.fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			zygote_died(j);
			return;
		}
		int fds[8], nfds = 0;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < k && nfds < 8; i++)
				memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		}
		zygote_message(j, buf, (size_t)n, fds, nfds);
	}
}

/* ---- Dispatch and timers ------------------------------------------------- */

static void dispatch(struct judge *j)
{
	for (unsigned i = 0; i < j->pool_size && j->qlen; i++) {
		struct box *b = &j->boxes[i];
		if (b->st != BOX_WARM)
			continue;
		struct run *r = j->queue[j->qhead];
		j->qhead = (j->qhead + 1) % j->queue_max;
		j->qlen--;
		box_start_run(j, b, r);
	}
}

static void refill(struct judge *j)
{
	if (j->broken || j->z.fd < 0)
		return;
	/*
	 * Sandboxes that keep failing before they are warm mean a broken set-up
	 * (not a hostile program: none has run in them): stop forking and end
	 * every waiting run with IE instead of letting it wait forever.
	 */
	if (j->spawn_failures > 20) {
		logf_(j, JUDGE_LOG_ERROR, "sandboxes keep failing during set-up; giving up");
		fail_all(j, "the judge cannot create sandboxes");
		return;
	}
	for (unsigned i = 0; i < j->pool_size; i++)
		if (j->boxes[i].st == BOX_EMPTY)
			box_spawn(j, &j->boxes[i]);
}

static void timers(struct judge *j)
{
	uint64_t now = judge__now_ns();
	for (unsigned i = 0; i < j->pool_size; i++) {
		struct box *b = &j->boxes[i];
		switch (b->st) {
		case BOX_SPAWNING:
		case BOX_STARTING:
		case BOX_ISOLATING:
			if (b->deadline_ns && now >= b->deadline_ns) {
				b->deadline_ns = 0;
				box_abandon(j, b, "timed out");
			}
			break;
		case BOX_RUNNING:
			if (b->run->kill != KILL_NONE)
				break;
			if (now >= b->deadline_ns) {
				box_kill(j, b, KILL_WALL);
				break;
			}
			if (b->cpu_check_ns && now >= b->cpu_check_ns) {
				uint64_t used = judge__cgbox_cpu_ns(&j->cg, &b->cg);
				uint64_t lim = (uint64_t)b->run->lim.cpu_ms * 1000000u;
				if (used >= lim) {
					box_kill(j, b, KILL_CPU);
					break;
				}
				uint64_t wait = (lim - used) / (uint64_t)j->ncpu;
				if (wait < 2000000u)
					wait = 2000000u;
				b->cpu_check_ns = now + wait;
			}
			break;
		case BOX_ENDING:
			if (b->retry_ns && now >= b->retry_ns) {
				b->retry_ns = 0;
				box_try_end(j, b);
			}
			break;
		default:
			break;
		}
	}
}

int judge_timeout_ms(const struct judge *j)
{
	uint64_t next = UINT64_MAX;
	if (j->broken)
		return -1;
	for (unsigned i = 0; i < j->pool_size; i++) {
		const struct box *b = &j->boxes[i];
		uint64_t t[3] = { 0, 0, 0 };
		switch (b->st) {
		case BOX_SPAWNING:
		case BOX_STARTING:
		case BOX_ISOLATING:
			t[0] = b->deadline_ns;
			break;
		case BOX_RUNNING:
			if (b->run->kill == KILL_NONE) {
				t[0] = b->deadline_ns;
				t[1] = b->cpu_check_ns;
			}
			break;
		case BOX_ENDING:
			t[2] = b->retry_ns;
			break;
		default:
			break;
		}
		for (int k = 0; k < 3; k++)
			if (t[k] && t[k] < next)
				next = t[k];
	}
	if (next == UINT64_MAX)
		return -1;
	uint64_t now = judge__now_ns();
	if (next <= now)
		return 0;
	uint64_t ms = (next - now + 999999) / 1000000;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* Stops the zygote, which takes every sandbox along; runs in them end IE. */
static void kill_boxes(struct judge *j, const char *why)
{
	if (j->z.fd >= 0) {
		epoll_ctl(j->ep, EPOLL_CTL_DEL, j->z.fd, NULL);
		judge__zygote_stop(&j->z);
	}
	/* The zygote is pid 1 of the namespace every sandbox's init lives in. */
	for (unsigned i = 0; i < j->pool_size; i++) {
		struct box *b = &j->boxes[i];
		if (b->st == BOX_EMPTY)
			continue;
		struct run *r = b->run;
		b->run = NULL;
		box_kill(j, b, KILL_INTERNAL);
		for (int k = 0; k < 1000 && judge__cgbox_nprocs(&j->cg, &b->cg) > 0; k++) {
			judge__cgbox_kill(&j->cg, &b->cg);
			poll(NULL, 0, 1);
		}
		judge__cgbox_remove(&j->cg, &b->cg);
		box_reset(j, b);
		if (r) {
			judge_result_finish(&r->res);
			run_fail(j, r, why);
		}
	}
}

static void fail_all(struct judge *j, const char *why)
{
	j->broken = true;
	kill_boxes(j, why);
	while (j->qlen) {
		struct run *r = j->queue[j->qhead];
		j->qhead = (j->qhead + 1) % j->queue_max;
		j->qlen--;
		run_fail(j, r, why);
	}
}

/*
 * The zygote died (killed by an operator, or a bug): the runs in flight
 * end IE, a new zygote is started and queued runs wait for it.  After
 * ZYGOTE_RESTARTS the judge gives up.  This is the one place
 * judge_process() blocks (judge.h says so): kill_boxes() waits for the
 * sandboxes' cgroups to empty and the new zygote's start-up is awaited
 * (~0.1 s, ZYGOTE_START_MS at most).  An asynchronous restart would need
 * launch.c's start-up as a state machine; the judge runs in a process of
 * its own in tandem, so the stall reaches no client's loop.
 */
static void zygote_died(struct judge *j)
{
	logf_(j, JUDGE_LOG_ERROR, "the zygote died");
	kill_boxes(j, "the judge's zygote died");
	if (j->restarts >= ZYGOTE_RESTARTS) {
		fail_all(j, "the judge's zygote died");
		return;
	}
	j->restarts++;
	char err[512];
	int e = judge__zygote_start(&j->z, j->python, j->py_dir, j->config, j->bpf, j->bpf_len,
				    ZYGOTE_START_MS, err, sizeof(err));
	if (e || ep_add(j, j->z.fd, EPOLLIN, ZYGOTE_TAG) < 0) {
		logf_(j, JUDGE_LOG_ERROR, "cannot restart the zygote: %s", e ? err : "epoll");
		fail_all(j, "the judge's zygote died");
		return;
	}
	logf_(j, JUDGE_LOG_WARN, "zygote restarted (%u of %u)", j->restarts, ZYGOTE_RESTARTS);
	j->spawn_failures = 0;
}

static void handle_event(struct judge *j, const struct epoll_event *ev)
{
	if (ev->data.u64 == ZYGOTE_TAG) {
		zygote_read(j);
		return;
	}
	unsigned gen = (unsigned)(ev->data.u64 >> 32);
	unsigned slot = (unsigned)((ev->data.u64 & 0xffffffffu) >> 3);
	enum fd_kind kind = (enum fd_kind)(ev->data.u64 & 7);
	struct box *b = find_box(j, slot, gen);
	if (!b)
		return;
	switch (kind) {
	case FD_CTL:
		if (b->ctl < 0)
			return;
		if (b->st == BOX_STARTING)
			box_starting_read(j, b);
		else if (b->st == BOX_ISOLATING)
			box_isolating_read(j, b);
		else if (b->st == BOX_RUNNING) {
			if ((ev->events & EPOLLOUT) && !b->ctl_wr_done)
				write_request(j, b);
			if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				box_running_ctl(j, b);
		} else if (b->st == BOX_WARM) {
			/* A warm sandbox says nothing: this is its death (or a bug). */
			char c;
			ssize_t n = recv(b->ctl, &c, 1, MSG_DONTWAIT | MSG_PEEK);
			if (n < 0 && errno == EAGAIN)
				break;
			box_abandon(j, b, n == 0 ? "died while warm" : "spoke while warm");
		}
		break;
	case FD_IN:
		if (b->in >= 0 && b->run)
			write_stdin(j, b);
		break;
	case FD_OUT:
		if (b->out >= 0)
			read_stream(j, b, &b->out, JUDGE_STDOUT);
		break;
	case FD_ERR:
		if (b->err >= 0)
			read_stream(j, b, &b->err, JUDGE_STDERR);
		break;
	case FD_PID:
		if (b->pidfd >= 0 && !b->init_gone) {
			b->init_gone = true;
			epoll_ctl(j->ep, EPOLL_CTL_DEL, b->pidfd, NULL);
		}
		break;
	}
	if (b->st == BOX_RUNNING)
		box_try_end(j, b);
}

int judge_process(struct judge *j)
{
	struct epoll_event evs[64];
	for (int round = 0; round < 8; round++) {
		int n = epoll_wait(j->ep, evs, 64, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			handle_event(j, &evs[i]);
		if (n < 64)
			break;
	}
	timers(j);
	dispatch(j);
	refill(j);
	return j->broken ? JUDGE_EZYGOTE : 0;
}

/* ---- Public API ---------------------------------------------------------- */

int judge_fd(const struct judge *j)
{
	return j->ep;
}

const char *judge_cgroup_version(const struct judge *j)
{
	return j->cg.version == 2 ? "v2" : j->cg.version == 1 ? "v1" : "none";
}

void judge_get_stats(const struct judge *j, struct judge_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < j->pool_size; i++) {
		const struct box *b = &j->boxes[i];
		if (b->st == BOX_WARM)
			st->warm++;
		else if (b->st == BOX_RUNNING)
			st->running++;
		else if (b->st != BOX_EMPTY && b->st != BOX_ENDING)
			st->starting++;
		if (b->cg.created)
			st->cgroups_live++;
	}
	st->queued = j->qlen;
	st->runs = j->runs_done;
}

static char *dup_or_default(const struct judge_allocator *a, const char *s, const char *def)
{
	return judge__strdup(a, s && *s ? s : def);
}

int judge_create(const struct judge_config *cfg, struct judge **out)
{
	static const struct judge_config none;
	if (!cfg)
		cfg = &none;
	*out = NULL;
	const struct judge_allocator *a = cfg->alloc;
	struct judge *j = judge__calloc(a, 1, sizeof(*j));
	if (!j)
		return JUDGE_ENOMEM;
	int e = JUDGE_ENOMEM;
	j->alloc = a;
	j->log = cfg->log;
	j->log_ud = cfg->log_ud;
	j->ep = -1;
	j->z.fd = -1;
	j->z.pid = -1;
	j->z.pidfd = -1;
	j->defaults.cpu_ms = cfg->defaults.cpu_ms ? cfg->defaults.cpu_ms : 2000;
	j->defaults.wall_ms = cfg->defaults.wall_ms ? cfg->defaults.wall_ms : 5000;
	j->defaults.mem_mb = cfg->defaults.mem_mb ? cfg->defaults.mem_mb : 256;
	j->defaults.output_kb = cfg->defaults.output_kb ? cfg->defaults.output_kb : 64;
	j->pool_size = cfg->pool_size ? cfg->pool_size : 4;
	j->queue_max = cfg->queue_max ? cfg->queue_max : 64;
	j->pids_max = cfg->pids_max ? cfg->pids_max : 64;
	unsigned tmpfs_mb = cfg->tmpfs_mb ? cfg->tmpfs_mb : 16;
	j->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (j->ncpu < 1)
		j->ncpu = 1;
	j->next_id = 1;
	j->python = dup_or_default(a, cfg->python, "/usr/bin/python3");
	j->py_dir = dup_or_default(a, cfg->py_dir, JUDGE_PY_DIR);
	j->boxes = judge__calloc(a, j->pool_size, sizeof(*j->boxes));
	j->queue = judge__calloc(a, j->queue_max, sizeof(*j->queue));
	if (!j->python || !j->py_dir || !j->boxes || !j->queue)
		goto err_alloc;
	for (unsigned i = 0; i < j->pool_size; i++) {
		struct box *b = &j->boxes[i];
		b->slot = i;
		b->ctl = b->in = b->out = b->err = b->pidfd = -1;
		b->cg.cpu_fd = -1;
	}
	if (geteuid() != 0) {
		e = JUDGE_EPRIV;
		goto err_alloc;
	}

	/* cgroups: detect, log, refuse without one unless told. */
	char self[4096], mi[65536], why[2048];
	struct judge__cg_paths paths;
	if (judge__read_file("/proc/self/cgroup", self, sizeof(self)) < 0 ||
	    judge__read_file("/proc/self/mountinfo", mi, sizeof(mi)) < 0 ||
	    judge__cg_parse(self, mi, &paths) < 0) {
		e = JUDGE_ESYS;
		goto err_alloc;
	}
	e = judge__cg_setup(&j->cg, &paths, cfg->cgroup, why, sizeof(why));
	if (e) {
		logf_(j, JUDGE_LOG_ERROR, "%s", why);
		goto err_alloc;
	}
	logf_(j, cfg->cgroup == JUDGE_CGROUP_NONE ? JUDGE_LOG_WARN : JUDGE_LOG_INFO, "%s", why);

	e = judge__seccomp_bpf(a, &j->bpf, &j->bpf_len);
	if (e)
		goto err_cg;
	char conf[512];
	snprintf(conf, sizeof(conf),
		 "{\"tmpfs_mb\":%u,\"fsize_mb\":32,\"nofile\":256,\"stack_mb\":8,"
		 "\"no_cgroup\":%s,\"as_mb\":%u,\"nproc\":%u}",
		 tmpfs_mb, j->cg.version ? "false" : "true", j->defaults.mem_mb + 64,
		 j->pids_max * j->pool_size + 64);
	j->config = judge__strdup(a, conf);
	if (!j->config) {
		e = JUDGE_ENOMEM;
		goto err_bpf;
	}
	j->ep = epoll_create1(EPOLL_CLOEXEC);
	if (j->ep < 0) {
		e = JUDGE_ESYS;
		goto err_bpf;
	}
	char err[512];
	e = judge__zygote_start(&j->z, j->python, j->py_dir, j->config, j->bpf, j->bpf_len,
				ZYGOTE_START_MS, err, sizeof(err));
	if (e) {
		logf_(j, JUDGE_LOG_ERROR, "%s", err);
		goto err_ep;
	}
	if (ep_add(j, j->z.fd, EPOLLIN, ZYGOTE_TAG) < 0) {
		e = JUDGE_ESYS;
		goto err_zygote;
	}
	logf_(j, JUDGE_LOG_DEBUG, "zygote %ld up; pool of %u", (long)j->z.pid, j->pool_size);
	refill(j);
	*out = j;
	return 0;

err_zygote:
	judge__zygote_stop(&j->z);
err_ep:
	close(j->ep);
err_bpf:
	judge__strfree(a, j->config);
	judge__free(a, j->bpf, j->bpf_len);
err_cg:
	judge__cg_teardown(&j->cg);
err_alloc:
	judge__strfree(a, j->python);
	judge__strfree(a, j->py_dir);
	judge__free(a, j->boxes, j->pool_size * sizeof(*j->boxes));
	judge__free(a, j->queue, j->queue_max * sizeof(*j->queue));
	judge__free(a, j, sizeof(*j));
	return e;
}

void judge_destroy(struct judge *j)
{
	if (!j)
		return;
	fail_all(j, "judge shutting down");
	judge__cg_teardown(&j->cg);
	if (j->ep >= 0)
		close(j->ep);
	judge__strfree(j->alloc, j->config);
	judge__free(j->alloc, j->bpf, j->bpf_len);
	judge__strfree(j->alloc, j->python);
	judge__strfree(j->alloc, j->py_dir);
	judge__free(j->alloc, j->boxes, j->pool_size * sizeof(*j->boxes));
	judge__free(j->alloc, j->queue, j->queue_max * sizeof(*j->queue));
	judge__free(j->alloc, j, sizeof(*j));
}

static char *serialize(const struct judge_request *req, const struct judge_limits *lim)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int bad = json_object_set_new(o, "mode", json_string(judge_mode_str(req->mode)));
	bad |= json_object_set_new(
		o, "code", json_stringn(req->code ? req->code : "", req->code ? req->code_len : 0));
	bad |= json_object_set_new(o, "cpu_ms", json_integer(lim->cpu_ms));
	if (req->mode != JUDGE_MODE_SCRIPT) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)req->options, k, v)
		{
			if (!json_object_get(o, k))
				bad |= json_object_set(o, k, v);
		}
		bad |= json_object_set_new(o, "entry", json_string(req->entry ? req->entry : ""));
		bad |= json_object_set(o, "tests", (json_t *)req->tests);
	}
	char *s = bad ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

int judge_submit(struct judge *j, const struct judge_request *req, judge_output_cb *out,
		 judge_done_cb *done, void *ud, uint64_t *run_id)
{
	if (!j || !req || !done || !judge_mode_str(req->mode))
		return JUDGE_EINVAL;
	if (req->mode != JUDGE_MODE_SCRIPT && (!json_is_array(req->tests) || !req->entry))
		return JUDGE_EINVAL;
	if (j->broken)
		return JUDGE_EZYGOTE;
	if (j->qlen >= j->queue_max)
		return JUDGE_EBUSY;
	struct run *r = judge__calloc(j->alloc, 1, sizeof(*r));
	if (!r)
		return JUDGE_ENOMEM;
	r->res.alloc = j->alloc;
	r->mode = req->mode;
	r->lim = req->limits;
	if (!r->lim.cpu_ms)
		r->lim.cpu_ms = j->defaults.cpu_ms;
	if (!r->lim.wall_ms)
		r->lim.wall_ms = j->defaults.wall_ms;
	if (!r->lim.mem_mb)
		r->lim.mem_mb = j->defaults.mem_mb;
	if (!r->lim.output_kb)
		r->lim.output_kb = j->defaults.output_kb;
	char *s = serialize(req, &r->lim);
	if (!s) {
		judge__free(j->alloc, r, sizeof(*r));
		return JUDGE_EINVAL; /* invalid UTF-8 in code, or OOM */
	}
	r->req_len = strlen(s);
	r->req = judge__alloc(j->alloc, r->req_len + 1);
	if (r->req)
		memcpy(r->req, s, r->req_len + 1);
	free(s);
	if (!r->req)
		goto err_run;
	if (req->mode == JUDGE_MODE_SCRIPT && req->stdin_len) {
		r->in = judge__alloc(j->alloc, req->stdin_len);
		if (!r->in)
			goto err_run;
		memcpy(r->in, req->stdin_data, req->stdin_len);
		r->in_len = req->stdin_len;
	}
	if (req->mode != JUDGE_MODE_SCRIPT) {
		r->ntests = json_array_size(req->tests);
		r->res.ntests = r->ntests;
		r->res.tests = judge__alloc(j->alloc, judge__tests_size(r->ntests));
		if (!r->res.tests)
			goto err_run;
		memset(r->res.tests, 0, judge__tests_size(r->ntests));
		for (size_t i = 0; i < r->ntests; i++)
			r->res.tests[i].cpu_ms = -1;
	}
	r->out = out;
	r->done = done;
	r->test = req->test;
	r->ud = ud;
	r->id = j->next_id++;
	r->res.namespaces = JUDGE_NS_USER | JUDGE_NS_PID | JUDGE_NS_NET | JUDGE_NS_MNT |
			    JUDGE_NS_IPC | JUDGE_NS_UTS | (j->cg.version ? JUDGE_NS_CGROUP : 0);
	r->res.seccomp = true;
	r->res.cgroup = judge_cgroup_version(j);
	j->queue[(j->qhead + j->qlen) % j->queue_max] = r;
	j->qlen++;
	if (run_id)
		*run_id = r->id;
	/* Starting a run calls no callback, so it may happen right here. */
	dispatch(j);
	return 0;

err_run:
	run_free(j, r);
	return JUDGE_ENOMEM;
}

int judge_cancel(struct judge *j, uint64_t run_id)
{
	for (unsigned i = 0; i < j->qlen; i++) {
		unsigned k = (j->qhead + i) % j->queue_max;
		struct run *r = j->queue[k];
		if (r->id != run_id)
			continue;
		for (unsigned m = i; m + 1 < j->qlen; m++)
			j->queue[(j->qhead + m) % j->queue_max] =
				j->queue[(j->qhead + m + 1) % j->queue_max];
		j->qlen--;
		run_fail(j, r, "cancelled");
		return 0;
	}
	for (unsigned i = 0; i < j->pool_size; i++) {
		struct box *b = &j->boxes[i];
		if (b->st == BOX_RUNNING && b->run->id == run_id) {
			box_kill(j, b, KILL_CANCEL);
			return 0;
		}
	}
	return JUDGE_ENOTFOUND;
}

/* ---- Blocking helpers ---------------------------------------------------- */

static int wait_once(struct judge *j, uint64_t until_ns)
{
	int t = judge_timeout_ms(j);
	if (until_ns) {
		uint64_t now = judge__now_ns();
		int left = now >= until_ns ? 0 : (int)((until_ns - now + 999999) / 1000000);
		if (t < 0 || left < t)
			t = left;
	}
	struct pollfd pfd = { .fd = j->ep, .events = POLLIN };
	bool failed = poll(&pfd, 1, t) < 0 && errno != EINTR;
	/* Work goes on even when the wait failed: a caller may be waiting for a run to end. */
	int e = judge_process(j);
	return failed ? JUDGE_ESYS : e;
}

int judge_wait(struct judge *j, int timeout_ms)
{
	uint64_t until = timeout_ms < 0 ? 0 : judge__now_ns() + (uint64_t)timeout_ms * 1000000u;
	unsigned tick = j->finished_tick;
	while (j->finished_tick == tick) {
		if (until && judge__now_ns() >= until)
			return JUDGE_ETIMEOUT;
		int e = wait_once(j, until);
		if (e)
			return e;
	}
	return 0;
}

int judge_wait_warm(struct judge *j, unsigned warm, int timeout_ms)
{
	uint64_t until =
		judge__now_ns() + (uint64_t)(timeout_ms < 0 ? 60000 : timeout_ms) * 1000000u;
	for (;;) {
		struct judge_stats st;
		judge_get_stats(j, &st);
		if (st.warm >= warm || st.warm >= j->pool_size)
			return 0;
		if (judge__now_ns() >= until)
			return JUDGE_ETIMEOUT;
		int e = wait_once(j, until);
		if (e)
			return e;
	}
}

struct sync_run {
	struct judge_result *res;
	bool done;
};

static void sync_done(void *ud, uint64_t id, struct judge_result *res)
{
	struct sync_run *s = ud;
	*s->res = *res;
	memset(res, 0, sizeof(*res));
	s->done = true;
}

struct sync_ud {
	struct sync_run s;
	judge_output_cb *out;
	void *ud;
};

static void sync_out(void *ud, uint64_t id, enum judge_stream st, const char *d, size_t n)
{
	struct sync_ud *u = ud;
	if (u->out)
		u->out(u->ud, id, st, d, n);
}

static void sync_done2(void *ud, uint64_t id, struct judge_result *res)
{
	struct sync_ud *u = ud;
	sync_done(&u->s, id, res);
}

int judge_run(struct judge *j, const struct judge_request *req, judge_output_cb *out, void *ud,
	      struct judge_result *res)
{
	memset(res, 0, sizeof(*res));
	struct sync_ud u = { .s = { .res = res }, .out = out, .ud = ud };
	uint64_t id;
	int e = judge_submit(j, req, sync_out, sync_done2, &u, &id);
	if (e)
		return e;
	/*
	 * The run's callbacks point at u, on this stack: whatever fails, this
	 * function returns only once the run has completed.  After an error the
	 * run is cancelled and its result dropped.
	 */
	int failed = 0;
	while (!u.s.done) {
		e = wait_once(j, 0);
		if (e && !failed) {
			failed = e;
			judge_cancel(j, id);
		}
	}
	if (failed) {
		judge_result_finish(res);
		return failed;
	}
	return 0;
}
