/*
 * contain: the outer fence around the hostile-program tests.
 *
 * The hostile tests feed fork bombs, kill(-1, 9), memory hogs and disk fillers to the judge on
 * purpose.  They must stay harmless when the judge under test is broken, so they never run
 * tandem-run directly: they run `contain -- tandem-run ...`.  contain puts itself into a memory and
 * pids cgroup of its own (cgroup v1 beneath the paths of /proc/self/cgroup, or v2 where the
 * controllers are delegated), unshares a pid, a mount and a uts namespace, mounts a fresh /proc and
 * size-capped tmpfs on /tmp and /dev/shm, and runs the command as pid 2 under a small init of its
 * own.  Whatever the judge lets through can then reach only processes inside that namespace, only
 * that much memory, only that many pids, only a throw-away /tmp and hostname; a wall timeout kills
 * the whole namespace, and the cgroup is emptied and removed at the end.
 *
 * It also tells the test what happened at the fence, in a report file of "key value" lines: the
 * peak pids and memory of the whole tree, whether the outer limits were reached (which means the
 * judge did not contain something itself), the command's own peak RSS (VmHWM, polled), processes
 * still alive after the command exited, and what was left in the namespace's /tmp and /dev/shm.
 *
 * It must never leave a process or a cgroup behind, and never signal anything outside its own
 * namespace.  The command is pid 2, not pid 1, on purpose: a namespace init ignores SIGKILL from
 * inside, which would hide a judge whose sandbox can kill it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Exit statuses of contain itself (the command's own status is passed through otherwise). */
#define CONTAIN_EXIT_SKIP    77	 /* not root, or no usable cgroup: the test should skip */
#define CONTAIN_EXIT_TIMEOUT 124 /* the wall timeout killed the namespace */
#define CONTAIN_EXIT_SETUP   125 /* contain could not set up the fence */

/*
 * One controller's cgroup as contain created it.  v1 and v2 differ only in file names, so each
 * controller records which hierarchy it lives in; `dir` is empty until the directory exists, so
 * cleanup knows what to remove.
 */
struct contain_cg {
	const char *ctrl;      /* "memory" or "pids" */
	int version;	       /* 1 or 2 */
	char parent[PATH_MAX]; /* the cgroup contain was started in */
	char dir[PATH_MAX];    /* the cgroup contain created, or "" */
};

struct contain_opts {
	long mem_mb;
	long pids;
	long timeout_s;
	long tmpfs_mb;
	const char *report;
	char **argv;
};

static struct contain_cg contain_mem = { .ctrl = "memory" };
static struct contain_cg contain_pids = { .ctrl = "pids" };
/* No limit: only so that the judge's own cpuacct cgroups nest beneath this run's (v1). */
static struct contain_cg contain_cpuacct = { .ctrl = "cpuacct" };

