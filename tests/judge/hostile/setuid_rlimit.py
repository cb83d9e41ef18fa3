@COMMON@
# Gaining privileges must fail: becoming uid/gid 0, or raising any finite hard rlimit (raising
# one needs CAP_SYS_RESOURCE).  A hard limit that is already unlimited is reported as UNLIMITED.
import resource

def attempt(name, fn):
    try:
        fn()
    except OSError as e:
        say("DENIED", name, ename(e.errno))
        return
    say("ALLOWED", name, "uid=%d euid=%d gid=%d" % (os.getuid(), os.geteuid(), os.getgid()))

say("NOTE", "ids", os.getuid(), os.geteuid(), os.getgid())
attempt("setuid0", lambda: os.setuid(0))
attempt("setgid0", lambda: os.setgid(0))
attempt("setresuid0", lambda: os.setresuid(0, 0, 0))
attempt("setgroups0", lambda: os.setgroups([0]))
attempt("setreuid0", lambda: os.setreuid(0, 0))

names = {"fsize": resource.RLIMIT_FSIZE, "nofile": resource.RLIMIT_NOFILE,
         "core": resource.RLIMIT_CORE, "stack": resource.RLIMIT_STACK,
         "cpu": resource.RLIMIT_CPU, "as": resource.RLIMIT_AS, "nproc": resource.RLIMIT_NPROC,
         "data": resource.RLIMIT_DATA, "memlock": resource.RLIMIT_MEMLOCK}
for name, res in names.items():
    soft, hard = resource.getrlimit(res)
    if hard == resource.RLIM_INFINITY:
        say("UNLIMITED", "rlimit_" + name, soft)
        continue
    try:
        resource.setrlimit(res, (hard + 1, hard + 1))
    except (OSError, ValueError) as e:
        say("DENIED", "rlimit_" + name, ename(getattr(e, "errno", None) or 1), soft, hard)
        continue
    say("ALLOWED", "rlimit_" + name, hard, "->", resource.getrlimit(res))
# prlimit on pid 1 (another process of the sandbox, or its init) must fail the same way.
try:
    soft, hard = resource.prlimit(1, resource.RLIMIT_NOFILE)
    resource.prlimit(1, resource.RLIMIT_NOFILE, (soft, hard + 1))
    say("ALLOWED", "prlimit_1")
except (OSError, ValueError) as e:
    say("DENIED", "prlimit_1", ename(getattr(e, "errno", None) or 1))
