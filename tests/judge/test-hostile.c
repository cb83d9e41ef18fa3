/*
 * test-hostile: feeds hostile Python programs to the judge and checks it contains every one.
 *
 * The cases live in tests/judge/hostile/cases.txt (the format is described at its top): each case
 * is one tandem-run invocation of one or more programs, usually a hostile program followed by
 * check_clean.py, which looks for anything the hostile run left behind.  Every invocation runs
 * under tests/judge/contain, the outer fence (its own pid namespace, memory and pids cgroup,
 * private /tmp and /dev/shm, wall timeout), so a broken judge fails this test instead of hurting
 * the machine.  The fence reports whether its own limits were reached; reaching them means the
 * judge did not contain the program itself, which is a failure.
 *
 * Beside each case's own expectations (verdicts, DENIED/CLEAN lines, truncation, time), every
 * case is checked for: valid JSON with the documented fields and full isolation; no ALLOWED,
 * REACHED or LEAK line; no canary (the secret in tandem-run's environment, the host canary files)
 * in any output; each result within its wall limit plus one second; tandem-run exiting 0 with its
 * peak RSS bounded where the case says so; no process left behind; a canary process outside the
 * fence still alive; nothing in the judge's own /tmp and /dev/shm; no file, SysV or POSIX IPC
 * object or process carrying the run's marker on the host.  The symlink case also checks that the
 * host canary files, /etc/passwd and /etc/shadow are unchanged (content, owner, mode, times).
 *
 * Usage: test-hostile --judge PATH --contain PATH --dir HOSTILE_DIR [--group G] [--case NAME]
 * Exit status: 0 all passed, 1 some failed, 77 skipped (not root, no cgroups, judge not built).
 * It must never weaken an expectation to make a judge pass: the expectations are the issue's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS     48
#define MAX_ARGS     24
#define MAX_LINES    48
#define MAX_CASES    96
#define DEFAULT_WALL 5000 /* tandem-run's default --wall-ms */
#define SLACK_MS     1000 /* "within its wall limit plus one second" */
#define STDERR_KEEP  8192
#define HOST_TMP_KB  1024 /* what the judge's host side may use of /tmp and /dev/shm */

extern char **environ;

/* One program of a case and what its result must look like (see cases.txt). */
struct run_spec {
	char file[64];
	int seed;		/* @SEED@ for normal.py; 0 when unused */
	char verdicts[64];	/* "TLE|RE" */
	char *lines[MAX_LINES]; /* "WORD:name[:detail]" that stdout must contain */
	int nlines;
	char *re_lines[8]; /* required only when the verdict is RE */
	int nre_lines;
	char oneof[160];	     /* "signal:25|line:ERRNO:EFBIG" */
	int truncated;		     /* -1: not checked */
	long stdout_max, stderr_max; /* bytes; -1: not checked */
	long cpu_max, wall_min;	     /* ms; -1: not checked */
	char check[32];		     /* a custom check by name */
	char path[PATH_MAX];	     /* the generated copy in the scratch dir */
};

struct case_spec {
	char name[64];
	char group[32];
	char *judge_args[MAX_ARGS];
	int njudge_args;
	long fence_mem_mb, fence_pids;
	long rss_max_mb; /* tandem-run's own peak RSS; -1: not checked */
	bool victims, listen;
	struct run_spec runs[MAX_RUNS];
	int nruns;
};

/* What one JSON line said, kept for the checks. */
struct run_result {
	json_t *json;
	const char *verdict;
	const char *out, *err;
	size_t out_len, err_len;
	double arrived_ms; /* since the invocation started */
};

/* A host file the judge must never change, and what it looked like before. */
struct victim {
	char path[PATH_MAX];
	bool present;
	struct stat st;
	uint64_t hash;
};

static struct case_spec cases[MAX_CASES];
static int ncases;
static char hostile_dir[PATH_MAX], scratch[128], victim_dir[256];
static char root_canary[PATH_MAX], project_dir[PATH_MAX];
static char mark[32], secret[64], victim_secret[64];
static long ipckey;
static const char *judge_path, *contain_path;
static pid_t canary_pid;
static struct victim victims[16];
static int nvictims;
static int failures;

static void cleanup_host(void);

#if defined(__SANITIZE_ADDRESS__)
static const bool asan_build = true;
#else
static const bool asan_build = false;
#endif
static char asan_env[1024];

/* ---- small helpers ---------------------------------------------------------------------- */

static void fail(const struct case_spec *c, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(const struct case_spec *c, const char *file, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s%s%s: ", c->name, file ? " " : "", file ? file : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures++;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (n + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		if (got == 0)
			break;
		n += got;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static int write_whole(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	bool ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, data, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -EIO;
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

/* Replaces every `from` by `to` in a heap string; returns the new string, frees the old. */
static char *replace_all(char *s, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to), count = 0;
	char *out, *w;
	const char *p;

	for (p = s; (p = strstr(p, from)); p += flen)
		count++;
	if (!count)
		return s;
	out = malloc(strlen(s) + count * tlen + 1);
	if (!out)
		return s;
	w = out;
	for (p = s;;) {
		const char *hit = strstr(p, from);

		if (!hit) {
			strcpy(w, p);
			break;
		}
		memcpy(w, p, (size_t)(hit - p));
		w += hit - p;
		memcpy(w, to, tlen);
		w += tlen;
		p = hit + flen;
	}
	free(s);
	return out;
}

/* The last `n` bytes of a string: the end of a log says why it ended. */
static const char *tail(const char *s, size_t n)
{
	size_t len = strlen(s);

	return len > n ? s + len - n : s;
}

static bool contains(const char *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle)) != NULL;
}

/* ---- the manifest ----------------------------------------------------------------------- */

static long num_or_die(const char *s, int lineno)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "cases.txt:%d: not a number: %s\n", lineno, s);
		exit(2);
	}
	return v;
}