/*
 * Sanitizer builds: LeakSanitizer stops the world at exit by cloning a tracer, and a process that
 * unshared CLONE_NEWPID cannot create children once that namespace's init has exited, so the check
 * would fail with a fatal error.  contain owns nothing worth checking at exit; leave it out.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

static void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("contain: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Joins dir and name into out; a path that does not fit is an error, never silently cut. */
static int path_join(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int write_file(const char *dir, const char *name, const char *value)
{
	char path[PATH_MAX];
	int fd;
	ssize_t n;
	size_t len = strlen(value);

	if (path_join(path, sizeof(path), dir, name) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

/* Reads a small file whole into buf (NUL-terminated); returns its length or a negative errno. */
static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got + 1 < size) {
		ssize_t n = read(fd, buf + got, size - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* A number from a cgroup file, or -1 when absent; "max" reads as -2. */
static long long read_num(const char *dir, const char *name)
{
	char path[PATH_MAX], buf[64];

	if (path_join(path, sizeof(path), dir, name) < 0 || read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	if (strncmp(buf, "max", 3) == 0)
		return -2;
	return strtoll(buf, NULL, 10);
}

/* The value of `key` in a flat-keyed file such as memory.events or memory.oom_control. */
static long long read_keyed(const char *dir, const char *name, const char *key)
{
	char path[PATH_MAX], buf[4096];
	size_t klen = strlen(key);

	if (path_join(path, sizeof(path), dir, name) < 0 || read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtoll(line + klen + 1, NULL, 10);
	return -1;
}

/*
 * Finds where `ctrl` is mounted (v1: a "cgroup" mount carrying it as an option; v2: the
 * "cgroup2" mount) by reading /proc/self/mountinfo; returns the mount point joined with the
 * process's cgroup path relative to the mount's root.
 */
static int find_mount(const char *ctrl, int version, const char *cgpath, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], mnt[PATH_MAX], fstype[64], opts[1024];
		const char *sep = strstr(line, " - ");
		const char *rel;
		bool match = false;

		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
			continue;
		if (sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (version == 2) {
			match = strcmp(fstype, "cgroup2") == 0;
		} else if (strcmp(fstype, "cgroup") == 0) {
			for (char *o = strtok(opts, ","); o; o = strtok(NULL, ","))
				if (strcmp(o, ctrl) == 0)
					match = true;
		}
		if (!match)
			continue;
		rel = cgpath;
		if (strcmp(root, "/") != 0) {
			size_t rlen = strlen(root);

			if (strncmp(cgpath, root, rlen) != 0)
				continue;
			rel = cgpath + rlen;
		}
		snprintf(out, size, "%s%s", mnt, rel);
		found = 0;
		break;
	}
	fclose(f);
	return found;
}

/*
 * Fills in where contain's cgroup for `cg->ctrl` goes: a v1 hierarchy carrying the controller if
 * there is one, else v2 when the controller is listed in the v2 cgroup's cgroup.controllers.
 */
static int locate_cgroup(struct contain_cg *cg)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096], v2path[PATH_MAX] = "";
	char v1path[PATH_MAX] = "";

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *ctrls = strchr(line, ':');
		char *path = ctrls ? strchr(ctrls + 1, ':') : NULL;

		if (!path)
			continue;
		*path++ = '\0';
		ctrls++;
		path[strcspn(path, "\n")] = '\0';
		if (*ctrls == '\0') {
			snprintf(v2path, sizeof(v2path), "%s", path);
			continue;
		}
		for (char *c = strtok(ctrls, ","); c; c = strtok(NULL, ","))
			if (strcmp(c, cg->ctrl) == 0)
				snprintf(v1path, sizeof(v1path), "%s", path);
	}
	fclose(f);

	if (v1path[0] && find_mount(cg->ctrl, 1, v1path, cg->parent, sizeof(cg->parent)) == 0) {
		cg->version = 1;
		return 0;
	}
	if (v2path[0] && find_mount(cg->ctrl, 2, v2path, cg->parent, sizeof(cg->parent)) == 0) {
		char path[PATH_MAX], buf[1024];

		if (path_join(path, sizeof(path), cg->parent, "cgroup.controllers") == 0 &&
		    read_file(path, buf, sizeof(buf)) > 0 && strstr(buf, cg->ctrl)) {
			char enable[32];

			/* The child can only use the controller if the parent delegates it. */
			snprintf(enable, sizeof(enable), "+%s", cg->ctrl);
			write_file(cg->parent, "cgroup.subtree_control", enable);
			cg->version = 2;
			return 0;
		}
	}
	return -ENOENT;
}

static void remove_tree(const char *dir, double deadline);

/*
 * Removes directories of earlier contain runs whose owner died without cleaning up (a test killed
 * by its timeout); only directories named after a pid that no longer exists.
 */
static void remove_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		long pid;

		if (strncmp(e->d_name, "tandem-contain-", 15) != 0)
			continue;
		pid = strtol(e->d_name + 15, NULL, 10);
		if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (path_join(path, sizeof(path), parent, e->d_name) == 0)
			remove_tree(path, now_s() + 1.0);
	}
	closedir(d);
}

