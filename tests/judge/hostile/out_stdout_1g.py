# 1 GB to stdout in 1 MB writes: OLE, and the judge's own memory stays bounded.
import os

chunk = (b"0123456789abcdef" * 65536)
for _ in range(1024):
    os.write(1, chunk)