static void parse_run(struct run_spec *r, char **words, int n, int lineno)
{
	memset(r, 0, sizeof(*r));
	r->truncated = -1;
	r->stdout_max = r->stderr_max = r->cpu_max = r->wall_min = -1;
	snprintf(r->file, sizeof(r->file), "%s", words[0]);
	for (int i = 1; i < n; i++) {
		char *key = words[i], *val = strchr(key, '=');

		if (!val) {
			fprintf(stderr, "cases.txt:%d: expected key=value: %s\n", lineno, key);
			exit(2);
		}
		*val++ = '\0';
		if (strcmp(key, "verdict") == 0) {
			snprintf(r->verdicts, sizeof(r->verdicts), "%s", val);
		} else if (strcmp(key, "lines") == 0 || strcmp(key, "re_lines") == 0) {
			bool re = key[0] == 'r';

			for (char *t = strtok(val, ","); t; t = strtok(NULL, ",")) {
				if (re && r->nre_lines < 8)
					r->re_lines[r->nre_lines++] = strdup(t);
				else if (!re && r->nlines < MAX_LINES)
					r->lines[r->nlines++] = strdup(t);
			}
		} else if (strcmp(key, "oneof") == 0) {
			snprintf(r->oneof, sizeof(r->oneof), "%s", val);
		} else if (strcmp(key, "truncated") == 0) {
			r->truncated = strcmp(val, "true") == 0;
		} else if (strcmp(key, "stdout_max") == 0) {
			r->stdout_max = num_or_die(val, lineno);
		} else if (strcmp(key, "stderr_max") == 0) {
			r->stderr_max = num_or_die(val, lineno);
		} else if (strcmp(key, "cpu_max") == 0) {
			r->cpu_max = num_or_die(val, lineno);
		} else if (strcmp(key, "wall_min") == 0) {
			r->wall_min = num_or_die(val, lineno);
		} else if (strcmp(key, "seed") == 0) {
			r->seed = (int)num_or_die(val, lineno);
		} else if (strcmp(key, "check") == 0) {
			snprintf(r->check, sizeof(r->check), "%s", val);
		} else {
			fprintf(stderr, "cases.txt:%d: unknown key %s\n", lineno, key);
			exit(2);
		}
	}
	if (!r->verdicts[0]) {
		fprintf(stderr, "cases.txt:%d: a run needs verdict=\n", lineno);
		exit(2);
	}
}

static void load_manifest(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[2048];
	int lineno = 0;
	struct case_spec *c = NULL;

	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while (fgets(line, sizeof(line), f)) {
		char *words[64];
		int n = 0;

		lineno++;
		line[strcspn(line, "#\n")] = '\0';
		for (char *w = strtok(line, " \t"); w && n < 64; w = strtok(NULL, " \t"))
			words[n++] = w;
		if (n == 0)
			continue;
		if (strcmp(words[0], "case") == 0 && n == 3 && ncases < MAX_CASES) {
			c = &cases[ncases++];
			memset(c, 0, sizeof(*c));
			snprintf(c->name, sizeof(c->name), "%s", words[1]);
			snprintf(c->group, sizeof(c->group), "%s", words[2]);
			c->fence_mem_mb = 1024;
			c->fence_pids = 1024;
			c->rss_max_mb = -1;
			continue;
		}
		if (!c) {
			fprintf(stderr, "cases.txt:%d: line outside a case\n", lineno);
			exit(2);
		}
		if (strcmp(words[0], "judge") == 0) {
			for (int i = 1; i < n && c->njudge_args < MAX_ARGS; i++)
				c->judge_args[c->njudge_args++] = strdup(words[i]);
		} else if (strcmp(words[0], "fence") == 0 && n == 3) {
			c->fence_mem_mb = num_or_die(words[1], lineno);
			c->fence_pids = num_or_die(words[2], lineno);
		} else if (strcmp(words[0], "rss_max_mb") == 0 && n == 2) {
			c->rss_max_mb = num_or_die(words[1], lineno);
		} else if (strcmp(words[0], "host") == 0) {
			for (int i = 1; i < n; i++) {
				if (strcmp(words[i], "victims") == 0)
					c->victims = true;
				else if (strcmp(words[i], "listen") == 0)
					c->listen = true;
			}
		} else if (strcmp(words[0], "run") == 0 && n >= 2 && c->nruns < MAX_RUNS) {
			parse_run(&c->runs[c->nruns++], words + 1, n - 1, lineno);
		} else {
			fprintf(stderr, "cases.txt:%d: cannot parse\n", lineno);
			exit(2);
		}
	}
	fclose(f);
}

/* The judge's --wall-ms and --jobs for a case (tandem-run's defaults otherwise). */
static long judge_opt(const struct case_spec *c, const char *opt, long dflt)
{
	for (int i = 0; i + 1 < c->njudge_args; i++)
		if (strcmp(c->judge_args[i], opt) == 0)
			return strtol(c->judge_args[i + 1], NULL, 10);
	return dflt;
}

/* ---- host-side set-up: scratch dir, program copies, canaries ---------------------------- */

