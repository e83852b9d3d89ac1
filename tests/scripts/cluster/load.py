#!/usr/bin/env python3
"""load.py PORT N [CONC] [PATH] — a bounded load on 127.0.0.1:PORT for tests/e2e/test_cluster.sh.

N requests of GET PATH (default /pid), each on a new connection, CONC at a time (default 8).
Prints one line "PID COUNT" per distinct answer body (sorted), then "failed F" (requests that
got no 200 or no answer) and exits 0; F > 0 is for the caller to judge."""
import http.client
import sys
import threading

port, n = int(sys.argv[1]), int(sys.argv[2])
conc = int(sys.argv[3]) if len(sys.argv) > 3 else 8
path = sys.argv[4] if len(sys.argv) > 4 else "/pid"
lock = threading.Lock()
counts, failed, left = {}, [0], [n]


def worker():
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", path, headers={"Connection": "close"})
            r = c.getresponse()
            body = r.read().decode().strip()
            c.close()
            ok = r.status == 200
        except Exception:
            ok, body = False, None
        with lock:
            if ok:
                key = body.split()[0]
                counts[key] = counts.get(key, 0) + 1
            else:
                failed[0] += 1


threads = [threading.Thread(target=worker) for _ in range(conc)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for k in sorted(counts):
    print(k, counts[k])
print("failed", failed[0])
