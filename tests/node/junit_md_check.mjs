#!/usr/bin/env node
// junit_md_check.mjs JUNIT.xml MARKDOWN.md — reads what `mrprof check` wrote with real consumers:
// the JUnit XML with junit2json (the JUnit-to-JSON converter CI pipelines use), the Markdown with
// marked (GitHub-flavoured, as a job summary renders it). Prints
//   junit tests=<n> failures=<n> failed=<name,...>
//   markdown tables=<n> rows=<n>
// and exits 1 when either file does not parse or the counts disagree with each other.
import fs from 'node:fs';
import { parse } from 'junit2json';
import { marked } from 'marked';

const [junitPath, mdPath] = process.argv.slice(2);
const j = await parse(fs.readFileSync(junitPath, 'utf8'));
if (!j || !Array.isArray(j.testsuite)) { console.error('junit: no testsuite'); process.exit(1); }
const cases = j.testsuite.flatMap(s => s.testcase ?? []);
const failed = cases.filter(c => c.failure?.length).map(c => c.name);
if (Number(j.tests) !== cases.length || Number(j.failures) !== failed.length) {
  console.error(`junit: counts ${j.tests}/${j.failures} disagree with ${cases.length} cases, ${failed.length} failures`);
  process.exit(1);
}
console.log(`junit tests=${cases.length} failures=${failed.length} failed=${failed.join(',')}`);
const html = marked.parse(fs.readFileSync(mdPath, 'utf8'));
const tables = (html.match(/<table>/g) ?? []).length;
const rows = (html.match(/<tr>/g) ?? []).length - tables; // minus the header rows
console.log(`markdown tables=${tables} rows=${rows}`);
if (tables !== 1 || rows !== cases.length) { console.error('markdown: expected one table with a row per test case'); process.exit(1); }
