/*
 * test-sandbox.c - the judge's core through its public API, on real sandboxes.
 *
 * Why it exists: it pins what every run must get (stdout, stderr, exit
 * status, stdin; OK/RE/TLE/MLE/OLE for the simple cases), what a program
 * sees of its isolation from inside, the bounded queue's busy error, and
 * that the judge's cgroups are removed.  Needs root and a working cgroup
 * hierarchy; exits 77 (skip) otherwise.  The hostile programs live in
 * test-hostile.c; the harness's test modes in test-modes.c.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "judge-internal.h"

struct capture {
	char out[65536], err[65536];
	size_t out_len, err_len;
};

static void on_out(void *ud, uint64_t id, enum judge_stream s, const char *d, size_t n)
{
	struct capture *c = ud;
	char *buf = s == JUDGE_STDOUT ? c->out : c->err;
	size_t *len = s == JUDGE_STDOUT ? &c->out_len : &c->err_len;
	if (n > sizeof(c->out) - 1 - *len)
		n = sizeof(c->out) - 1 - *len;
	memcpy(buf + *len, d, n);
	*len += n;
	buf[*len] = '\0';
}

/* Runs code as a script; returns the result in *res (caller finishes it). */
static int run(struct judge *j, const char *code, const char *in, struct judge_limits lim,
	       struct capture *c, struct judge_result *res)
{
	memset(c, 0, sizeof(*c));
	struct judge_request req = { .mode = JUDGE_MODE_SCRIPT,
				     .code = code,
				     .code_len = strlen(code),
				     .stdin_data = in,
				     .stdin_len = in ? strlen(in) : 0,
				     .limits = lim };
	return judge_run(j, &req, on_out, c, res);
}

static const struct judge_limits defaults = { 0, 0, 0, 0 };

static void test_normal(struct judge *j)
{
	struct capture c;
	struct judge_result r;
	int e = run(j,
		    "import sys\n"
		    "line = input()\n"
		    "print('got', line[::-1])\n"
		    "print('rest', sys.stdin.read().split())\n"
		    "print('to stderr', file=sys.stderr)\n"
		    "sys.exit(3)\n",
		    "abc\nx y\nz\n", defaults, &c, &r);
	CHECK(e == 0, "judge_run: %s", judge_strerror(e));
	CHECK(r.verdict == JUDGE_VERDICT_RE, "verdict %s", judge_verdict_str(r.verdict));
	CHECK(r.exit_code == 3, "exit_code %d", r.exit_code);
	CHECK(r.signal == 0, "signal %d", r.signal);
	CHECK(strcmp(c.out, "got cba\nrest ['x', 'y', 'z']\n") == 0, "stdout \"%s\"", c.out);
	CHECK(strcmp(c.err, "to stderr\n") == 0, "stderr \"%s\"", c.err);
	CHECK(r.stdout_bytes == c.out_len, "stdout_bytes %llu vs %zu",
	      (unsigned long long)r.stdout_bytes, c.out_len);
	CHECK(!r.truncated, "truncated");
	CHECK(r.wall_ms > 0 && r.cpu_ms >= 0, "wall %.3f cpu %.3f", r.wall_ms, r.cpu_ms);
	CHECK(r.seccomp && r.namespaces == 0x7f, "isolation ns=%#x seccomp=%d", r.namespaces,
	      r.seccomp);
	judge_result_finish(&r);

	e = run(j, "print('hello')\n", NULL, defaults, &c, &r);
	CHECK(e == 0 && r.verdict == JUDGE_VERDICT_OK, "hello: %s %s", judge_strerror(e),
	      judge_verdict_str(r.verdict));
	CHECK(r.exit_code == 0 && strcmp(c.out, "hello\n") == 0, "exit %d out \"%s\"", r.exit_code,
	      c.out);
	CHECK(r.mem_kb > 0, "mem_kb %llu", (unsigned long long)r.mem_kb);
	judge_result_finish(&r);

	/* A syntax error in a plain run is RE with the error on stderr. */
	e = run(j, "def f(:\n", NULL, defaults, &c, &r);
	CHECK(r.verdict == JUDGE_VERDICT_RE && strstr(c.err, "SyntaxError"), "syntax: %s \"%s\"",
	      judge_verdict_str(r.verdict), c.err);
	judge_result_finish(&r);
}