/* Copies a program into the scratch dir with its placeholders filled in. */
static int prepare_program(struct run_spec *r)
{
	char src[PATH_MAX * 2], num[32];
	char *text, *common;

	snprintf(src, sizeof(src), "%s/%s", hostile_dir, r->file);
	text = read_whole(src, NULL);
	if (!text) {
		fprintf(stderr, "cannot read %s\n", src);
		return -1;
	}
	snprintf(src, sizeof(src), "%s/_common.py", hostile_dir);
	common = read_whole(src, NULL);
	if (!common) {
		free(text);
		return -1;
	}
	text = replace_all(text, "@COMMON@", common);
	free(common);
	text = replace_all(text, "@MARK@", mark);
	text = replace_all(text, "@VICTIM@", victim_dir);
	text = replace_all(text, "@PROJECT@", project_dir);
	snprintf(num, sizeof(num), "%ld", ipckey);
	text = replace_all(text, "@IPCKEY@", num);
	snprintf(num, sizeof(num), "%d", r->seed);
	text = replace_all(text, "@SEED@", num);
	if (r->seed)
		snprintf(r->path, sizeof(r->path), "%s/seed%d-%s", scratch, r->seed, r->file);
	else
		snprintf(r->path, sizeof(r->path), "%s/%s", scratch, r->file);
	if (write_whole(r->path, text, strlen(text), 0644) < 0) {
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

static void add_victim(const char *path)
{
	struct victim *v = &victims[nvictims++];
	size_t len = 0;
	char *data;

	snprintf(v->path, sizeof(v->path), "%s", path);
	v->present = lstat(path, &v->st) == 0;
	data = S_ISREG(v->st.st_mode) ? read_whole(path, &len) : NULL;
	v->hash = data ? fnv1a(data, len) : 0;
	free(data);
}

/* Compares every victim with what it was; returns how many changed. */
static int check_victims(const struct case_spec *c)
{
	int changed = 0;

	for (int i = 0; i < nvictims; i++) {
		struct victim *v = &victims[i];
		struct stat st;
		bool present = lstat(v->path, &st) == 0;
		size_t len = 0;
		char *data = present && S_ISREG(st.st_mode) ? read_whole(v->path, &len) : NULL;
		uint64_t hash = data ? fnv1a(data, len) : 0;

		free(data);
		if (present != v->present ||
		    (present && (st.st_mode != v->st.st_mode || st.st_uid != v->st.st_uid ||
				 st.st_gid != v->st.st_gid || st.st_size != v->st.st_size ||
				 st.st_mtim.tv_sec != v->st.st_mtim.tv_sec ||
				 st.st_mtim.tv_nsec != v->st.st_mtim.tv_nsec ||
				 st.st_ctim.tv_sec != v->st.st_ctim.tv_sec ||
				 st.st_ctim.tv_nsec != v->st.st_ctim.tv_nsec || hash != v->hash))) {
			fail(c, NULL,
			     "host file %s changed (was present=%d mode=%o uid=%d size=%lld)",
			     v->path, v->present, v->st.st_mode, (int)v->st.st_uid,
			     (long long)v->st.st_size);
			changed++;
		}
	}
	/* The victim directory must stay empty: nothing created through a planted link. */
	{
		char dir[PATH_MAX * 2];
		DIR *d;
		struct dirent *e;

		snprintf(dir, sizeof(dir), "%s/dir", victim_dir);
		d = opendir(dir);
		while (d && (e = readdir(d))) {
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				fail(c, NULL, "%s/%s appeared on the host", dir, e->d_name);
				changed++;
			}
		}
		if (d)
			closedir(d);
	}
	return changed;
}

static void setup_host(void)
{
	char path[PATH_MAX * 2], buf[128];
	unsigned rnd;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, &rnd, sizeof(rnd)) != sizeof(rnd))
		rnd = (unsigned)getpid() * 2654435761u;
	if (fd >= 0)
		close(fd);
	snprintf(mark, sizeof(mark), "thm%ldx%06x", (long)getpid(), rnd & 0xffffff);
	snprintf(secret, sizeof(secret), "canary-env-%08x-%s", rnd, mark);
	snprintf(victim_secret, sizeof(victim_secret), "canary-file-%08x-%s", ~rnd, mark);
	ipckey = 0x7a000000L | (((long)getpid() & 0xffff) << 4);

	snprintf(scratch, sizeof(scratch), "/var/tmp/tandem-hostile-XXXXXX");
	if (!mkdtemp(scratch)) {
		perror("mkdtemp");
		exit(2);
	}
	chmod(scratch, 0755);
	snprintf(victim_dir, sizeof(victim_dir), "%s/victims", scratch);
	mkdir(victim_dir, 0755);
	snprintf(path, sizeof(path), "%s/dir", victim_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/victim", victim_dir);
	snprintf(buf, sizeof(buf), "%s\n", victim_secret);
	write_whole(path, buf, strlen(buf), 0600);
	snprintf(path, sizeof(path), "%s/secret", victim_dir);
	write_whole(path, buf, strlen(buf), 0600);
	snprintf(root_canary, sizeof(root_canary), "/root/.tandem-hostile-%s", mark);
	write_whole(root_canary, buf, strlen(buf), 0600);

	snprintf(path, sizeof(path), "%s/victim", victim_dir);
	add_victim(path);
	snprintf(path, sizeof(path), "%s/secret", victim_dir);
	add_victim(path);
	snprintf(path, sizeof(path), "%s/dir", victim_dir);
	add_victim(path);
	add_victim(root_canary);
	add_victim("/etc/passwd");
	add_victim("/etc/shadow");
	add_victim("/root/.bashrc");
}

/* A process outside the fence that kill(-1, 9) from a sandbox must never reach. */
static void start_canary(void)
{
	canary_pid = fork();
	if (canary_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
}

static bool canary_alive(void)
{
	int st;

	return canary_pid > 0 && waitpid(canary_pid, &st, WNOHANG) == 0 && kill(canary_pid, 0) == 0;
}

/* Listeners on the Redis and PostgreSQL ports, where free, so "connect fails" means something. */
static int listeners[12];
static int nlisteners;
static const int listen_ports[] = { 6390, 6379, 5490, 5432 };

static void start_listeners(void)
{
	nlisteners = 0;
	for (size_t i = 0; i < sizeof(listen_ports) / sizeof(listen_ports[0]); i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)listen_ports[i]),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
			close(fd); /* a real Redis/PostgreSQL is there: just as meaningful */
			continue;
		}
		listeners[nlisteners++] = fd;
	}
	/* A UNIX socket at a host path and one with an abstract name, both the sandbox can name. */
	for (int abstract = 0; abstract < 2; abstract++) {
		struct sockaddr_un u = { .sun_family = AF_UNIX };
		socklen_t len;
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (abstract) {
			snprintf(u.sun_path + 1, sizeof(u.sun_path) - 1, "%s-host", mark);
			len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
					  strlen(u.sun_path + 1));
		} else {
			if (snprintf(u.sun_path, sizeof(u.sun_path), "%s/sock", victim_dir) >=
			    (int)sizeof(u.sun_path)) {
				close(fd);
				continue;
			}
			unlink(u.sun_path);
			len = (socklen_t)sizeof(u);
		}
		if (fd < 0)
			continue;
		if (bind(fd, (struct sockaddr *)&u, len) < 0 || listen(fd, 16) < 0) {
			fprintf(stderr, "cannot listen on a UNIX socket: %s\n", strerror(errno));
			close(fd);
			continue;
		}
		listeners[nlisteners++] = fd;
	}
}

