#!/usr/bin/env python3
"""pyserver.py PKI PORTFILE — the HTTPS peer the mrun client talks to: Python's http.server
(HTTP/1.1, keep-alive) wrapped in ssl.SSLContext, on 127.0.0.1 port 0, four listeners:
  good     server.pem (CA-signed, localhost/127.0.0.1)   other    other.pem (other.test only)
  expired  expired.pem                                   self     self.pem (self-signed)
Writes "good=P other=P expired=P self=P" to PORTFILE once all listen. ALPN "http/1.1".
Routes: GET /hello -> "hello world"; POST /echo -> the body; GET /conn -> the client's
"host:port" (a reused connection shows the same); GET /tls -> the TLS version and whether the
session was resumed ("TLSv1.3 reused=True"). Exits when stdin closes or after 30 min.
"""
import http.server
import os
import ssl
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, body, status=200):
        body = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/hello":
            self.reply("hello world")
        elif self.path == "/conn":
            self.reply("%s:%d" % self.client_address[:2])
        elif self.path == "/tls":
            self.reply("%s reused=%s" % (self.connection.version(), self.connection.session_reused))
        else:
            self.reply("not found", 404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.reply(self.rfile.read(n))


def serve(pki, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(pki, name + ".pem"), os.path.join(pki, name + ".key"))
    ctx.set_alpn_protocols(["http/1.1"])
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def main():
    pki, portfile = sys.argv[1], sys.argv[2]
    ports = {n: serve(pki, n) for n in ("server", "other", "expired", "self")}
    line = "good=%d other=%d expired=%d self=%d\n" % (ports["server"], ports["other"], ports["expired"], ports["self"])
    with open(portfile + ".tmp", "w") as f:
        f.write(line)
    os.rename(portfile + ".tmp", portfile)
    t = threading.Thread(target=lambda: sys.stdin.read(), daemon=True)
    t.start()
    t.join(1800)


if __name__ == "__main__":
    main()