static void test_verdicts(struct judge *j)
{
	struct capture c;
	struct judge_result r;
	struct judge_limits tight = {
		.cpu_ms = 300, .wall_ms = 3000, .mem_mb = 64, .output_kb = 4
	};

	run(j, "while True: pass\n", NULL, tight, &c, &r);
	CHECK(r.verdict == JUDGE_VERDICT_TLE, "busy loop: %s", judge_verdict_str(r.verdict));
	CHECK(r.cpu_ms >= 300, "busy loop cpu %.1f", r.cpu_ms);
	judge_result_finish(&r);

	struct judge_limits wall = tight;
	wall.wall_ms = 400;
	run(j, "import time\ntime.sleep(60)\n", NULL, wall, &c, &r);
	CHECK(r.verdict == JUDGE_VERDICT_TLE, "sleep: %s", judge_verdict_str(r.verdict));
	CHECK(r.wall_ms >= 400 && r.cpu_ms < 300, "sleep wall %.1f cpu %.1f", r.wall_ms, r.cpu_ms);
	judge_result_finish(&r);

	run(j, "x = bytearray(1 << 30)\n", NULL, tight, &c, &r);
	CHECK(r.verdict == JUDGE_VERDICT_MLE, "bytearray: %s", judge_verdict_str(r.verdict));
	judge_result_finish(&r);

	run(j, "l = []\nwhile True: l.append(bytearray(1 << 20))\n", NULL, tight, &c, &r);
	CHECK(r.verdict == JUDGE_VERDICT_MLE, "growth: %s", judge_verdict_str(r.verdict));
	judge_result_finish(&r);

	run(j, "while True: print('x' * 100)\n", NULL, tight, &c, &r);
	CHECK(r.verdict == JUDGE_VERDICT_OLE, "output: %s", judge_verdict_str(r.verdict));
	CHECK(r.truncated && c.out_len == 4096, "truncated %d delivered %zu", r.truncated,
	      c.out_len);
	judge_result_finish(&r);

	run(j, "raise KeyError('nope')\n", NULL, tight, &c, &r);
	CHECK(r.verdict == JUDGE_VERDICT_RE && r.exit_code == 1, "raise: %s exit %d",
	      judge_verdict_str(r.verdict), r.exit_code);
	CHECK(strstr(c.err, "KeyError: 'nope'") && !strstr(c.err, "zygote"), "traceback \"%s\"",
	      c.err);
	judge_result_finish(&r);

	run(j, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", NULL, tight, &c, &r);
	CHECK(r.verdict == JUDGE_VERDICT_RE, "segv: %s signal %d exit %d",
	      judge_verdict_str(r.verdict), r.signal, r.exit_code);
	judge_result_finish(&r);

	/* Invalid UTF-8 comes back as raw bytes; judge_result_json() repairs it. */
	run(j, "import sys\nsys.stdout.buffer.write(b'a\\xffb\\xc3')\n", NULL, tight, &c, &r);
	CHECK(c.out_len == 4 && memcmp(c.out,
				       "a\xff"
				       "b\xc3",
				       4) == 0,
	      "raw bytes (%zu)", c.out_len);
	json_t *o = judge_result_json(&r, c.out, c.out_len, c.err, c.err_len);
	const char *s = json_string_value(json_object_get(o, "stdout"));
	CHECK(s && strcmp(s, "a\xEF\xBF\xBD"
			     "b\xEF\xBF\xBD") == 0,
	      "repaired \"%s\"", s ? s : "(null)");
	json_decref(o);
	judge_result_finish(&r);
}

/* What a program sees of its sandbox, printed by itself, checked here. */
static void test_isolation(struct judge *j)
{
	struct capture c;
	struct judge_result r;
	run(j,
	    "import os, socket\n"
	    "print('uid', os.getuid(), os.geteuid(), os.getgid())\n"
	    "print('pid', os.getpid())\n"
	    "print('procs', sorted(p for p in os.listdir('/proc') if p.isdigit()))\n"
	    "print('env', dict(os.environ), len(open('/proc/self/environ','rb').read()))\n"
	    "print('root', sorted(os.listdir('/')))\n"
	    "print('dev', sorted(os.listdir('/dev')))\n"
	    "print('cwd', os.getcwd())\n"
	    "print('hostname', os.uname().nodename)\n"
	    "print('ifaces', sorted(l.split(':')[0].strip() for l in open('/proc/net/dev')"
	    ".readlines()[2:]))\n"
	    "print('lo_up', '127.0.0.1' in open('/proc/net/fib_trie').read())\n"
	    "try:\n"
	    "    socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
	    "    print('inet allowed')\n"
	    "except OSError as e:\n"
	    "    print('inet', e.errno)\n"
	    "print('etc', os.path.exists('/etc'), os.path.exists('/root'), "
	    "os.path.exists('/home'))\n"
	    "print('caps', [l.split()[1] for l in open('/proc/self/status') if "
	    "l.startswith('CapEff')])\n"
	    "print('seccomp', [l.split()[1] for l in open('/proc/self/status')"
	    " if l.startswith('Seccomp:')])\n"
	    "print('nnp', [l.split()[1] for l in open('/proc/self/status')"
	    " if l.startswith('NoNewPrivs')])\n"
	    "print('fds', sorted(int(f) for f in os.listdir('/proc/self/fd')))\n",
	    NULL, defaults, &c, &r);
	CHECK(r.verdict == JUDGE_VERDICT_OK, "isolation program: %s \"%s\"",
	      judge_verdict_str(r.verdict), c.err);
	static const char *const want[] = {
		"uid 1000 1000 1000\n",
		"pid 2\n", /* pid 1 is the sandbox's reaper */
		"procs ['1', '2']\n",
		"env {} 0\n",
		"root ['bin', 'dev', 'judge', 'lib', 'lib64', 'proc', 'tmp', 'usr', 'work']\n",
		"dev ['null', 'shm', 'urandom', 'zero']\n",
		"cwd /work\n",
		"hostname sandbox\n",
		"ifaces ['lo']\n",
		"lo_up False\n",
		"inet 1\n",
		"etc False False False\n",
		"caps ['0000000000000000']\n",
		"seccomp ['2']\n",
		"nnp ['1']\n",
		/* 0-2 the streams, 3 the result socket, 4 the listing itself */
		"fds [0, 1, 2, 3, 4]\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(strstr(c.out, want[i]), "missing \"%.*s\" in:\n%s", (int)strlen(want[i]) - 1,
		      want[i], c.out);
	judge_result_finish(&r);

	/* The seccomp policy as a program meets it. */
	run(j,
	    "import ctypes, threading\n"
	    "libc = ctypes.CDLL(None, use_errno=True)\n"
	    "print('clone3', libc.syscall(435, 0, 0), ctypes.get_errno())\n"
	    "print('unshare-flags-clone', libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0),"
	    " ctypes.get_errno())\n"
	    "out = []\n"
	    "ts = [threading.Thread(target=out.append, args=(i,)) for i in range(8)]\n"
	    "[t.start() for t in ts]; [t.join() for t in ts]\n"
	    "print('threads', sorted(out) == list(range(8)), flush=True)\n"
	    "libc.ptrace(0, 0, 0, 0)\n"
	    "print('ptrace survived')\n",
	    NULL, defaults, &c, &r);
	CHECK(strstr(c.out, "clone3 -1 38\n") && strstr(c.out, "unshare-flags-clone -1 1\n") &&
		      strstr(c.out, "threads True\n") && !strstr(c.out, "survived"),
	      "seccomp facts:\n%s", c.out);
	CHECK(r.verdict == JUDGE_VERDICT_RE && r.signal == SIGSYS, "ptrace: %s signal %d",
	      judge_verdict_str(r.verdict), r.signal);
	judge_result_finish(&r);

	/* Nothing survives into the next run. */
	run(j,
	    "import os\nopen('/tmp/left','w').write('x')\nopen('/work/left','w').write('x')\n"
	    "open('/dev/shm/left','w').write('x')\n",
	    NULL, defaults, &c, &r);
	CHECK(r.verdict == JUDGE_VERDICT_OK, "leave files: %s \"%s\"", judge_verdict_str(r.verdict),
	      c.err);
	judge_result_finish(&r);
	run(j,
	    "import os\nprint(os.listdir('/tmp'), os.listdir('/work'), os.listdir('/dev/shm'))\n",
	    NULL, defaults, &c, &r);
	CHECK(strcmp(c.out, "[] [] []\n") == 0, "next run sees \"%s\"", c.out);
	judge_result_finish(&r);
}

struct counter {
	int done;
	enum judge_verdict last;
};

static void count_done(void *ud, uint64_t id, struct judge_result *res)
{
	struct counter *k = ud;
	k->done++;
	k->last = res->verdict;
}

static void test_busy(void)
{
	struct judge_config cfg = { .pool_size = 1, .queue_max = 2 };
	struct judge *j;
	int e = judge_create(&cfg, &j);
	CHECK(e == 0, "judge_create: %s", judge_strerror(e));
	if (e)
		return;
	CHECK(judge_wait_warm(j, 1, 20000) == 0, "pool never warm");
	static const char sleeper[] = "import time\ntime.sleep(30)\n";
	struct judge_request req = { .mode = JUDGE_MODE_SCRIPT,
				     .code = sleeper,
				     .code_len = sizeof(sleeper) - 1,
				     .limits = { .wall_ms = 20000 } };
	struct counter k = { 0, JUDGE_VERDICT_NONE };
	uint64_t ids[3];
	/* One runs (the pool's only sandbox), two wait, the fourth is refused. */
	for (int i = 0; i < 3; i++) {
		e = judge_submit(j, &req, NULL, count_done, &k, &ids[i]);
		CHECK(e == 0, "submit %d: %s", i, judge_strerror(e));
	}
	struct judge_stats st;
	judge_get_stats(j, &st);
	CHECK(st.running == 1 && st.queued == 2, "running %u queued %u", st.running, st.queued);
	e = judge_submit(j, &req, NULL, count_done, &k, NULL);
	CHECK(e == JUDGE_EBUSY, "fourth submit: %d (%s)", e, judge_strerror(e));
	CHECK(strstr(judge_strerror(JUDGE_EBUSY), "busy") != NULL, "message \"%s\"",
	      judge_strerror(JUDGE_EBUSY));
	/* Cancelling frees the queue; the running one is killed. */
	for (int i = 2; i >= 0; i--)
		CHECK(judge_cancel(j, ids[i]) == 0, "cancel %d", i);
	while (k.done < 3 && judge_wait(j, 20000) == 0)
		;
	CHECK(k.done == 3 && k.last == JUDGE_VERDICT_IE, "cancelled: %d done, last %s", k.done,
	      judge_verdict_str(k.last));
	CHECK(judge_cancel(j, ids[0]) == JUDGE_ENOTFOUND, "cancel of a finished run");
	judge_destroy(j);
}

/* Counts the sandbox folders (sb*) in a judge's cgroup folder; -1 if it is gone. */
static int count_boxes(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_type == DT_DIR && strncmp(e->d_name, "sb", 2) == 0;
	closedir(d);
	return n;
}

static void test_cgroups_removed(void)
{
	char self[4096], mi[65536];
	struct judge__cg_paths paths;
	judge__read_file("/proc/self/cgroup", self, sizeof(self));
	judge__read_file("/proc/self/mountinfo", mi, sizeof(mi));
	judge__cg_parse(self, mi, &paths);
	struct stat st;
	stat("/proc/self/ns/pid", &st);

	struct judge_config cfg = { .pool_size = 2 };
	struct judge *j;
	int e = judge_create(&cfg, &j);
	CHECK(e == 0, "judge_create: %s", judge_strerror(e));
	if (e)
		return;
	const char *ver = judge_cgroup_version(j);
	/* Where the judge's own folders are, in the hierarchy holding pids. */
	char base[1200];
	snprintf(base, sizeof(base), "%s/tandem-judge.%lu.%ld",
		 strcmp(ver, "v2") == 0 ? paths.v2 : paths.pids, (unsigned long)st.st_ino,
		 (long)getpid());
	CHECK(count_boxes(base) >= 0, "no judge folder %s", base);
	struct capture c;
	struct judge_result r;
	for (int i = 0; i < 6; i++) {
		run(j, i % 2 ? "import os\nos.fork()\nprint(1)\n" : "while True: pass\n", NULL,
		    (struct judge_limits){ .cpu_ms = 100 }, &c, &r);
		judge_result_finish(&r);
		/* The finished run's folder is gone: only the pool's live ones remain. */
		struct judge_stats js;
		judge_get_stats(j, &js);
		int n = count_boxes(base);
		CHECK(n >= 0 && (unsigned)n == js.cgroups_live && n <= 2,
		      "run %d: %d sandbox folders, %llu live", i, n,
		      (unsigned long long)js.cgroups_live);
	}
	judge_destroy(j);
	CHECK(count_boxes(base) == -1, "%s still there after judge_destroy", base);
	if (strcmp(ver, "v1") == 0) {
		snprintf(base, sizeof(base), "%s/tandem-judge.%lu.%ld", paths.memory,
			 (unsigned long)st.st_ino, (long)getpid());
		CHECK(count_boxes(base) == -1, "%s still there", base);
		snprintf(base, sizeof(base), "%s/tandem-judge.%lu.%ld", paths.cpuacct,
			 (unsigned long)st.st_ino, (long)getpid());
		CHECK(count_boxes(base) == -1, "%s still there", base);
	}
}

/* What the judge reports as active must match what the machine has. */
static void test_detection(struct judge *j)
{
	char self[4096], mi[65536], ctl[512] = "";
	struct judge__cg_paths paths;
	judge__read_file("/proc/self/cgroup", self, sizeof(self));
	judge__read_file("/proc/self/mountinfo", mi, sizeof(mi));
	judge__cg_parse(self, mi, &paths);
	bool v2 = false;
	if (paths.v2[0]) {
		char p[600];
		snprintf(p, sizeof(p), "%s/cgroup.controllers", paths.v2);
		if (judge__read_file(p, ctl, sizeof(ctl)) > 0)
			v2 = strstr(ctl, "memory") && strstr(ctl, "pids");
	}
	const char *want = v2 ? "v2" : "v1";
	CHECK(strcmp(judge_cgroup_version(j), want) == 0, "judge says %s, machine has %s",
	      judge_cgroup_version(j), want);
}

/* A dead zygote is replaced; the next run works. */
static void test_zygote_restart(struct judge *j)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)getpid());
	CHECK(judge__read_file(path, buf, sizeof(buf)) > 0, "no children in %s", path);
	long zygote = strtol(buf, NULL, 10);
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)zygote, 0);
	CHECK(zygote > 1 && pidfd >= 0 && kill((pid_t)zygote, SIGKILL) == 0, "kill zygote %ld",
	      zygote);
	/* Once it is dead, the judge notices on its next turn (its socket hangs up). */
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	CHECK(poll(&pfd, 1, 10000) == 1, "zygote did not die");
	close(pidfd);
	CHECK(judge_process(j) == 0, "judge_process after the zygote's death");
	struct capture c;
	struct judge_result r;
	int e = run(j, "print('after')\n", NULL, defaults, &c, &r);
	CHECK(e == 0 && r.verdict == JUDGE_VERDICT_OK && strcmp(c.out, "after\n") == 0,
	      "after restart: %s %s \"%s\"", judge_strerror(e), judge_verdict_str(r.verdict),
	      c.out);
	judge_result_finish(&r);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root\n");
		return 77;
	}
	struct judge *j;
	struct judge_config cfg = { 0 };
	int e = judge_create(&cfg, &j);
	if (e == JUDGE_ENOCGROUP || e == JUDGE_EPRIV) {
		fprintf(stderr, "skip: %s\n", judge_strerror(e));
		return 77;
	}
	if (e) {
		fprintf(stderr, "judge_create: %s\n", judge_strerror(e));
		return 1;
	}
	test_detection(j);
	test_normal(j);
	test_verdicts(j);
	test_isolation(j);
	test_zygote_restart(j);
	judge_destroy(j);
	test_busy();
	test_cgroups_removed();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
