#!/usr/bin/env python3
"""A peer for tests/e2e/test_http_client.sh: Python's http.server (HTTP/1.1, keep-alive) with a
few routes, and raw-socket modes for what http.server cannot send (malformed responses, a
connection cut in the middle of a body, a server that never answers).

    server.py [--host 127.0.0.1 | --unix PATH] [--raw] PORTFILE LOGFILE

It listens on port 0 (or PATH), writes the port to PORTFILE once listening, logs one line per
request ("METHOD PATH CLIENT_PORT") to LOGFILE and runs until killed (the test kills it). Every
http-mode response carries X-Client-Port: the client's port, so a script sees which connection
served it (keep-alive reuse).

Routes (http mode):
  GET  /hello            200 "hello world" (Content-Length)
  POST /echo, PUT /echo  200, the request body back; headers X-Method, X-Content-Length,
                         X-Transfer-Encoding tell what the server saw
  GET  /chunked          200, chunked, 3 chunks ("one,", "two,", "three")
  GET  /big?n=N          200, N bytes of "x" (Content-Length)
  GET/HEAD /head         200, Content-Length: 11, "hello world" (no body for HEAD)
  GET  /204              204 No Content
  GET  /304              304 Not Modified
  *    /redirect/N       301 (or ?code=302/303/307/308) to /redirect/N-1; /redirect/0 -> /hello
  GET  /loop             302 to /loop
  GET  /close            200 "bye" with Connection: close
  GET  /until-close      HTTP/1.0-style body read until the server closes
  GET  /headers          200, the request's headers as "name: value" lines
  *    /capture          200, a line saying how the request was framed: "METHOD PATH
                         cl=Content-Length te=Transfer-Encoding conn=Connection host=ok|bad
                         body=BODY" (compare_node.* send the same requests as Node)
  GET  /early            103 Early Hints (Link: </a.css>), then 200 "after hints"
  POST /continue         reads the body only after sending 100 Continue (http.server does
                         that itself for Expect: 100-continue), echoes it
Raw mode (--raw; what to do is the request's path): /malformed answers "HTTP/1.1 200 OK\\r\\nBad Header\\r\\n\\r\\n";
/badstatus answers "HTTP/1.1 2x0 OK"; /cut sends a head with Content-Length: 100 and 10 bytes,
then closes; /hangup closes as soon as a request arrives; /silent reads and never answers;
/keepclose answers one keep-alive request per connection and then closes it (a free socket
the server closed); /bighead answers with 20 000 bytes of headers; /http10 answers "HTTP/1.0 200 OK" with a body read until it closes.
"""
import http.server
import socket
import socketserver
import sys
import threading


def main():
    args = sys.argv[1:]
    host = "127.0.0.1"
    raw = False
    unix = None
    while args and args[0].startswith("--"):
        if args[0] == "--host":
            host = args[1]
            args = args[2:]
        elif args[0] == "--unix":
            unix = args[1]
            args = args[2:]
        elif args[0] == "--raw":
            raw = True
            args = args[1:]
        else:
            sys.exit("unknown option " + args[0])
    portfile, logfile = args
    log = open(logfile, "a", buffering=1)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if raw:
        serve_raw(host, family, portfile, log)
    else:
        serve_http(host, family, unix, portfile, log)


