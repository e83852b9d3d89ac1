// check_cpuprofile.js FILE — a strict structural check of a .cpuprofile (DevTools
// Profiler.Profile): exits 1 with a message naming the first violation.
'use strict';
const fs = require('fs');
const file = process.argv[2];
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
function fail(msg) { console.error(`${file}: ${msg}`); process.exit(1); }

if (!Array.isArray(p.nodes) || p.nodes.length === 0) fail('no nodes');
if (p.nodes[0].callFrame.functionName !== '(root)') fail('the first node is not (root)');
const byId = new Map();
for (const [i, n] of p.nodes.entries()) {
  if (!Number.isInteger(n.id) || n.id <= 0) fail(`nodes[${i}].id is not a positive integer`);
  if (byId.has(n.id)) fail(`duplicate node id ${n.id}`);
  const cf = n.callFrame;
  for (const k of ['functionName', 'scriptId', 'url']) if (typeof cf[k] !== 'string') fail(`nodes[${i}].callFrame.${k} is not a string`);
  for (const k of ['lineNumber', 'columnNumber']) if (!Number.isInteger(cf[k]) || cf[k] < -1) fail(`nodes[${i}].callFrame.${k} is invalid`);
  if (cf.functionName === '?' || cf.functionName === '') fail(`nodes[${i}] has no name`);
  byId.set(n.id, n);
}
const parentOf = new Map();
for (const n of p.nodes) for (const c of n.children || []) {
  if (!byId.has(c)) fail(`node ${n.id} lists missing child ${c}`);
  if (parentOf.has(c)) fail(`node ${c} has two parents`);
  parentOf.set(c, n.id);
}
for (const n of p.nodes.slice(1)) if (!parentOf.has(n.id)) fail(`node ${n.id} has no parent`);
if (p.samples.length !== p.timeDeltas.length) fail('samples and timeDeltas differ in length');
const hits = new Map();
for (const s of p.samples) { if (!byId.has(s)) fail(`sample names missing node ${s}`); hits.set(s, (hits.get(s) || 0) + 1); }
for (const n of p.nodes) if ((n.hitCount || 0) !== (hits.get(n.id) || 0)) fail(`node ${n.id} hitCount ${n.hitCount} != ${hits.get(n.id) || 0} samples`);
for (const n of p.nodes) {
  const ticks = (n.positionTicks || []).reduce((a, t) => a + t.ticks, 0);
  if (ticks > (n.hitCount || 0)) fail(`node ${n.id} has more positionTicks than hits`);
}
let t = p.startTime;
for (const [i, d] of p.timeDeltas.entries()) { if (!(d >= 0)) fail(`timeDeltas[${i}] = ${d}`); t += d; }
if (t > p.endTime) fail(`samples run past endTime (${t} > ${p.endTime})`);
if (!(p.startTime <= p.endTime)) fail('startTime > endTime');
// mrun's CPU-mode file: DevTools weighs a sample by the time to the next one and ignores
// "$mrprof".weights, so each sample's delta to the next must be its CPU weight (to the µs the
// rounding allows) and endTime the end of the last: else DevTools shows wall time, not CPU.
const m = p.$mrprof;
if (m && m.mode === 'cpu' && Array.isArray(m.weights) && m.weights.length === p.samples.length &&
    m.weights.reduce((a, w) => a + w, 0) >= 1000) {
  let at = p.startTime + p.timeDeltas[0], cum = 0;
  for (let i = 1; i < p.timeDeltas.length; i++) {
    at += p.timeDeltas[i];
    cum += m.weights[i - 1];
    if (Math.abs(at - (p.startTime + p.timeDeltas[0] + cum / 1000)) > 1)
      fail(`CPU mode: sample ${i} is at ${at} µs, not where the CPU weights before it put it (${p.startTime + p.timeDeltas[0] + cum / 1000})`);
  }
  cum += m.weights.at(-1);
  if (Math.abs(p.endTime - (p.startTime + p.timeDeltas[0] + cum / 1000)) > 1)
    fail(`CPU mode: endTime ${p.endTime} is not the end of the last sample's CPU weight (${p.startTime + p.timeDeltas[0] + cum / 1000})`);
}
console.log(`${file}: ok (${p.nodes.length} nodes, ${p.samples.length} samples)`);
