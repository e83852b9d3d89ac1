// bench.js ROUNDS — the same as bench.rb on Node's crypto: createHash('sha256').update over
// 1 MiB chunks, and createHash('sha256').update(64 bytes).digest() per second (Node 20 has no
// one-shot crypto.hash; that is how its programs hash a message).
const crypto = require('crypto');
const rounds = Number(process.argv[2] || 5);
const chunk = crypto.randomBytes(1 << 20), msg = crypto.randomBytes(64);
const n = 200000;
let bestBulk = 1e9, bestSmall = 1e9;
// CPU time (user + system), as openssl speed and the Ruby scripts measure.
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
for (let r = 0; r < rounds; r++) {
  const t0 = cpu();
  const h = crypto.createHash('sha256');
  for (let i = 0; i < 256; i++) h.update(chunk);
  h.digest();
  const t1 = cpu();
  for (let i = 0; i < n; i++) crypto.createHash('sha256').update(msg).digest();
  const t2 = cpu();
  bestBulk = Math.min(bestBulk, t1 - t0);
  bestSmall = Math.min(bestSmall, t2 - t1);
}
console.log(`${(256 * 1048576 / bestBulk / 1e6).toFixed(1)} ${(n / bestSmall).toFixed(0)}`);
