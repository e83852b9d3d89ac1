// work.js [worker] [heap] — a Node program for `node --cpu-prof` / `--heap-prof` / trace events, so the
// tests can read profiles written by a real producer. `hot` takes most of the CPU, `warm` some;
// `retain` keeps its allocations alive so a heap profile holds them. With "worker", the same work
// also runs in a worker thread (Node then writes one .cpuprofile per thread); with "heap",
// ten times as many objects stay alive.
'use strict';
const { Worker, isMainThread } = require('worker_threads');

function hot(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i) * Math.sin(i); return s; }
function warm(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }
const kept = globalThis.kept = []; // global: still alive when Node writes the heap profile at exit
function retain(n) { for (let i = 0; i < n; i++) kept.push({ i, s: 'item ' + i, a: new Array(8).fill(i) }); }

if (isMainThread && process.argv[2] === 'worker') new Worker(__filename);
const limit = process.argv.includes('heap') ? 200000 : 20000; // objects kept alive
// A fixed amount of work (~0.6 s of CPU), not 300 ms of wall time: on a loaded machine that was
// 36 ms of CPU, and Node's own start-up ((garbage collector), (program)) outweighed `hot`.
// Node's sampler takes a thread's stack whether or not it runs, so a preempted start-up
// (compileForInternalLoader, seen on top of a worker thread with 40 rounds) weighs in too.
for (let round = 0; round < 80; round++) { hot(200000); warm(50000); if (kept.length < limit) retain(2000); }
