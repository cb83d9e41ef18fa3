/*
 * launch.c - builds the minimal read-only root and starts the zygote in it.
 *
 * Why it exists: every sandbox is forked from one warm interpreter, so the
 * interpreter's world must already be the sandbox's world: a tmpfs root
 * holding read-only binds of /usr/bin/python3, the libraries it and its
 * extension modules load, /usr/lib/python3.11, the C.UTF-8 locale and the
 * judge's .py files; a fresh /proc; /dev with null, zero and urandom.  No
 * /etc, /root, /home, /sys, no project files, no environment.
 *
 * Order of steps, and why: the child is cloned as real root into new mount,
 * pid, net, ipc and uts namespaces; as real root it can bind host files
 * and mount a proc for its own pid namespace (a proc the sandboxes later
 * need to be allowed to mount theirs).  After pivot_root it enters a new
 * user namespace in which it is root but which maps to the unprivileged
 * host uid JUDGE_ZYGOTE_UID: from then on it holds no privilege over the
 * host, yet can still create the sandboxes' user namespaces (in which they
 * can mount their tmpfs and proc).  It must never run code between clone
 * and execve that allocates (the parent may have threads): only system
 * calls on data prepared before the clone.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "judge-internal.h"

/* The host uid/gid range the zygote's user namespace maps to (unprivileged). */
#define JUDGE_ZYGOTE_UID 100000u
#define JUDGE_ZYGOTE_IDS 65536u

/*
 * Where the new root is assembled, inside the child's private mount ns:
 * the first of these folders that holds none of the bind sources (the
 * tmpfs mounted over it hides what was there, in that namespace only).
 */
static const char *const stages[] = { "/mnt", "/tmp", "/srv", "/media", "/opt" };

#define MAX_BINDS 40

struct bind {
	char dst[300];	    /* below the stage */
	char src[PATH_MAX]; /* resolved host path (an fd would name the parent's mount) */
	bool dir;
	bool dev; /* keep device access (the /dev nodes) */
};

struct plan {
	struct bind b[MAX_BINDS];
	int n;
	char stage[32];
	char dirs[4][64];   /* proc, dev/shm, tmp, work below the stage */
	char links[3][64];  /* lib, bin, usr/bin/python3.11 */
	int cfd;	    /* zygote's end of the control socket */
	int c2p, p2c;	    /* sync pipes (child's ends) */
	int parent_ends[3]; /* the parent's ends: the child closes them at once */
	char *argv[8];
};

/* Libraries of python3.11 and of the stdlib's extension modules worth having. */
static const char *const libs[] = {
	"libc.so.6",	 "libm.so.6",	  "libz.so.1",	    "libexpat.so.1", "libffi.so.8",
	"libbz2.so.1.0", "liblzma.so.5",  "libcrypto.so.3", "libuuid.so.1",  "libsqlite3.so.0",
	"libgcc_s.so.1", "libmpdec.so.3", "libssl.so.3",
};

