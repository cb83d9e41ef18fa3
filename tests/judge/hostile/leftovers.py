@COMMON@
# Leaves things behind for the next run to find: files in /tmp, the work dir and /dev/shm, SysV
# shared memory, message queues and semaphores (fixed keys), a POSIX message queue.
IPC_CREAT = 0o1000
made = []
for d in ("/tmp", ".", "/dev/shm"):
    try:
        with open(os.path.join(d, "left-@MARK@"), "w") as f:
            f.write("left behind\n")
        made.append(d)
    except OSError as e:
        say("NOTE", "file", d, ename(e.errno))
for name, nr, args in (("shm", 29, (@IPCKEY@, 4096, IPC_CREAT | 0o666)),
                       ("msg", 68, (@IPCKEY@ + 1, IPC_CREAT | 0o666)),
                       ("sem", 64, (@IPCKEY@ + 2, 1, IPC_CREAT | 0o666))):
    ret, err = sys_call(nr, *args)
    say("NOTE", "sysv_" + name, ret, ename(err) if ret < 0 else "created")
ret, err = sys_call(240, b"@MARK@", os.O_CREAT | os.O_RDWR, 0o600, 0)  # mq_open
say("NOTE", "posix_mq", ret, ename(err) if ret < 0 else "created")
say("LEFT", " ".join(made))
