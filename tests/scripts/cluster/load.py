#!/usr/bin/env python3
"""load.py PORT N [CONC] [PATH] — a bounded load on 127.0.0.1:PORT for tests/e2e/test_cluster.sh.

N requests of GET PATH (default /pid), each on a new connection, CONC at a time (default 8).
Prints one line "PID COUNT" per distinct answer body (sorted), then "failed F" (requests that
got no 200 or no answer) and exits 0; F > 0 is for the caller to judge.
LOAD_RETRY=SECONDS: a request that fails is sent again on a new connection, 0.05 s apart, until
it is answered or SECONDS have passed since its first failure (a worker killed under the load
resets the connections it held or had queued, and until its exit has closed its listening
socket, a new connection may still be queued there and reset too); the last lines are then
"retried R" (requests sent more than once) and "attempts A" (sends after the first).
LOAD_MARK=PATH: that file is created once the first answer came (the load is under way)."""
import http.client
import os
import sys
import threading
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
conc = int(sys.argv[3]) if len(sys.argv) > 3 else 8
path = sys.argv[4] if len(sys.argv) > 4 else "/pid"
lock = threading.Lock()
counts, failed, left, retried, attempts = {}, [0], [n], [0], [0]
retry = float(os.environ.get("LOAD_RETRY") or 0)
mark = os.environ.get("LOAD_MARK")


def one():
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", path, headers={"Connection": "close"})
        r = c.getresponse()
        body = r.read().decode().strip()
        c.close()
        return r.status == 200, body
    except Exception:
        return False, None


def worker():
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        ok, body = one()
        if not ok and retry:
            with lock:
                retried[0] += 1
            deadline = time.monotonic() + retry
            while not ok and time.monotonic() < deadline:
                time.sleep(0.05)
                with lock:
                    attempts[0] += 1
                ok, body = one()
        if ok and mark and not os.path.exists(mark):
            open(mark, "w").close()
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
if retry:
    print("retried", retried[0])
    print("attempts", attempts[0])
