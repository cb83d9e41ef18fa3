/*
 * tandem-run.c - the judge's command-line tool.
 *
 * Why it exists: it runs Python files through the same warm sandbox pool
 * the server uses, one JSON line per file, so the judge can be tried,
 * tested (tests/judge drives it with hostile programs) and benchmarked
 * (--bench) without a server.  Several files run in one process through
 * one pool, in order or --jobs at once; results are printed in argument
 * order.  It exits 0 whenever the judge itself worked, whatever the
 * verdicts; 1 when it could not start; 2 on bad usage.
 *
 * It must never print anything but JSON lines on stdout (logs go to
 * stderr), and never let a program's bytes break that JSON (invalid
 * UTF-8 becomes U+FFFD).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "judge.h"
#include "problem.h"

static const char usage[] =
	"usage: tandem-run [options] FILE.py [FILE.py ...]\n"
	"Runs each FILE in a fresh sandbox from one warm pool; prints one JSON line per\n"
	"file (in argument order) with verdict, exit_code, signal, stdout, stderr, cpu_ms,\n"
	"wall_ms, mem_kb, truncated and isolation.\n"
	"\n"
	"  --time-ms N         CPU time limit per run (default 2000)\n"
	"  --wall-ms N         wall time limit per run (default 5000)\n"
	"  --mem-mb N          memory limit per run (default 256)\n"
	"  --output-kb N       cap of stdout and of stderr, each (default 64)\n"
	"  --stdin FILE        feed FILE to every run's stdin\n"
	"  --jobs N            run N files at once (default 1)\n"
	"  --pool N            warm sandboxes kept (default 4)\n"
	"  --mode M            script (default), function, solution or design\n"
	"  --entry NAME        function, method or class name (test modes)\n"
	"  --tests FILE.jsonl  one test per line: {\"name\",\"args\"[,\"expected\"]} (test modes)\n"
	"  --compare SPEC      comparator for expected values: exact (default), unordered,\n"
	"                      float, rel=X, abs=X (see docs/judge-values.md)\n"
	"  --problem PATH      judge each FILE against a problem (a folder or a Py-Katas\n"
	"                      .yaml file, docs/problems.md): its sample tests, or all\n"
	"                      with --submit; one JSON line per FILE: verdict, passed,\n"
	"                      total, cpu_ms, mem_kb, tests [{name, verdict, cpu_ms, ...}]\n"
	"                      (hidden tests reduced to name, verdict, time and memory\n"
	"                      unless --show-hidden)\n"
	"  --submit            with --problem: every test, as a Submit\n"
	"  --show-hidden       with --problem: hidden tests in full (for a problem's author)\n"
	"  --complexity        with --problem: the complexity estimate instead: class,\n"
	"                      confidence, alternative, points [{n, cpu_ms, mem_kb}], wall_ms\n"
	"  --bench N           benchmark: N hello-world runs through the warm pool, one at a\n"
	"                      time (latency) and as many at once as the pool takes\n"
	"                      (throughput), beside bare /usr/bin/python3 -I -S; no FILEs\n"
	"  --unsafe-no-cgroup  run without cgroups (rlimits only; results say so)\n"
	"  --quiet             no log lines on stderr\n"
	"  --help              this text\n"
	"Exit status: 0 when the judge worked (whatever the verdicts), 1 when it could\n"
	"not start or failed, 2 on bad usage.\n";

struct job {
	const char *path;
	char *out, *err;
	size_t out_len, err_len;
	size_t cap;
	bool done;
	struct judge_result res;
	double t0_ms, t_ms;
};

/* Set by SIGTERM/SIGINT/SIGHUP: clean up (sandboxes, cgroups), then die of it. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/*
 * One turn of the loop a server would run: wait for the judge's fd or its
 * timer, then let it work.  Returns -1 when a stop signal arrived.
 */
static int pump(struct judge *j)
{
	struct pollfd pfd = { .fd = judge_fd(j), .events = POLLIN };
	if (!stop_signal)
		poll(&pfd, 1, judge_timeout_ms(j));
	if (stop_signal)
		return -1;
	return judge_process(j);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			break;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	if (buf)
		*len = n;
	return buf;
}

static void on_output(void *ud, uint64_t id, enum judge_stream s, const char *d, size_t n)
{
	struct job *jb = ud;
	char **buf = s == JUDGE_STDOUT ? &jb->out : &jb->err;
	size_t *len = s == JUDGE_STDOUT ? &jb->out_len : &jb->err_len;
	if (!*buf)
		*buf = malloc(jb->cap ? jb->cap : 1);
	if (!*buf)
		return;
	size_t room = jb->cap - *len;
	if (n > room)
		n = room;
	memcpy(*buf + *len, d, n);
	*len += n;
}

