import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"hello worker")
s.shutdown(socket.SHUT_WR)
buf = b""
while True:
    d = s.recv(100)
    if not d: break
    buf += d
print(buf.decode())
