@COMMON@
# TCP to 127.0.0.1 on the Redis and PostgreSQL ports (the test listens on them on the host when
# they are free), to the host's other addresses, and over IPv6: every attempt must fail.
import socket

for port in (6390, 6379, 5490, 5432):
    for host, fam in (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)):
        name = "connect_%s_%d" % ("v4" if fam == socket.AF_INET else "v6", port)
        try:
            s = socket.socket(fam, socket.SOCK_STREAM)
        except OSError as e:
            say("DENIED", name, "socket-" + ename(e.errno))
            continue
        s.settimeout(1.0)
        try:
            s.connect((host, port))
            say("ALLOWED", name)
        except socket.timeout:
            say("DENIED", name, "timeout")
        except OSError as e:
            say("DENIED", name, ename(e.errno))
        finally:
            s.close()
try:
    with open("/proc/net/route") as f:
        routes = [l.split() for l in f.readlines()[1:]]
    say("NOTE", "routes", len(routes), " ".join(r[0] for r in routes))
except OSError as e:
    say("NOTE", "routes", ename(e.errno))
