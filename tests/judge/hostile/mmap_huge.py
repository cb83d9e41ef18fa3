# Python's mmap of 100 GB, then touching every page: MLE when the mapping is granted, or RE when
# the mapping itself is refused (then REFUSED is printed first).
import mmap
import sys

try:
    m = mmap.mmap(-1, 100 * 1024**3)
except (OSError, OverflowError, MemoryError) as e:
    print("REFUSED mmap", type(e).__name__, getattr(e, "errno", ""), flush=True)
    sys.exit(1)
print("MAPPED mmap", flush=True)
for i in range(0, len(m), 4096):
    m[i] = 1
print("ALLOWED mmap-touched-100GB")
