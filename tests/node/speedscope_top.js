#!/usr/bin/env node
// speedscope_top.js FILE [N] — imports FILE with speedscope's own importer (the npm package's
// browser bundle, run in a Node vm context with just enough of a browser around it) and prints
// the top N functions by self weight of its heaviest profile: "self_pct<TAB>name" per line,
// after a line "# format=<what speedscope detected> profiles=<n> unit=<unit> frames=<n>".
// Exit 1 when speedscope cannot import the file.
'use strict';
const fs = require('fs'), vm = require('vm'), path = require('path');

let detected = '?';

function loadSpeedscope() {
  const dir = path.join(__dirname, 'node_modules/speedscope/dist/release');
  const file = fs.readdirSync(dir).find(f => /^speedscope-.*\.js$/.test(f));
  let src = fs.readFileSync(path.join(dir, file), 'utf8');
  // The bundle keeps its importer module behind a promise; find its name and hand it out
  // instead of rendering the app (the last statement of the bundle).
  const m = /async function [\w$]+\(t,e\)\{return\(await ([\w$]+)\)\.importProfileGroupFromText/.exec(src);
  const cut = src.lastIndexOf('console.log(`speedscope v');
  if (!m || cut < 0) throw new Error(`speedscope bundle ${file}: importer not found (package changed?)`);
  src = src.slice(0, cut) + `globalThis.__importer=${m[1]};})();`;
  const inert = name => new Proxy(function () {}, {
    get: (t, k) => (k === 'then' ? undefined : k === Symbol.toPrimitive ? () => '' : inert(name)),
    apply: () => inert(name), construct: () => inert(name), set: () => true,
  });
  const ctx = { console: { log(m) { if (/^Importing as /.test(m)) detected = m.slice(13); }, warn() {}, error: console.error }, TextDecoder, TextEncoder,
                setTimeout, clearTimeout, URL, performance, atob, btoa,
                document: inert('document'), navigator: { userAgent: 'node' },
                location: { hash: '', search: '', href: 'http://localhost/' },
                localStorage: { getItem: () => null, setItem() {} },
                matchMedia: () => ({ matches: false, addEventListener() {}, addListener() {} }),
                addEventListener() {}, removeEventListener() {}, requestAnimationFrame: () => 0 };
  ctx.window = ctx; ctx.self = ctx;
  vm.createContext(ctx);
  vm.runInContext(src, ctx, { filename: file });
  return ctx.__importer;
}

async function main() {
  const [file, nArg] = process.argv.slice(2);
  const n = Number(nArg || 5);
  const importer = await loadSpeedscope();
  const group = await importer.importProfileGroupFromText(path.basename(file), fs.readFileSync(file, 'utf8'));
  if (!group || !group.profiles.length) throw new Error(`speedscope could not import ${file}`);
  const profile = group.profiles.reduce((a, b) => (b.getTotalWeight() > a.getTotalWeight() ? b : a));
  const rows = [];
  let all = 0;
  profile.forEachFrame(f => { rows.push([f.name, f.getSelfWeight()]); all += f.getSelfWeight(); });
  rows.sort((a, b) => b[1] - a[1]);
  console.log(`# format=${detected} profiles=${group.profiles.length} unit=${profile.getWeightUnit()} frames=${rows.length}`);
  for (const [name, w] of rows.slice(0, n)) console.log(`${(all ? (100 * w) / all : 0).toFixed(2)}\t${name}`);
}
main().catch(e => { console.error(`speedscope_top: ${e.message}`); process.exit(1); });
