# 1 GB to stderr in 1 MB writes: OLE.
import os

chunk = (b"fedcba9876543210" * 65536)
for _ in range(1024):
    os.write(2, chunk)
