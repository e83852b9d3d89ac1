#!/usr/bin/env node
// trace_engine_top.mjs FILE [N] — parses FILE (a Trace Event JSON or a .cpuprofile) with the
// DevTools Performance panel's own trace engine (npm @paulirish/trace_engine) and prints, for the
// thread with the most JS flame-chart entries ("ProfileCall"s), the top N functions by self time
// from those entries: "self_pct<TAB>name" per line, after "# threads=<n> calls=<entries>".
// Exit 1 when the engine builds no flame-chart entry from the file.
import fs from 'node:fs';
import * as Trace from '@paulirish/trace_engine';

// The engine runs in Node given a DOMRect (its README says so).
globalThis.DOMRect ??= class DOMRect {
  constructor(x = 0, y = 0, width = 0, height = 0) {
    Object.assign(this, { x, y, width, height, top: y, left: x, right: x + width, bottom: y + height });
  }
};

const [file, nArg] = process.argv.slice(2);
const n = Number(nArg || 5);
const json = JSON.parse(fs.readFileSync(file, 'utf8'));
const isCPUProfile = Array.isArray(json.nodes);
const events = isCPUProfile
  ? Trace.Helpers.SamplesIntegrator.SamplesIntegrator.createFakeTraceFromCpuProfile(json, 1).traceEvents
  : json.traceEvents ?? json;
const model = Trace.TraceModel.Model.createWithAllHandlers();
await model.parse(events, { isCPUProfile });
const data = model.parsedTrace().data;

// A .cpuprofile's entries are built by the samples handler; a trace's by the renderer handler,
// which merges each thread's samples with its ordinary events (the flame chart DevTools draws).
const threads = [];
if (isCPUProfile) {
  for (const [, byTid] of data.Samples.profilesInProcess)
    for (const [tid, d] of byTid) threads.push({ tid, calls: d.profileCalls, nodes: data.Samples.entryToNode });
} else {
  for (const [, proc] of data.Renderer.processes)
    for (const [tid, th] of proc.threads)
      if (th.profileCalls?.length) threads.push({ tid, calls: th.profileCalls, nodes: data.Renderer.entryToNode });
}
if (!threads.length) {
  console.error(`trace_engine_top: no flame-chart entries built from ${file}`);
  process.exit(1);
}
const t = threads.reduce((a, b) => (b.calls.length > a.calls.length ? b : a));
const self = new Map();
let all = 0;
for (const call of t.calls) {
  let s = call.dur ?? 0;
  for (const child of t.nodes.get(call)?.children ?? []) s -= child.entry.dur ?? 0;
  const name = call.callFrame.functionName || '(anonymous)';
  self.set(name, (self.get(name) ?? 0) + s);
  all += s;
}
console.log(`# threads=${threads.length} calls=${t.calls.length}`);
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n))
  console.log(`${(all ? (100 * us) / all : 0).toFixed(2)}\t${name}`);
