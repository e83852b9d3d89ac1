// Round trip of a trivial task to a pre-spawned worker_threads Worker, one at a time.
const { Worker } = require('worker_threads');
const n = Number(process.argv[2] || 20000);
const w = new Worker('const { parentPort } = require("worker_threads");' +
  'parentPort.on("message", (k) => parentPort.postMessage(k + 1));', { eval: true });
const times = new Array(n);
let i = -1, t0 = 0n;
function next() {
  t0 = process.hrtime.bigint();
  w.postMessage(i + 1);
}
w.on('message', () => {
  if (i >= 0) times[i] = Number(process.hrtime.bigint() - t0) / 1000;
  i++;
  if (i < n) return next();
  times.sort((a, b) => a - b);
  console.log(times[Math.floor(n / 2)].toFixed(1), times[Math.floor(n * 99 / 100)].toFixed(1));
  w.terminate();
});
next(); // warm-up round (i = -1)
