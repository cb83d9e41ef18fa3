@COMMON@
# Name resolution and raw DNS packets to public and local resolvers: all must fail.
import socket

for host in ("example.com", "redis", "postgres", "metadata.google.internal"):
    try:
        res = socket.getaddrinfo(host, 80)
        say("ALLOWED", "getaddrinfo_" + host.split(".")[0], res[0][4])
    except OSError as e:
        say("DENIED", "getaddrinfo_" + host.split(".")[0], type(e).__name__)
query = bytes.fromhex("123401000001000000000000076578616d706c6503636f6d0000010001")
for server in ("8.8.8.8", "1.1.1.1", "127.0.0.53", "10.0.2.3"):
    name = "udp53_" + server
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError as e:
        say("DENIED", name, "socket-" + ename(e.errno))
        continue
    s.settimeout(0.5)
    try:
        s.sendto(query, (server, 53))
        data = s.recv(512)
        say("ALLOWED", name, len(data))
    except socket.timeout:
        say("DENIED", name, "timeout")
    except OSError as e:
        say("DENIED", name, ename(e.errno))
    finally:
        s.close()