static void create_cgroup(struct contain_cg *cg, const char *limit_file, long long limit)
{
	char buf[32];
	int err;

	remove_stale(cg->parent);
	snprintf(buf, sizeof(buf), "tandem-contain-%ld", (long)getpid());
	if (path_join(cg->dir, sizeof(cg->dir), cg->parent, buf) < 0 || mkdir(cg->dir, 0755) < 0) {
		cg->dir[0] = '\0';
		die(CONTAIN_EXIT_SKIP, "cannot create a %s cgroup under %s: %s", cg->ctrl,
		    cg->parent, strerror(errno));
	}
	snprintf(buf, sizeof(buf), "%lld", limit);
	err = limit_file ? write_file(cg->dir, limit_file, buf) : 0;
	if (err < 0)
		die(CONTAIN_EXIT_SETUP, "cannot set %s/%s: %s", cg->dir, limit_file,
		    strerror(-err));
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	err = write_file(cg->dir, "cgroup.procs", buf);
	if (err < 0)
		die(CONTAIN_EXIT_SETUP, "cannot enter %s: %s", cg->dir, strerror(-err));
}

/*
 * Empties and removes a cgroup directory and the cgroups the judge created beneath it, deepest
 * first: SIGKILLs whatever is still listed (only possible when the namespace is already gone or
 * going) and retries rmdir for up to two seconds while the killed tasks finish exiting.
 */
static void remove_tree(const char *dir, double deadline)
{
	char path[PATH_MAX];
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (e->d_type == DT_DIR && strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    path_join(path, sizeof(path), dir, e->d_name) == 0)
			remove_tree(path, deadline);
	}
	if (d)
		closedir(d);
	if (path_join(path, sizeof(path), dir, "cgroup.procs") < 0)
		return;
	while (rmdir(dir) < 0 && errno == EBUSY && now_s() < deadline) {
		char procs[65536];

		if (read_file(path, procs, sizeof(procs)) > 0)
			for (char *p = strtok(procs, "\n"); p; p = strtok(NULL, "\n"))
				kill((pid_t)strtol(p, NULL, 10), SIGKILL);
		usleep(10000);
	}
}

/* Moves contain back to the cgroup it came from and removes the one it created. */
static void remove_cgroup(struct contain_cg *cg)
{
	char buf[32];

	if (!cg->dir[0])
		return;
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	write_file(cg->parent, "cgroup.procs", buf);
	remove_tree(cg->dir, now_s() + 2.0);
	if (access(cg->dir, F_OK) == 0)
		fprintf(stderr, "contain: could not remove %s\n", cg->dir);
	cg->dir[0] = '\0';
}

static void cleanup_cgroups(void)
{
	remove_cgroup(&contain_mem);
	remove_cgroup(&contain_pids);
	remove_cgroup(&contain_cpuacct);
}

/* Parses "VmHWM:   1234 kB" out of /proc/PID/status; 0 when the process is gone. */
static long read_hwm_kb(pid_t pid)
{
	char path[64], buf[4096];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "VmHWM:");
	return p ? strtol(p + 6, NULL, 10) : 0;
}

/*
 * Lists the processes still alive in the namespace other than init itself, into `out` as
 * "pid:comm" words; returns how many.  Zombies are dead already and are not counted.
 */
static int list_alive(char *out, size_t size)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int count = 0;
	size_t used = 0;

	out[0] = '\0';
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[PATH_MAX], buf[1024];
		long pid = strtol(e->d_name, NULL, 10);
		char *comm, *end;

		if (pid <= 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if (read_file(path, buf, sizeof(buf)) <= 0)
			continue;
		comm = strchr(buf, '(');
		end = strrchr(buf, ')');
		if (!comm || !end || end[1] != ' ' || end[2] == 'Z' || end[2] == 'X')
			continue;
		*end = '\0';
		for (char *c = comm + 1; *c; c++)
			if (*c == ' ' || *c == '\n')
				*c = '_';
		count++;
		if (used + 64 < size)
			used += (size_t)snprintf(out + used, size - used, " %ld:%.40s", pid,
						 comm + 1);
	}
	closedir(d);
	return count;
}

/*
 * Writes the names in `dir` (a tmpfs contain mounted) to the report as one line, and how much of
 * the tmpfs is in use as another ("<key>_used_kb").
 */