/* Closes the listeners; each connection that reached one is a failure. */
static void stop_listeners(const struct case_spec *c)
{
	for (int i = 0; i < nlisteners; i++) {
		int conn = accept4(listeners[i], NULL, NULL, SOCK_CLOEXEC);

		if (conn >= 0) {
			struct sockaddr_storage self;
			socklen_t slen = sizeof(self);

			getsockname(listeners[i], (struct sockaddr *)&self, &slen);
			if (self.ss_family == AF_INET)
				fail(c, NULL,
				     "a connection reached the host listener on 127.0.0.1:%d",
				     ntohs(((struct sockaddr_in *)&self)->sin_port));
			else
				fail(c, NULL,
				     "a connection reached the host's UNIX socket listener");
			close(conn);
		}
		close(listeners[i]);
	}
	nlisteners = 0;
}

/*
 * Any process on the host whose command line carries the marker.  With a case it is a failure
 * and the process is killed; without one (while the judge still runs) it is only counted.
 */
static int scan_marked_processes(const struct case_spec *c)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;

	while (d && (e = readdir(d))) {
		char path[PATH_MAX], *data;
		size_t len = 0;
		long pid = strtol(e->d_name, NULL, 10);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		data = read_whole(path, &len);
		if (data && len && contains(data, len, mark)) {
			if (c) {
				fail(c, NULL,
				     "process %ld with the marker is still alive on the host", pid);
				kill((pid_t)pid, SIGKILL);
			}
			found++;
		}
		free(data);
	}
	if (d)
		closedir(d);
	return found;
}

/*
 * SysV IPC objects with the run's keys, and a POSIX message queue with its marker, on the host (a
 * judge without an ipc namespace); removes them.
 */
static int scan_sysv(const struct case_spec *c)
{
	static const char *const files[] = { "/proc/sysvipc/shm", "/proc/sysvipc/msg",
					     "/proc/sysvipc/sem" };
	int found = 0;

	for (int i = 0; i < 3; i++) {
		char *data = read_whole(files[i], NULL);

		for (char *l = data ? strtok(data, "\n") : NULL; l; l = strtok(NULL, "\n")) {
			long key = strtol(l, NULL, 10);

			if (key >= ipckey && key <= ipckey + 2) {
				fail(c, NULL, "SysV object with key %#lx left on the host (%s)",
				     key, files[i]);
				found++;
			}
		}
		free(data);
	}
	{
		long mqd = syscall(SYS_mq_open, mark, O_RDONLY, 0, NULL);

		if (mqd >= 0) {
			fail(c, NULL, "POSIX message queue /%s left on the host", mark);
			close((int)mqd);
			syscall(SYS_mq_unlink, mark);
			found++;
		}
	}
	return found;
}

/* Files with the marker in the host's temporary directories. */
static int scan_host_dirs(const struct case_spec *c)
{
	static const char *const dirs[] = { "/tmp", "/dev/shm", "/var/tmp", "/" };
	int found = 0;

	for (int i = 0; i < 4; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;

		while (d && (e = readdir(d))) {
			if (strstr(e->d_name, mark) &&
			    strstr(e->d_name, "tandem-hostile-") != e->d_name) {
				fail(c, NULL, "%s/%s appeared on the host", dirs[i], e->d_name);
				found++;
			}
		}
		if (d)
			closedir(d);
	}
	return found;
}

/* ---- running one case ------------------------------------------------------------------- */

/* Reads one "key value" report line of contain; -1 when absent. */
static long report_num(const char *report, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = report; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return strtol(p + klen + 1, NULL, 10);
	return -1;
}

static const char *report_str(const char *report, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);

	out[0] = '\0';
	for (const char *p = report; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			size_t n = strcspn(p + klen + 1, "\n");

			snprintf(out, size, "%.*s", (int)n, p + klen + 1);
			break;
		}
	}
	return out;
}

/* Does stdout contain a line "WORD name[ detail]" (followed by a space or the line's end)? */
static bool has_line(const char *out, size_t len, const char *spec)
{
	char want[256];
	size_t wlen;

	snprintf(want, sizeof(want), "%s", spec);
	for (char *p = want; *p; p++)
		if (*p == ':')
			*p = ' ';
	wlen = strlen(want);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(out + i, '\n', len - i);
		size_t llen = nl ? (size_t)(nl - (out + i)) : len - i;

		if (llen >= wlen && memcmp(out + i, want, wlen) == 0 &&
		    (llen == wlen || out[i + wlen] == ' '))
			return true;
		i += llen + 1;
	}
	return false;
}

/* The first stdout line starting with one of the words no contained program may print. */
static bool bad_line(const char *out, size_t len, char *what, size_t size)
{
	static const char *const bad[] = { "ALLOWED ", "REACHED ", "LEAK " };

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(out + i, '\n', len - i);
		size_t llen = nl ? (size_t)(nl - (out + i)) : len - i;

		for (int b = 0; b < 3; b++) {
			if (llen >= strlen(bad[b]) &&
			    memcmp(out + i, bad[b], strlen(bad[b])) == 0) {
				snprintf(what, size, "%.*s", (int)(llen > 200 ? 200 : llen),
					 out + i);
				return true;
			}
		}
		i += llen + 1;
	}
	return false;
}

static bool verdict_in(const char *verdict, const char *list)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok(buf, "|"); t; t = strtok(NULL, "|"))
		if (strcmp(t, verdict) == 0)
			return true;
	return false;
}

static long normal_answer(int seed)
{
	long long acc = 0;

	for (long long i = 1; i <= 200000; i++)
		acc = (acc * 31 + i * seed) % 1000000007LL;
	return (long)acc;
}

/* The byte pattern of @BIG@: every value, in an order no pipe chunking can hide. */
#define BIG_STDIN_LEN (4L << 20)
static unsigned char big_byte(long i)
{
	return (unsigned char)((i * 7 + i / 4099) & 0xff);
}

/* Writes the 4 MB stdin file once and returns its path. */
static char *big_stdin_path(void)
{
	static char path[PATH_MAX];

	if (!path[0]) {
		unsigned char *data = malloc(BIG_STDIN_LEN);

		snprintf(path, sizeof(path), "%s/big-stdin", scratch);
		for (long i = 0; data && i < BIG_STDIN_LEN; i++)
			data[i] = big_byte(i);
		if (!data || write_whole(path, (char *)data, BIG_STDIN_LEN, 0644) < 0)
			fprintf(stderr, "cannot write %s\n", path);
		free(data);
	}
	return path;
}

