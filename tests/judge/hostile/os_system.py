# os.system with a shell loop (or, when there is no shell, a forked busy child): the shell and
# its children are inside every limit, so this is TLE.
import os

r = os.system("while :; do :; done")
print("NOTE system-returned", r, flush=True)
if os.fork() == 0:
    while True:
        pass
os.wait()
