#!/usr/bin/env python3
"""late_welcome.py SOCKET PID DELAY: an mrun's attach agent whose welcome comes DELAY seconds
late. It serves SOCKET (/tmp/mrun-<euid>/PID.sock) first, so `mrprof top/record --pid PID`
joins it as an agent already serving; after the viewer's connection and DELAY seconds it sends
PID the attach signal (SIGUSR2), waits for the real agent's socket at the same path (the agent
removes this one and binds its own), connects and relays both ways until either side closes (or refuses a write).
Prints "ready" once it listens; exit 1 with a reason if the agent never serves."""
import os
import select
import signal
import socket
import sys
import time

path, pid, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
try:
    os.unlink(path)
except FileNotFoundError:
    pass
lsn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
lsn.bind(path)
lsn.listen(1)
ours = os.stat(path).st_ino
print("ready", flush=True)
lsn.settimeout(60)
viewer, _ = lsn.accept()
time.sleep(delay)
os.kill(pid, signal.SIGUSR2)
agent = None
for _ in range(400):
    try:
        if os.stat(path).st_ino != ours:
            agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            agent.connect(path)
            break
    except (FileNotFoundError, ConnectionRefusedError):
        agent = None
    time.sleep(0.05)
if agent is None:
    sys.exit("late_welcome: the agent never served " + path)
print("relaying", flush=True)
ends = {viewer: agent, agent: viewer}
while True:
    readable, _, _ = select.select(list(ends), [], [], 60)
    if not readable:
        sys.exit("late_welcome: nothing moved for 60 s")
    for s in readable:
        # Either side gone (a read of nothing, or a write refused: the viewer leaves while the
        # agent still sends) ends the relay, as a closed connection ends the agent's viewer.
        try:
            data = s.recv(65536)
            if data:
                ends[s].sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            data = b""
        if not data:
            viewer.close()
            agent.close()
            sys.exit(0)
