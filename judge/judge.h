/*
 * judge.h - Tandem's sandbox pool: runs untrusted Python, fast and contained.
 *
 * Boundary: this module knows nothing of rooms, sockets or storage.  It
 * depends on libc, libseccomp and jansson only.  The server (or the
 * tandem-run CLI) hands it a request and gets back streamed output chunks
 * and one result.
 *
 * When it blocks the caller's thread: in the helpers at the end of this
 * header (that is their job); in judge_create() and judge_destroy() (the
 * zygote's start, up to 10 s, and the sandboxes' end); and in
 * judge_process() in one case only, when the zygote has died: it kills and
 * reaps what is left (normally milliseconds, at most 1 s per sandbox whose
 * cgroup will not empty) and starts a new zygote (typically 0.1 s, at most
 * 10 s).  Everything else, every run's life included, is non-blocking.  A
 * caller whose loop must never stall runs the judge in a process of its
 * own, as tandem's supervisor does (server/judgesup.c).
 *
 * How a run is contained
 * ----------------------
 * judge_create() starts one zygote: Debian's /usr/bin/python3 -I -S running
 * judge/py/zygote.py with the harness imported, inside a minimal read-only
 * root (pivot_root; binds of the interpreter, its libraries and stdlib, the
 * judge's .py files; a fresh /proc; /dev with null, zero and urandom only),
 * in its own user, pid, net, ipc and uts namespaces; it is root only of
 * its user namespace, which maps to unprivileged host uids (100000 + n).
 * The zygote never runs user code.  For every sandbox it forks a child into fresh user, pid, net,
 * mount, ipc, uts and cgroup namespaces with fresh size-capped tmpfs at
 * /work, /tmp and /dev/shm; the judge puts that child into a fresh cgroup
 * (memory, pids, cpu accounting; v1 or v2, see judge_cgroup_version()); the
 * child then reseeds its randomness, sets rlimits, drops every capability,
 * sets PR_SET_NO_NEW_PRIVS, empties its environment, closes every fd but
 * its pipes and installs the seccomp allowlist.  It then forks: the user's
 * program runs as pid 2 (uid 1000 in its own user namespace, host uid
 * 101000, not the zygote's; cwd /work; empty environment), pid 1 stays a non-dumpable reaper that
 * reports the program's wait status (a pid-namespace init would ignore its own signals).  Only then
 * is the sandbox "warm": blocked reading its request. A few warm sandboxes wait ahead of demand.
 *
 * Known limit: Python's str hash secret is fixed when the zygote starts,
 * so every sandbox of one zygote shares it (randomness proper is fresh).
 *
 * Sanitizer builds: the sandboxed processes are Debian's python3, never
 * this (possibly ASan-instrumented) code, and they start with an empty
 * environment, so no LeakSanitizer ever runs under seccomp; the judge's
 * own forked child only runs system calls and execve (or _exit).
 *
 * A run takes a warm sandbox, writes the request (code, stdin, tests) down
 * a socket, streams stdout/stderr back, enforces CPU and wall time from
 * outside (SIGKILL of the sandbox's pid-namespace init, which takes every
 * process in it along), and collects the result.  The sandbox is then
 * destroyed: its processes are gone, its cgroup is checked empty and
 * removed, its tmpfs vanish with its mount namespace.  Nothing survives
 * from one run to the next.  The host side never opens a path inside a
 * sandbox: code goes in through the socket, results come back through it.
 *
 * Seccomp policy (what user code observes): system calls outside the
 * allowlist fail with EPERM; clone3 fails with ENOSYS (libc falls back to
 * clone, whose namespace flags are refused with EPERM); socket() for any
 * family but AF_UNIX fails with EPERM; the dangerous calls (ptrace,
 * process_vm_*, mount family, pivot_root, chroot, unshare, setns, keyctl,
 * add_key, request_key, bpf, userfaultfd, io_uring_*, perf_event_open,
 * kexec_*, reboot, *_module, open_by_handle_at, swapon/off) and every call
 * through a foreign ABI (int 0x80, x32) kill the process with SIGSYS.
 *
 * Driving it from an event loop
 * -----------------------------
 * The judge owns an epoll instance.  The caller watches judge_fd() for
 * readability and arms a timer for judge_timeout_ms(); whenever either
 * fires it calls judge_process(), which does all pending work without
 * blocking and invokes the callbacks.  The judge is not thread-safe: call
 * it from one thread (the loop thread).
 */
