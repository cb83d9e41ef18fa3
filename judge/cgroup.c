/*
 * cgroup.c - the sandboxes' cgroups, v1 or v2.
 *
 * Why it exists: memory (OOM -> MLE), pids (fork and thread bombs) and CPU
 * accounting are enforced by the kernel per sandbox, and the judge must
 * behave like a delegated service: it creates its sub-tree beneath the
 * cgroup it runs in (read from /proc/self/cgroup, located through
 * /proc/self/mountinfo), never elsewhere, and removes every folder it made.
 * v2 is used when its own cgroup offers memory and pids; otherwise v1 with
 * separate memory, pids and cpuacct hierarchies (the development machines).
 *
 * What it must never do: touch a path inside a sandbox's file system (only
 * cgroupfs folders the judge created itself), or leave a folder behind.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "judge-internal.h"

ssize_t judge__read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

int judge__write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(s);
	ssize_t w = write(fd, s, len);
	int e = w == (ssize_t)len ? 0 : (w < 0 ? -errno : -EIO);
	close(fd);
	return e;
}

/* ---- Parsing ------------------------------------------------------------- */

/* Copies the next space-separated field of *p into out (unescaping \ooo). */
static int next_field(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	while (*s == ' ')
		s++;
	if (!*s || *s == '\n')
		return -1;
	size_t n = 0;
	while (*s && *s != ' ' && *s != '\n') {
		char c = *s++;
		if (c == '\\' && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
		    isdigit((unsigned char)s[2])) {
			c = (char)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0'));
			s += 3;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	*p = s;
	return 0;
}

/* True when comma-separated list has item. */
static bool has_item(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *s = list; s && *s;) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == n && memcmp(s, item, n) == 0)
			return true;
		s = e ? e + 1 : NULL;
	}
	return false;
}

/* Finds the own path for a v1 controller (or "" for the v2 line, ctl NULL). */
static bool own_path(const char *self_cgroup, const char *ctl, char *out, size_t cap)
{
	for (const char *l = self_cgroup; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		const char *c1 = memchr(l, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - l)) : NULL;
		if (c2) {
			char ctls[256];
			size_t cl = (size_t)(c2 - c1 - 1);
			size_t pl = len - (size_t)(c2 + 1 - l);
			if (cl < sizeof(ctls) && pl < cap) {
				memcpy(ctls, c1 + 1, cl);
				ctls[cl] = '\0';
				bool match = ctl ? has_item(ctls, ctl) : (cl == 0 && l[0] == '0');
				if (match) {
					memcpy(out, c2 + 1, pl);
					out[pl] = '\0';
					return true;
				}
			}
		}
		l = e ? e + 1 : NULL;
	}
	return false;
}

/* mountpoint + (own path relative to the mount's root). */
static void join_path(char *out, size_t cap, const char *mnt, const char *root, const char *own)
{
	size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
	const char *rel = own;
	if (rl && strncmp(own, root, rl) == 0 && (own[rl] == '/' || own[rl] == '\0'))
		rel = own + rl;
	if (strcmp(rel, "/") == 0)
		rel = "";
	snprintf(out, cap, "%s%s", mnt, rel);
}

