// tls_bulk_client.js PORT MODE BYTES CA [ROUNDS] — the one client of tests/bench/tls.sh's bulk
// figures, the same against both servers. MODE sink: sends BYTES and waits for "done";
// MODE source: reads until the server ends. Prints the best MB/s of ROUNDS connections (the
// clock starts at secureConnect, so the handshake is not counted).
const tls = require("tls");
const fs = require("fs");
const [port, mode, bytesArg, ca, roundsArg] = process.argv.slice(2);
const bytes = Number(bytesArg);
const rounds = Number(roundsArg || 3);
const chunk = Buffer.alloc(64 * 1024, "y");
let best = 0;
function once(left) {
  if (left === 0) {
    console.log(best.toFixed(1));
    return;
  }
  let t0 = 0;
  let got = 0;
  const s = tls.connect({ port: Number(port), host: "127.0.0.1", ca: fs.readFileSync(ca), servername: "localhost" }, () => {
    t0 = process.hrtime.bigint();
    if (mode === "sink") {
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!s.write(chunk)) return s.once("drain", pump);
        }
      };
      pump();
    }
  });
  s.on("data", (d) => { got += d.length; });
  s.on("end", () => {
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const mb = bytes / 1048576 / secs;
    if (mode === "source" && got < bytes) console.error(`short read: ${got}`);
    if (mb > best) best = mb;
    s.end();
    once(left - 1);
  });
  s.on("error", (e) => { console.error(e.message); process.exit(1); });
}
once(rounds);
