// bench.js FILE ROUNDS — JSON.parse and JSON.stringify MB/s on FILE, best of ROUNDS, printed as
// "parse_mbs generate_mbs bytes" (tests/bench/json/bench.rb's twin for Node).
const fs = require("fs");
const [path, r] = process.argv.slice(2);
const rounds = parseInt(r || "5", 10);
const text = fs.readFileSync(path, "utf8");
const mb = Buffer.byteLength(text) / 1e6;
let bestP = 1e9, bestG = 1e9, out = "";
for (let k = 0; k < rounds; k++) {
  const t0 = process.hrtime.bigint();
  const v = JSON.parse(text);
  const t1 = process.hrtime.bigint();
  out = JSON.stringify(v);
  const t2 = process.hrtime.bigint();
  bestP = Math.min(bestP, Number(t1 - t0) / 1e9);
  bestG = Math.min(bestG, Number(t2 - t1) / 1e9);
}
console.log(`${(mb / bestP).toFixed(1)} ${(Buffer.byteLength(out) / 1e6 / bestG).toFixed(1)} ${Buffer.byteLength(out)}`);