int judge__cg_parse(const char *self_cgroup, const char *mountinfo, struct judge__cg_paths *out)
{
	if (!self_cgroup || !mountinfo || !out)
		return JUDGE_EINVAL;
	memset(out, 0, sizeof(*out));
	static const char *const v1[] = { "memory", "pids", "cpuacct" };
	char *dst[] = { out->memory, out->pids, out->cpuacct };
	for (const char *l = mountinfo; l && *l;) {
		const char *e = strchr(l, '\n');
		char f[5][512];
		const char *p = l;
		bool ok = true;
		for (int i = 0; i < 5 && ok; i++)
			ok = next_field(&p, f[i], sizeof(f[i])) == 0;
		/* Skip optional fields up to the " - " separator. */
		const char *sep = ok ? strstr(p, " - ") : NULL;
		if (sep && (!e || sep < e)) {
			p = sep + 3;
			char fstype[64], source[256], opts[512];
			if (next_field(&p, fstype, sizeof(fstype)) == 0 &&
			    next_field(&p, source, sizeof(source)) == 0 &&
			    next_field(&p, opts, sizeof(opts)) == 0) {
				const char *root = f[3], *mnt = f[4];
				char own[512];
				if (strcmp(fstype, "cgroup2") == 0 && !out->v2[0] &&
				    own_path(self_cgroup, NULL, own, sizeof(own)))
					join_path(out->v2, sizeof(out->v2), mnt, root, own);
				if (strcmp(fstype, "cgroup") == 0) {
					for (int i = 0; i < 3; i++)
						if (!dst[i][0] && has_item(opts, v1[i]) &&
						    own_path(self_cgroup, v1[i], own, sizeof(own)))
							join_path(dst[i], 512, mnt, root, own);
				}
			}
		}
		l = e ? e + 1 : NULL;
	}
	return 0;
}

/* ---- Set-up -------------------------------------------------------------- */

static bool dir_exists(const char *p)
{
	struct stat st;
	return p[0] && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The judge's folder in one hierarchy: tandem-judge.<pid-namespace
 * inode>.<pid>, unique on the host even when judges in several pid
 * namespaces (containers) share a cgroup.  A folder of that name that is
 * already there belongs to a dead judge of ours (pids are reused): it and
 * every other dead judge's tree in the same namespace are removed first,
 * since after a SIGKILL nobody else can.
 */
static unsigned long pidns_ino(void)
{
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long)st.st_ino : 0;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_type != DT_DIR || e->d_name[0] == '.')
				continue;
			char sub[1400];
			snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
			char procs[1420], buf[4096];
			snprintf(procs, sizeof(procs), "%s/cgroup.procs", sub);
			/* Leftover processes of a dead judge's sandbox die first. */
			if (judge__read_file(procs, buf, sizeof(buf)) > 0) {
				for (char *s = buf; *s;) {
					char *end;
					long pid = strtol(s, &end, 10);
					if (end == s)
						break;
					if (pid > 1)
						kill((pid_t)pid, SIGKILL);
					s = end + (*end == '\n');
				}
			}
			rmdir(sub);
		}
		closedir(d);
	}
	rmdir(dir);
}

static void remove_stale(const char *own, unsigned long ns)
{
	DIR *d = opendir(own);
	if (!d)
		return;
	char prefix[64];
	int pl = snprintf(prefix, sizeof(prefix), "tandem-judge.%lu.", ns);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || strncmp(e->d_name, prefix, (size_t)pl) != 0)
			continue;
		long pid = strtol(e->d_name + pl, NULL, 10);
		if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH) ||
		    pid == (long)getpid()) {
			char dir[1024];
			snprintf(dir, sizeof(dir), "%s/%s", own, e->d_name);
			remove_tree(dir);
		}
	}
	closedir(d);
}

static int make_base(char *base, size_t cap, const char *own)
{
	unsigned long ns = pidns_ino();
	remove_stale(own, ns);
	snprintf(base, cap, "%s/tandem-judge.%lu.%ld", own, ns, (long)getpid());
	if (mkdir(base, 0755) < 0)
		return -errno;
	return 0;
}

