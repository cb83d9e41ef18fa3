# A child process that allocates 10 GB while the parent waits and then exits 0: the sandbox's
# memory limit covers children, so this is MLE.
import os
import subprocess
import sys
import time

code = "b = bytearray(10 * 1024**3)"
try:
    p = subprocess.Popen([sys.executable, "-I", "-S", "-c", code])
    print("SPAWNED subprocess", flush=True)
    p.wait()
except OSError as e:
    print("NOTE no-exec", e.errno, flush=True)
    pid = os.fork()
    if pid == 0:
        b = bytearray(10 * 1024**3)
        os._exit(0)
    os.waitpid(pid, 0)
print("CHILD-DONE", flush=True)