/* The custom checks named by check= in cases.txt; `prev` is the previous run's stdout or NULL. */
static void custom_check(const struct case_spec *c, const struct run_spec *r,
			 const struct run_result *res, const char *prev)
{
	if (strcmp(r->check, "differs") == 0) {
		if (!prev || strcmp(prev, res->out) == 0)
			fail(c, r->file, "stdout \"%.100s\" repeats the previous run's", res->out);
	} else if (strcmp(r->check, "normal") == 0) {
		char want[96];

		snprintf(want, sizeof(want), "SUM %d %ld\n", r->seed, normal_answer(r->seed));
		if (res->out_len != strlen(want) || memcmp(res->out, want, res->out_len) != 0)
			fail(c, r->file, "expected stdout \"%.*s\", got \"%.*s\"",
			     (int)strlen(want) - 1, want,
			     (int)(res->out_len > 100 ? 100 : res->out_len), res->out);
	} else if (strcmp(r->check, "big_stdin") == 0) {
		char want[96];
		unsigned long sum = 0;

		for (long i = 0; i < BIG_STDIN_LEN; i++)
			sum += big_byte(i);
		snprintf(want, sizeof(want), "STDIN %ld %lu\n", BIG_STDIN_LEN, sum & 0xffffffffUL);
		if (res->out_len != strlen(want) || memcmp(res->out, want, res->out_len) != 0)
			fail(c, r->file, "expected stdout \"%.*s\", got \"%.*s\"",
			     (int)strlen(want) - 1, want,
			     (int)(res->out_len > 100 ? 100 : res->out_len), res->out);
	} else if (strcmp(r->check, "close_std") == 0) {
		if (res->out_len != 13 || memcmp(res->out, "before-close\n", 13) != 0)
			fail(c, r->file, "expected stdout \"before-close\\n\", got %zu bytes",
			     res->out_len);
	} else if (strcmp(r->check, "utf8_split") == 0) {
		static const char smile[] = "\xf0\x9f\x98\x80";
		bool good = res->out_len == 40001 && res->out[40000] == '\n';

		for (size_t i = 0; good && i < 40000; i += 4)
			good = memcmp(res->out + i, smile, 4) == 0;
		if (!good)
			fail(c, r->file,
			     "expected 10000 intact U+1F600 and a newline (40001 bytes), got %zu "
			     "bytes%s",
			     res->out_len,
			     contains(res->out, res->out_len, "\xef\xbf\xbd") ? " with U+FFFD"
									      : "");
	} else if (strcmp(r->check, "binary") == 0) {
		static const char good[] = "h\xc3\xa9llo \xe2\x82\xacuro \xf0\x9f\x98\x80 ok";
		const char *streams[2] = { res->out, res->err };
		size_t lens[2] = { res->out_len, res->err_len };
		char ascii[96];

		for (int i = 0; i < 95; i++)
			ascii[i] = (char)(0x20 + i);
		ascii[95] = '\0';
		for (int s = 0; s < 2; s++) {
			const char *name = s ? "stderr" : "stdout";

			if (lens[s] < 6 || memcmp(streams[s], "BEGIN ", 6) != 0 ||
			    !contains(streams[s], lens[s], good))
				fail(c, r->file, "%s lost its valid text around the binary", name);
			if (!contains(streams[s], lens[s], "\xef\xbf\xbd"))
				fail(c, r->file, "%s has no U+FFFD for the invalid bytes", name);
			if (!contains(streams[s], lens[s], ascii))
				fail(c, r->file, "%s lost the printable ASCII run", name);
			if (lens[s] < 5 || memcmp(streams[s] + lens[s] - 5, " END\n", 5) != 0)
				fail(c, r->file, "%s does not end with \" END\\n\"", name);
		}
	} else if (r->check[0]) {
		fail(c, r->file, "unknown check %s", r->check);
	}
}

/*
 * Checks the fields every result line must have, and that all of the isolation was active; returns
 * false only when the fields the other checks read are missing.
 */
static bool check_shape(const struct case_spec *c, const struct run_spec *r, json_t *j)
{
	static const char *const nums[] = { "exit_code", "signal", "cpu_ms", "wall_ms", "mem_kb" };
	static const char *const ns[] = { "user", "pid", "net", "mnt", "ipc", "uts", "cgroup" };
	json_t *iso, *names;
	bool ok = true;

	if (!json_is_string(json_object_get(j, "verdict")) ||
	    !json_is_string(json_object_get(j, "stdout")) ||
	    !json_is_string(json_object_get(j, "stderr")) ||
	    !json_is_boolean(json_object_get(j, "truncated"))) {
		fail(c, r->file, "result lacks verdict/stdout/stderr/truncated");
		return false;
	}
	for (int i = 0; i < 5; i++) {
		if (!json_is_number(json_object_get(j, nums[i]))) {
			fail(c, r->file, "result lacks the number %s", nums[i]);
			ok = false;
		}
	}
	iso = json_object_get(j, "isolation");
	names = json_object_get(iso, "namespaces");
	for (int i = 0; i < 7; i++) {
		bool seen = false;
		size_t k;
		json_t *v;

		json_array_foreach(names, k, v) seen |=
			json_is_string(v) && strcmp(json_string_value(v), ns[i]) == 0;
		if (!seen) {
			fail(c, r->file, "isolation.namespaces lacks \"%s\"", ns[i]);
		}
	}
	if (!json_is_true(json_object_get(iso, "seccomp"))) {
		fail(c, r->file, "isolation.seccomp is not true");
	}
	{
		const char *cg = json_string_value(json_object_get(iso, "cgroup"));

		if (!cg || (strcmp(cg, "v1") != 0 && strcmp(cg, "v2") != 0)) {
			fail(c, r->file, "isolation.cgroup is %s, not v1 or v2",
			     cg ? cg : "missing");
		}
	}
	return ok;
}