static const char *const lib_dirs[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu" };

static int add_bind(struct plan *p, const char *src, const char *dst, bool dev)
{
	if (p->n >= MAX_BINDS)
		return JUDGE_EINVAL;
	struct stat st;
	struct bind *b = &p->b[p->n];
	if (!realpath(src, b->src) || stat(b->src, &st) < 0)
		return JUDGE_EPYTHON;
	snprintf(b->dst, sizeof(b->dst), "%s", dst);
	b->dir = S_ISDIR(st.st_mode);
	b->dev = dev;
	p->n++;
	return 0;
}

static void close_plan(struct plan *p)
{
	p->n = 0;
}

/* Picks a staging folder that is no source's ancestor; prefixes the targets. */
static int choose_stage(struct plan *p)
{
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		struct stat st;
		size_t sl = strlen(stages[i]);
		if (stat(stages[i], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		bool clash = false;
		for (int k = 0; k < p->n && !clash; k++)
			clash = strncmp(p->b[k].src, stages[i], sl) == 0 &&
				(p->b[k].src[sl] == '/' || p->b[k].src[sl] == '\0');
		if (clash)
			continue;
		snprintf(p->stage, sizeof(p->stage), "%s", stages[i]);
		static const char *const dirs[] = { "proc", "dev/shm", "tmp", "work" };
		static const char *const links[] = { "lib", "bin", "usr/bin/python3.11" };
		for (int k = 0; k < 4; k++)
			snprintf(p->dirs[k], sizeof(p->dirs[k]), "%s/%s", p->stage, dirs[k]);
		for (int k = 0; k < 3; k++)
			snprintf(p->links[k], sizeof(p->links[k]), "%s/%s", p->stage, links[k]);
		for (int k = 0; k < p->n; k++) {
			char d[300];
			snprintf(d, sizeof(d), "%s/%s", p->stage, p->b[k].dst);
			memcpy(p->b[k].dst, d, sizeof(d));
		}
		return 0;
	}
	return JUDGE_ESYS;
}

static int make_plan(struct plan *p, const char *python, const char *py_dir)
{
	memset(p, 0, sizeof(*p));
	char real[PATH_MAX];
	if (!realpath(python, real))
		return JUDGE_EPYTHON;
	int e = add_bind(p, real, "usr/bin/python3", false);
	e = e ? e : add_bind(p, "/usr/lib/python3.11", "usr/lib/python3.11", false);
	e = e ? e : add_bind(p, py_dir, "judge", false);
	if (!e && realpath("/lib64/ld-linux-x86-64.so.2", real))
		e = add_bind(p, real, "lib64/ld-linux-x86-64.so.2", false);
	for (size_t i = 0; !e && i < sizeof(libs) / sizeof(libs[0]); i++) {
		for (size_t d = 0; d < sizeof(lib_dirs) / sizeof(lib_dirs[0]); d++) {
			char src[PATH_MAX], dst[256];
			snprintf(src, sizeof(src), "%s/%s", lib_dirs[d], libs[i]);
			if (!realpath(src, real))
				continue;
			snprintf(dst, sizeof(dst), "usr/lib/x86_64-linux-gnu/%s", libs[i]);
			e = add_bind(p, real, dst, false);
			break;
		}
	}
	if (!e && access("/usr/lib/locale/C.utf8", R_OK) == 0)
		e = add_bind(p, "/usr/lib/locale/C.utf8", "usr/lib/locale/C.utf8", false);
	e = e ? e : add_bind(p, "/dev/null", "dev/null", true);
	e = e ? e : add_bind(p, "/dev/zero", "dev/zero", true);
	e = e ? e : add_bind(p, "/dev/urandom", "dev/urandom", true);
	e = e ? e : choose_stage(p);
	if (e)
		close_plan(p);
	return e;
}

/* ---- The child: only system calls from here to execve ------------------- */

static void die(const struct plan *p, const char *what)
{
	char msg[256];
	int err = errno;
	int n = snprintf(msg, sizeof(msg), "E%s: %s", what, strerror(err));
	if (n > 0 && write(p->c2p, msg, (size_t)n) < 0)
		_exit(2);
	_exit(1);
}

static void mkdirs(const struct plan *p, const char *path)
{
	char tmp[300];
	size_t len = strlen(path);
	if (len >= sizeof(tmp))
		die(p, "path too long");
	memcpy(tmp, path, len + 1);
	for (char *s = tmp + strlen(p->stage) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			die(p, "mkdir");
		*s = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		die(p, "mkdir");
}

static void parent_dir(const struct plan *p, const char *path)
{
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s", path);
	char *slash = strrchr(tmp, '/');
	if (slash) {
		*slash = '\0';
		mkdirs(p, tmp);
	}
}

static _Noreturn void child(const struct plan *p)
{
	/*
	 * Dies with the judge from the first instruction: this process is pid 1
	 * of its namespace, which ignores SIGTERM, and without its own copy of
	 * the parent's ends a judge killed before the 'M' below left it reading
	 * p2c forever (an orphan holding the server's stderr).
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int i = 0; i < 3; i++)
		close(p->parent_ends[i]);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die(p, "make / private");
	if (mount("tmpfs", p->stage, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") < 0)
		die(p, "mount root tmpfs");
	for (int i = 0; i < 4; i++)
		mkdirs(p, p->dirs[i]);
	if (symlink("usr/lib", p->links[0]) < 0 || symlink("usr/bin", p->links[1]) < 0)
		die(p, "symlink");
	for (int i = 0; i < p->n; i++) {
		const struct bind *b = &p->b[i];
		if (b->dir) {
			mkdirs(p, b->dst);
		} else {
			parent_dir(p, b->dst);
			int fd = open(b->dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0)
				die(p, "create bind target");
			close(fd);
		}
		if (mount(b->src, b->dst, NULL, MS_BIND, NULL) < 0)
			die(p, "bind");
		unsigned long fl = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID;
		if (!b->dev)
			fl |= MS_NODEV;
		if (mount(NULL, b->dst, NULL, fl, NULL) < 0)
			die(p, "remount bind read-only");
	}
	if (symlink("python3", p->links[2]) < 0)
		die(p, "symlink");
	/* A proc of the zygote's own pid namespace: only it and its sandboxes. */
	if (mount("proc", p->dirs[0], "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die(p, "mount proc");
	if (chdir(p->stage) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		die(p, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		die(p, "detach old root");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) <
	    0)
		die(p, "remount root read-only");
	if (sethostname("tandem-zygote", 13) < 0)
		die(p, "sethostname");

	/* Give up host root: a user namespace mapped by the parent. */
	if (unshare(CLONE_NEWUSER) < 0)
		die(p, "unshare user");
	char c = 'U';
	if (write(p->c2p, &c, 1) != 1 || read(p->p2c, &c, 1) != 1 || c != 'M')
		_exit(1);
	if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0)
		die(p, "become root of the user namespace");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		die(p, "pdeathsig");

	/*
	 * A pid namespace owned by the zygote's user namespace, with the
	 * zygote as its pid 1: only then may the zygote give each sandbox a
	 * fresh pid namespace straight from its own fork (unshare, fork, setns
	 * back), one fork per sandbox instead of two.  This process stays
	 * behind as the outer namespace's init and only waits.
	 */
	if (unshare(CLONE_NEWPID) < 0)
		die(p, "unshare pid");
	long inner = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
	if (inner < 0)
		die(p, "fork the zygote");
	if (inner > 0) {
		syscall(SYS_close_range, 0, ~0u, 0);
		int st = 0;
		while (waitpid((pid_t)inner, &st, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		die(p, "pdeathsig");

	/* Move both kept fds out of the way before placing them at 3 and 4. */
	int cfd = fcntl(p->cfd, F_DUPFD, 100), sync = fcntl(p->c2p, F_DUPFD, 100);
	if (cfd < 0 || sync < 0 || dup2(cfd, 3) < 0 || dup2(sync, 4) < 0)
		die(p, "dup2");
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
		die(p, "stdin/stdout");
	/* fd 2 stays the judge's stderr so that zygote failures are visible. */
	syscall(SYS_close_range, 5, ~0u, 0);
	fcntl(4, F_SETFD, FD_CLOEXEC);
	static char *const envp[] = { NULL };
	execve("/usr/bin/python3", p->argv, envp);
	die(p, "execve /usr/bin/python3");
	_exit(1);
}

/* ---- The parent ---------------------------------------------------------- */

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	for (;;) {
		int r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, file);
	return judge__write_file(path, map);
}

int judge__zygote_start(struct judge__zygote *z, const char *python, const char *py_dir,
			const char *config_json, const void *bpf, size_t bpf_len, int timeout_ms,
			char *err, size_t err_len)
{
	z->pid = -1;
	z->pidfd = -1;
	z->fd = -1;
	err[0] = '\0';
	if (geteuid() != 0) {
		snprintf(err, err_len, "not root");
		return JUDGE_EPRIV;
	}
	struct plan p;
	int e = make_plan(&p, python, py_dir);
	if (e) {
		snprintf(err, err_len, "cannot open %s, its libraries or %s", python, py_dir);
		return e;
	}
	int sv[2] = { -1, -1 }, c2p[2] = { -1, -1 }, p2c[2] = { -1, -1 };
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		goto err_sys;
	if (pipe2(c2p, O_CLOEXEC) < 0 || pipe2(p2c, O_CLOEXEC) < 0)
		goto err_sys;
	p.cfd = sv[1];
	p.c2p = c2p[1];
	p.p2c = p2c[0];
	p.parent_ends[0] = sv[0];
	p.parent_ends[1] = c2p[0];
	p.parent_ends[2] = p2c[1];
	static char a0[] = "python3", a1[] = "-I", a2[] = "-S", a3[] = "-B",
		    a4[] = "/judge/zygote.py", a5[] = "3";
	p.argv[0] = a0;
	p.argv[1] = a1;
	p.argv[2] = a2;
	p.argv[3] = a3;
	p.argv[4] = a4;
	p.argv[5] = a5;
	p.argv[6] = NULL;
	/* The child's end must survive execve; all others are CLOEXEC. */
	if (fcntl(sv[1], F_SETFD, 0) < 0)
		goto err_sys;

	long pid = syscall(SYS_clone,
			   CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
				   SIGCHLD,
			   NULL, NULL, NULL, 0);
	if (pid < 0)
		goto err_sys;
	if (pid == 0)
		child(&p);

	close(sv[1]);
	close(c2p[1]);
	close(p2c[0]);
	sv[1] = c2p[1] = p2c[0] = -1;
	z->pid = (pid_t)pid;
	z->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);

	char buf[300];
	ssize_t n = 0;
	if (wait_readable(c2p[0], timeout_ms) > 0)
		n = read(c2p[0], buf, sizeof(buf) - 1);
	if (n != 1 || buf[0] != 'U') {
		buf[n > 0 ? n : 0] = '\0';
		snprintf(err, err_len, "zygote set-up failed: %s", n > 0 ? buf + 1 : "no answer");
		e = JUDGE_EZYGOTE;
		goto err_child;
	}
	char map[64];
	snprintf(map, sizeof(map), "0 %u %u\n", JUDGE_ZYGOTE_UID, JUDGE_ZYGOTE_IDS);
	if (write_map(z->pid, "uid_map", map) < 0 || write_map(z->pid, "gid_map", map) < 0) {
		snprintf(err, err_len, "cannot write the zygote's id maps");
		e = JUDGE_EZYGOTE;
		goto err_child;
	}
	char m = 'M';
	if (write(p2c[1], &m, 1) != 1) {
		e = JUDGE_EZYGOTE;
		goto err_child;
	}
	close(p2c[1]);
	p2c[1] = -1;
	close_plan(&p);

	z->fd = sv[0];
	sv[0] = -1;
	if (send(z->fd, config_json, strlen(config_json), MSG_NOSIGNAL) < 0 ||
	    send(z->fd, bpf, bpf_len, MSG_NOSIGNAL) < 0) {
		snprintf(err, err_len, "cannot configure the zygote");
		e = JUDGE_EZYGOTE;
		goto err_child;
	}
	/* Hello: the zygote has imported the harness and waits for work. */
	n = 0;
	if (wait_readable(z->fd, timeout_ms) > 0)
		n = recv(z->fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0 || buf[0] != 'H') {
		/* An exec failure arrives on c2p (its fd 4 closes on exec). */
		ssize_t k = wait_readable(c2p[0], 0) > 0 ? read(c2p[0], buf, sizeof(buf) - 1) : 0;
		buf[k > 0 ? k : 0] = '\0';
		snprintf(err, err_len, "zygote did not start%s%s", k > 1 ? ": " : "",
			 k > 1 ? buf + 1 : " (see its stderr)");
		e = JUDGE_EZYGOTE;
		goto err_child;
	}
	close(c2p[0]);
	fcntl(z->fd, F_SETFL, O_NONBLOCK);
	return 0;

err_sys:
	snprintf(err, err_len, "zygote launch: %s", strerror(errno));
	e = JUDGE_ESYS;
err_child:
	close_plan(&p);
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (c2p[i] >= 0)
			close(c2p[i]);
		if (p2c[i] >= 0)
			close(p2c[i]);
	}
	judge__zygote_stop(z);
	return e;
}

void judge__zygote_stop(struct judge__zygote *z)
{
	if (z->fd >= 0) {
		close(z->fd);
		z->fd = -1;
	}
	if (z->pid > 0) {
		if (z->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, z->pidfd, SIGKILL, NULL, 0);
		else
			kill(z->pid, SIGKILL);
		while (waitpid(z->pid, NULL, 0) < 0 && errno == EINTR)
			;
		z->pid = -1;
	}
	if (z->pidfd >= 0) {
		close(z->pidfd);
		z->pidfd = -1;
	}
}
