// Throughput: n messages posted at once to a worker_threads Worker that answers each (as
// tests/bench/worker/burst.rb): messages per second from the first post to the last answer.
const { Worker } = require('worker_threads');
const n = Number(process.argv[2] || 100000);
const w = new Worker('const { parentPort } = require("worker_threads");' +
  'parentPort.on("message", (k) => parentPort.postMessage(k + 1));', { eval: true });
let got = 0, t0 = null;
w.on('message', () => {
  if (t0 === null) {
    t0 = process.hrtime.bigint();
    for (let k = 0; k < n; k++) w.postMessage(k);
    return;
  }
  if (++got < n) return;
  console.log((n / (Number(process.hrtime.bigint() - t0) / 1e9)).toFixed(0));
  w.terminate();
});
w.postMessage(0);