static void check_run(const struct case_spec *c, const struct run_spec *r, struct run_result *res,
		      const char *prev_out, double prev_ms, long wall_ms, int jobs)
{
	json_t *j = res->json;
	const char *verdict = res->verdict;
	double cpu = json_number_value(json_object_get(j, "cpu_ms"));
	double wall = json_number_value(json_object_get(j, "wall_ms"));
	long sig = (long)json_integer_value(json_object_get(j, "signal"));
	int before = failures;
	char what[256];

	if (!check_shape(c, r, j))
		return;
	if (!verdict_in(verdict, r->verdicts))
		fail(c, r->file,
		     "expected verdict %s, got %s (exit %lld, signal %ld; stdout: %.160s; "
		     "stderr: %.300s)",
		     r->verdicts, verdict, json_integer_value(json_object_get(j, "exit_code")), sig,
		     res->out, res->err);
	for (int i = 0; i < r->nlines; i++)
		if (!has_line(res->out, res->out_len, r->lines[i]))
			fail(c, r->file, "expected a stdout line \"%s\"; stdout: %.400s",
			     r->lines[i], res->out);
	if (strcmp(verdict, "RE") == 0)
		for (int i = 0; i < r->nre_lines; i++)
			if (!has_line(res->out, res->out_len, r->re_lines[i]))
				fail(c, r->file,
				     "RE is allowed only with a line \"%s\"; stdout: %.300s",
				     r->re_lines[i], res->out);
	if (r->oneof[0]) {
		char buf[160];
		bool any = false;

		snprintf(buf, sizeof(buf), "%s", r->oneof);
		for (char *t = strtok(buf, "|"); t; t = strtok(NULL, "|")) {
			if (strncmp(t, "signal:", 7) == 0)
				any |= sig == strtol(t + 7, NULL, 10);
			else if (strncmp(t, "line:", 5) == 0)
				any |= has_line(res->out, res->out_len, t + 5);
		}
		if (!any)
			fail(c, r->file, "expected one of %s; got signal %ld, stdout: %.200s",
			     r->oneof, sig, res->out);
	}
	if (bad_line(res->out, res->out_len, what, sizeof(what)))
		fail(c, r->file, "the program got through: \"%s\"", what);
	if (r->truncated >= 0 && json_is_true(json_object_get(j, "truncated")) != r->truncated)
		fail(c, r->file, "expected truncated=%s", r->truncated ? "true" : "false");
	if (r->stdout_max >= 0 && (long)res->out_len > r->stdout_max)
		fail(c, r->file, "stdout is %zu bytes, cap %ld", res->out_len, r->stdout_max);
	if (r->stderr_max >= 0 && (long)res->err_len > r->stderr_max)
		fail(c, r->file, "stderr is %zu bytes, cap %ld", res->err_len, r->stderr_max);
	if (r->cpu_max >= 0 && cpu > (double)r->cpu_max)
		fail(c, r->file, "cpu_ms %.1f, expected under %ld (a wall-time TLE)", cpu,
		     r->cpu_max);
	if (r->wall_min >= 0 && wall < (double)r->wall_min)
		fail(c, r->file, "wall_ms %.1f, expected at least %ld", wall, r->wall_min);
	if (wall > (double)(wall_ms + SLACK_MS))
		fail(c, r->file, "judge reports wall_ms %.0f, limit %ld + %d", wall, wall_ms,
		     SLACK_MS);
	if (jobs <= 1 && res->arrived_ms - prev_ms > (double)(wall_ms + SLACK_MS))
		fail(c, r->file, "result arrived %.0f ms after the previous one; limit %ld + %d ms",
		     res->arrived_ms - prev_ms, wall_ms, SLACK_MS);
	{
		const char *canaries[2] = { secret, victim_secret };

		for (int i = 0; i < 2; i++)
			if (contains(res->out, res->out_len, canaries[i]) ||
			    contains(res->err, res->err_len, canaries[i]))
				fail(c, r->file, "a canary secret appeared in the output");
	}
	custom_check(c, r, res, prev_out);
	if (failures == before)
		printf("ok   %s %s: %s in %.0f ms (cpu %.0f ms)\n", c->name, r->file, verdict, wall,
		       cpu);
}

/*
 * Reads contain's stdout line by line, timestamped, and its stderr, until both close.  When a
 * result arrives, every earlier run has ended; marked[i] counts the host's processes carrying the
 * marker at that moment (a daemon of an earlier run must be gone by then).
 */
static int collect(const struct case_spec *c, int out_fd, int err_fd, double start, char **lines,
		   double *arrived, int *marked, int max, char *errbuf)
{
	char *buf = NULL;
	size_t len = 0, cap = 0, elen = 0;
	int n = 0;
	struct pollfd p[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
	int open_fds = 2;

	errbuf[0] = '\0';
	while (open_fds > 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			char tmp[4096];
			ssize_t got = read(err_fd, tmp, sizeof(tmp));

			if (got <= 0) {
				p[1].fd = -1;
				open_fds--;
			} else if (elen + 1 < STDERR_KEEP) {
				size_t take = (size_t)got < STDERR_KEEP - 1 - elen
						      ? (size_t)got
						      : STDERR_KEEP - 1 - elen;

				memcpy(errbuf + elen, tmp, take);
				elen += take;
				errbuf[elen] = '\0';
			}
		}
		if (p[0].revents) {
			ssize_t got;

			if (len + 65536 > cap) {
				char *nb = realloc(buf, cap ? cap * 2 : 1 << 20);

				if (!nb)
					break;
				buf = nb;
				cap = cap ? cap * 2 : 1 << 20;
			}
			got = read(out_fd, buf + len, cap - len - 1);
			if (got <= 0) {
				p[0].fd = -1;
				open_fds--;
				continue;
			}
			len += (size_t)got;
			for (char *nl; (nl = memchr(buf, '\n', len));) {
				size_t llen = (size_t)(nl - buf);

				if (n < max) {
					lines[n] = strndup(buf, llen);
					arrived[n] = now_ms() - start;
					marked[n++] = scan_marked_processes(NULL);
				}
				memmove(buf, nl + 1, len - llen - 1);
				len -= llen + 1;
			}
		}
	}
	if (len && n < max) {
		fail(c, NULL, "tandem-run's output ends without a newline");
		lines[n] = strndup(buf, len);
		arrived[n] = now_ms() - start;
		marked[n++] = 0;
	}
	free(buf);
	return n;
}

