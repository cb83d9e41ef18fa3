@COMMON@
# Raw syscalls the seccomp filter must deny, each tried in a forked child with arguments that
# would succeed if the call were allowed (so an EINVAL means the call reached the kernel).
# x86_64 numbers.  The 32-bit "int 0x80" and x32 entry points must be refused as well.
import mmap

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
SIGCHLD = 17
os.makedirs("mnt-@MARK@", exist_ok=True)

def child_exit_if_zero(res):
    if res[0] == 0:
        os._exit(0)
    return res

def setns():
    try:
        fd = os.open("/proc/self/ns/user", os.O_RDONLY)
    except OSError:
        fd = 0
    return sys_call(308, fd, 0)

def bpf():
    attr = (ctypes.c_uint32 * 32)(2, 4, 4, 1)  # BPF_MAP_TYPE_ARRAY, key 4, value 4, 1 entry
    return sys_call(321, 0, attr, ctypes.sizeof(attr))

def perf():
    attr = (ctypes.c_uint8 * 128)()
    ctypes.c_uint32.from_buffer(attr, 0).value = 1       # PERF_TYPE_SOFTWARE
    ctypes.c_uint32.from_buffer(attr, 4).value = 128     # size
    ctypes.c_uint64.from_buffer(attr, 8).value = 1       # PERF_COUNT_SW_TASK_CLOCK
    ctypes.c_uint64.from_buffer(attr, 40).value = (1 << 5) | (1 << 6)  # exclude kernel, hv
    return sys_call(298, attr, 0, -1, -1, 8)

def io_uring():
    params = (ctypes.c_uint8 * 120)()
    return sys_call(425, 1, params)

def clone3():
    args = (ctypes.c_uint64 * 11)()
    args[4] = SIGCHLD
    return child_exit_if_zero(sys_call(435, args, 88))

def run_code(code):
    """Runs machine code from an executable page; returns (ret, 0) or (-1, errno)."""
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    addr = libc.mmap(None, 4096, 3, 0x22, -1, 0)
    if addr is None or addr == ctypes.c_void_p(-1).value:
        return -1, ctypes.get_errno()
    ctypes.memmove(addr, code, len(code))
    if libc.mprotect(addr, 4096, 5) != 0:
        say("NOTE", "exec_page", "mprotect-refused", ename(ctypes.get_errno()))
        return -1, ctypes.get_errno()
    ret = ctypes.CFUNCTYPE(ctypes.c_long)(addr)()
    return (-1, -ret) if -4096 < ret < 0 else (ret, 0)

def int80_getpid():
    # mov eax, 20 (i386 getpid); int 0x80; ret
    return run_code(bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3]))

def int80_unshare():
    # mov eax, 310 (i386 unshare); mov ebx, CLONE_NEWUSER; int 0x80; ret
    return run_code(bytes([0xB8, 0x36, 0x01, 0, 0, 0xBB, 0, 0, 0, 0x10, 0xCD, 0x80, 0xC3]))

tests = [
    ("mount", lambda: sys_call(165, b"tmpfs", b"mnt-@MARK@", b"tmpfs", 0, b"size=1m")),
    ("umount2", lambda: sys_call(166, b"/proc", 2)),
    ("pivot_root", lambda: sys_call(155, b".", b".")),
    ("chroot", lambda: sys_call(161, b"/")),
    ("unshare_user", lambda: sys_call(272, CLONE_NEWUSER)),
    ("unshare_mnt", lambda: sys_call(272, CLONE_NEWNS)),
    ("unshare_net", lambda: sys_call(272, CLONE_NEWNET)),
    ("unshare_pid", lambda: sys_call(272, CLONE_NEWPID)),
    ("setns", setns),
    ("clone_newuser", lambda: child_exit_if_zero(sys_call(56, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0))),
    ("clone_newns", lambda: child_exit_if_zero(sys_call(56, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0))),
    ("clone3", clone3),
    ("keyctl", lambda: sys_call(250, 1, 0)),  # KEYCTL_JOIN_SESSION_KEYRING, anonymous
    ("add_key", lambda: sys_call(248, b"user", b"tandem", b"x", 1, -2)),
    ("request_key", lambda: sys_call(249, b"user", b"tandem", 0, 0)),
    ("bpf", bpf),
    ("userfaultfd", lambda: sys_call(323, 0o2000000 | 1)),  # O_CLOEXEC | UFFD_USER_MODE_ONLY
    ("io_uring_setup", io_uring),
    ("perf_event_open", perf),
    ("kexec_load", lambda: sys_call(246, 0, 0, 0, 0)),
    ("reboot", lambda: sys_call(169, 0xfee1dead, 672274793, 0)),  # LINUX_REBOOT_CMD_CAD_OFF
    ("init_module", lambda: sys_call(175, b"\0" * 64, 64, b"")),
    ("open_tree", lambda: sys_call(428, -100, b"/", 1)),  # AT_FDCWD, OPEN_TREE_CLONE
    ("fsopen", lambda: sys_call(430, b"tmpfs", 0)),
    ("move_mount", lambda: sys_call(429, -100, b"/", -100, b"mnt-@MARK@", 0)),
    ("name_to_handle_at", lambda: sys_call(303, -100, b"/", (ctypes.c_uint8 * 136)(128), (ctypes.c_int * 1)(), 0)),
    ("acct", lambda: sys_call(163, 0)),
    ("swapoff", lambda: sys_call(168, b"/nonexistent")),
    ("sethostname", lambda: sys_call(170, b"x", 1)),
    ("syslog", lambda: sys_call(103, 3, (ctypes.c_char * 64)(), 64)),  # SYSLOG_ACTION_READ_ALL
    ("iopl", lambda: sys_call(172, 3)),
    ("x32_getpid", lambda: sys_call(0x40000000 | 39)),
    ("int80_getpid", int80_getpid),
    ("int80_unshare", int80_unshare),
]
for name, fn in tests:
    in_child(name, fn)
