/*
 * judge-internal.h - private declarations shared by judge/ sources and its tests.
 *
 * Nothing outside judge/ and tests/judge/ includes this file.  Names carry
 * the judge__ prefix.
 */
#ifndef TANDEM_JUDGE_INTERNAL_H
#define TANDEM_JUDGE_INTERNAL_H

#include <stdarg.h>
#include <sys/types.h>

#include "judge.h"

/* ---- Allocation (util.c) ------------------------------------------------ */

void *judge__alloc(const struct judge_allocator *a, size_t size);
void *judge__calloc(const struct judge_allocator *a, size_t n, size_t size);
void *judge__realloc(const struct judge_allocator *a, void *p, size_t old_size, size_t new_size);
void judge__free(const struct judge_allocator *a, void *p, size_t size);
char *judge__strdup(const struct judge_allocator *a, const char *s);
void judge__strfree(const struct judge_allocator *a, char *s);

/* Bytes of a result's tests array of n entries (at least one entry is allocated). */
static inline size_t judge__tests_size(size_t n)
{
	return (n ? n : 1) * sizeof(struct judge_test_result);
}

/* Monotonic clock in nanoseconds. */
uint64_t judge__now_ns(void);

/* ---- cgroups (cgroup.c) ------------------------------------------------- */

/*
 * Where the judge's own cgroups are, parsed from /proc/self/cgroup and
 * /proc/self/mountinfo.  Paths are absolute directories of the judge's own
 * cgroup in each hierarchy, or empty strings when absent.
 */
struct judge__cg_paths {
	char v2[512];	   /* cgroup2 mount + own path */
	char memory[512];  /* v1 memory hierarchy + own path */
	char pids[512];	   /* v1 pids */
	char cpuacct[512]; /* v1 cpuacct */
};

/*
 * Pure parser (no file access) so tests can feed crafted texts.  Returns 0
 * (even when nothing is found: empty strings) or JUDGE_EINVAL.
 */
int judge__cg_parse(const char *self_cgroup, const char *mountinfo, struct judge__cg_paths *out);

/*
 * The judge's cgroup sub-tree: one base folder per hierarchy beneath the
 * judge's own cgroup, holding one child per sandbox.
 */
struct judge__cg {
	int version;					   /* 0 = none, 1, 2 */
	char base_mem[600], base_pids[600], base_cpu[600]; /* v1: three bases; v2: base_mem only */
	char v2_moved_from[600]; /* v2: where the judge process came from */
};

/*
 * Detects what works, given the parsed paths: v2 when its own cgroup offers
 * memory and pids (and it can create and enable a sub-tree), else v1 when
 * the memory, pids and cpuacct hierarchies accept a sub-folder.  want is a
 * judge_cgroup_mode.  Creates the base folders.  Writes a one-line
 * description of the outcome to why (for the log).  Returns 0 or
 * JUDGE_ENOCGROUP.
 */
int judge__cg_setup(struct judge__cg *cg, const struct judge__cg_paths *paths, int want, char *why,
		    size_t why_len);
/* Removes the base folders (they must be empty). */
void judge__cg_teardown(struct judge__cg *cg);

/* One sandbox's cgroup. */
struct judge__cgbox {
	char mem[640], pids[640], cpu[640]; /* v2: all three the same folder */
	int cpu_fd;			    /* open usage file, -1 if none */
	uint64_t cpu_base_ns;
	bool created;
};

int judge__cgbox_create(struct judge__cg *cg, struct judge__cgbox *b, unsigned slot, unsigned gen,
			unsigned pids_max);
int judge__cgbox_attach(struct judge__cg *cg, struct judge__cgbox *b, pid_t pid);
/* Sets the memory limit and resets the peak and CPU baselines. */
int judge__cgbox_arm(struct judge__cg *cg, struct judge__cgbox *b, uint64_t mem_bytes);
/* CPU used since the last arm, in ns (0 if unknown). */
uint64_t judge__cgbox_cpu_ns(struct judge__cg *cg, struct judge__cgbox *b);
uint64_t judge__cgbox_mem_peak(struct judge__cg *cg, struct judge__cgbox *b);
uint64_t judge__cgbox_oom_kills(struct judge__cg *cg, struct judge__cgbox *b);
/* Number of processes still in the sandbox's cgroup (pids controller). */
long judge__cgbox_nprocs(struct judge__cg *cg, struct judge__cgbox *b);
/* SIGKILLs whatever is left in it (v2: cgroup.kill; v1: each listed pid). */
void judge__cgbox_kill(struct judge__cg *cg, struct judge__cgbox *b);
/* Removes the folders; JUDGE_ESYS (EBUSY) while processes remain. */
int judge__cgbox_remove(struct judge__cg *cg, struct judge__cgbox *b);

/* Reads a small file into buf (NUL-terminated); returns bytes or -1. */
ssize_t judge__read_file(const char *path, char *buf, size_t cap);
/* Writes s to path (O_WRONLY, no create); 0 or -errno. */
int judge__write_file(const char *path, const char *s);

/* ---- seccomp (seccomp.c) ------------------------------------------------ */

/*
 * Builds the sandbox policy and exports it as classic BPF (struct
 * sock_filter array).  *bpf is allocated with alloc; frees with
 * judge__free(alloc, *bpf, *len).
 */
int judge__seccomp_bpf(const struct judge_allocator *alloc, void **bpf, size_t *len);

/* ---- Zygote launch (launch.c) ------------------------------------------- */

struct judge__zygote {
	pid_t pid; /* host pid */
	int pidfd; /* -1 if unavailable */
	int fd;	   /* SOCK_SEQPACKET to the zygote */
};

/*
 * Builds the minimal root and starts the zygote in it (see judge.h).
 * python and py_dir are host paths.  Blocks until the zygote has said
 * hello or timeout_ms passed.  config_json and bpf are sent to it first.
 */
int judge__zygote_start(struct judge__zygote *z, const char *python, const char *py_dir,
			const char *config_json, const void *bpf, size_t bpf_len, int timeout_ms,
			char *err, size_t err_len);
/* Kills the zygote (and so every sandbox) and reaps it. */
void judge__zygote_stop(struct judge__zygote *z);

#endif