#ifndef TANDEM_JUDGE_H
#define TANDEM_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Errors: every function that can fail returns 0 (or a non-negative value
 * where documented) or one of these negative codes.  The list is the single
 * source for judge_strerror().
 */
#define JUDGE_ERRNO_MAP(X)                                                                     \
	X(NOMEM, -1, "out of memory")                                                          \
	X(INVAL, -2, "invalid argument")                                                       \
	X(BUSY, -3, "judge busy: request queue is full")                                       \
	X(NOCGROUP, -4, "no usable cgroup (v1 or v2 with memory and pids); refusing to start") \
	X(PRIV, -5, "judge needs root (namespaces, cgroups)")                                  \
	X(SYS, -6, "system call failed")                                                       \
	X(ZYGOTE, -7, "zygote failed to start or died")                                        \
	X(SECCOMP, -8, "could not build the seccomp filter")                                   \
	X(PYTHON, -9, "interpreter or judge Python files not found")                           \
	X(NOTFOUND, -10, "no such run")                                                        \
	X(SHUTDOWN, -11, "judge is shutting down")                                             \
	X(TIMEOUT, -12, "timed out")

enum judge_err {
#define JUDGE__ERR_ENUM(name, code, msg) JUDGE_E##name = (code),
	JUDGE_ERRNO_MAP(JUDGE__ERR_ENUM)
#undef JUDGE__ERR_ENUM
};

/* A static string describing err; "unknown error" for codes not listed. */
const char *judge_strerror(int err);

/*
 * The allocation hook (STYLE.md rule 7).  realloc(ud, ptr, old_size,
 * new_size) behaves like realloc() and also receives the block's old size;
 * new_size == 0 frees ptr and returns NULL.  NULL hook = libc.  Every
 * allocation of the judge goes through it, the results' message and tests
 * included, so the hook must outlive the judge and every result it handed
 * out.  Memory that jansson allocates (json_t values in results) goes
 * through jansson's own allocator, not this hook.
 */
struct judge_allocator {
	void *(*realloc)(void *ud, void *ptr, size_t old_size, size_t new_size);
	void *ud;
};

/* ---- Verdicts and modes ------------------------------------------------- */

#define JUDGE_VERDICT_MAP(X)                                                \
	X(NONE, "")   /* a test value not yet compared (see compare.h) */   \
	X(OK, "OK")   /* plain run: exit status 0 */                        \
	X(RE, "RE")   /* runtime error: non-zero exit, signal, exception */ \
	X(TLE, "TLE") /* CPU or wall time limit */                          \
	X(MLE, "MLE") /* memory limit: OOM kill or MemoryError */           \
	X(OLE, "OLE") /* output limit */                                    \
	X(IE, "IE")   /* the judge's own fault */                           \
	X(AC, "AC")                                                         \
	X(WA, "WA")                                                         \
	X(CE, "CE") /* test modes: syntax error, missing entry point */     \
	X(SKIPPED, "SKIPPED")

enum judge_verdict {
#define JUDGE__VERDICT_ENUM(name, str) JUDGE_VERDICT_##name,
	JUDGE_VERDICT_MAP(JUDGE__VERDICT_ENUM)
#undef JUDGE__VERDICT_ENUM
};

/* "OK", "TLE", ...; a static string ("" for NONE and unknown values). */
const char *judge_verdict_str(enum judge_verdict v);

enum judge_mode {
	JUDGE_MODE_SCRIPT,   /* stdin in, stdout out */
	JUDGE_MODE_FUNCTION, /* call a named function per test */
	JUDGE_MODE_SOLUTION, /* instantiate class Solution per test, call a method */
	JUDGE_MODE_DESIGN,   /* a design class driven by calls/args lists */
};

/* "script", "function", ...; NULL for an unknown value. */
const char *judge_mode_str(enum judge_mode mode);
/* Parses a mode name; JUDGE_EINVAL if unknown. */
int judge_mode_parse(const char *name, enum judge_mode *out);

enum judge_stream {
	JUDGE_STDOUT = 1,
	JUDGE_STDERR = 2,
};

/* ---- Requests ----------------------------------------------------------- */

