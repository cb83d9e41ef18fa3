@COMMON@
# ptrace and its relatives through ctypes: all denied.
PTRACE_TRACEME, PTRACE_ATTACH, PTRACE_SEIZE = 0, 16, 0x4206
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
parent = os.getpid()

def pt(req, pid):
    def fn():
        ctypes.set_errno(0)
        ret = libc.ptrace(req, pid, None, None)
        return ret, ctypes.get_errno()
    return fn

in_child("ptrace_traceme", pt(PTRACE_TRACEME, 0))
in_child("ptrace_attach_parent", pt(PTRACE_ATTACH, parent))
in_child("ptrace_seize_parent", pt(PTRACE_SEIZE, parent))
in_child("ptrace_attach_1", pt(PTRACE_ATTACH, 1))
in_child("ptrace_attach_ppid", pt(PTRACE_ATTACH, os.getppid()))

def vm_readv():
    buf = ctypes.create_string_buffer(16)
    local = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 16)
    remote = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 16)
    return sys_call(310, parent, local, 1, remote, 1, 0)

in_child("process_vm_readv", vm_readv)
