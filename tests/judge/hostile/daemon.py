# A double-forked setsid daemon (its command line carries a marker) that would outlive the run:
# the judge must kill it with the sandbox; the next run and the host must not see it.
import os
import socket
import sys
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in (0, 1, 2):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind("\0@MARK@-daemon")
        except OSError:
            pass
        try:
            os.execv(sys.executable, [sys.executable, "-I", "-S", "-c",
                                      "import time\nwhile True: time.sleep(60)", "@MARK@-daemon"])
        except OSError:
            import ctypes
            ctypes.CDLL(None).prctl(15, b"@MARK@"[:15], 0, 0, 0)
            while True:
                time.sleep(60)
    os._exit(0)
os.wait()
print("DAEMONIZED", flush=True)
