# Fills /tmp, /dev/shm and the work dir until something refuses (at most 2 GB each).  All of it
# must stay inside the sandbox: the test checks the judge's host side afterwards.
import errno
import os

chunk = b"f" * (1 << 20)
for d in ("/tmp", "/dev/shm", "."):
    total = 0
    n = 0
    why = "limit"
    try:
        while total < 2 * 1024**3:
            with open(os.path.join(d, "fill-@MARK@-%d" % n), "wb", buffering=0) as f:
                for _ in range(64):
                    total += f.write(chunk)
            n += 1
    except OSError as e:
        why = errno.errorcode.get(e.errno, str(e.errno))
    print("FILLED", d, total, why, flush=True)