static void run_case(struct case_spec *c)
{
	char report_path[PATH_MAX * 2], *argv[MAX_ARGS + MAX_RUNS + 16], **envp;
	char num[5][32], *lines[MAX_RUNS + 8], errbuf[STDERR_KEEP], *report, word[1024];
	char stdin_path[PATH_MAX * 2];
	double arrived[MAX_RUNS + 8], start;
	int marked[MAX_RUNS + 8];
	long wall_ms = judge_opt(c, "--wall-ms", DEFAULT_WALL), total_wall = 0;
	int jobs = (int)judge_opt(c, "--jobs", 1), argc = 0, envc = 0, nlines, status = 0;
	int out_pipe[2], err_pipe[2], before = failures;
	char *prev_out = NULL;
	struct rusage ru;
	pid_t pid;

	for (int i = 0; i < c->nruns; i++) {
		if (prepare_program(&c->runs[i]) < 0) {
			fail(c, c->runs[i].file, "cannot prepare the program");
			return;
		}
		total_wall += wall_ms + SLACK_MS;
	}
	snprintf(report_path, sizeof(report_path), "%s/report-%.63s", scratch, c->name);
	snprintf(num[0], sizeof(num[0]), "%ld", c->fence_mem_mb);
	snprintf(num[1], sizeof(num[1]), "%ld", c->fence_pids);
	snprintf(num[2], sizeof(num[2]), "%ld", total_wall / 1000 + 30);
	argv[argc++] = (char *)contain_path;
	argv[argc++] = (char *)"--report";
	argv[argc++] = report_path;
	argv[argc++] = (char *)"--mem-mb";
	argv[argc++] = num[0];
	argv[argc++] = (char *)"--pids";
	argv[argc++] = num[1];
	argv[argc++] = (char *)"--timeout-s";
	argv[argc++] = num[2];
	argv[argc++] = (char *)"--";
	argv[argc++] = (char *)judge_path;
	for (int i = 0; i < c->njudge_args; i++) {
		argv[argc++] = c->judge_args[i];
		/* --stdin names a file of the hostile folder. */
		if (strcmp(c->judge_args[i], "--stdin") == 0 && i + 1 < c->njudge_args &&
		    strcmp(c->judge_args[i + 1], "@BIG@") == 0) {
			i++;
			argv[argc++] = big_stdin_path();
		} else if (strcmp(c->judge_args[i], "--stdin") == 0 && i + 1 < c->njudge_args &&
			   c->judge_args[i + 1][0] != '/') {
			snprintf(stdin_path, sizeof(stdin_path), "%s/%s", hostile_dir,
				 c->judge_args[++i]);
			argv[argc++] = stdin_path;
		}
	}
	for (int i = 0; i < c->nruns; i++)
		argv[argc++] = c->runs[i].path;
	argv[argc] = NULL;

	/* tandem-run's environment carries a secret that no sandbox may ever print. */
	for (char **e = environ; *e; e++)
		envc++;
	envp = calloc((size_t)envc + 4, sizeof(*envp));
	envc = 0;
	for (char **e = environ; *e; e++)
		if (!asan_build || strncmp(*e, "ASAN_OPTIONS=", 13) != 0)
			envp[envc++] = *e;
	if (asan_build) {
		/*
		 * ASan's quarantine keeps up to 256 MB of freed blocks resident; that is the
		 * sanitizer's memory, not the judge's, so keep it small for the RSS bound.
		 */
		const char *old = getenv("ASAN_OPTIONS");

		snprintf(asan_env, sizeof(asan_env), "ASAN_OPTIONS=%s%squarantine_size_mb=8",
			 old ? old : "", old && *old ? ":" : "");
		envp[envc++] = asan_env;
	}
	snprintf(word, sizeof(word), "TANDEM_SECRET=%s", secret);
	envp[envc++] = strdup(word);
	envp[envc] = NULL;

	if (c->listen)
		start_listeners();
	if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
		fail(c, NULL, "pipe: %s", strerror(errno));
		return;
	}
	start = now_ms();
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/* If the test dies (meson's timeout), contain still kills and removes everything.
		 */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(null, 0);
		dup2(out_pipe[1], 1);
		dup2(err_pipe[1], 2);
		execve(contain_path, argv, envp);
		_exit(127);
	}
	close(out_pipe[1]);
	close(err_pipe[1]);
	nlines = collect(c, out_pipe[0], err_pipe[0], start, lines, arrived, marked, MAX_RUNS + 8,
			 errbuf);
	close(out_pipe[0]);
	close(err_pipe[0]);
	wait4(pid, &status, 0, &ru);
	if (c->listen)
		stop_listeners(c);
	free(envp[envc - 1]);
	free(envp);

	report = read_whole(report_path, NULL);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77 && nlines == 0) {
		printf("SKIP: the outer fence cannot be set up here: %s\n", errbuf);
		free(report);
		cleanup_host();
		exit(77);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 124)
			fail(c, NULL, "the outer fence's timeout killed the judge (%s s)", num[2]);
		else
			fail(c, NULL,
			     "tandem-run (under contain) exited with status %d%s; stderr: %.600s",
			     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			     WIFSIGNALED(status) ? " (signal)" : "", errbuf);
	}
	if (nlines != c->nruns)
		fail(c, NULL, "expected %d result lines, got %d; stderr: %s", c->nruns, nlines,
		     tail(errbuf, 1500));

	for (int i = 0; i < nlines && i < c->nruns; i++) {
		struct run_result res = { 0 };
		json_error_t jerr;

		res.json = json_loads(lines[i], JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
		res.arrived_ms = arrived[i];
		if (!res.json) {
			fail(c, c->runs[i].file, "invalid JSON (%s at %d): %.200s", jerr.text,
			     jerr.position, lines[i]);
			free(prev_out);
			prev_out = NULL;
			continue;
		}
		res.verdict = json_string_value(json_object_get(res.json, "verdict"));
		res.out = json_string_value(json_object_get(res.json, "stdout"));
		res.err = json_string_value(json_object_get(res.json, "stderr"));
		res.out_len = json_string_length(json_object_get(res.json, "stdout"));
		res.err_len = json_string_length(json_object_get(res.json, "stderr"));
		if (!res.verdict)
			res.verdict = "(none)";
		if (!res.out)
			res.out = "";
		if (!res.err)
			res.err = "";
		check_run(c, &c->runs[i], &res, prev_out, i ? arrived[i - 1] : 0, wall_ms, jobs);
		free(prev_out);
		prev_out = strdup(res.out);
		json_decref(res.json);
	}
	free(prev_out);
	for (int i = 0; i < nlines; i++)
		free(lines[i]);
	for (int i = 1, daemon_at = -1; i < nlines && i < c->nruns; i++) {
		/* Only daemon.py leaves marked processes; once its result is in, they must be gone.
		 */
		if (strcmp(c->runs[i - 1].file, "daemon.py") == 0)
			daemon_at = i - 1;
		if (daemon_at >= 0 && marked[i] > 0 && strcmp(c->runs[i].file, "daemon.py") != 0)
			fail(c, NULL,
			     "the daemon of run %d was still alive on the host when run %d's "
			     "result arrived",
			     daemon_at + 1, i + 1);
	}

	if (jobs > 1 && nlines > 0) {
		/* N at a time: the whole batch within its rounds of wall limit plus one second. */
		long rounds = (c->nruns + jobs - 1) / jobs;

		if (arrived[nlines - 1] > (double)(rounds * (wall_ms + SLACK_MS)))
			fail(c, NULL, "%d runs, %d at a time, took %.0f ms; bound %ld ms", c->nruns,
			     jobs, arrived[nlines - 1], rounds * (wall_ms + SLACK_MS));
	}

	/* What the fence saw.  Reaching its limits means the judge did not contain the program. */
	if (!report) {
		fail(c, NULL, "contain wrote no report");
	} else {
		long pids_peak = report_num(report, "pids_peak");
		long hwm = report_num(report, "cmd_hwm_kb");

		if (pids_peak >= c->fence_pids)
			fail(c, NULL, "the outer pids fence was reached (%ld of %ld)", pids_peak,
			     c->fence_pids);
		if (report_num(report, "mem_failcnt") > 0 || report_num(report, "mem_oom_kill") > 0)
			fail(c, NULL, "the outer memory fence was reached (peak %ld kB of %ld MB)",
			     report_num(report, "mem_peak_kb"), c->fence_mem_mb);
		if (report_num(report, "leftover") != 0)
			fail(c, NULL, "processes outlived tandem-run: %s",
			     report_str(report, "leftover", word, sizeof(word)));
		if (strstr(report_str(report, "tmp", word, sizeof(word)), mark) ||
		    strstr(report_str(report, "shm", word, sizeof(word)), mark))
			fail(c, NULL, "the judge's host /tmp or /dev/shm got a sandbox's file: %s",
			     word);
		/* The sandboxes write megabytes into their own tmpfs; none of it may land here. */
		if (report_num(report, "tmp_used_kb") > HOST_TMP_KB ||
		    report_num(report, "shm_used_kb") > HOST_TMP_KB)
			fail(c, NULL,
			     "the judge's host /tmp (%ld kB) or /dev/shm (%ld kB) filled up",
			     report_num(report, "tmp_used_kb"), report_num(report, "shm_used_kb"));
		if (c->rss_max_mb > 0 && hwm > c->rss_max_mb * 1024)
			fail(c, NULL, "tandem-run's peak RSS was %ld kB, bound %ld MB", hwm,
			     c->rss_max_mb);
		printf("#    %s: fence peaks %ld pids, %ld kB; judge RSS %ld kB (tree %ld kB); "
		       "%.0f ms\n",
		       c->name, pids_peak, report_num(report, "mem_peak_kb"), hwm, ru.ru_maxrss,
		       now_ms() - start);
		free(report);
	}
	if (!canary_alive())
		fail(c, NULL, "the canary process outside the fence was killed");
	scan_marked_processes(c);
	scan_sysv(c);
	scan_host_dirs(c);
	if (c->victims)
		check_victims(c);
	if (failures == before)
		printf("ok   %s\n", c->name);
	fflush(stdout);
}