static int setup_v2(struct judge__cg *cg, const char *own, char *why, size_t why_len)
{
	char p[700], buf[512];
	snprintf(p, sizeof(p), "%s/cgroup.controllers", own);
	if (judge__read_file(p, buf, sizeof(buf)) < 0) {
		snprintf(why, why_len, "v2: no cgroup.controllers in %s", own);
		return JUDGE_ENOCGROUP;
	}
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	char items[512];
	snprintf(items, sizeof(items), "%s", buf);
	for (char *c = items; *c; c++)
		if (*c == ' ')
			*c = ',';
	if (!has_item(items, "memory") || !has_item(items, "pids")) {
		snprintf(why, why_len, "v2: controllers \"%s\" in %s lack memory or pids", buf,
			 own);
		return JUDGE_ENOCGROUP;
	}
	/*
	 * "No internal processes": controllers can be enabled for children
	 * only while the cgroup itself holds no process.  A delegated
	 * service therefore moves itself into a leaf first.
	 */
	snprintf(p, sizeof(p), "%s/cgroup.subtree_control", own);
	if (judge__write_file(p, "+memory +pids") < 0) {
		char leaf[700];
		snprintf(leaf, sizeof(leaf), "%s/judge-self", own);
		if (mkdir(leaf, 0755) < 0 && errno != EEXIST) {
			snprintf(why, why_len, "v2: cannot create %s: %s", leaf, strerror(errno));
			return JUDGE_ENOCGROUP;
		}
		char procs[720], pid[32];
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", leaf);
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		if (judge__write_file(procs, pid) < 0 ||
		    judge__write_file(p, "+memory +pids") < 0) {
			snprintf(why, why_len, "v2: cannot enable memory,pids below %s", own);
			return JUDGE_ENOCGROUP;
		}
		snprintf(cg->v2_moved_from, sizeof(cg->v2_moved_from), "%s", own);
	}
	int e = make_base(cg->base_mem, sizeof(cg->base_mem), own);
	if (e < 0) {
		snprintf(why, why_len, "v2: cannot create a folder in %s: %s", own, strerror(-e));
		return JUDGE_ENOCGROUP;
	}
	snprintf(p, sizeof(p), "%s/cgroup.subtree_control", cg->base_mem);
	if (judge__write_file(p, "+memory +pids") < 0) {
		rmdir(cg->base_mem);
		snprintf(why, why_len, "v2: cannot enable memory,pids in %s", cg->base_mem);
		return JUDGE_ENOCGROUP;
	}
	snprintf(cg->base_pids, sizeof(cg->base_pids), "%s", cg->base_mem);
	snprintf(cg->base_cpu, sizeof(cg->base_cpu), "%s", cg->base_mem);
	cg->version = 2;
	snprintf(why, why_len, "cgroup v2 at %s (memory, pids, cpu.stat)", cg->base_mem);
	return 0;
}

static int setup_v1(struct judge__cg *cg, const struct judge__cg_paths *paths, char *why,
		    size_t why_len)
{
	if (!dir_exists(paths->memory) || !dir_exists(paths->pids) || !dir_exists(paths->cpuacct)) {
		snprintf(why, why_len, "v1: memory, pids or cpuacct hierarchy missing");
		return JUDGE_ENOCGROUP;
	}
	int e = make_base(cg->base_mem, sizeof(cg->base_mem), paths->memory);
	if (!e) {
		e = make_base(cg->base_pids, sizeof(cg->base_pids), paths->pids);
		if (e)
			rmdir(cg->base_mem);
	}
	if (!e) {
		e = make_base(cg->base_cpu, sizeof(cg->base_cpu), paths->cpuacct);
		if (e) {
			rmdir(cg->base_mem);
			rmdir(cg->base_pids);
		}
	}
	if (e) {
		snprintf(why, why_len, "v1: cannot create the judge's folders: %s", strerror(-e));
		return JUDGE_ENOCGROUP;
	}
	/* The OOM killer, not a stalled allocation, must end a sandbox. */
	char p[700];
	snprintf(p, sizeof(p), "%s/memory.use_hierarchy", cg->base_mem);
	judge__write_file(p, "1");
	cg->version = 1;
	snprintf(why, why_len, "cgroup v1: memory %s, pids %s, cpuacct %s", cg->base_mem,
		 cg->base_pids, cg->base_cpu);
	return 0;
}

