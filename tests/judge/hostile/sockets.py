@COMMON@
# Socket families a sandbox must not open: netlink (routing, audit, uevents), packet (raw
# frames), vsock (the VM host), raw IP, and a few more exotic ones.  Only creation is tried:
# a vsock connect would reach the VM's agent if the judge were broken.
import socket

def attempt(name, fam, typ, proto=0):
    try:
        s = socket.socket(fam, typ, proto)
    except OSError as e:
        say("DENIED", name, ename(e.errno))
        return
    say("ALLOWED", name)
    s.close()

attempt("netlink_route", socket.AF_NETLINK, socket.SOCK_RAW, 0)
attempt("netlink_audit", socket.AF_NETLINK, socket.SOCK_RAW, 9)
attempt("netlink_uevent", socket.AF_NETLINK, socket.SOCK_DGRAM, 15)
attempt("packet_raw", socket.AF_PACKET, socket.SOCK_RAW, 0x0300)
attempt("packet_dgram", socket.AF_PACKET, socket.SOCK_DGRAM, 0x0300)
attempt("vsock_stream", 40, socket.SOCK_STREAM)
attempt("vsock_dgram", 40, socket.SOCK_DGRAM)
attempt("raw_icmp", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
attempt("raw_ip", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
attempt("raw_icmp6", socket.AF_INET6, socket.SOCK_RAW, 58)
attempt("alg", 38, socket.SOCK_SEQPACKET)
attempt("bluetooth", 31, socket.SOCK_RAW, 0)
attempt("key", 15, socket.SOCK_RAW, 2)
attempt("xdp", 44, socket.SOCK_RAW)
