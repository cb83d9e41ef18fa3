/*
 * seccomp.c - the sandbox's system call policy, compiled once per judge.
 *
 * Why it exists: namespaces and cgroups bound what a sandbox can reach;
 * this filter bounds what it can ask the kernel at all.  It is an
 * allowlist built with libseccomp and exported as classic BPF, which the
 * zygote hands to each sandbox (the sandbox installs it on itself, after
 * PR_SET_NO_NEW_PRIVS, just before reading its request).
 *
 * Policy: anything not listed fails with EPERM; the calls that only an
 * attack would make kill the process (SIGSYS); foreign ABIs (int 0x80,
 * x32) kill the process; clone3 answers ENOSYS so that glibc falls back to
 * clone(), whose namespace flags are refused; socket() is allowed for
 * AF_UNIX only.  It must never allow a call that changes the sandbox's
 * namespaces, mounts, credentials upwards, or reaches the kernel's
 * tracing, BPF, keyring or io_uring surfaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "judge-internal.h"

/* What Python, its threads, subprocess and ordinary user code need. */
static const char *const allowed[] = {
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"preadv",
	"pwritev",
	"preadv2",
	"pwritev2",
	"lseek",
	"close",
	"close_range",
	"fstat",
	"stat",
	"lstat",
	"newfstatat",
	"statx",
	"statfs",
	"fstatfs",
	"open",
	"openat",
	"openat2",
	"creat",
	"getdents",
	"getdents64",
	"access",
	"faccessat",
	"faccessat2",
	"readlink",
	"readlinkat",
	"getcwd",
	"chdir",
	"fchdir",
	"mkdir",
	"mkdirat",
	"rmdir",
	"unlink",
	"unlinkat",
	"rename",
	"renameat",
	"renameat2",
	"link",
	"linkat",
	"symlink",
	"symlinkat",
	"chmod",
	"fchmod",
	"fchmodat",
	"truncate",
	"ftruncate",
	"fallocate",
	"fsync",
	"fdatasync",
	"sync_file_range",
	"flock",
	"utime",
	"utimes",
	"utimensat",
	"futimesat",
	"umask",
	"dup",
	"dup2",
	"dup3",
	"pipe",
	"pipe2",
	"fcntl",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"eventfd",
	"eventfd2",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	"signalfd",
	"signalfd4",
	"sendfile",
	"copy_file_range",
	"splice",
	"tee",
	"memfd_create",
	/* memory */
	"mmap",
	"munmap",
	"mprotect",
	"mremap",
	"brk",
	"madvise",
	"mincore",
	"msync",
	"mlock",
	"munlock",
	"membarrier",
	/* processes and threads */
	"fork",
	"vfork",
	"execve",
	"execveat",
	"exit",
	"exit_group",
	"wait4",
	"waitid",
	"set_tid_address",
	"set_robust_list",
	"get_robust_list",
	"rseq",
	"futex",
	"futex_waitv",
	"arch_prctl",
	"getpid",
	"getppid",
	"gettid",
	"getpgid",
	"setpgid",
	"getpgrp",
	"getsid",
	"setsid",
	"kill",
	"tgkill",
	"tkill",
	"sched_yield",
	"sched_getaffinity",
	"sched_setaffinity",
	"sched_getparam",
	"sched_getscheduler",
	"sched_get_priority_max",
	"sched_get_priority_min",
	"getpriority",
	"setpriority",
	"getcpu",
	"restart_syscall",
	/* identity (read-only) */
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getgroups",
	"getresuid",
	"getresgid",
	"capget",
	"uname",
	"sysinfo",
	"getrusage",
	"times",
	"getrlimit",
	/* signals and time */
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"rt_sigsuspend",
	"rt_sigpending",
	"rt_sigtimedwait",
	"sigaltstack",
	"pause",
	"alarm",
	"setitimer",
	"getitimer",
	"timer_create",
	"timer_settime",
	"timer_gettime",
	"timer_getoverrun",
	"timer_delete",
	"clock_gettime",
	"clock_getres",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"time",
	"getrandom",
	/* AF_UNIX sockets (socket() itself is filtered below) */
	"socketpair",
	"connect",
	"bind",
	"listen",
	"accept",
	"accept4",
	"sendto",
	"recvfrom",
	"sendmsg",
	"recvmsg",
	"sendmmsg",
	"recvmmsg",
	"shutdown",
	"getsockopt",
	"setsockopt",
	"getsockname",
	"getpeername",
	/* System V IPC lives in the sandbox's own ipc namespace. */
	"shmget",
	"shmat",
	"shmdt",
	"shmctl",
	"semget",
	"semop",
	"semtimedop",
	"semctl",
	"msgget",
	"msgsnd",
	"msgrcv",
	"msgctl",
	"mq_open",
	"mq_unlink",
	"mq_timedsend",
	"mq_timedreceive",
	"mq_notify",
	"mq_getsetattr",
};

