#!/usr/bin/env node
// speedscope_export.js IN OUT — opens IN with speedscope's own importer (any format speedscope
// reads: .cpuprofile, folded stacks, ...) and writes OUT with speedscope's own exporter, the
// file its "Export" button saves. Exit 1 when speedscope cannot import IN.
'use strict';
const fs = require('fs'), path = require('path');
const { loadSpeedscope } = require('./speedscope_lib');

async function main() {
  const [inFile, outFile] = process.argv.slice(2);
  const s = loadSpeedscope(), importer = await s.importer;
  const group = await importer.importProfileGroupFromText(path.basename(inFile), fs.readFileSync(inFile, 'utf8'));
  if (!group || !group.profiles.length) throw new Error(`speedscope could not import ${inFile}`);
  fs.writeFileSync(outFile, JSON.stringify(s.exportProfileGroup(group)));
}
main().catch(e => { console.error(`speedscope_export: ${e.message}`); process.exit(1); });
