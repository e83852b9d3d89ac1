#!/usr/bin/env node
// speedscope_top.js FILE [N] — imports FILE with speedscope's own importer (the npm package's
// browser bundle, run in a Node vm context with just enough of a browser around it) and prints
// the top N functions by self weight of its heaviest profile: "self_pct<TAB>name" per line,
// after a line "# format=<what speedscope detected> profiles=<n> unit=<unit> frames=<n>".
// Exit 1 when speedscope cannot import the file.
'use strict';
const fs = require('fs'), path = require('path');
const { loadSpeedscope } = require('./speedscope_lib');

async function main() {
  const [file, nArg] = process.argv.slice(2);
  const n = Number(nArg || 5);
  const s = loadSpeedscope(), importer = await s.importer;
  const group = await importer.importProfileGroupFromText(path.basename(file), fs.readFileSync(file, 'utf8'));
  if (!group || !group.profiles.length) throw new Error(`speedscope could not import ${file}`);
  const profile = group.profiles.reduce((a, b) => (b.getTotalWeight() > a.getTotalWeight() ? b : a));
  const rows = [];
  let all = 0;
  profile.forEachFrame(f => { rows.push([f.name, f.getSelfWeight()]); all += f.getSelfWeight(); });
  rows.sort((a, b) => b[1] - a[1]);
  console.log(`# format=${s.log.detected} profiles=${group.profiles.length} unit=${profile.getWeightUnit()} frames=${rows.length}`);
  for (const [name, w] of rows.slice(0, n)) console.log(`${(all ? (100 * w) / all : 0).toFixed(2)}\t${name}`);
}
main().catch(e => { console.error(`speedscope_top: ${e.message}`); process.exit(1); });