/* Calls only an attack makes: the process dies with SIGSYS. */
static const char *const killed[] = {
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"mount",
	"umount2",
	"pivot_root",
	"chroot",
	"unshare",
	"setns",
	"keyctl",
	"add_key",
	"request_key",
	"bpf",
	"userfaultfd",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	"perf_event_open",
	"kexec_load",
	"kexec_file_load",
	"reboot",
	"init_module",
	"finit_module",
	"delete_module",
	"open_by_handle_at",
	"name_to_handle_at",
	"swapon",
	"swapoff",
	"fsopen",
	"fsconfig",
	"fsmount",
	"fspick",
	"move_mount",
	"open_tree",
	"mount_setattr",
	"pidfd_getfd",
	"acct",
	"lookup_dcookie",
	"fanotify_init",
	"kcmp",
	"iopl",
	"ioperm",
	"quotactl",
	"quotactl_fd",
	"syslog",
	"vhangup",
	"settimeofday",
	"clock_settime",
	"clock_adjtime",
	"adjtimex",
	"sethostname",
	"setdomainname",
	"personality",
	"uselib",
	"nfsservctl",
};

static int rule(scmp_filter_ctx ctx, uint32_t action, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture */
	return seccomp_rule_add(ctx, action, nr, 0);
}

int judge__seccomp_bpf(const struct judge_allocator *alloc, void **bpf, size_t *len)
{
	*bpf = NULL;
	*len = 0;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return JUDGE_ESECCOMP;
	int e = 0;
	/* Syscalls of a foreign ABI (int 0x80 on x86-64, x32) kill. */
	e |= seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/*
	 * A binary tree instead of a linear list: each sandbox's kernel
	 * emulates the filter for every syscall number when it is installed
	 * (the action cache), so a shallow filter is cheaper per run.
	 */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	/* The zygote sets NO_NEW_PRIVS itself; the exported program needs no flag. */
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		e |= rule(ctx, SCMP_ACT_ALLOW, allowed[i]);
	for (size_t i = 0; i < sizeof(killed) / sizeof(killed[0]); i++)
		e |= rule(ctx, SCMP_ACT_KILL_PROCESS, killed[i]);
	e |= rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3");

	/* clone: threads and fork, never new namespaces. */
	const uint64_t ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
			    CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
	e |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			      SCMP_A0(SCMP_CMP_MASKED_EQ, ns, 0));

	/* socket, AF_UNIX only; every other family is refused. */
	e |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
			      SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0));

	/* prlimit64 on itself only (lowering; raising needs a capability). */
	e |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
			      SCMP_A0(SCMP_CMP_EQ, 0, 0));
	e |= rule(ctx, SCMP_ACT_ALLOW, "setrlimit");

	/* ioctl: terminal queries and fd flags only (no TIOCSTI and friends). */
	static const unsigned long ioctls[] = { TCGETS,	 FIONREAD, FIONBIO,
						FIOCLEX, FIONCLEX, TIOCGWINSZ };
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++)
		e |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, ioctls[i], 0));

	/* prctl: naming threads and harmless queries (not capabilities). */
	static const int prctls[] = { PR_SET_NAME,	   PR_GET_NAME,	     PR_GET_DUMPABLE,
				      PR_SET_DUMPABLE,	   PR_SET_PDEATHSIG, PR_GET_PDEATHSIG,
				      PR_GET_NO_NEW_PRIVS, PR_SET_VMA,	     PR_GET_TIMERSLACK };
	for (size_t i = 0; i < sizeof(prctls) / sizeof(prctls[0]); i++)
		e |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, (uint64_t)prctls[i], 0));
	if (e) {
		seccomp_release(ctx);
		return JUDGE_ESECCOMP;
	}

	/* Export through a memfd: libseccomp writes the program to an fd. */
	int fd = memfd_create("tandem-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		seccomp_release(ctx);
		return JUDGE_ESECCOMP;
	}
	int rc = JUDGE_ESECCOMP;
	if (seccomp_export_bpf(ctx, fd) == 0) {
		off_t size = lseek(fd, 0, SEEK_END);
		if (size > 0 && size % 8 == 0 && size < (1 << 20)) {
			void *buf = judge__alloc(alloc, (size_t)size);
			if (!buf) {
				rc = JUDGE_ENOMEM;
			} else if (pread(fd, buf, (size_t)size, 0) == size) {
				*bpf = buf;
				*len = (size_t)size;
				rc = 0;
			} else {
				judge__free(alloc, buf, (size_t)size);
			}
		}
	}
	close(fd);
	seccomp_release(ctx);
	return rc;
}