/*
 * Directories under /tmp that the command needs (a repository cloned under /tmp: the judge's
 * binary and its Python files).  The private tmpfs would hide them, so each is bound back,
 * read-only, at its own path.  Only the first component below /tmp is kept ("/tmp/ci" for
 * "/tmp/ci/build/judge/tandem-run"), which covers a source tree and a build tree inside it.
 */
#define KEEP_MAX 8
static char keep_name[KEEP_MAX][256];
static int keep_fd[KEEP_MAX];
static int nkeep;

static void keep_add(const char *path)
{
	char real[PATH_MAX], *slash;

	if (!path || !realpath(path, real) || strncmp(real, "/tmp/", 5) != 0 || nkeep == KEEP_MAX)
		return;
	slash = strchr(real + 5, '/');
	if (slash)
		*slash = '\0';
	if (strlen(real + 5) >= sizeof(keep_name[0]))
		return;
	for (int i = 0; i < nkeep; i++)
		if (strcmp(keep_name[i], real + 5) == 0)
			return;
	keep_fd[nkeep] = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (keep_fd[nkeep] < 0)
		return;
	snprintf(keep_name[nkeep], sizeof(keep_name[0]), "%s", real + 5);
	nkeep++;
}

/* Binds the kept directories back into the fresh /tmp, read-only. */
static void keep_restore(void)
{
	for (int i = 0; i < nkeep; i++) {
		char at[300], from[64];

		snprintf(at, sizeof(at), "/tmp/%s", keep_name[i]);
		snprintf(from, sizeof(from), "/proc/self/fd/%d", keep_fd[i]);
		if (mkdir(at, 0755) < 0 || mount(from, at, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, at, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
			die(CONTAIN_EXIT_SETUP, "keep %s visible: %s", at, strerror(errno));
		close(keep_fd[i]);
	}
}

static bool kept(const char *name)
{
	for (int i = 0; i < nkeep; i++)
		if (strcmp(keep_name[i], name) == 0)
			return true;
	return false;
}

static void report_dir(FILE *r, const char *key, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct statvfs vfs;

	if (statvfs(dir, &vfs) == 0)
		fprintf(r, "%s_used_kb %llu\n", key,
			(unsigned long long)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize / 1024);
	fprintf(r, "%s", key);
	if (d) {
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
			    !(strcmp(dir, "/tmp") == 0 && kept(e->d_name)))
				fprintf(r, " %s", e->d_name);
		closedir(d);
	}
	fprintf(r, "\n");
}

static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/*
 * Pid 1 of the new namespace: mounts what the namespace needs, starts the command as pid 2, reaps
 * everything, polls the command's VmHWM, and when the command has exited reports what it left and
 * kills the rest.  Its exit status is the command's (128 + signal when killed).
 */
static int run_init(const struct contain_opts *o, const sigset_t *oldmask)
{
	char size[64], alive[4096];
	pid_t cmd;
	int status = 0, leftover = 0;
	long hwm = 0;
	FILE *r = NULL;
	double grace;
	sigset_t chld;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die(CONTAIN_EXIT_SETUP, "make / private: %s", strerror(errno));
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die(CONTAIN_EXIT_SETUP, "mount /proc: %s", strerror(errno));
	snprintf(size, sizeof(size), "size=%ldm,mode=1777", o->tmpfs_mb);
	{
		char cwd[PATH_MAX];

		for (int i = 0; o->argv[i]; i++)
			keep_add(o->argv[i]);
		if (getcwd(cwd, sizeof(cwd)))
			keep_add(cwd);
		keep_add("/proc/self/exe");
	}
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, size) < 0)
		die(CONTAIN_EXIT_SETUP, "mount /tmp: %s", strerror(errno));
	keep_restore();
	if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, size) < 0)
		die(CONTAIN_EXIT_SETUP, "mount /dev/shm: %s", strerror(errno));

	cmd = fork();
	if (cmd < 0)
		die(CONTAIN_EXIT_SETUP, "fork: %s", strerror(errno));
	if (cmd == 0) {
		/* A broken judge that writes into its working directory writes into the tmpfs. */
		if (chdir("/tmp") < 0)
			_exit(CONTAIN_EXIT_SETUP);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		execvp(o->argv[0], o->argv);
		fprintf(stderr, "contain: exec %s: %s\n", o->argv[0], strerror(errno));
		_exit(127);
	}

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (bool exited = false; !exited;) {
		struct timespec tick = { 0, 20 * 1000 * 1000 };
		pid_t pid;
		int st;
		long h = read_hwm_kb(cmd);

		if (h > hwm)
			hwm = h;
		sigtimedwait(&chld, NULL, &tick);
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid == cmd) {
				status = st;
				exited = true;
			}
		}
	}

	/*
	 * Whatever the command started must be gone by the time it exits.  Killed processes take a
	 * moment to die, so give them half a second of reaping before calling them leftovers.
	 */
	grace = now_s() + 0.5;
	while ((leftover = list_alive(alive, sizeof(alive))) > 0 && now_s() < grace) {
		struct timespec tick = { 0, 10 * 1000 * 1000 };

		sigtimedwait(&chld, NULL, &tick);
		reap_all();
	}

	if (o->report)
		r = fopen(o->report, "ae");
	if (r) {
		fprintf(r, "cmd_hwm_kb %ld\n", hwm);
		fprintf(r, "leftover %d%s\n", leftover, alive);
		report_dir(r, "tmp", "/tmp");
		report_dir(r, "shm", "/dev/shm");
		fclose(r);
	}
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static long parse_num(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0)
		die(CONTAIN_EXIT_SETUP, "bad %s: %s", what, s);
	return v;
}

