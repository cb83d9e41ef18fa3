# A fork bomb: every process forks as fast as it can.  The sandbox's pids limit must stop it
# (the first refused fork prints LIMITED); the outer fence of the test must never be reached.
import os

told = False
while True:
    try:
        os.fork()
    except OSError as e:
        if not told:
            told = True
            try:
                os.write(1, ("LIMITED fork %s\n" % e.errno).encode())
            except OSError:
                pass