/* Removes what a broken judge may have left on the host, then the scratch dir. */
static void cleanup_host(void)
{
	char cmd[PATH_MAX + 32];

	for (long k = ipckey; k <= ipckey + 2; k++) {
		int id;

		if ((id = shmget((key_t)k, 0, 0)) >= 0)
			shmctl(id, IPC_RMID, NULL);
		if ((id = msgget((key_t)k, 0)) >= 0)
			msgctl(id, IPC_RMID, NULL);
		if ((id = semget((key_t)k, 0, 0)) >= 0)
			semctl(id, 0, IPC_RMID);
	}
	unlink(root_canary);
	if (canary_pid > 0) {
		kill(canary_pid, SIGKILL);
		waitpid(canary_pid, NULL, 0);
	}
	if (strncmp(scratch, "/var/tmp/tandem-hostile-", 24) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", scratch);
	}
}

int main(int argc, char **argv)
{
	const char *group = NULL, *only = NULL, *dir = NULL;
	char manifest[PATH_MAX * 2];
	int ran = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--judge") == 0)
			judge_path = argv[i + 1];
		else if (strcmp(argv[i], "--contain") == 0)
			contain_path = argv[i + 1];
		else if (strcmp(argv[i], "--dir") == 0)
			dir = argv[i + 1];
		else if (strcmp(argv[i], "--group") == 0)
			group = argv[i + 1];
		else if (strcmp(argv[i], "--case") == 0)
			only = argv[i + 1];
	}
	if (!judge_path || !contain_path || !dir) {
		fprintf(stderr, "usage: test-hostile --judge PATH --contain PATH --dir HOSTILE_DIR "
				"[--group G] [--case NAME]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP: the outer fence needs root (cgroups, namespaces)\n");
		return 77;
	}
	if (access(judge_path, X_OK) != 0) {
		printf("SKIP: no judge at %s\n", judge_path);
		return 77;
	}
	if (!realpath(dir, hostile_dir)) {
		fprintf(stderr, "no hostile dir %s\n", dir);
		return 2;
	}
	snprintf(manifest, sizeof(manifest), "%s/../../..", hostile_dir);
	if (!realpath(manifest, project_dir))
		snprintf(project_dir, sizeof(project_dir), "/nonexistent");
	snprintf(manifest, sizeof(manifest), "%s/cases.txt", hostile_dir);
	load_manifest(manifest);
	signal(SIGPIPE, SIG_IGN);
	setup_host();
	start_canary();

	for (int i = 0; i < ncases; i++) {
		if ((group && strcmp(cases[i].group, group) != 0) ||
		    (only && strcmp(cases[i].name, only) != 0))
			continue;
		run_case(&cases[i]);
		ran++;
	}
	cleanup_host();
	if (ran == 0) {
		printf("FAIL no case matched\n");
		return 1;
	}
	printf("%d case(s), %d failure(s)\n", ran, failures);
	return failures ? 1 : 0;
}