static void parse_args(int argc, char **argv, struct contain_opts *o)
{
	int i;

	o->mem_mb = 1024;
	o->pids = 1024;
	o->timeout_s = 60;
	o->tmpfs_mb = 256;
	o->report = NULL;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			die(CONTAIN_EXIT_SETUP, "missing value after %s", a);
		if (strcmp(a, "--mem-mb") == 0)
			o->mem_mb = parse_num(argv[++i], a);
		else if (strcmp(a, "--pids") == 0)
			o->pids = parse_num(argv[++i], a);
		else if (strcmp(a, "--timeout-s") == 0)
			o->timeout_s = parse_num(argv[++i], a);
		else if (strcmp(a, "--tmpfs-mb") == 0)
			o->tmpfs_mb = parse_num(argv[++i], a);
		else if (strcmp(a, "--report") == 0)
			o->report = argv[++i];
		else
			die(CONTAIN_EXIT_SETUP, "unknown option %s", a);
	}
	if (i >= argc)
		die(CONTAIN_EXIT_SETUP,
		    "usage: contain [--mem-mb N] [--pids N] [--timeout-s N] [--tmpfs-mb N] "
		    "[--report FILE] -- CMD ARGS...");
	o->argv = argv + i;
}

/* Appends the fence's own figures (peaks, limits reached) to the report. */
static void report_fence(const struct contain_opts *o, bool timed_out, double elapsed)
{
	FILE *r;
	const struct contain_cg *m = &contain_mem, *p = &contain_pids;

	if (!o->report || !(r = fopen(o->report, "ae")))
		return;
	fprintf(r, "timed_out %d\n", timed_out);
	fprintf(r, "elapsed_ms %.0f\n", elapsed * 1000);
	fprintf(r, "pids_max %ld\n", o->pids);
	fprintf(r, "pids_peak %lld\n", read_num(p->dir, "pids.peak"));
	fprintf(r, "mem_max_kb %ld\n", o->mem_mb * 1024);
	if (m->version == 1) {
		fprintf(r, "mem_peak_kb %lld\n",
			read_num(m->dir, "memory.max_usage_in_bytes") / 1024);
		fprintf(r, "mem_failcnt %lld\n", read_num(m->dir, "memory.failcnt"));
		fprintf(r, "mem_oom_kill %lld\n",
			read_keyed(m->dir, "memory.oom_control", "oom_kill"));
	} else {
		fprintf(r, "mem_peak_kb %lld\n", read_num(m->dir, "memory.peak") / 1024);
		fprintf(r, "mem_failcnt %lld\n", read_keyed(m->dir, "memory.events.local", "max"));
		fprintf(r, "mem_oom_kill %lld\n",
			read_keyed(m->dir, "memory.events.local", "oom_kill"));
	}
	fclose(r);
}

