"""The judge's zygote: a warm interpreter that forks single-use sandboxes.

Why this exists: starting /usr/bin/python3 with the harness imported costs
about 20 ms of CPU; forking an interpreter that already has it costs well
under one.  The judge (judge/launch.c) starts this file once, as root of a
user namespace mapped to an unprivileged host uid, inside the minimal
read-only root, with its control socket at fd 3.  For every sandbox the
judge asks for, it forks a child that enters fresh user, pid, net, mount,
ipc, uts and cgroup namespaces, mounts its own tmpfs and proc, lets the
judge put it into a fresh cgroup, drops every privilege, installs the
seccomp filter the judge compiled, and only then reads its one request.

What it must never do: run user code itself (only the sandbox children
do, after all isolation is in place), keep any state a child could leave
behind, or trust anything a child says (it only reaps them and reports
their exit status to the judge).

Protocol with the judge (SOCK_SEQPACKET at fd 3; one message each):
  judge -> zygote: config JSON; seccomp BPF bytes; then "S <slot> <gen>".
  zygote -> judge: "H" once warm; "S <slot> <gen>" with four fds in
  SCM_RIGHTS (control socket, stdin writer, stdout reader, stderr reader);
  "E <slot> <gen> <message>" when a fork failed; "X <slot> <gen> <status>"
  when a sandbox's init (its pid 1) has been reaped.
Protocol with a sandbox (its control socket, fd 3 inside): the sandbox
sends "R" (the judge learns its host pid from SO_PASSCRED), waits for "G"
(it is in its cgroup now), sends "K" when isolated, then reads the
request JSON to EOF and writes result lines back.
"""

import array
import builtins
import ctypes
import fcntl
import io
import json
import math
import os
import resource
import select
import signal
import socket
import sys
import traceback
import types

sys.path.insert(0, "/judge")

try:
    import harness  # noqa: E402  (warm: imported before any fork)

    HARNESS_ERROR = None
except Exception as exc:  # the script mode still works without it
    harness = None
    HARNESS_ERROR = "%s: %s" % (type(exc).__name__, exc)

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
PR_CAPBSET_DROP = 24
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SYS_CAPSET = 126  # x86-64
SANDBOX_UID = 1000

libc = ctypes.CDLL(None, use_errno=True)


def _check(ret, what):
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))
    return ret


def _write_file(path, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _mount(src, target, fstype, flags, data):
    _check(libc.mount(src.encode(), target.encode(), fstype.encode(),
                      ctypes.c_ulong(flags),
                      data.encode() if data else None), "mount " + target)


def _drop_privileges(cfg, bpf):
    """Everything between "in its cgroup" and "may read user code"."""
    # rlimits: the second fence behind the cgroup.
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (cfg["fsize_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (cfg["nofile"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_STACK, (cfg["stack_mb"] * mb,) * 2)
    if cfg.get("no_cgroup"):
        # Without cgroups the rlimits are all there is (results say so).
        resource.setrlimit(resource.RLIMIT_AS, (cfg["as_mb"] * mb,) * 2)
        resource.setrlimit(resource.RLIMIT_NPROC, (cfg["nproc"],) * 2)
    # Fresh randomness: nothing seeded in the zygote may be shared.
    if "random" in sys.modules:
        sys.modules["random"].seed()
    # Capabilities: bounding set, then ambient, then the sets themselves.
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    hdr = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    _check(libc.syscall(SYS_CAPSET, ctypes.byref(hdr), ctypes.byref(data)), "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    os.environ.clear()
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _Fprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
    _check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0),
           "seccomp")


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _result_write(obj):
    line = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    _write_all(3, line.encode("utf-8", "surrogatepass") + b"\n")


def _std_streams():
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8")
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)), encoding="utf-8",
        errors="backslashreplace", line_buffering=True)


def _finish(code):
    """Exit the way an interpreter would, minus the slow finalisation."""
    try:
        if "threading" in sys.modules:
            sys.modules["threading"]._shutdown()
    except BaseException:
        pass
    try:
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(code)


def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except BaseException:
        pass
    return 1


def _run_script(req):
    """script mode: the code is __main__, stdin in, stdout out."""
    import linecache
    name = "main.py"
    code = req.get("code", "")
    sys.argv = [name]
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    main = types.ModuleType("__main__")
    main.__file__ = name
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    try:
        compiled = compile(code, name, "exec")
    except BaseException as exc:
        traceback.print_exception(type(exc), exc, None, file=sys.stderr)
        _finish(1)
    try:
        exec(compiled, main.__dict__)
    except SystemExit as exc:
        _finish(_exit_code(exc))
    except BaseException as exc:
        if isinstance(exc, MemoryError):
            try:
                _result_write({"memory_error": True})
            except BaseException:
                pass
        try:
            traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next,
                                      file=sys.stderr)
        except BaseException:
            pass
        _finish(1)
    _finish(0)


def _run_tests(req):
    if harness is None:
        _result_write({"internal": "harness not importable: %s" % HARNESS_ERROR})
        _finish(70)
    try:
        harness.run_tests(req, _result_write)
    except SystemExit as exc:
        _finish(_exit_code(exc))
    except MemoryError:
        _result_write({"memory_error": True})
        _finish(1)
    _finish(0)


