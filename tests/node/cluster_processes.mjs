#!/usr/bin/env node
// cluster_processes.mjs FILE [speedscope] — what the consumers see of a multi-process profile (a
// cluster's): DevTools' trace engine (npm @paulirish/trace_engine) for a Trace Event file, then
// speedscope's own importer for the same file; with "speedscope" (a .speedscope.json) only the
// latter. Prints one line per process the engine kept, with JS
// flame-chart entries: "engine<TAB>pid<TAB>process name<TAB>calls", and one per profile
// speedscope imported: "speedscope<TAB>profile name<TAB>total weight".
// Exit 1 when either cannot read the file.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as Trace from '@paulirish/trace_engine';

globalThis.DOMRect ??= class DOMRect {
  constructor(x = 0, y = 0, width = 0, height = 0) {
    Object.assign(this, { x, y, width, height, top: y, left: x, right: x + width, bottom: y + height });
  }
};

const [file, only] = process.argv.slice(2);
const text = fs.readFileSync(file, 'utf8');
const json = JSON.parse(text);
if (only !== 'speedscope') await engine();
async function engine() {
const model = Trace.TraceModel.Model.createWithAllHandlers();
await model.parse(json.traceEvents ?? json, {});
const data = model.parsedTrace().data;
const names = new Map();
for (const [pid, ev] of data.Meta.processNames) names.set(pid, ev.args?.name ?? '');
let kept = 0;
for (const [pid, proc] of data.Renderer.processes) {
  let calls = 0;
  for (const [, th] of proc.threads) calls += th.profileCalls?.length ?? 0;
  if (!calls) continue;
  kept++;
  console.log(`engine\t${pid}\t${names.get(pid) ?? ''}\t${calls}`);
}
if (!kept) {
  console.error(`cluster_processes: the trace engine built no flame-chart entries from ${file}`);
  process.exit(1);
}
}

const require = createRequire(import.meta.url);
const { loadSpeedscope } = require('./speedscope_lib');
const s = loadSpeedscope(), importer = await s.importer;
const group = await importer.importProfileGroupFromText(path.basename(file), text);
if (!group || !group.profiles.length) {
  console.error(`cluster_processes: speedscope could not import ${file}`);
  process.exit(1);
}
for (const p of group.profiles) console.log(`speedscope\t${p.getName()}\t${p.getTotalWeight()}`);
