#!/usr/bin/env node
// md_tables.mjs FILE.md — renders a Markdown file with marked (GitHub-flavoured, as GitHub renders
// a job summary; pinned in tests/node/package-lock.json) and prints what the HTML holds:
//   heading <level> <text>          each heading
//   table <n> <header cells joined by TAB>   each table, numbered from 1
//   row <n>\t<cell>\t<cell>...      each body row of table n, cell text with tags removed
// Exit 1 when marked is missing or the file does not render.
import fs from 'node:fs';
import { marked } from 'marked';

const html = marked.parse(fs.readFileSync(process.argv[2], 'utf8'), { gfm: true });
const text = s => s.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>')
  .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').trim();
for (const m of html.matchAll(/<h(\d)[^>]*>(.*?)<\/h\1>/g)) console.log(`heading ${m[1]} ${text(m[2])}`);
let n = 0;
for (const t of html.matchAll(/<table>([\s\S]*?)<\/table>/g)) {
  n++;
  const head = /<thead>([\s\S]*?)<\/thead>/.exec(t[1]);
  const cells = s => [...s.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map(c => text(c[1]));
  console.log(`table ${n}\t${head ? cells(head[1]).join('\t') : ''}`);
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(t[1]);
  for (const r of (body ? body[1] : '').matchAll(/<tr>([\s\S]*?)<\/tr>/g)) console.log(`row ${n}\t${cells(r[1]).join('\t')}`);
}
