# A 10 GB file with Python's own SIGXFSZ handling (ignored, so writes fail with EFBIG): the
# write must fail (ERRNO EFBIG or ENOSPC, then exit 1: RE).
import errno
import sys

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
