# A child process (through subprocess, or fork when exec is refused) that burns CPU while the
# parent waits: the child's CPU time counts, so this is TLE.
import os
import subprocess
import sys

code = "while True: pass"
try:
    p = subprocess.Popen([sys.executable, "-I", "-S", "-c", code])
    print("SPAWNED subprocess", flush=True)
    p.wait()
except OSError as e:
    print("NOTE no-exec", e.errno, flush=True)
    if os.fork() == 0:
        while True:
            pass
    os.wait()
