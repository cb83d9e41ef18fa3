# Closes stdin, then reads it and the controlling terminal: errors, never a hang.
import os

os.close(0)
try:
    os.read(0, 10)
    print("READ fd0")
except OSError as e:
    print("ERRNO fd0", e.errno)
try:
    fd = os.open("/dev/tty", os.O_RDONLY)
    print("ALLOWED tty", fd)
except OSError as e:
    print("DENIED tty", e.errno)
try:
    print("EOF input", repr(input()))
except EOFError:
    print("EOF input")
except (OSError, ValueError, RuntimeError) as e:
    print("EOF input", type(e).__name__)