/* Limits of one run.  A zero field means "the judge's default". */
struct judge_limits {
	uint32_t cpu_ms;    /* CPU time of the whole sandbox (default 2000) */
	uint32_t wall_ms;   /* wall time from request to exit (default 5000) */
	uint32_t mem_mb;    /* memory cgroup limit (default 256) */
	uint32_t output_kb; /* per stream, stdout and stderr each (default 64) */
};

/*
 * One run.  Every pointer is borrowed for the duration of judge_submit()
 * only: the judge serialises what it needs before returning.
 *
 * tests (test modes only) is a JSON array of {"name": str, "args": value}
 * objects exactly as the harness expects (docs/judge-values.md); expected
 * values must NOT be in it: they never enter the sandbox.
 */
struct judge_test_result;
/*
 * Optional, test modes: called from judge_process() as soon as test index's
 * line has arrived (before the run ends), with what it reported: value or
 * error, cpu_ms, mem_kb, output.  t is borrowed for the call; its verdict
 * is only the judge's provisional one (JUDGE_VERDICT_NONE for a value, to
 * be compared; RE, MLE or IE for an error): the done callback's result is
 * final.
 */
typedef void judge_test_cb(void *ud, uint64_t run_id, size_t index,
			   const struct judge_test_result *t);

struct judge_request {
	enum judge_mode mode;
	const char *code; /* UTF-8 source; code_len bytes */
	size_t code_len;
	const char *stdin_data; /* script mode; may be NULL */
	size_t stdin_len;
	const char *entry;   /* test modes: function, method or class name */
	const json_t *tests; /* test modes: array, borrowed */
	struct judge_limits limits;
	/*
	 * Test modes, optional: an object whose members are added to the
	 * harness request (types, return_type, result_arg, "capture": N to
	 * give each test's prints back in its line, "autorange": true to time
	 * repeated calls; docs/judge-values.md).  Borrowed for the call.
	 */
	const json_t *options;
	judge_test_cb *test; /* optional; see judge_test_cb */
};

/* ---- Results ------------------------------------------------------------ */

/*
 * What the harness reported for one test.  value is the canonical JSON of
 * the returned value (NULL if the test raised, was skipped, or never ran);
 * error is {"type","message","traceback"} or NULL.  verdict is set by the
 * judge for tests that did not produce a value (RE, TLE, MLE, OLE, CE,
 * SKIPPED, IE) and left JUDGE_VERDICT_NONE for the caller's comparator.
 */
struct judge_test_result {
	enum judge_verdict verdict;
	json_t *value;	 /* owned by the result */
	json_t *error;	 /* owned by the result */
	double cpu_ms;	 /* as measured by the harness; -1 if unknown */
	uint64_t mem_kb; /* the sandbox's peak RSS when the test ended; 0 if unknown */
	json_t *output;	 /* owned; {"stdout","stderr"[,"truncated"]} when captured, else NULL */
};

/*
 * The outcome of one run.  Filled in by the judge and handed to the done
 * callback; the callback may keep it only by copying, or take it over by
 * moving the struct and zeroing the original (then it must call
 * judge_result_finish() itself).
 */
struct judge_result {
	enum judge_verdict verdict; /* plain verdict of the whole run */
	int exit_code;		    /* exit status, or -1 if killed by a signal */
	int signal;		    /* terminating signal, 0 if none */
	double cpu_ms;		    /* CPU time of the whole sandbox (cgroup) */
	double wall_ms;		    /* request sent to sandbox gone */
	uint64_t mem_kb;	    /* peak memory of the sandbox cgroup */
	bool truncated;		    /* a stream exceeded its cap */
	uint64_t stdout_bytes;	    /* bytes produced (delivered ones are capped) */
	uint64_t stderr_bytes;
	char *message; /* owned; a short reason for IE/TLE/..., or NULL */

	/* Test modes only (NULL/0 otherwise). */
	json_t *compile_error;		 /* owned; {"type","message","traceback"} */
	struct judge_test_result *tests; /* owned; ntests entries */
	size_t ntests;

	/* What was active for this run. */
	unsigned namespaces; /* JUDGE_NS_* bits */
	bool seccomp;
	const char *cgroup; /* static: "v1", "v2" or "none" */