static void on_done(void *ud, uint64_t id, struct judge_result *res)
{
	struct job *jb = ud;
	jb->res = *res;
	memset(res, 0, sizeof(*res));
	jb->done = true;
	jb->t_ms = now_ms() - jb->t0_ms;
}

static void print_job(struct job *jb, json_t *expected, const struct judge_cmp *cmp)
{
	json_t *o = judge_result_json(&jb->res, jb->out, jb->out_len, jb->err, jb->err_len);
	if (!o) {
		printf("{\"verdict\":\"IE\",\"message\":\"out of memory\"}\n");
		return;
	}
	if (expected && jb->res.tests) {
		/* Expected values stay here, outside the sandbox: compare now. */
		json_t *ts = json_object_get(o, "tests");
		for (size_t i = 0; i < jb->res.ntests; i++) {
			struct judge_test_result *t = &jb->res.tests[i];
			if (t->verdict != JUDGE_VERDICT_NONE)
				continue;
			json_t *exp = json_array_get(expected, i);
			enum judge_verdict v = judge_compare_verdict(json_is_null(exp) ? NULL : exp,
								     t->value, cmp);
			json_object_set_new(json_array_get(ts, i), "verdict",
					    json_string(judge_verdict_str(v)));
		}
	}
	char *s = json_dumps(o, JSON_COMPACT);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	fflush(stdout);
	json_decref(o);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	size_t k = (size_t)ceil(p / 100.0 * (double)n);
	if (k < 1)
		k = 1;
	return v[k - 1];
}

extern char **environ;

/* One bare interpreter, no isolation: the baseline a warm pool must beat. */
static pid_t bare_start(int *fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	char *argv[] = { (char *)"python3",
			 (char *)"-I",
			 (char *)"-S",
			 (char *)"-c",
			 (char *)"print('hello world')",
			 NULL };
	char *envp[] = { NULL };
	pid_t pid;
	int e = posix_spawn(&pid, "/usr/bin/python3", &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (e) {
		close(p[0]);
		return -1;
	}
	*fd = p[0];
	return pid;
}

static int bare_finish(pid_t pid, int fd)
{
	char buf[256];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int bench(struct judge *j, unsigned n, unsigned pool)
{
	static const char hello[] = "print('hello world')\n";
	struct judge_request req = { .mode = JUDGE_MODE_SCRIPT,
				     .code = hello,
				     .code_len = sizeof(hello) - 1 };
	double *lat = calloc(n, sizeof(double));
	struct job *jobs = calloc(n, sizeof(*jobs));
	if (!lat || !jobs)
		return 1;
	unsigned bad = 0;

	/* Latency: one at a time, each taking a warm sandbox. */
	for (unsigned i = 0; i < n; i++) {
		judge_wait_warm(j, pool, 10000);
		struct job jb = { .cap = 1024 };
		jb.t0_ms = now_ms();
		if (judge_submit(j, &req, on_output, on_done, &jb, NULL) < 0)
			return 1;
		while (!jb.done)
			if (pump(j) < 0)
				return 1;
		lat[i] = jb.t_ms;
		if (jb.res.verdict != JUDGE_VERDICT_OK || jb.out_len != 12)
			bad++;
		judge_result_finish(&jb.res);
		free(jb.out);
		free(jb.err);
	}
	double p50 = pct(lat, n, 50), p99 = pct(lat, n, 99);

	/* Throughput: keep the pool busy; requests beyond it wait in the queue. */
	judge_wait_warm(j, pool, 10000);
	double t0 = now_ms();
	unsigned submitted = 0, finished = 0;
	while (finished < n) {
		while (submitted < n && submitted - finished < pool * 2) {
			jobs[submitted].cap = 1024;
			jobs[submitted].t0_ms = now_ms();
			if (judge_submit(j, &req, on_output, on_done, &jobs[submitted], NULL) < 0)
				break;
			submitted++;
		}
		if (pump(j) < 0)
			return 1;
		while (finished < submitted && jobs[finished].done) {
			if (jobs[finished].res.verdict != JUDGE_VERDICT_OK)
				bad++;
			judge_result_finish(&jobs[finished].res);
			free(jobs[finished].out);
			free(jobs[finished].err);
			finished++;
		}
	}
	double rps = n / ((now_ms() - t0) / 1e3);

	/* Bare python3 -I -S: the same two measurements. */
	for (unsigned i = 0; i < n; i++) {
		double t = now_ms();
		int fd;
		pid_t pid = bare_start(&fd);
		if (pid < 0 || bare_finish(pid, fd) < 0)
			bad++;
		lat[i] = now_ms() - t;
	}
	double bp50 = pct(lat, n, 50), bp99 = pct(lat, n, 99);
	t0 = now_ms();
	pid_t pids[64];
	int fds[64];
	unsigned width = pool < 64 ? pool : 64;
	for (unsigned done = 0; done < n;) {
		unsigned k = n - done < width ? n - done : width;
		for (unsigned i = 0; i < k; i++)
			pids[i] = bare_start(&fds[i]);
		for (unsigned i = 0; i < k; i++)
			if (pids[i] < 0 || bare_finish(pids[i], fds[i]) < 0)
				bad++;
		done += k;
	}
	double brps = n / ((now_ms() - t0) / 1e3);
	printf("{\"runs\":%u,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"runs_per_s\":%.1f,"
	       "\"bare_p50_ms\":%.3f,\"bare_p99_ms\":%.3f,\"bare_runs_per_s\":%.1f,"
	       "\"pool\":%u,\"cgroup\":\"%s\",\"failed\":%u}\n",
	       n, p50, p99, rps, bp50, bp99, brps, pool, judge_cgroup_version(j), bad);
	free(lat);
	free(jobs);
	return bad ? 1 : 0;
}

static json_t *load_tests(const char *path, json_t **expected)
{
	size_t len;
	char *text = slurp(path, &len);
	if (!text)
		return NULL;
	json_t *tests = json_array();
	*expected = json_array();
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!line[0])
			continue;
		json_t *o = json_loads(line, JSON_DECODE_ANY, NULL);
		if (!json_is_object(o)) {
			json_decref(o);
			json_decref(tests);
			json_decref(*expected);
			free(text);
			return NULL;
		}
		json_t *exp = json_object_get(o, "expected");
		json_array_append(*expected, exp ? exp : json_null());
		/* Expected values never enter the sandbox. */
		json_object_del(o, "expected");
		json_array_append_new(tests, o);
	}
	free(text);
	return tests;
}