def _init(child):
    """pid 1 of the sandbox: reap everything, report the program's status."""
    for fd in (0, 1, 2):
        os.close(fd)
    # Not dumpable: the program cannot read this process's /proc files.
    _check(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")
    _write_all(3, b"K")
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if pid == child:
            # Its death ends the namespace: every other process is killed.
            try:
                _write_all(3, b'\n{"status":%d}\n' % status)
            finally:
                os._exit(0)


def _sandbox(cfg, bpf, fds):
    """pid 1 of a fresh pid namespace: isolate, then become the reaper."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 200) for fd in fds]
    os.closerange(3, 200)
    os.closerange(high[-1] + 1, 1 << 20)
    box, in_r, out_w, err_w = high
    # Still root of the zygote's user namespace here: the mounts, the
    # network, ipc and uts namespaces belong to it, so nothing the sandbox
    # later holds can unmount or reconfigure them.
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    size = "size=%dm" % cfg["tmpfs_mb"]
    _mount("tmpfs", "/work", "tmpfs", MS_NOSUID | MS_NODEV,
           size + ",mode=0755,uid=%d,gid=%d" % (SANDBOX_UID, SANDBOX_UID))
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, size + ",mode=1777")
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, size + ",mode=1777")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    _check(libc.sethostname(b"sandbox", 7), "sethostname")
    # Then an identity that is not the zygote's: uid 1000 of the zygote's
    # user namespace (another host uid than the zygote's), which also drops
    # every capability there, and a user namespace of its own mapping just
    # that uid (creating one needs no privilege).
    os.setgroups([])
    os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    # A change of uid makes a process non-dumpable, which would leave its
    # /proc/self (uid_map included) to root: it has nothing to hide yet.
    _check(libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    _check(libc.unshare(CLONE_NEWUSER), "unshare user")
    _write_file("/proc/self/setgroups", b"deny")
    _write_file("/proc/self/uid_map", b"%d %d 1" % (SANDBOX_UID, SANDBOX_UID))
    _write_file("/proc/self/gid_map", b"%d %d 1" % (SANDBOX_UID, SANDBOX_UID))
    os.chdir("/work")
    _write_all(box, b"R")
    if os.read(box, 1) != b"G":
        os._exit(0)
    if not cfg.get("no_cgroup"):
        _check(libc.unshare(CLONE_NEWCGROUP), "unshare cgroup")
    os.dup2(in_r, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(box, 3)
    os.closerange(4, 1 << 20)
    _drop_privileges(cfg, bpf)
    # pid 1 of a namespace ignores signals it has no handler for, even
    # its own SIGSEGV or SIGTERM: so the user's program runs as pid 2,
    # and pid 1 only reaps, then reports the program's wait status.
    child = os.fork()
    if child:
        _init(child)
    _std_streams()
    chunks = []
    while True:
        chunk = os.read(3, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    req = json.loads(b"".join(chunks))
    cpu_s = max(1, math.ceil(req.get("cpu_ms", 2000) / 1000.0)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    if req.get("mode") == "script":
        _run_script(req)
    else:
        _run_tests(req)


def _spawn(ctl, cfg, bpf, boxes, slot, gen, pidns):
    fds = []  # raw fds to close here, whatever happens
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        a.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        for _ in range(3):
            fds.extend(os.pipe())
        in_r, in_w, out_r, out_w, err_r, err_w = fds
        # The next child is pid 1 of a new pid namespace; then back to ours.
        _check(libc.unshare(CLONE_NEWPID), "unshare pid")
        pid = -1
        try:
            pid = os.fork()
        finally:
            if pid != 0:
                _check(libc.setns(pidns, CLONE_NEWPID), "setns pid")
        if pid == 0:
            try:
                _sandbox(cfg, bpf, [b.fileno(), in_r, out_w, err_w])
            except (ConnectionError, EOFError):
                pass  # the judge went away (shutdown): nothing to say
            except BaseException as exc:
                try:
                    os.write(2, ("tandem sandbox set-up: %s\n" % exc).encode())
                except BaseException:
                    pass
            os._exit(71)
        boxes[pid] = (slot, gen)
        ctl.sendmsg([b"S %d %d" % (slot, gen)],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                      array.array("i", [a.fileno(), in_w, out_r, err_r]))])
    finally:
        a.close()
        b.close()
        for fd in fds:
            os.close(fd)


def _reap(ctl, boxes):
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        who = boxes.pop(pid, None)
        if who is not None:
            cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000.0
            ctl.send(b"X %d %d %d %.3f" % (who[0], who[1], status, cpu_ms))


def main():
    # Everything imported so far is shared with every fork: keep the
    # garbage collector from touching (and so copying) those pages.
    import gc
    gc.collect()
    gc.freeze()
    ctl = socket.socket(fileno=int(sys.argv[1]))
    cfg = json.loads(ctl.recv(1 << 16))
    bpf = ctl.recv(1 << 20)
    pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    boxes = {}
    ctl.send(b"H")
    while True:
        ready, _, _ = select.select([ctl, wake_r], [], [])
        if wake_r in ready:
            try:
                while os.read(wake_r, 256):
                    pass
            except BlockingIOError:
                pass
        if ctl in ready:
            msg = ctl.recv(256)
            if not msg:
                os._exit(0)
            if msg.startswith(b"S "):
                slot, gen = (int(x) for x in msg[2:].split())
                try:
                    _spawn(ctl, cfg, bpf, boxes, slot, gen, pidns)
                except OSError as exc:
                    # Out of fds, pids or memory: this sandbox fails, the
                    # zygote lives on (the judge retries, then gives up).
                    ctl.send(b"E %d %d %s" % (slot, gen, str(exc).encode()[:200]))
        _reap(ctl, boxes)


if __name__ == "__main__":
    try:
        main()
    except OSError:
        os._exit(0)  # the judge closed the control socket
