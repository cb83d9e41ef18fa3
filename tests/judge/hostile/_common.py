# Shared helpers for the hostile programs; test-hostile pastes this file in place of the
# placeholder line "@""COMMON@".  Every attempt prints one machine-checkable line:
#   DENIED <name> <why>    the attempt failed the way a contained program must fail
#   ALLOWED <name> <what>  the attempt worked: the sandbox let it through
#   REACHED <name> <errno> the call got past the sandbox to the kernel's own argument checks
#   LEAK <name> <what>     something of the host or of an earlier run was visible
#   CLEAN <name>           nothing of an earlier run was visible
import ctypes
import errno
import os
import signal
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
DENY = {errno.EPERM, errno.EACCES, errno.ENOSYS}


def say(*words):
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def ename(e):
    return errno.errorcode.get(e, str(e))


def judge_raw(name, ret, err):
    """Classifies a libc-style result: -1 with errno set, anything else is success."""
    if ret == -1 and err in DENY:
        say("DENIED", name, ename(err))
    elif ret == -1:
        say("REACHED", name, ename(err))
    else:
        say("ALLOWED", name, ret)


def sys_call(nr, *args):
    """A raw syscall through libc; returns (ret, errno)."""
    cargs = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ctypes.set_errno(0)
    ret = libc.syscall(ctypes.c_long(nr), *cargs)
    return ret, ctypes.get_errno()


def in_child(name, fn):
    """Runs fn() -> (ret, errno) in a forked child, so that a seccomp kill ends only the child,
    and reports the outcome.  A child that the attempt itself forked (ret 0 of a clone) exits at
    once inside fn."""
    try:
        r, w = os.pipe()
        pid = os.fork()
    except OSError as e:
        say("NOTE", name, "no-fork", ename(e.errno), "trying-in-process")
        ret, err = fn()
        judge_raw(name, ret, err)
        return
    if pid == 0:
        os.close(r)
        try:
            ret, err = fn()
            os.write(w, ("%d %d" % (ret, err)).encode())
        except BaseException as e:  # noqa: B902 - report anything, never print a traceback
            os.write(w, ("EXC %s" % type(e).__name__).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 256)
        if not chunk:
            break
        data += chunk
    os.close(r)
    _, st = os.waitpid(pid, 0)
    if os.WIFSIGNALED(st):
        sig = os.WTERMSIG(st)
        if sig == signal.SIGSYS:
            say("DENIED", name, "SIGSYS")
        else:
            say("REACHED", name, "signal-%d" % sig)
        return
    words = data.decode().split()
    if len(words) == 2 and words[0] == "EXC":
        say("REACHED", name, "exception-" + words[1])
    elif len(words) == 2:
        judge_raw(name, int(words[0]), int(words[1]))
    else:
        say("REACHED", name, "no-report")
