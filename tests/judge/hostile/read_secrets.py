@COMMON@
# Host secrets must not be readable: /etc/shadow, /root, other processes' environments (the
# judge's own environment carries a canary that the test looks for in every output), the
# project's files, and two canary files the test plants on the host.  A process's own
# environment is not a secret, so /proc/1 and the parent count only when they are not this
# process.
import glob

def try_read(name, path):
    try:
        with open(path, "rb") as f:
            data = f.read(65536)
    except OSError as e:
        say("DENIED", name, ename(e.errno))
        return
    say("ALLOWED", name, len(data), data[:200])

def try_list(name, path):
    try:
        entries = os.listdir(path)
    except OSError as e:
        say("DENIED", name, ename(e.errno))
        return
    if entries:
        say("ALLOWED", name, " ".join(sorted(entries)[:20]))
    else:
        say("DENIED", name, "empty")

try_read("shadow", "/etc/shadow")
try:
    with open("/etc/passwd", "rb") as f:
        say("NOTE", "passwd", "readable", len(f.read()))
except OSError as e:
    say("NOTE", "passwd", ename(e.errno))
try_list("root", "/root")
try_list("home", "/home")
try_read("project", "@PROJECT@/meson.build")
try_list("project_dir", "@PROJECT@")

def try_environ(name, pid):
    if pid == os.getpid():
        say("DENIED", name, "is-this-process")
        return
    try_read(name, "/proc/%d/environ" % pid)

try_environ("proc1_environ", 1)
try_environ("ppid_environ", os.getppid())
try_read("canary_file", "@VICTIM@/secret")
try_read("canary_root", "/root/.tandem-hostile-@MARK@")
try_read("ssh_keys", "/etc/ssh/ssh_host_ed25519_key")
try_read("sysrq", "/proc/sysrq-trigger")
try_read("kcore", "/proc/kcore")
try_read("kmsg", "/dev/kmsg")
try_read("mem", "/dev/mem")
try_list("cgroupfs", "/sys/fs/cgroup")
found = []
for path in glob.glob("/proc/[0-9]*/environ"):
    try:
        with open(path, "rb") as f:
            if b"TANDEM_SECRET" in f.read():
                found.append(path)
    except OSError:
        pass
if found:
    say("ALLOWED", "environ_scan", " ".join(found))
else:
    say("DENIED", "environ_scan", "no-secret-found")
try:
    fd = os.open("/proc/sysrq-trigger", os.O_WRONLY)
    os.close(fd)
    say("ALLOWED", "sysrq_open_write")
except OSError as e:
    say("DENIED", "sysrq_open_write", ename(e.errno))
