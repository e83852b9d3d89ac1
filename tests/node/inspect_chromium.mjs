#!/usr/bin/env node
// inspect_chromium.mjs CHROMIUM HOST:PORT/UUID SHOTDIR — Debian's chromium, headless, opens its
// bundled DevTools front end for Node targets (js_app.html, served by the browser itself on its
// remote-debugging port) against `mrun --inspect`'s WebSocket, as chrome://inspect's "inspect"
// link does; then records a CPU profile with the Performance panel's own record button (the
// front end sends Profiler.start and Profiler.stop itself) and reads the Bottom-up table.
// Prints:
//   connected                     the front end attached (its target is up)
//   panel <name>                  the panel shown
//   row <self ms>\t<self %>\t<activity>   the top Bottom-up rows of the recording
//   profile hot                   a row names the target's hot function
//   error <text>                  each console error or page error
//   shot <png>
// Exit 0 when it got that far, 1 on a failure to drive the front end (the reason on stderr), 3
// when chromium cannot start (the caller skips). Every wait is bounded.
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [chromium, target, shotDir] = process.argv.slice(2);
const sleep = ms => new Promise(r => setTimeout(r, ms));

async function waitFor(page, fn, arg, what, ms = 60000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await page.evaluate(fn, arg).catch(e => ({ error: String(e) }));
    if (v && !v.error) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${v?.error ? `: ${v.error}` : ''}`);
    await sleep(250);
  }
}

const readRows = n => {
  const deep = (root, out) => {
    for (const el of root.querySelectorAll('*')) { out.push(el); if (el.shadowRoot) deep(el.shadowRoot, out); }
    return out;
  };
  const trs = deep(document, []).filter(el => el.matches('tr.data-grid-data-grid-node') && el.offsetParent);
  if (!trs.length) return null;
  return trs.slice(0, n).map(tr => {
    const td = [...tr.querySelectorAll('td')].map(c => c.innerText.replace(/\s+/g, ' ').trim());
    const ms = (td[0].match(/([\d.,]+)\s*ms/) || [])[1]?.replace(/,/g, '') ?? '';
    const pct = (td[0].match(/ms\s*([\d.,]+)\s*%/) || [])[1]?.replace(/,/g, '') ?? '';
    return `${ms}\t${pct}\t${td[2]}`;
  });
};

let browser;
try {
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', '--disable-gpu',
           '--no-first-run', '--no-default-browser-check'],
    protocolTimeout: 90000,
    defaultViewport: { width: 1400, height: 900 },
    timeout: 90000,
  });
} catch (e) {
  console.error(`chromium did not start: ${e.message.split('\n')[0]}`);
  process.exit(3);
}
let status = 0;
try {
  const port = new URL(browser.wsEndpoint()).port;
  const page = await browser.newPage();
  page.on('console', m => { if (m.type() === 'error') console.log(`error ${m.text()}`); });
  page.on('pageerror', e => console.log(`error ${String(e.message || e)}`));
  const url = `http://127.0.0.1:${port}/devtools/js_app.html?experiments=true&v8only=true&ws=${target}&panel=timeline`;
  const resp = await page.goto(url, { waitUntil: 'load', timeout: 90000 });
  if (!resp || !resp.ok()) throw new Error(`${url}: HTTP ${resp ? resp.status() : 'no response'}`);
  await waitFor(page, async () => {
    const SDK = await import('./core/sdk/sdk.js');
    const t = SDK.TargetManager.TargetManager.instance().primaryPageTarget();
    return t ? { ok: true } : null;
  }, null, 'the front end to attach to mrun');
  console.log('connected');
  await waitFor(page, async () => {
    const T = await import('./panels/timeline/timeline.js');
    return T.TimelinePanel.TimelinePanel.instance() ? { ok: true } : null;
  }, null, 'the Performance panel');
  console.log('panel timeline');
  // The panel's record button, as a person clicks it; a second click stops.
  const toggle = async () => page.evaluate(async () => {
    const T = await import('./panels/timeline/timeline.js');
    await T.TimelinePanel.TimelinePanel.instance().toggleRecording();
  });
  await toggle();
  await sleep(2000); // a recording of about 2 s of the target's rounds
  await toggle();
  await waitFor(page, async () => {
    const T = await import('./panels/timeline/timeline.js');
    const td = T.TimelinePanel.TimelinePanel.instance().getFlameChart().getMainDataProvider().timelineData();
    return td && td.entryStartTimes.length ? { ok: true } : null;
  }, null, 'the recording to load', 90000);
  await sleep(1000);
  // Select the Main track (its header), then the Bottom-up tab, as a person does.
  const at = await page.evaluate(async () => {
    const T = await import('./panels/timeline/timeline.js');
    const mfc = T.TimelinePanel.TimelinePanel.instance().getFlameChart().getMainFlameChart();
    const r = mfc.canvas.getBoundingClientRect();
    return { x: r.left + 30, y: r.top + mfc.groupIndexToOffsetForTest(0) + 8 };
  });
  await page.mouse.click(at.x, at.y);
  const tabSel = 'pierce/#tab-bottom-up';
  await page.waitForSelector(tabSel, { timeout: 30000 });
  let rows = null;
  for (let tries = 0; tries < 80; tries++) {
    if (tries % 8 === 0) await page.click(tabSel);
    await sleep(250);
    const now = await page.evaluate(readRows, 6);
    if (now && now.some(r => (r.split('\t')[2] || '').length > 0)) { rows = now; break; }
  }
  for (const r of rows || []) console.log(`row ${r}`);
  if ((rows || []).some(r => /^hot /.test(r.split('\t')[2] || ''))) console.log('profile hot');
  const shot = path.join(shotDir, 'devtools.png');
  await page.screenshot({ path: shot });
  console.log(`shot ${shot}`);
} catch (e) {
  console.error(`inspect_chromium: ${e.stack || e}`);
  status = 1;
} finally {
  await browser.close();
}
process.exit(status);
