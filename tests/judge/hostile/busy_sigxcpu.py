# A busy loop that ignores SIGXCPU (the soft RLIMIT_CPU signal), so only a hard kill from outside
# can end it: must be TLE.
import signal

signal.signal(signal.SIGXCPU, signal.SIG_IGN)
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM, signal.SIGVTALRM):
    signal.signal(s, signal.SIG_IGN)
print("IGNORING SIGXCPU", flush=True)
while True:
    pass
