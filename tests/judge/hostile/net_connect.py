@COMMON@
# TCP to 127.0.0.1 and ::1 on the Redis and PostgreSQL ports (the test listens on them on the host
# when they are free), and UNIX sockets where Redis and PostgreSQL keep theirs (the project's
# private PostgreSQL included) or where the test listens (a path and an abstract name): every
# attempt must fail.
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
unix_targets = [
    ("unix_test_path", "@VICTIM@/sock"),
    ("unix_test_abstract", "\0@MARK@-host"),
    ("unix_project_pg", "@PROJECT@/data/pg-run/.s.PGSQL.5490"),
    ("unix_pg_5432", "/var/run/postgresql/.s.PGSQL.5432"),
    ("unix_pg_tmp", "/tmp/.s.PGSQL.5432"),
    ("unix_redis", "/var/run/redis/redis-server.sock"),
    ("unix_redis_run", "/run/redis/redis.sock"),
    ("unix_docker", "/var/run/docker.sock"),
]
for name, path in unix_targets:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(path)
        say("ALLOWED", name)
    except socket.timeout:
        say("DENIED", name, "timeout")
    except OSError as e:
        say("DENIED", name, ename(e.errno))
    finally:
        s.close()
