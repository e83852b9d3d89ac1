#!/usr/bin/env node
// svg_chromium.mjs CHROMIUM SVG HOVER ZOOM SEARCH — opens a flame graph SVG written by mrprof
// (`convert OUT.svg`, `diff -o OUT.svg`) in headless Chromium and works it as a person would,
// with real input events (the DevTools protocol's Input.dispatchMouseEvent, spoken over
// --remote-debugging-pipe: no npm package needed): hovers the widest frame named HOVER, clicks the widest frame named ZOOM, then
// Reset Zoom, then Search (its prompt answered with SEARCH) and Reset Search. Prints what the
// document shows after each step, one "key<TAB>value" line each (the assertions are the
// caller's):
//   frames N                        frames in the graph
//   loaded 1                        the script ran (the frames are known to it)
//   hover_details TEXT              the details line while hovering
//   hover_title TEXT                the frame's own tooltip (<title>), lines joined by " | "
//   zoom_attr NAME                  the root element's data-zoom after the click
//   zoom_width PX                   the clicked frame's width after the click
//   zoom_label TEXT                 its label after the click
//   zoom_visible N / zoom_hidden N  frames shown / hidden after the click
//   zoom_hidden_names A,B           names of hidden frames (first 20)
//   zoom_parent N                   callers of the frame drawn as parents (faded, full width)
//   unzoom_button CLASS             the Reset Zoom button's class while zoomed
//   reset_width PX                  the frame's width after Reset Zoom
//   reset_hidden N                  frames hidden after Reset Zoom
//   search_matched TEXT             the "Matched: ..." line
//   search_highlighted N            frames drawn in the highlight colour
//   search_button TEXT              the search button's text after the search
//   search_reset TEXT               the matched line after Reset Search ("" when cleared)
//   search_reset_highlighted N      highlighted frames after Reset Search
//   error TEXT                      each page error or console error
// With HOVER '-' it only opens the file and prints load_ms (navigation to the load event and two
// frames drawn) and frames: the bench's measure (tests/bench/svg.sh).
// Exit 0 when the page could be driven, 1 otherwise (reason on stderr). Every wait is bounded.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [chromium, svg, hoverName, zoomName, searchTerm] = process.argv.slice(2);
const out = (k, v) => console.log(`${k}\t${String(v).replace(/\n/g, ' | ')}`);
const profileDir = mkdtempSync(path.join(tmpdir(), 'mrprof-svg-chromium.'));

