#!/usr/bin/env python3
"""peer.py — the UDP peer that test_dgram.sh checks Dgram against (Python's socket module).

  peer.py client HOST PORT COUNT   sends to an echo server at HOST:PORT and checks every answer:
                                   one message, an empty datagram, all 256 byte values, the
                                   largest datagram of the family, COUNT numbered messages (at
                                   most 32 in flight); prints "ok ..."/"FAIL ..." lines, then
                                   sends "quit" and prints "all passed" or "N failed".
  peer.py server HOST              an echo server on HOST, port 0: prints "port N", answers each
                                   datagram with the same bytes, exits after "quit".
  peer.py send HOST PORT SIZE      sends one datagram of SIZE bytes ("x" * SIZE) and exits.
Each wait is bounded (PEER_TIMEOUT seconds, default 20), so a lost datagram fails, never hangs.
"""
import os
import socket
import sys

TIMEOUT = float(os.environ.get("PEER_TIMEOUT", "20"))


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def client(host, port, count):
    fam = family_of(host)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.connect((host, port))
    failures = 0

    def check(ok, what):
        nonlocal failures
        print(("ok " if ok else "FAIL ") + what, flush=True)
        if not ok:
            failures += 1

    def roundtrip(data):
        s.send(data)
        try:
            return s.recv(70000)
        except socket.timeout:
            return None

    check(roundtrip(b"hello") == b"hello", "a message comes back")
    check(roundtrip(b"") == b"", "an empty datagram comes back empty")
    blob = bytes(range(256)) * 4
    check(roundtrip(blob) == blob, "all 256 byte values come back intact")
    biggest = 65507 if fam == socket.AF_INET else 65527
    big = os.urandom(biggest)
    check(roundtrip(big) == big, "the largest datagram (%d bytes) comes back intact" % biggest)
    sent = 0
    got = set()
    window = 32
    lost = False
    while len(got) < count and not lost:
        while sent < count and sent - len(got) < window:
            s.send(b"message %d" % sent)
            sent += 1
        try:
            got.add(s.recv(100))
        except socket.timeout:
            lost = True
    want = {b"message %d" % i for i in range(count)}
    check(got == want, "%d numbered messages all come back (%d did)" % (count, len(got & want)))
    s.send(b"quit")
    print("all passed" if failures == 0 else "%d failed" % failures, flush=True)
    return 0 if failures == 0 else 1


def server(host):
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.bind((host, 0))
    print("port %d" % s.getsockname()[1], flush=True)
    while True:
        try:
            data, addr = s.recvfrom(70000)
        except socket.timeout:
            print("peer.py server: nothing for %s s" % TIMEOUT, file=sys.stderr)
            return 1
        if data == b"quit":
            return 0
        s.sendto(data, addr)


def send(host, port, size):
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.sendto(b"x" * size, (host, port))
    return 0


def main(argv):
    mode = argv[1]
    if mode == "client":
        return client(argv[2], int(argv[3]), int(argv[4]))
    if mode == "server":
        return server(argv[2])
    if mode == "send":
        return send(argv[2], int(argv[3]), int(argv[4]))
    print("usage: peer.py client|server|send ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
