// spawn.js N: spawns `true` N times, one after the other, each awaited ('close'), and prints
// the mean round trip in µs and the total seconds. mrun's twin: tests/bench/child/spawn.rb.
const { spawn } = require('child_process');
const n = parseInt(process.argv[2] || '1000', 10);
const t0 = process.hrtime.bigint();
let done = 0;
function step() {
  const c = spawn('true');
  c.on('close', (status) => {
    if (status !== 0) throw new Error(`true exited ${status}`);
    if (++done < n) return step();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${(s * 1e6 / n).toFixed(1)} ${s.toFixed(3)}`);
  });
}
step();
