# mmap of 100 GB with MAP_NORESERVE (so overcommit accounting cannot refuse it), then touching
# it: MLE, or RE when the mapping is refused (REFUSED printed first, e.g. by RLIMIT_AS).
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long]
size = 100 * 1024**3
addr = libc.mmap(None, size, 3, 0x22 | 0x4000, -1, 0)  # RW, PRIVATE|ANONYMOUS|NORESERVE
if addr is None or addr == ctypes.c_void_p(-1).value:
    print("REFUSED mmap", ctypes.get_errno(), flush=True)
    sys.exit(1)
print("MAPPED mmap", flush=True)
for off in range(0, size, 4096):
    ctypes.c_char.from_address(addr + off).value = b"x"
print("ALLOWED mmap-touched-100GB")
