/*
 * test-cgroup.c - where the judge looks for its cgroups, on crafted inputs.
 *
 * Why it exists: the judge must find its own cgroup in every hierarchy the
 * way a delegated service does (v2 unified, v1 per controller, mounts whose
 * root is not "/" as in containers, escaped mount points) on machines we do
 * not have here.  judge__cg_parse() is pure, so these run without root.
 * The live detection on this machine is checked in test-sandbox.c.
 */
#include <stdio.h>
#include <string.h>

#include "judge-internal.h"

static int failures;

#define CHECK_STR(got, want)                                                                      \
	do {                                                                                      \
		if (strcmp((got), (want)) != 0) {                                                 \
			fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
				#got, (got), (want));                                             \
			failures++;                                                               \
		}                                                                                 \
	} while (0)

/* This development machine: v1 controllers, an empty v2 mount, memory nested. */
static void test_v1_machine(void)
{
	const char *self = "9:name=systemd:/\n"
			   "8:pids:/\n"
			   "4:memory:/process_api/9149\n"
			   "2:cpuacct:/\n"
			   "1:cpu:/\n"
			   "0::/\n";
	const char *mi =
		"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
		"30 28 0:26 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
		"31 28 0:27 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
		"33 28 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
		"37 28 0:33 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
		"39 28 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	struct judge__cg_paths p;
	if (judge__cg_parse(self, mi, &p) != 0)
		failures++;
	CHECK_STR(p.memory, "/sys/fs/cgroup/memory/process_api/9149");
	CHECK_STR(p.pids, "/sys/fs/cgroup/pids");
	CHECK_STR(p.cpuacct, "/sys/fs/cgroup/cpuacct");
	CHECK_STR(p.v2, "/sys/fs/cgroup/unified");
}

/* systemd with the unified hierarchy, the judge in a service's cgroup. */
static void test_v2_machine(void)
{
	const char *self = "0::/system.slice/tandem.service\n";
	const char *mi = "25 1 0:22 / / rw - ext4 /dev/sda1 rw\n"
			 "26 25 0:23 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 "
			 "rw,nsdelegate\n";
	struct judge__cg_paths p;
	judge__cg_parse(self, mi, &p);
	CHECK_STR(p.v2, "/sys/fs/cgroup/system.slice/tandem.service");
	CHECK_STR(p.memory, "");
	CHECK_STR(p.pids, "");
}

/* v1 combined cpu,cpuacct; a container whose mounts start below the host's root. */
static void test_container(void)
{
	const char *self = "5:pids:/docker/abc\n"
			   "4:cpu,cpuacct:/docker/abc\n"
			   "3:memory:/docker/abc\n";
	const char *mi = "40 30 0:40 /docker/abc /sys/fs/cgroup/pids ro - cgroup cgroup rw,pids\n"
			 "41 30 0:41 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup "
			 "rw,cpu,cpuacct\n"
			 "42 30 0:42 /docker/abc /sys/fs/cgroup/mem\\040ory ro - cgroup cgroup "
			 "rw,memory\n";
	struct judge__cg_paths p;
	judge__cg_parse(self, mi, &p);
	CHECK_STR(p.pids, "/sys/fs/cgroup/pids");
	CHECK_STR(p.cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
	CHECK_STR(p.memory, "/sys/fs/cgroup/mem ory");
	CHECK_STR(p.v2, "");
}

/* No cgroup mounted at all: nothing found, no error. */
static void test_none(void)
{
	struct judge__cg_paths p;
	int e = judge__cg_parse("0::/\n", "25 1 0:22 / / rw - ext4 /dev/sda1 rw\n", &p);
	if (e != 0)
		failures++;
	CHECK_STR(p.v2, "");
	CHECK_STR(p.memory, "");
	if (judge__cg_parse(NULL, "", &p) != JUDGE_EINVAL)
		failures++;
}

/* What an operator sees when nothing works: a clear refusal. */
static void test_refusal(void)
{
	struct judge__cg_paths p;
	judge__cg_parse("0::/\n", "25 1 0:22 / / rw - ext4 /dev/sda1 rw\n", &p);
	struct judge__cg cg;
	char why[600];
	int e = judge__cg_setup(&cg, &p, JUDGE_CGROUP_AUTO, why, sizeof(why));
	if (e != JUDGE_ENOCGROUP || !strstr(why, "v1") || !strstr(why, "v2")) {
		fprintf(stderr, "refusal: %d \"%s\"\n", e, why);
		failures++;
	}
	e = judge__cg_setup(&cg, &p, JUDGE_CGROUP_NONE, why, sizeof(why));
	if (e != 0 || cg.version != 0 || !strstr(why, "rlimits only")) {
		fprintf(stderr, "none: %d \"%s\"\n", e, why);
		failures++;
	}
}

int main(void)
{
	test_v1_machine();
	test_v2_machine();
	test_container();
	test_none();
	test_refusal();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
