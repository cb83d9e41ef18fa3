# kill(-1, SIGKILL) and kill(1, SIGKILL): may only reach the sandbox's own processes.  The test
# checks that the judge keeps serving and that a process outside survives.
import os

for target in (-1, 1):
    try:
        os.kill(target, 9)
        print("SENT kill", target, "ok", flush=True)
    except OSError as e:
        print("SENT kill", target, e.errno, flush=True)
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            os.kill(int(pid), 9)
        except OSError:
            pass
print("ALIVE after-kills", flush=True)