// The DevTools protocol over fds 3 (to the browser) and 4 (from it): JSON messages ended by NUL.
const proc = spawn(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--no-default-browser-check', '--remote-debugging-pipe', `--user-data-dir=${profileDir}`,
  '--window-size=1300,1000', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let stderr = '';
proc.stderr.on('data', d => { stderr += d; });
const toBrowser = proc.stdio[3], fromBrowser = proc.stdio[4];
let nextId = 1, buf = '', session = null;
const pending = new Map(), waiters = [];
fromBrowser.on('data', d => {
  buf += d;
  let z;
  while ((z = buf.indexOf('\0')) >= 0) {
    const msg = JSON.parse(buf.slice(0, z));
    buf = buf.slice(z + 1);
    if (msg.id && pending.has(msg.id)) {
      const { ok, fail, method } = pending.get(msg.id);
      pending.delete(msg.id);
      msg.error ? fail(new Error(`${method}: ${msg.error.message}`)) : ok(msg.result);
    } else if (msg.method) {
      onEvent(msg);
    }
  }
});
function send(method, params = {}, sessionId = session) {
  const id = nextId++;
  const m = { id, method, params };
  if (sessionId) m.sessionId = sessionId;
  toBrowser.write(JSON.stringify(m) + '\0');
  return new Promise((ok, fail) => {
    pending.set(id, { ok, fail, method });
    setTimeout(() => { if (pending.delete(id)) fail(new Error(`${method}: no answer in 30 s`)); }, 30000);
  });
}
function onEvent(msg) {
  if (msg.method === 'Page.javascriptDialogOpening')
    send('Page.handleJavaScriptDialog', msg.params.type === 'prompt'
      ? { accept: true, promptText: searchTerm } : { accept: false });
  if (msg.method === 'Runtime.exceptionThrown')
    out('error', msg.params.exceptionDetails?.exception?.description || msg.params.exceptionDetails?.text);
  if (msg.method === 'Runtime.consoleAPICalled' && msg.params.type === 'error')
    out('error', msg.params.args.map(a => a.value ?? a.description).join(' '));
  for (const w of waiters.splice(0)) if (!w(msg)) waiters.push(w);
}
const event = (name, ms = 30000) => new Promise((ok, fail) => {
  const t = setTimeout(() => fail(new Error(`no ${name} in ${ms} ms`)), ms);
  waiters.push(m => m.method === name && (clearTimeout(t), ok(m.params), true));
});
// An expression's value in the page (by value; exceptions are failures).
async function js(expr) {
  const r = await send('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true });
  if (r.exceptionDetails) throw new Error(`${expr}: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
  return r.result.value;
}
const mouse = (type, x, y) => send('Input.dispatchMouseEvent',
  { type, x, y, button: type === 'mouseMoved' ? 'none' : 'left', clickCount: type === 'mouseMoved' ? 0 : 1 });
async function click(x, y) {
  await mouse('mouseMoved', x, y);
  await mouse('mousePressed', x, y);
  await mouse('mouseReleased', x, y);
}
// The page's centre of an element found by a JS expression (null: none).
const centre = sel => js(`(() => { const e = ${sel}; if (!e) return null;
  const b = e.getBoundingClientRect(); return [b.x + Math.min(b.width / 2, 20), b.y + b.height / 2]; })()`);
// The widest frame of a name: an expression for its rect.
const widest = n => `(() => { let best = null, bw = -1;
  for (const g of document.querySelectorAll('#frames > g')) {
    const t = g.querySelector('title').textContent.split('\\n')[0];
    const w = +g.querySelector('rect').getAttribute('width');
    if (t === ${JSON.stringify(n)} && w > bw) { best = g.querySelector('rect'); bw = w; } }
  return best; })()`;

let status = 0;
try {
  let page = null; // the first tab (about:blank), polled for up to 20 s
  for (let i = 0; i < 200 && !page; i++) {
    page = (await send('Target.getTargets', {}, null)).targetInfos.find(t => t.type === 'page');
    if (!page) await new Promise(ok => setTimeout(ok, 100));
  }
  if (!page) throw new Error('chromium opened no page');
  ({ sessionId: session } = await send('Target.attachToTarget', { targetId: page.targetId, flatten: true }, null));
  await send('Page.enable');
  await send('Runtime.enable');
  const loaded = event('Page.loadEventFired', 60000);
  const t0 = process.hrtime.bigint();
  await send('Page.navigate', { url: 'file://' + path.resolve(svg) });
  await loaded;
  if (hoverName === '-') { // the bench's mode: how long the browser takes to open the file
    await js(`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`);
    out('load_ms', (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0));
    out('frames', await js(`FR.length`));
    throw null;
  }
  out('frames', await js(`document.querySelectorAll('#frames > g').length`));
  out('loaded', await js(`typeof FR !== 'undefined' && FR.length > 0 ? 1 : 0`));

  const h = await centre(widest(hoverName));
  if (!h) throw new Error(`no frame named ${hoverName}`);
  await mouse('mouseMoved', ...h);
  out('hover_details', await js(`document.getElementById('details').textContent`));
  out('hover_title', await js(`${widest(hoverName)}.parentNode.querySelector('title').textContent`));

  // The zoomed frame is remembered by its element (its width changes).
  await js(`window.__z = ${widest(zoomName)}, 1`);
  const z = await centre(`window.__z`);
  if (!z) throw new Error(`no frame named ${zoomName}`);
  await click(...z);
  out('zoom_attr', await js(`document.documentElement.getAttribute('data-zoom')`));
  out('zoom_width', await js(`__z.getAttribute('width')`));
  out('zoom_label', await js(`(__z.parentNode.querySelector('text') || {textContent: ''}).textContent`));
  const counts = await js(`(() => {
    const gs = [...document.querySelectorAll('#frames > g')];
    const hidden = gs.filter(g => g.getAttribute('class') === 'hide');
    return { visible: gs.length - hidden.length, hidden: hidden.length,
      parent: gs.filter(g => g.getAttribute('class') === 'parent').length,
      names: [...new Set(hidden.map(g => g.querySelector('title').textContent.split('\\n')[0]))].slice(0, 20).join(',') };
  })()`);
  out('zoom_visible', counts.visible);
  out('zoom_hidden', counts.hidden);
  out('zoom_hidden_names', counts.names);
  out('zoom_parent', counts.parent);
  out('unzoom_button', await js(`document.getElementById('unzoom').getAttribute('class')`));
  await click(...await centre(`document.getElementById('unzoom')`));
  out('reset_width', await js(`__z.getAttribute('width')`));
  out('reset_hidden', await js(`document.querySelectorAll('#frames > g.hide').length`));

  const hl = () => js(`[...document.querySelectorAll('#frames rect')].filter(r => r.getAttribute('fill') === '#e040e0').length`);
  const searchAt = await centre(`document.getElementById('search')`);
  await click(...searchAt); // the prompt is answered with SEARCH (onEvent)
  out('search_matched', await js(`document.getElementById('matched').textContent`));
  out('search_highlighted', await hl());
  out('search_button', await js(`document.getElementById('search').textContent`));
  await click(...searchAt);
  out('search_reset', (await js(`document.getElementById('matched').textContent`)).trim());
  out('search_reset_highlighted', await hl());
} catch (e) {
  if (e === null) { /* the bench's mode ends here */ } else {
  console.error(`svg_chromium: ${e.message || e}`);
  if (stderr) console.error(`chromium's stderr: ${stderr.slice(-1500)}`);
  status = 1;
  }
}
await send('Browser.close', {}, null).catch(() => {});
const gone = new Promise(ok => proc.once('exit', ok));
await Promise.race([gone, new Promise(ok => setTimeout(ok, 5000))]);
if (proc.exitCode === null) proc.kill('SIGKILL');
rmSync(profileDir, { recursive: true, force: true });
process.exit(status);