int judge__cg_setup(struct judge__cg *cg, const struct judge__cg_paths *paths, int want, char *why,
		    size_t why_len)
{
	memset(cg, 0, sizeof(*cg));
	char why2[600] = "";
	if (want == JUDGE_CGROUP_NONE) {
		snprintf(why, why_len, "cgroups disabled (--unsafe-no-cgroup): rlimits only");
		return 0;
	}
	if ((want == JUDGE_CGROUP_AUTO || want == JUDGE_CGROUP_V2) && paths->v2[0] &&
	    setup_v2(cg, paths->v2, why, why_len) == 0)
		return 0;
	if (want == JUDGE_CGROUP_V2) {
		if (!paths->v2[0])
			snprintf(why, why_len, "v2: no cgroup2 mount");
		return JUDGE_ENOCGROUP;
	}
	if (!paths->v2[0])
		snprintf(why, why_len, "v2: no cgroup2 mount");
	snprintf(why2, sizeof(why2), "%s", why);
	if (setup_v1(cg, paths, why, why_len) == 0) {
		size_t n = strlen(why);
		snprintf(why + n, why_len - n, " [%s]", why2);
		return 0;
	}
	size_t n = strlen(why);
	snprintf(why + n, why_len - n, "; %s", why2);
	return JUDGE_ENOCGROUP;
}

void judge__cg_teardown(struct judge__cg *cg)
{
	if (cg->version == 1) {
		rmdir(cg->base_mem);
		rmdir(cg->base_pids);
		rmdir(cg->base_cpu);
	} else if (cg->version == 2) {
		rmdir(cg->base_mem);
	}
	cg->version = 0;
}

/* ---- Per sandbox --------------------------------------------------------- */

static int cat_write(const char *dir, const char *file, const char *s)
{
	char p[700];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	return judge__write_file(p, s);
}

