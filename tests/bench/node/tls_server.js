// tls_server.js CERT KEY MODE BYTES — the Node twin of tests/bench/tls/server.rb, for
// tests/bench/tls.sh. MODE sink: each connection reads BYTES, then writes "done" and ends.
// MODE source: each connection is sent BYTES (honouring backpressure), then ends. MODE
// handshake: nothing but the handshake (openssl s_time). Prints "listening 127.0.0.1:PORT".
const tls = require("tls");
const fs = require("fs");
const [cert, key, mode, bytesArg] = process.argv.slice(2);
const bytes = Number(bytesArg || 0);
const chunk = Buffer.alloc(64 * 1024, "x");
const server = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (s) => {
  s.on("error", () => {});
  if (mode === "sink") {
    let got = 0;
    s.on("data", (d) => {
      got += d.length;
      if (got >= bytes) s.end("done");
    });
  } else if (mode === "source") {
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!s.write(chunk)) return s.once("drain", pump);
      }
      s.end();
    };
    pump();
  } else {
    s.on("data", () => {});
  }
});
server.on("tlsClientError", () => {});
server.listen(0, "127.0.0.1", () => console.log(`listening 127.0.0.1:${server.address().port}`));