def write_port(portfile, port):
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % port)
    import os
    os.rename(portfile + ".tmp", portfile)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log = None

    def log_message(self, fmt, *args):
        pass

    def client_port(self):
        addr = self.client_address
        return addr[1] if isinstance(addr, tuple) else 0

    def note(self):
        Handler.log.write("%s %s %d\n" % (self.command, self.path, self.client_port()))

    def send_response(self, code, message=None):
        super().send_response(code, message)
        if code >= 200:
            self.send_header("X-Client-Port", str(self.client_port()))

    def send(self, status, body=b"", headers=(), length=True):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te.lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline()
                n = int(line.strip().split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def route(self):
        self.note()
        path, _, query = self.path.partition("?")
        if path == "/hello":
            return self.send(200, b"hello world", [("Content-Type", "text/plain")])
        if path in ("/echo", "/continue"):
            body = self.read_body()
            return self.send(200, body, [
                ("X-Method", self.command),
                ("X-Content-Length", self.headers.get("Content-Length", "-")),
                ("X-Transfer-Encoding", self.headers.get("Transfer-Encoding", "-"))])
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one,", b"two,", b"three"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        if path == "/big":
            n = int(query.partition("=")[2] or "0")
            return self.send(200, b"x" * n)
        if path == "/head":
            return self.send(200, b"hello world")
        if path == "/204":
            return self.send(204, length=False)
        if path == "/304":
            return self.send(304, length=False)
        if path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            code = int(query.partition("=")[2] or "301")
            self.read_body()
            target = "/hello" if n == 0 else "/redirect/%d?%s" % (n - 1, query)
            if n == 0 and code in (307, 308):
                target = "/echo"
            return self.send(code, b"moved", [("Location", target)])
        if path == "/loop":
            return self.send(302, b"", [("Location", "/loop")])
        if path == "/close":
            self.close_connection = True
            return self.send(200, b"bye", [("Connection", "close")])
        if path == "/until-close":
            self.close_connection = True
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"all of it, ")
            self.wfile.flush()
            self.wfile.write(b"until close")
            return
        if path == "/capture":
            body = self.read_body()
            host = self.headers.get("Host", "")
            line = "%s %s cl=%s te=%s conn=%s host=%s body=%s" % (
                self.command, self.path, self.headers.get("Content-Length", "-"),
                self.headers.get("Transfer-Encoding", "-"), self.headers.get("Connection", "-"),
                "ok" if host.endswith(":%d" % self.server.server_address[1]) else "bad:" + host,
                body.decode("latin-1"))
            return self.send(200, line.encode())
        if path == "/early":
            self.send_response_only(103)
            self.send_header("Link", "</a.css>; rel=preload")
            self.end_headers()
            self.wfile.flush()
            return self.send(200, b"after hints")
        if path == "/headers":
            body = "".join("%s: %s\n" % (k.lower(), v) for k, v in self.headers.items())
            return self.send(200, body.encode())
        return self.send(404, b"not found")

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = route


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's 5 drops the SYNs of a burst of connections


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 256


class UnixHandler(Handler):
    def setup(self):
        self.client_address = ("unix", 0)
        super().setup()


def serve_http(host, family, unix, portfile, log):
    Handler.log = log
    if unix:
        srv = UnixServer(unix, UnixHandler)
        write_port(portfile, 0)
    else:
        Server.address_family = family
        srv = Server((host, 0), Handler)
        write_port(portfile, srv.server_address[1])
    srv.serve_forever()


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        part = conn.recv(65536)
        if not part:
            return None
        data += part
    return data


def raw_conn(conn, log):
    try:
        while True:
            head = read_head(conn)
            if head is None:
                return
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            log.write("%s %d\n" % (line, conn.getpeername()[1]))
            parts = line.split(" ")
            mode = parts[1].lstrip("/").partition("?")[0] if len(parts) > 1 else ""
            if mode == "malformed":
                conn.sendall(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n")
            elif mode == "badstatus":
                conn.sendall(b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n")
            elif mode == "cut":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
                return
            elif mode == "hangup":
                return
            elif mode == "silent":
                while conn.recv(65536):
                    pass
                return
            elif mode == "keepclose":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
                return
            elif mode == "bighead":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" +
                             b"".join(b"X-Pad-%03d: %s\r\n" % (i, b"p" * 88) for i in range(200)) +
                             b"\r\nok")
            elif mode == "http10":
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold style")
                return
            else:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    finally:
        conn.close()


def serve_raw(host, family, portfile, log):
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, 0))
    srv.listen(256)
    write_port(portfile, srv.getsockname()[1])
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=raw_conn, args=(conn, log), daemon=True).start()


if __name__ == "__main__":
    main()