	/*
	 * Where message and tests came from: the judge's allocation hook
	 * (NULL = libc).  judge_result_finish() frees through it, so the hook
	 * must outlive every result the judge produced.  A caller filling a
	 * result of its own leaves it NULL and allocates with libc.
	 */
	const struct judge_allocator *alloc;
};

#define JUDGE_NS_MAP(X)    \
	X(USER, 0, "user") \
	X(PID, 1, "pid")   \
	X(NET, 2, "net")   \
	X(MNT, 3, "mnt")   \
	X(IPC, 4, "ipc")   \
	X(UTS, 5, "uts")   \
	X(CGROUP, 6, "cgroup")

enum {
#define JUDGE__NS_ENUM(name, bit, str) JUDGE_NS_##name = 1u << (bit),
	JUDGE_NS_MAP(JUDGE__NS_ENUM)
#undef JUDGE__NS_ENUM
};

/* Name of namespace bit index i (0..6), NULL past the end. */
const char *judge_ns_name(unsigned i);

/* Frees what res owns and zeroes it; accepts NULL. */
void judge_result_finish(struct judge_result *res);

/* ---- The judge ---------------------------------------------------------- */

enum judge_cgroup_mode {
	JUDGE_CGROUP_AUTO = 0, /* v2 if it has memory+pids, else v1, else refuse */
	JUDGE_CGROUP_V1,
	JUDGE_CGROUP_V2,
	JUDGE_CGROUP_NONE, /* rlimits only: results say "none" (--unsafe-no-cgroup) */
};

/* Log levels for judge_config.log. */
enum judge_log_level {
	JUDGE_LOG_ERROR,
	JUDGE_LOG_WARN,
	JUDGE_LOG_INFO,
	JUDGE_LOG_DEBUG,
};

/*
 * Configuration for judge_create(); zero fields take defaults.  The struct
 * and its strings are borrowed for the judge_create() call only.
 */
struct judge_config {
	const char *python; /* default "/usr/bin/python3" */
	const char *py_dir; /* folder holding zygote.py, harness*.py; default built in */
	unsigned pool_size; /* sandboxes warm or running at once; default 4 */
	unsigned queue_max; /* requests waiting beyond the pool; default 64 */
	unsigned pids_max;  /* per sandbox; default 64 */
	unsigned tmpfs_mb;  /* size of each of /work, /tmp, /dev/shm; default 16 */
	struct judge_limits defaults;
	enum judge_cgroup_mode cgroup; /* JUDGE_CGROUP_NONE only when the operator asked */
	const struct judge_allocator *alloc;
	/* Log sink (borrowed; must outlive the judge); NULL = stderr for
	 * WARN and worse. */
	void (*log)(void *ud, enum judge_log_level level, const char *msg);
	void *log_ud;
};

struct judge;

/*
 * Starts the judge: detects cgroups (logging what is active), builds the
 * seccomp filter, starts the zygote and begins warming the pool.  Needs
 * root.  Returns 0 and sets *out, or a negative code (JUDGE_ENOCGROUP when
 * no cgroup works and cfg->cgroup != JUDGE_CGROUP_NONE).  The judge is
 * usable at once; requests queue until sandboxes are warm.
 */
int judge_create(const struct judge_config *cfg, struct judge **out);

/*
 * Kills every sandbox (running ones finish with IE "shutdown" and their
 * callbacks fire), stops the zygote, removes the judge's cgroups and frees
 * everything; accepts NULL.  Blocks briefly (bounded) while children exit.
 * Never call it from inside a judge callback.
 */
void judge_destroy(struct judge *j);

/* "v1", "v2" or "none": the cgroup version in force (static string). */
const char *judge_cgroup_version(const struct judge *j);

/*
 * Streamed output: data (len bytes, borrowed for the call) is the next
 * chunk of the run's stream, already capped: the bytes beyond the cap are
 * never delivered.  Chunks are raw bytes (not necessarily UTF-8, not
 * aligned to characters).
 */
typedef void judge_output_cb(void *ud, uint64_t run_id, enum judge_stream stream, const char *data,
			     size_t len);
/*
 * Completion: called exactly once per accepted run, from judge_process()
 * (or judge_destroy()).  res is owned by the judge and valid for the call
 * only (see struct judge_result for taking it over).
 */
typedef void judge_done_cb(void *ud, uint64_t run_id, struct judge_result *res);

