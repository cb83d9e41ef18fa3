# A child process that writes 1 GB to the inherited stdout: OLE.
import os
import subprocess
import sys

code = "import os\nc = b'q' * (1 << 20)\nfor _ in range(1024): os.write(1, c)"
try:
    p = subprocess.Popen([sys.executable, "-I", "-S", "-c", code])
    p.wait()
except OSError as e:
    pid = os.fork()
    if pid == 0:
        exec(code)
        os._exit(0)
    os.waitpid(pid, 0)
