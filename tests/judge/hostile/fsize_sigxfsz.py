# A 10 GB file with SIGXFSZ at its default action (Python ignores it by default): RE by SIGXFSZ,
# or the write fails first with ENOSPC/EFBIG (printed as ERRNO, then exit 1: RE).
import errno
import signal
import sys

signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
chunk = b"z" * (1 << 20)
written = 0
try:
    with open("big-@MARK@", "wb", buffering=0) as f:
        while written < 10 * 1024**3:
            written += f.write(chunk)
except OSError as e:
    print("ERRNO", errno.errorcode[e.errno], written, flush=True)
    sys.exit(1)
print("ALLOWED wrote-10GB", written)
