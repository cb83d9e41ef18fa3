# Ten thousand threads that sleep: the pids limit must refuse most of them (LIMITED).
import threading
import time

started = 0
try:
    for _ in range(10000):
        t = threading.Thread(target=time.sleep, args=(30,), daemon=True)
        t.start()
        started += 1
except (RuntimeError, MemoryError, OSError) as e:
    print("LIMITED threads", started, type(e).__name__, flush=True)
else:
    print("ALLOWED threads", started, flush=True)
import os
os._exit(0)