static void log_quiet(void *ud, enum judge_log_level level, const char *msg)
{
	if (level <= JUDGE_LOG_WARN && !*(bool *)ud)
		fprintf(stderr, "tandem-run: %s\n", msg);
}

static void log_normal(void *ud, enum judge_log_level level, const char *msg)
{
	if (level <= JUDGE_LOG_INFO && !*(bool *)ud)
		fprintf(stderr, "tandem-run: %s\n", msg);
}

static bool parse_uint(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > 100000000ul)
		return false;
	*out = (unsigned)v;
	return true;
}

static void print_json(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	puts(s ? s : "{\"verdict\":\"IE\",\"message\":\"out of memory\"}");
	fflush(stdout);
	free(s);
	json_decref(o);
}

/*
 * --problem: judges each file against the problem (or estimates its
 * complexity), one JSON line per file.  A problem that does not load is
 * bad usage (exit 2), its errors on stderr as file:line: reason.
 */
static int run_problem(const char *path, char **files, int nfiles, unsigned pool, bool nocg,
		       bool quiet, bool submit, bool show_hidden, bool complexity)
{
	json_t *errors = json_array();
	struct problem *p;
	struct judge *j;

	if (problem_load(path, &p, errors)) {
		size_t i;
		json_t *e;
		json_array_foreach(errors, i, e) fprintf(stderr, "%s\n", json_string_value(e));
		json_decref(errors);
		return 2;
	}
	json_decref(errors);
	if (complexity && !p->gen) {
		fprintf(stderr, "tandem-run: %s has no generator (gen.py)\n", path);
		problem_destroy(p);
		return 2;
	}
	struct judge_config cfg = {
		.pool_size = pool,
		.queue_max = 1024,
		.cgroup = nocg ? JUDGE_CGROUP_NONE : JUDGE_CGROUP_AUTO,
		.log = log_normal,
		.log_ud = &quiet,
	};
	int e = judge_create(&cfg, &j);
	if (e) {
		fprintf(stderr, "tandem-run: cannot start the judge: %s\n", judge_strerror(e));
		problem_destroy(p);
		return 1;
	}
	for (int i = 0; i < nfiles && !stop_signal; i++) {
		size_t len = 0;
		char *code = slurp(files[i], &len);
		if (!code) {
			print_json(json_pack("{s:s, s:s}", "verdict", "IE", "message",
					     "cannot read the file"));
			continue;
		}
		if (complexity)
			print_json(problem_complexity(j, p, code, len));
		else
			print_json(problem_judge(j, p, code, len, submit, show_hidden));
		free(code);
	}
	judge_destroy(j);
	problem_destroy(p);
	if (stop_signal) {
		signal(stop_signal, SIG_DFL);
		raise(stop_signal);
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		O_TIME = 256,
		O_WALL,
		O_MEM,
		O_OUT,
		O_STDIN,
		O_JOBS,
		O_POOL,
		O_MODE,
		O_ENTRY,
		O_TESTS,
		O_COMPARE,
		O_BENCH,
		O_NOCG,
		O_QUIET,
		O_PROBLEM,
		O_SUBMIT,
		O_SHOW_HIDDEN,
		O_COMPLEXITY,
		O_HELP
	};
	static const struct option opts[] = {
		{ "time-ms", required_argument, NULL, O_TIME },
		{ "wall-ms", required_argument, NULL, O_WALL },
		{ "mem-mb", required_argument, NULL, O_MEM },
		{ "output-kb", required_argument, NULL, O_OUT },
		{ "stdin", required_argument, NULL, O_STDIN },
		{ "jobs", required_argument, NULL, O_JOBS },
		{ "pool", required_argument, NULL, O_POOL },
		{ "mode", required_argument, NULL, O_MODE },
		{ "entry", required_argument, NULL, O_ENTRY },
		{ "tests", required_argument, NULL, O_TESTS },
		{ "compare", required_argument, NULL, O_COMPARE },
		{ "bench", required_argument, NULL, O_BENCH },
		{ "unsafe-no-cgroup", no_argument, NULL, O_NOCG },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "problem", required_argument, NULL, O_PROBLEM },
		{ "submit", no_argument, NULL, O_SUBMIT },
		{ "show-hidden", no_argument, NULL, O_SHOW_HIDDEN },
		{ "complexity", no_argument, NULL, O_COMPLEXITY },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct judge_limits lim = { 2000, 5000, 256, 64 };
	unsigned jobs = 1, pool = 4, nbench = 0;
	const char *stdin_path = NULL, *entry = NULL, *tests_path = NULL, *problem_path = NULL;
	bool submit = false, show_hidden = false, complexity = false;
	enum judge_mode mode = JUDGE_MODE_SCRIPT;
	bool nocg = false, quiet = false;
	struct judge_cmp cmp;
	judge_cmp_parse(NULL, &cmp);
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		bool ok = true;
		switch (c) {
		case O_TIME:
			ok = parse_uint(optarg, &lim.cpu_ms) && lim.cpu_ms;
			break;
		case O_WALL:
			ok = parse_uint(optarg, &lim.wall_ms) && lim.wall_ms;
			break;
		case O_MEM:
			ok = parse_uint(optarg, &lim.mem_mb) && lim.mem_mb;
			break;
		case O_OUT:
			ok = parse_uint(optarg, &lim.output_kb) && lim.output_kb;
			break;
		case O_STDIN:
			stdin_path = optarg;
			break;
		case O_JOBS:
			ok = parse_uint(optarg, &jobs) && jobs;
			break;
		case O_POOL:
			ok = parse_uint(optarg, &pool) && pool && pool <= 64;
			break;
		case O_MODE:
			ok = judge_mode_parse(optarg, &mode) == 0;
			break;
		case O_ENTRY:
			entry = optarg;
			break;
		case O_TESTS:
			tests_path = optarg;
			break;
		case O_COMPARE:
			ok = judge_cmp_parse(optarg, &cmp) == 0;
			break;
		case O_BENCH:
			ok = parse_uint(optarg, &nbench) && nbench;
			break;
		case O_NOCG:
			nocg = true;
			break;
		case O_QUIET:
			quiet = true;
			break;
		case O_PROBLEM:
			problem_path = optarg;
			break;
		case O_SUBMIT:
			submit = true;
			break;
		case O_SHOW_HIDDEN:
			show_hidden = true;
			break;
		case O_COMPLEXITY:
			complexity = true;
			break;
		case 'h':
		case O_HELP:
			fputs(usage, stdout);
			return 0;
		default:
			ok = false;
		}
		if (!ok) {
			fprintf(stderr, "tandem-run: bad option value\n%s", usage);
			return 2;
		}
	}
	if ((nbench == 0) == (optind >= argc)) {
		fputs(usage, stderr);
		return 2;
	}
	if ((submit || show_hidden || complexity) && !problem_path) {
		fprintf(stderr,
			"tandem-run: --submit, --show-hidden and --complexity need --problem\n");
		return 2;
	}
	if (problem_path)
		return run_problem(problem_path, argv + optind, argc - optind, pool, nocg, quiet,
				   submit, show_hidden, complexity);
	if (mode != JUDGE_MODE_SCRIPT && (!entry || !tests_path)) {
		fprintf(stderr, "tandem-run: --mode %s needs --entry and --tests\n",
			judge_mode_str(mode));
		return 2;
	}
	char *in = NULL;
	size_t in_len = 0;
	if (stdin_path && !(in = slurp(stdin_path, &in_len))) {
		fprintf(stderr, "tandem-run: cannot read %s: %s\n", stdin_path, strerror(errno));
		return 2;
	}
	json_t *tests = NULL, *expected = NULL;
	if (tests_path && !(tests = load_tests(tests_path, &expected))) {
		fprintf(stderr, "tandem-run: cannot read tests from %s\n", tests_path);
		return 2;
	}

	struct judge_config cfg = {
		.pool_size = pool,
		.queue_max = 1024,
		.defaults = lim,
		.cgroup = nocg ? JUDGE_CGROUP_NONE : JUDGE_CGROUP_AUTO,
		.log = nbench ? log_quiet : log_normal,
		.log_ud = &quiet,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	struct judge *j;
	int e = judge_create(&cfg, &j);
	if (e) {
		fprintf(stderr, "tandem-run: cannot start the judge: %s\n", judge_strerror(e));
		return 1;
	}
	int rc = 0, printed = 0;
	struct job *jb = NULL;
	if (nbench) {
		rc = bench(j, nbench, pool);
		goto out;
	}

	int nfiles = argc - optind;
	jb = calloc((size_t)nfiles, sizeof(*jb));
	if (!jb) {
		rc = 1;
		goto out;
	}
	int next = 0, inflight = 0;
	while (printed < nfiles) {
		while (next < nfiles && inflight < (int)jobs) {
			struct job *x = &jb[next];
			x->path = argv[optind + next];
			x->cap = (size_t)lim.output_kb * 1024;
			size_t len = 0;
			char *code = slurp(x->path, &len);
			if (!code) {
				/* The judge worked; the file did not exist: say so in its line. */
				x->done = true;
				x->res.verdict = JUDGE_VERDICT_IE;
				x->res.exit_code = -1;
				x->res.message = strdup("cannot read the file");
				x->res.cgroup = judge_cgroup_version(j);
				next++;
				continue;
			}
			struct judge_request req = { .mode = mode,
						     .code = code,
						     .code_len = len,
						     .stdin_data = in,
						     .stdin_len = in_len,
						     .entry = entry,
						     .tests = tests,
						     .limits = lim };
			x->t0_ms = now_ms();
			e = judge_submit(j, &req, on_output, on_done, x, NULL);
			free(code);
			if (e) {
				x->done = true;
				x->res.verdict = JUDGE_VERDICT_IE;
				x->res.exit_code = -1;
				x->res.message = strdup(judge_strerror(e));
				x->res.cgroup = judge_cgroup_version(j);
			} else {
				inflight++;
			}
			next++;
		}
		while (printed < next && jb[printed].done) {
			print_job(&jb[printed], expected, &cmp);
			judge_result_finish(&jb[printed].res);
			free(jb[printed].out);
			free(jb[printed].err);
			printed++;
		}
		if (printed == nfiles)
			break;
		unsigned before = 0;
		for (int i = printed; i < next; i++)
			before += jb[i].done;
		e = pump(j);
		if (e) {
			if (!stop_signal)
				fprintf(stderr, "tandem-run: %s\n", judge_strerror(e));
			rc = 1;
			/* fail_all() has completed every run: print them. */
		}
		unsigned after = 0;
		for (int i = printed; i < next; i++)
			after += jb[i].done;
		inflight -= (int)(after - before);
		if (e)
			break;
	}
	while (printed < next && jb[printed].done) {
		print_job(&jb[printed], expected, &cmp);
		judge_result_finish(&jb[printed].res);
		free(jb[printed].out);
		free(jb[printed].err);
		printed++;
	}
out:
	/* Before jb goes: runs still in flight complete (IE) into it. */
	judge_destroy(j);
	if (jb) {
		for (int i = printed; i < argc - optind; i++) {
			judge_result_finish(&jb[i].res);
			free(jb[i].out);
			free(jb[i].err);
		}
		free(jb);
	}
	json_decref(tests);
	json_decref(expected);
	free(in);
	if (stop_signal) {
		signal(stop_signal, SIG_DFL);
		raise(stop_signal);
	}
	return rc;
}
