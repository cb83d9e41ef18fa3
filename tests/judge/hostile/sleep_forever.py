# Sleeps without using CPU: only the wall-time limit can end it (TLE by wall).
import signal
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("SLEEPING", flush=True)
while True:
    time.sleep(3600)