/*
 * Ends contain after its namespace is gone.  _exit, not exit: having unshared CLONE_NEWPID, this
 * process can create no child once that namespace's init has died, and LeakSanitizer's exit-time
 * check needs a child (its tracer), so it would fail the run with "LeakSanitizer has encountered a
 * fatal error" in sanitizer builds.  contain is a test fence; its own leaks do not matter.
 */
static _Noreturn void leave(int status)
{
	fflush(NULL);
	_exit(status);
}

int main(int argc, char **argv)
{
	struct contain_opts o;
	sigset_t chld, oldmask;
	pid_t init;
	int status = 0;
	bool timed_out = false;
	int stopped_by = 0;
	double start, deadline;

	parse_args(argc, argv, &o);
	if (geteuid() != 0)
		die(CONTAIN_EXIT_SKIP, "needs root (cgroups and namespaces)");
	if (o.report) {
		FILE *r = fopen(o.report, "we");

		if (!r)
			die(CONTAIN_EXIT_SETUP, "cannot write %s: %s", o.report, strerror(errno));
		fclose(r);
	}
	if (locate_cgroup(&contain_mem) < 0 || locate_cgroup(&contain_pids) < 0)
		die(CONTAIN_EXIT_SKIP, "no usable memory and pids cgroup controllers");

	/*
	 * SIGCHLD is taken with sigtimedwait, and so are the signals that stop a test (timeout(1)
	 * and meson send SIGTERM): those kill the namespace and clean up like the wall timeout
	 * does. Block them all before any child can exist.
	 */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigaddset(&chld, SIGTERM);
	sigaddset(&chld, SIGINT);
	sigaddset(&chld, SIGHUP);
	sigprocmask(SIG_BLOCK, &chld, &oldmask);

	create_cgroup(&contain_pids, "pids.max", o.pids);
	if (locate_cgroup(&contain_cpuacct) == 0 && contain_cpuacct.version == 1)
		create_cgroup(&contain_cpuacct, NULL, 0);
	create_cgroup(&contain_mem,
		      contain_mem.version == 1 ? "memory.limit_in_bytes" : "memory.max",
		      (long long)o.mem_mb << 20);

	if (unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS) < 0) {
		cleanup_cgroups();
		die(CONTAIN_EXIT_SKIP, "unshare(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS): %s",
		    strerror(errno));
	}
	start = now_s();
	deadline = start + (double)o.timeout_s;
	init = fork();
	if (init < 0) {
		cleanup_cgroups();
		die(CONTAIN_EXIT_SETUP, "fork: %s", strerror(errno));
	}
	if (init == 0)
		_exit(run_init(&o, &oldmask));

	for (;;) {
		double left = deadline - now_s();
		struct timespec ts;
		pid_t pid;
		int sig;

		pid = waitpid(init, &status, WNOHANG);
		if (pid == init)
			break;
		if (left <= 0) {
			/* Killing a namespace's init kills every process in the namespace. */
			timed_out = true;
			kill(init, SIGKILL);
			waitpid(init, &status, 0);
			break;
		}
		if (left > 0.5)
			left = 0.5;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		sig = sigtimedwait(&chld, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			stopped_by = sig;
			kill(init, SIGKILL);
			waitpid(init, &status, 0);
			break;
		}
	}

	report_fence(&o, timed_out, now_s() - start);
	cleanup_cgroups();
	if (stopped_by) {
		fprintf(stderr, "contain: stopped by signal %d; namespace killed\n", stopped_by);
		leave(128 + stopped_by);
	}
	if (timed_out) {
		fprintf(stderr, "contain: timed out after %ld s; namespace killed\n", o.timeout_s);
		leave(CONTAIN_EXIT_TIMEOUT);
	}
	if (WIFSIGNALED(status))
		leave(128 + WTERMSIG(status));
	leave(WEXITSTATUS(status));
}