static uint64_t cat_u64(const char *dir, const char *file, const char *key)
{
	char p[700], buf[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	if (judge__read_file(p, buf, sizeof(buf)) < 0)
		return 0;
	if (!key)
		return strtoull(buf, NULL, 10);
	size_t kl = strlen(key);
	for (char *l = buf; l && *l;) {
		if (strncmp(l, key, kl) == 0 && l[kl] == ' ')
			return strtoull(l + kl + 1, NULL, 10);
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return 0;
}

int judge__cgbox_create(struct judge__cg *cg, struct judge__cgbox *b, unsigned slot, unsigned gen,
			unsigned pids_max)
{
	memset(b, 0, sizeof(*b));
	b->cpu_fd = -1;
	if (!cg->version)
		return 0;
	snprintf(b->mem, sizeof(b->mem), "%s/sb%u.%u", cg->base_mem, slot, gen);
	snprintf(b->pids, sizeof(b->pids), "%s/sb%u.%u", cg->base_pids, slot, gen);
	snprintf(b->cpu, sizeof(b->cpu), "%s/sb%u.%u", cg->base_cpu, slot, gen);
	if (mkdir(b->mem, 0755) < 0 && errno != EEXIST)
		return JUDGE_ESYS;
	b->created = true;
	if (cg->version == 1 && ((mkdir(b->pids, 0755) < 0 && errno != EEXIST) ||
				 (mkdir(b->cpu, 0755) < 0 && errno != EEXIST))) {
		judge__cgbox_remove(cg, b);
		return JUDGE_ESYS;
	}
	char n[32];
	snprintf(n, sizeof(n), "%u", pids_max);
	int e = cat_write(b->pids, "pids.max", n);
	if (cg->version == 2)
		cat_write(b->mem, "memory.swap.max", "0");
	char p[700];
	snprintf(p, sizeof(p), "%s/%s", b->cpu, cg->version == 1 ? "cpuacct.usage" : "cpu.stat");
	b->cpu_fd = open(p, O_RDONLY | O_CLOEXEC);
	if (e < 0 || b->cpu_fd < 0) {
		judge__cgbox_remove(cg, b);
		return JUDGE_ESYS;
	}
	return 0;
}

int judge__cgbox_attach(struct judge__cg *cg, struct judge__cgbox *b, pid_t pid)
{
	if (!cg->version)
		return 0;
	char s[32];
	snprintf(s, sizeof(s), "%ld", (long)pid);
	if (cat_write(b->mem, "cgroup.procs", s) < 0)
		return JUDGE_ESYS;
	if (cg->version == 1 &&
	    (cat_write(b->pids, "cgroup.procs", s) < 0 || cat_write(b->cpu, "cgroup.procs", s) < 0))
		return JUDGE_ESYS;
	return 0;
}

static uint64_t read_cpu_raw(struct judge__cg *cg, struct judge__cgbox *b)
{
	char buf[1024];
	if (b->cpu_fd < 0)
		return 0;
	ssize_t n = pread(b->cpu_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (cg->version == 1)
		return strtoull(buf, NULL, 10);
	char *u = strstr(buf, "usage_usec ");
	return u ? strtoull(u + 11, NULL, 10) * 1000 : 0;
}

int judge__cgbox_arm(struct judge__cg *cg, struct judge__cgbox *b, uint64_t mem_bytes)
{
	if (!cg->version)
		return 0;
	char s[32];
	snprintf(s, sizeof(s), "%llu", (unsigned long long)mem_bytes);
	int e;
	if (cg->version == 1) {
		e = cat_write(b->mem, "memory.limit_in_bytes", s);
		/* Swap must not stretch the limit (absent without swap accounting). */
		cat_write(b->mem, "memory.memsw.limit_in_bytes", s);
		cat_write(b->mem, "memory.max_usage_in_bytes", "0");
	} else {
		e = cat_write(b->mem, "memory.max", s);
		cat_write(b->mem, "memory.peak", "0");
	}
	b->cpu_base_ns = read_cpu_raw(cg, b);
	return e < 0 ? JUDGE_ESYS : 0;
}

uint64_t judge__cgbox_cpu_ns(struct judge__cg *cg, struct judge__cgbox *b)
{
	uint64_t v = read_cpu_raw(cg, b);
	return v > b->cpu_base_ns ? v - b->cpu_base_ns : 0;
}

uint64_t judge__cgbox_mem_peak(struct judge__cg *cg, struct judge__cgbox *b)
{
	if (cg->version == 1)
		return cat_u64(b->mem, "memory.max_usage_in_bytes", NULL);
	if (cg->version == 2)
		return cat_u64(b->mem, "memory.peak", NULL);
	return 0;
}

uint64_t judge__cgbox_oom_kills(struct judge__cg *cg, struct judge__cgbox *b)
{
	if (cg->version == 1)
		return cat_u64(b->mem, "memory.oom_control", "oom_kill");
	if (cg->version == 2)
		return cat_u64(b->mem, "memory.events", "oom_kill");
	return 0;
}

long judge__cgbox_nprocs(struct judge__cg *cg, struct judge__cgbox *b)
{
	if (!cg->version || !b->created)
		return 0;
	char p[700], buf[64];
	snprintf(p, sizeof(p), "%s/pids.current", b->pids);
	if (judge__read_file(p, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

void judge__cgbox_kill(struct judge__cg *cg, struct judge__cgbox *b)
{
	if (!cg->version || !b->created)
		return;
	if (cg->version == 2 && cat_write(b->mem, "cgroup.kill", "1") == 0)
		return;
	char p[700], buf[8192];
	snprintf(p, sizeof(p), "%s/cgroup.procs", b->pids);
	if (judge__read_file(p, buf, sizeof(buf)) <= 0)
		return;
	for (char *s = buf; *s;) {
		char *end;
		long pid = strtol(s, &end, 10);
		if (end == s)
			break;
		if (pid > 1)
			kill((pid_t)pid, SIGKILL);
		s = end;
		while (*s == '\n')
			s++;
	}
}

int judge__cgbox_remove(struct judge__cg *cg, struct judge__cgbox *b)
{
	if (!cg->version || !b->created)
		return 0;
	if (b->cpu_fd >= 0) {
		close(b->cpu_fd);
		b->cpu_fd = -1;
	}
	int bad = 0;
	if (rmdir(b->mem) < 0 && errno != ENOENT)
		bad = 1;
	if (cg->version == 1) {
		if (rmdir(b->pids) < 0 && errno != ENOENT)
			bad = 1;
		if (rmdir(b->cpu) < 0 && errno != ENOENT)
			bad = 1;
	}
	if (bad)
		return JUDGE_ESYS;
	b->created = false;
	return 0;
}
