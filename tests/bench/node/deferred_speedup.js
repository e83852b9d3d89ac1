// Two fib(N) tasks on two pre-spawned workers vs the same two calls in series.
const { Worker } = require('worker_threads');
const n = Number(process.argv[2] || 30);
const src = 'const { parentPort } = require("worker_threads");' +
  'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }' +
  'parentPort.on("message", (k) => parentPort.postMessage(fib(k)));';
function fib(k) { return k < 2 ? k : fib(k - 1) + fib(k - 2); }
const ws = [new Worker(src, { eval: true }), new Worker(src, { eval: true })];
const run = (k) => Promise.all(ws.map((w) => new Promise((res) => { w.once('message', res); w.postMessage(k); })));
(async () => {
  await run(15); // warm both workers
  let t = process.hrtime.bigint();
  fib(n); fib(n);
  const serial = Number(process.hrtime.bigint() - t) / 1e9;
  t = process.hrtime.bigint();
  await run(n);
  const parallel = Number(process.hrtime.bigint() - t) / 1e9;
  console.log(serial.toFixed(3), parallel.toFixed(3));
  ws.forEach((w) => w.terminate());
})();
