@COMMON@
# Runs right after a hostile program in the same judge: nothing of that run may be visible.
# Every process in /proc must be this process or one of its ancestors; no file, SysV or POSIX
# IPC object or abstract socket carrying the marker may exist.
IPC_NOWAIT_KEYS = (@IPCKEY@, @IPCKEY@ + 1, @IPCKEY@ + 2)

me = os.getpid()
ancestors = set()
pid = me
while pid > 0 and pid not in ancestors:
    ancestors.add(pid)
    try:
        with open("/proc/%d/stat" % pid) as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        break
strays = []
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) not in ancestors:
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        strays.append("%s:%s" % (entry, cmd[:60].replace(" ", "_").replace("\n", "_")))
if strays:
    say("LEAK", "proc", " ".join(strays))
else:
    say("CLEAN", "proc")

for name, d in (("tmp", "/tmp"), ("cwd", "."), ("shm", "/dev/shm")):
    try:
        hits = [e for e in os.listdir(d) if "@MARK@" in e]
    except OSError as e:
        say("CLEAN", name, "absent-" + ename(e.errno))
        continue
    say("LEAK", name, " ".join(hits)) if hits else say("CLEAN", name)

for name, nr, args in (("sysv_shm", 29, (@IPCKEY@, 0, 0)),
                       ("sysv_msg", 68, (@IPCKEY@ + 1, 0)),
                       ("sysv_sem", 64, (@IPCKEY@ + 2, 0, 0))):
    ret, err = sys_call(nr, *args)
    if ret >= 0:
        say("LEAK", name, "id", ret)
    else:
        say("CLEAN", name, ename(err))

ret, err = sys_call(240, b"@MARK@", os.O_RDONLY, 0, 0)  # mq_open
if ret >= 0:
    say("LEAK", "posix_mq", ret)
else:
    say("CLEAN", "posix_mq", ename(err))

try:
    with open("/proc/net/unix") as f:
        socks = [l for l in f if "@MARK@" in l]
    say("LEAK", "unix", len(socks)) if socks else say("CLEAN", "unix")
except OSError as e:
    say("CLEAN", "unix", "absent-" + ename(e.errno))
