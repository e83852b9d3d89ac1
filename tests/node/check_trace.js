// check_trace.js FILE [perfetto] — a strict structural check of mrprof's Trace Event JSON:
// metadata per thread, one Profile and its ProfileChunks per profiled thread (incremental nodes
// with known parents, samples and timeDeltas of equal length), one pid (a real one: not 1) and
// one track per thread. The DevTools flavour (default): an ordinary (instant) event on each
// profiled thread and no slice; pseudo frames only directly under (root). The Perfetto flavour:
// X slices that nest perfectly per thread.
'use strict';
const fs = require('fs');
const file = process.argv[2], perfetto = process.argv[3] === 'perfetto';
const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
function fail(msg) { console.error(`${file}: ${msg}`); process.exit(1); }
const ev = Array.isArray(doc) ? doc : doc.traceEvents;
if (!Array.isArray(ev)) fail('no traceEvents');
if (ev.some(e => e.name === 'TracingStartedInBrowser')) fail('has TracingStartedInBrowser');
const threads = new Set(ev.filter(e => e.ph === 'M' && e.name === 'thread_name').map(e => e.tid));
const profiles = ev.filter(e => e.name === 'Profile');
if (profiles.length === 0) fail('no Profile event');
for (const prof of profiles) {
  if (!threads.has(prof.tid)) fail(`Profile on tid ${prof.tid} without thread_name`);
  if (!perfetto && !ev.some(e => e.ph === 'I' && e.tid === prof.tid && e.cat === 'mrprof')) fail(`no instant event on tid ${prof.tid}`);
  const chunks = ev.filter(e => e.name === 'ProfileChunk' && e.id === prof.id);
  if (chunks.length === 0) fail(`Profile ${prof.id} has no chunks`);
  const known = new Set();
  let samples = 0;
  for (const c of chunks) {
    const d = c.args.data, cp = d.cpuProfile;
    for (const n of cp.nodes || []) {
      const pseudo = ['(idle)', '(program)', '(garbage collector)'].includes(n.callFrame.functionName);
      if (!perfetto && pseudo && n.parent !== 1 && (cp.samples || []).includes(n.id)) fail(`samples of ${n.callFrame.functionName} not directly under (root)`);
      if (known.has(n.id)) fail(`node ${n.id} declared twice`);
      if (n.parent !== undefined && !known.has(n.parent)) fail(`node ${n.id} names undeclared parent ${n.parent}`);
      known.add(n.id);
    }
    if ((cp.samples || []).length !== (d.timeDeltas || []).length) fail('chunk samples/timeDeltas lengths differ');
    for (const s of cp.samples || []) if (!known.has(s)) fail(`sample names undeclared node ${s}`);
    for (const t of d.timeDeltas || []) if (!(t >= 0)) fail(`negative time delta ${t}`);
    samples += (cp.samples || []).length;
  }
  if (samples === 0) fail(`Profile ${prof.id} has no samples`);
}
const pids = new Set(ev.map(e => e.pid));
if (pids.size !== 1 || pids.has(1)) fail(`pids ${[...pids]}: want the recording process's one`);
if (ev.some(e => e.tid >= 1e9)) fail('a companion track');
if (!perfetto) {
  if (ev.some(e => e.ph === 'X' && e.cat !== 'mrprof.span')) fail('a slice other than a span (DevTools draws it above the samples)');
  console.log(`${file}: ok (${ev.length} events)`);
  process.exit(0);
}
// Perfetto: X slices of one thread must nest perfectly.
const byTid = new Map();
for (const e of ev.filter(e => e.ph === 'X' && e.cat === 'mrprof.stack')) {
  if (!byTid.has(e.tid)) byTid.set(e.tid, []);
  byTid.get(e.tid).push(e);
}
if (byTid.size === 0) fail('no stack slices for Perfetto');
for (const [tid, list] of byTid) {
  list.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const stack = [];
  for (const e of list) {
    while (stack.length && stack[stack.length - 1].ts + stack[stack.length - 1].dur <= e.ts) stack.pop();
    const top = stack[stack.length - 1];
    if (top && e.ts + e.dur > top.ts + top.dur) fail(`tid ${tid}: slice ${e.name}@${e.ts} overlaps ${top.name}@${top.ts} without nesting`);
    stack.push(e);
  }
}
console.log(`${file}: ok (${ev.length} events)`);
