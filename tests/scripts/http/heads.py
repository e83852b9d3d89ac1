# heads.py PORT — sends the requests whose answers' framing HTTP servers decide (keep-alive,
# Content-Length, chunked, HEAD, 204/304, HTTP/1.0 with and without keep-alive, a parse error)
# and prints each answer's status line, header names in order (values too, but Date's), and body.
# The lines of the requests where mrun differs from Node by choice (docs/script-api.md "## HTTP":
# a HEAD answer carries GET's Content-Length; an HTTP/1.0 answer whose length is known carries
# it, and keeps the connection when the client asked for keep-alive) begin with "differs: ".
import re, socket, sys, threading
port = int(sys.argv[1])
REQS = [
    b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /stream?n=2 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /status/304 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /status/500 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /stream?n=2 HTTP/1.0\r\n\r\n",
    b"GET /stream?n=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
]
DIFFERS = [
    b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /hello HTTP/1.0\r\n\r\n",
    b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
]
# Each request on a connection of its own, all at once (threads): an answer's first bytes may take
# up to 10 s (a loaded machine, a sanitized build), then 0.5 s of silence after what came means
# the connection stayed open with nothing more to send.
def exchange(req):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(req)
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
            s.settimeout(0.5)  # what follows the answer on a keep-alive connection: nothing
    except socket.timeout:
        got += b"<open>"
    s.close()
    return got
ALL = REQS + DIFFERS
answers = [None] * len(ALL)
def run(i):
    answers[i] = exchange(ALL[i])
threads = [threading.Thread(target=run, args=(i,)) for i in range(len(ALL))]
for t in threads:
    t.start()
for t in threads:
    t.join()
for req, got in zip(ALL, answers):
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out = [lines[0].decode()]
    for l in lines[1:]:
        name, _, value = l.partition(b": ")
        out.append(name.decode() + (": " + value.decode() if name.lower() != b"date" else ""))
    print(("differs: " if req in DIFFERS else "") + req.split(b"\r\n")[0].decode() + " | " + " | ".join(out) + " | " + repr(body))
