# Plants symlinks named like anything a judge might open, chown or delete by name, pointing at
# host files (the test's canaries under @VICTIM@, and real system files), in the work dir and in
# /tmp.  The host files must be left exactly as they were.
import os

names = ["stdout", "stderr", "stdin", "output", "out", "err", "input", "result", "result.json",
         "code.py", "main.py", "solution.py", "prog.py", "script.py", "user.py", "harness.py",
         "run.py", "tests.json", "log", "status", "meta", "box", "exit_code", "time", "memory",
         "cgroup", "work", "core", "__pycache__"]
targets = ["@VICTIM@/victim", "@VICTIM@/dir", "/etc/passwd", "/etc/shadow", "/root/.bashrc",
           "@VICTIM@/dir/new"]
planted = 0
for d in (".", "/tmp"):
    for i, n in enumerate(names):
        path = os.path.join(d, n)
        try:
            os.symlink(targets[i % len(targets)], path)
            planted += 1
        except OSError:
            pass
for n in ("victim-link", "hard"):
    try:
        os.symlink("@VICTIM@/victim", n)
    except OSError:
        pass
print("PLANTED", planted, flush=True)
