// speedscope_lib.js — speedscope's own importer and exporter, taken from the npm package's
// browser bundle and run in a Node vm context with just enough of a browser around it.
// loadSpeedscope() returns {importer, exportProfileGroup, log}: (await importer).importProfileGroupFromText
// (name, text) is what the app runs on an opened file; exportProfileGroup(group) is what its
// "Export" button serialises (speedscope's file format); log.detected names the importer used.
'use strict';
const fs = require('fs'), vm = require('vm'), path = require('path');

function loadSpeedscope() {
  const log = { detected: '?' };
  const dir = path.join(__dirname, 'node_modules/speedscope/dist/release');
  const file = fs.readdirSync(dir).find(f => /^speedscope-.*\.js$/.test(f));
  let src = fs.readFileSync(path.join(dir, file), 'utf8');
  // The bundle keeps its importer module behind a promise; find its name and hand it out
  // instead of rendering the app (the last statement of the bundle). The exporter is the
  // function that writes `exporter: speedscope@VERSION`.
  const m = /async function [\w$]+\(t,e\)\{return\(await ([\w$]+)\)\.importProfileGroupFromText/.exec(src);
  const cut = src.lastIndexOf('console.log(`speedscope v');
  const at = src.indexOf('exporter:`speedscope@');
  const x = at < 0 ? null : /.*function ([\w$]+)\(t\)\{/s.exec(src.slice(Math.max(0, at - 400), at));
  if (!m || cut < 0 || !x) throw new Error(`speedscope bundle ${file}: importer or exporter not found (package changed?)`);
  src = src.slice(0, cut) + `globalThis.__importer=${m[1]};globalThis.__exporter=${x[1]};})();`;
  const inert = name => new Proxy(function () {}, {
    get: (t, k) => (k === 'then' ? undefined : k === Symbol.toPrimitive ? () => '' : inert(name)),
    apply: () => inert(name), construct: () => inert(name), set: () => true,
  });
  const ctx = { console: { log(msg) { if (/^Importing as /.test(msg)) log.detected = msg.slice(13); }, warn() {}, error: console.error }, TextDecoder, TextEncoder,
                setTimeout, clearTimeout, URL, performance, atob, btoa,
                document: inert('document'), navigator: { userAgent: 'node' },
                location: { hash: '', search: '', href: 'http://localhost/' },
                localStorage: { getItem: () => null, setItem() {} },
                matchMedia: () => ({ matches: false, addEventListener() {}, addListener() {} }),
                addEventListener() {}, removeEventListener() {}, requestAnimationFrame: () => 0 };
  ctx.window = ctx; ctx.self = ctx;
  vm.createContext(ctx);
  vm.runInContext(src, ctx, { filename: file });
  return { importer: ctx.__importer, exportProfileGroup: ctx.__exporter, log };
}

module.exports = { loadSpeedscope };