/*
 * Queues req.  On success returns 0 and sets *run_id (if not NULL); out
 * (may be NULL) and done are then called from judge_process() with ud.
 * Returns JUDGE_EBUSY when the pool is fully taken and the queue is full,
 * JUDGE_EINVAL for a malformed request (e.g. test mode without tests).
 * Never calls the callbacks from inside judge_submit().
 */
int judge_submit(struct judge *j, const struct judge_request *req, judge_output_cb *out,
		 judge_done_cb *done, void *ud, uint64_t *run_id);

/*
 * Cancels a run: a queued one completes with IE "cancelled", a running one
 * is killed and completes likewise.  JUDGE_ENOTFOUND if unknown/finished.
 */
int judge_cancel(struct judge *j, uint64_t run_id);

/* The fd to watch for readability (an epoll fd owned by the judge). */
int judge_fd(const struct judge *j);

/*
 * Milliseconds until judge_process() must be called even without activity
 * on judge_fd(); -1 if no timer is pending.
 */
int judge_timeout_ms(const struct judge *j);

/*
 * Does all work that is ready: reads sandbox output, fires due timers,
 * finishes runs (calling the callbacks), dispatches queued requests and
 * warms replacement sandboxes.  It does not block, except after the
 * zygote died (see the top of this header: the restart blocks).  Returns
 * 0, or JUDGE_EZYGOTE if the zygote died and could not be restarted (every
 * run in flight has then completed with IE).
 */
int judge_process(struct judge *j);

/* Counters for tests and monitoring. */
struct judge_stats {
	unsigned warm;	       /* sandboxes ready for a request */
	unsigned running;      /* sandboxes executing a request */
	unsigned starting;     /* sandboxes being forked or set up */
	unsigned queued;       /* requests waiting */
	uint64_t runs;	       /* runs completed */
	uint64_t cgroups_live; /* sandbox cgroups currently existing */
};
void judge_get_stats(const struct judge *j, struct judge_stats *st);

/* ---- Blocking helpers (CLI, tests; never on a server loop) --------------- */

/*
 * Runs judge_process() until the run finishes or timeout_ms passes (-1 =
 * no bound).  Returns 0 or JUDGE_ETIMEOUT, or judge_process()'s error.
 */
int judge_wait(struct judge *j, int timeout_ms);

/* Blocks until at least `warm` sandboxes are warm (or timeout_ms passes). */
int judge_wait_warm(struct judge *j, unsigned warm, int timeout_ms);

/*
 * Submits req and blocks until it finishes.  out (may be NULL) receives
 * the chunks.  On 0, *res holds the result and the caller must
 * judge_result_finish() it.  Other runs in flight progress meanwhile.
 * On an error (JUDGE_ESYS when waiting failed, judge_submit()'s codes)
 * *res is zeroed, and the run has ended: it was cancelled if it had
 * started, and the judge keeps no pointer to this call's frame.
 */
int judge_run(struct judge *j, const struct judge_request *req, judge_output_cb *out, void *ud,
	      struct judge_result *res);

/* ---- Helpers ------------------------------------------------------------ */

/*
 * Returns a NUL-terminated copy of s[0..len) in which every byte sequence
 * that is not well-formed UTF-8 is replaced by U+FFFD (NUL bytes are kept),
 * so that it can be put in JSON.  *out_len (may be NULL) receives the
 * copy's length (without the terminator).  The caller frees the copy with
 * judge_free(alloc, copy, *out_len + 1).  NULL on OOM.
 */
char *judge_utf8_sanitize(const struct judge_allocator *alloc, const char *s, size_t len,
			  size_t *out_len);

/* Frees memory returned by judge_utf8_sanitize() with the same alloc. */
void judge_free(const struct judge_allocator *alloc, void *p, size_t size);

/*
 * The result as the CLI's JSON object (verdict, exit_code, signal, stdout,
 * stderr, cpu_ms, wall_ms, mem_kb, truncated, isolation; and tests for
 * test modes).  stdout/stderr are the captured bytes (NULL = ""), UTF-8
 * sanitised.  Returns a new reference, NULL on OOM.
 */
json_t *judge_result_json(const struct judge_result *res, const char *out, size_t out_len,
			  const char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#include "compare.h" /* comparators and test verdicts (judge/compare.c) */

#endif
