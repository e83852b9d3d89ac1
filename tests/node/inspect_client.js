#!/usr/bin/env node
// inspect_client.js MODE PORT [ARGS] — drives `mrun --inspect` with chrome-remote-interface (npm,
// pinned in package-lock.json), the CDP client many tools use, against a running
// tests/scripts/inspect_target.rb (which prints "round N" once per round of its hot work).
// Every wait is for an event (a console message, an answer), never a fixed time. Prints one
// "ok <what>" line per check and exits 1 with "FAIL <why>" on the first failure.
//   profile PORT DIR   Runtime console events; Profiler (enable, setSamplingInterval, start, stop)
//                      over 60 rounds -> DIR/live.cpuprofile; HeapProfiler (startSampling,
//                      getSamplingProfile, stopSampling) -> DIR/live.heapprofile
//   evaluate PORT      values, exceptions, a syntax error, code that never returns (timeout),
//                      an unknown method; the program answers afterwards
//   wait PORT DIR      for --inspect-wait: Profiler.start before runIfWaitingForDebugger, then
//                      the profile of the script's start -> DIR/wait.cpuprofile
//   cycles PORT N      N connect / evaluate / disconnect cycles
//   exit PORT          Runtime.evaluate("exit 0"): the program ends
//   threads PORT DIR [any]  against tests/scripts/inspect/threads.rb under --inspect-wait:
//                      NodeWorker.enable before the script runs (no thread yet), then lists the
//                      Deferred worker and the Worker as targets of their own; a profile in each
//                      session (Profiler.enable, setSamplingInterval, start, stop through
//                      sendMessageToWorker) -> DIR/{main,deferred,worker}.cpuprofile; bad sessions
//                      and methods are errors, not a dropped connection; the Worker terminated
//                      -> detachedFromWorker. With "any", a profile may have no samples (TSan
//                      delivers the sampler's signals only at libc calls)
//   attach PORT [profile]  for --inspect-wait (tests/bench/inspect.sh): Runtime.enable (and
//                      Profiler.start at 1000 µs with "profile"), runIfWaitingForDebugger, then
//                      stays attached, idle, until the program ends
'use strict';
const fs = require('fs');
const path = require('path');
const CDP = require('chrome-remote-interface');

const [mode, portArg, arg, arg2] = process.argv.slice(2);
const port = Number(portArg);
const fail = msg => { console.log(`FAIL ${msg}`); process.exit(1); };
const ok = msg => console.log(`ok ${msg}`);

async function connect() {
  // local: the protocol description bundled with the package (mrun serves no /json/protocol).
  return CDP({ host: '127.0.0.1', port, local: true });
}

// Resolves once n more "round N" console messages came.
function rounds(client, n) {
  return new Promise(resolve => {
    let seen = 0;
    const on = m => {
      const a = m.args && m.args[0];
      if (m.type === 'log' && a && /^round \d+$/.test(a.value) && ++seen === n) {
        client.removeListener('Runtime.consoleAPICalled', on);
        resolve();
      }
    };
    client.on('Runtime.consoleAPICalled', on);
  });
}

async function profile(dir) {
  const c = await connect();
  const created = new Promise(r => c.once('Runtime.executionContextCreated', r));
  await c.Runtime.enable();
  const ctx = await created;
  if (ctx.context.id !== 1 || !ctx.context.auxData.isDefault) fail(`context ${JSON.stringify(ctx)}`);
  ok('Runtime.enable sent executionContextCreated');
  await rounds(c, 2);
  ok('Runtime.consoleAPICalled for puts');
  await c.Profiler.enable();
  await c.Profiler.setSamplingInterval({ interval: 1000 });
  await c.Profiler.start();
  try { await c.Profiler.start(); fail('a second Profiler.start was accepted'); } catch (e) {
    if (!/already/.test(e.message)) fail(`second start: ${e.message}`);
  }
  await rounds(c, 60);
  const { profile: p } = await c.Profiler.stop();
  if (!Array.isArray(p.nodes) || !p.samples.length || p.samples.length !== p.timeDeltas.length ||
      !(p.endTime > p.startTime)) fail('the Profile lacks nodes, samples, timeDeltas or times');
  fs.writeFileSync(path.join(dir, 'live.cpuprofile'), JSON.stringify(p));
  ok(`Profiler.stop: ${p.nodes.length} nodes, ${p.samples.length} samples`);
  await c.HeapProfiler.enable();
  await c.HeapProfiler.startSampling({ samplingInterval: 4096 });
  await rounds(c, 20);
  const got = await c.HeapProfiler.getSamplingProfile();
  if (!got.profile || !got.profile.head) fail('getSamplingProfile has no head');
  await rounds(c, 10);
  const { profile: h } = await c.HeapProfiler.stopSampling();
  if (!h.head || !Array.isArray(h.samples)) fail('stopSampling: no head or samples');
  fs.writeFileSync(path.join(dir, 'live.heapprofile'), JSON.stringify(h));
  ok(`HeapProfiler.stopSampling: ${h.samples.length} samples`);
  try { await c.HeapProfiler.stopSampling(); fail('a second stopSampling was accepted'); } catch (e) {
    ok(`a second stopSampling is refused: ${e.message}`);
  }
  await c.close();
}

async function evaluate() {
  const c = await connect();
  await c.Runtime.enable();
  let r = await c.Runtime.evaluate({ expression: '6 * 7' });
  if (r.result.type !== 'number' || r.result.value !== 42) fail(`6 * 7 gave ${JSON.stringify(r)}`);
  r = await c.Runtime.evaluate({ expression: '"héllo"' });
  if (r.result.type !== 'string' || r.result.value !== 'héllo') fail(`a string gave ${JSON.stringify(r)}`);
  r = await c.Runtime.evaluate({ expression: 'nil' });
  if (r.result.subtype !== 'null') fail(`nil gave ${JSON.stringify(r)}`);
  r = await c.Runtime.evaluate({ expression: '{a: [1, 2.5, "x"]}', returnByValue: true });
  if (JSON.stringify(r.result.value) !== '{"a":[1,2.5,"x"]}' || r.result.className !== 'Hash')
    fail(`returnByValue gave ${JSON.stringify(r)}`);
  r = await c.Runtime.evaluate({ expression: '$rounds' });
  if (r.result.type !== 'number' || !(r.result.value > 0)) fail(`$rounds gave ${JSON.stringify(r)}`);
  ok('values as RemoteObjects (the script\'s globals are seen)');
  r = await c.Runtime.evaluate({ expression: 'raise ArgumentError, "bad thing"' });
  const ex = r.exceptionDetails;
  if (!ex || ex.exception.className !== 'ArgumentError' || !/bad thing/.test(ex.exception.description))
    fail(`raise gave ${JSON.stringify(r)}`);
  ok('an exception comes back as exceptionDetails');
  r = await c.Runtime.evaluate({ expression: 'class BadMsg < StandardError; def message; raise "no"; end; end; raise BadMsg' });
  if (!r.exceptionDetails || r.exceptionDetails.exception.className !== 'BadMsg') fail(`BadMsg gave ${JSON.stringify(r)}`);
  ok('an exception whose message raises is reported too');
  r = await c.Runtime.evaluate({ expression: 'def (' });
  if (!r.exceptionDetails || r.exceptionDetails.exception.className !== 'SyntaxError')
    fail(`a syntax error gave ${JSON.stringify(r)}`);
  ok('a syntax error comes back as exceptionDetails');
  try {
    await c.Runtime.evaluate({ expression: 'x = 0; loop { x += 1; [x].size }', timeout: 300 });
    fail('code that never returns was answered with a result');
  } catch (e) {
    if (!/timed out/.test(e.message)) fail(`the timeout's error: ${e.message}`);
    ok(`code that never returns: ${e.message}`);
  }
  r = await c.Runtime.evaluate({ expression: '"still " + "here"' });
  if (r.result.value !== 'still here') fail(`after the timeout: ${JSON.stringify(r)}`);
  await rounds(c, 2);
  ok('the program goes on after the timeout (its timer runs)');
  const warned = new Promise(res => c.on('Runtime.consoleAPICalled', m => {
    if (m.type === 'warning' && m.args[0].value === 'careful') res();
  }));
  await c.Runtime.evaluate({ expression: 'warn "careful"' });
  await warned;
  ok('warn comes as Runtime.consoleAPICalled of type warning');
  try { await c.send('Nothing.here', {}); fail('an unknown method was answered'); } catch (e) {
    const res = e.response || {};
    if (res.code !== -32601 || res.message !== "'Nothing.here' wasn't found") fail(`unknown method: ${JSON.stringify(res)}`);
    ok(`unknown method: ${res.code} ${res.message}`);
  }
  for (const m of ['Debugger.enable', 'Runtime.getIsolateId', 'NodeRuntime.enable', 'Profiler.enable', 'HeapProfiler.collectGarbage'])
    await c.send(m, {});
  ok('what DevTools sends on connect is answered');
  await c.close();
}

async function wait(dir) {
  const c = await connect();
  await c.Runtime.enable();
  await c.Profiler.enable();
  await c.Profiler.start(); // served while the script waits for us
  const done = new Promise(r => c.on('Runtime.consoleAPICalled', m => { if (m.args[0].value === 'started') r(); }));
  await c.Runtime.runIfWaitingForDebugger();
  await done;
  const { profile: p } = await c.Profiler.stop();
  fs.writeFileSync(path.join(dir, 'wait.cpuprofile'), JSON.stringify(p));
  ok(`profile from the start: ${p.samples.length} samples`);
  await c.close();
}

async function cycles(n) {
  for (let i = 0; i < n; i++) {
    const c = await connect();
    const r = await c.Runtime.evaluate({ expression: `${i} + 1` });
    if (r.result.value !== i + 1) fail(`cycle ${i}: ${JSON.stringify(r)}`);
    if (i % 10 === 0) { await c.Profiler.start(); } // dropped with its client: stopped by mrun
    await c.close();
  }
  ok(`${n} cycles`);
}

async function exitNow() {
  const c = await connect();
  const closed = new Promise(r => c.on('disconnect', r));
  c.Runtime.evaluate({ expression: 'exit 0' }).catch(() => {});
  await closed;
  ok('the program closed the connection when it ended');
}

async function attach(profile) {
  const c = await connect();
  const closed = new Promise(r => c.on('disconnect', r));
  await c.Runtime.enable();
  if (profile) { await c.Profiler.setSamplingInterval({ interval: 1000 }); await c.Profiler.start(); }
  await c.Runtime.runIfWaitingForDebugger();
  await closed;
}

// NodeWorker: one worker session, its commands carried by sendMessageToWorker and its answers
// by receivedMessageFromWorker (what DevTools' NodeChildTargetManager does).
function workerSession(c, info) {
  let next = 1;
  const waiting = new Map();
  const events = [];
  let evwake = null;
  c.on('NodeWorker.receivedMessageFromWorker', m => {
    if (m.sessionId !== info.sessionId) return;
    if (m.workerId !== info.workerInfo.workerId) fail(`workerId ${m.workerId} in ${JSON.stringify(m)}`);
    const msg = JSON.parse(m.message);
    if (msg.id !== undefined && waiting.has(msg.id)) {
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      w(msg);
    } else {
      events.push(msg);
      if (evwake) evwake();
    }
  });
  return {
    events,
    async event(pred) {
      for (;;) {
        const e = events.find(pred);
        if (e) return e;
        await new Promise(r => { evwake = r; });
        evwake = null;
      }
    },
    // Resolves with the whole answer ({id, result} or {id, error}).
    raw(method, params, text) {
      const id = next++;
      const p = new Promise(r => waiting.set(id, r));
      c.send('NodeWorker.sendMessageToWorker', {
        sessionId: info.sessionId,
        message: text !== undefined ? text.replace('ID', id) : JSON.stringify({ id, method, params: params || {} }),
      });
      return p;
    },
    async send(method, params) {
      const a = await this.raw(method, params);
      if (a.error) fail(`${info.workerInfo.title}: ${method}: ${JSON.stringify(a.error)}`);
      return a.result;
    },
  };
}

async function threads(dir, any) {
  const c = await connect();
  c.on('disconnect', () => fail('mrun closed the connection'));
  await c.Runtime.enable();
  const attached = [];
  let wake = null;
  c.on('NodeWorker.attachedToWorker', m => { attached.push(m); if (wake) wake(); });
  const detached = [];
  c.on('NodeWorker.detachedFromWorker', m => { detached.push(m); if (wake) wake(); });
  const until = async cond => { while (!cond()) await new Promise(r => { wake = r; }); wake = null; };
  await c.send('NodeWorker.enable', { waitForDebuggerOnStart: false });
  const early = (await c.Runtime.evaluate({ expression: '$rounds.inspect' })).result.value;
  if (early !== 'nil' || attached.length) fail(`threads before the script ran: ${early} ${JSON.stringify(attached)}`);
  await c.Runtime.runIfWaitingForDebugger();
  await rounds(c, 2);
  const find = re => attached.find(m => re.test(m.workerInfo.title));
  await until(() => find(/^Deferred worker 1$/) && find(/^Worker 1$/));
  for (const m of attached) {
    const w = m.workerInfo;
    if (typeof m.sessionId !== 'string' || typeof w.workerId !== 'string' || w.type !== 'worker' ||
        typeof w.url !== 'string' || m.waitingForDebugger !== false)
      fail(`attachedToWorker ${JSON.stringify(m)}`);
  }
  ok(`NodeWorker.attachedToWorker: ${attached.map(m => m.workerInfo.title).join(', ')}`);
  const dinfo = find(/^Deferred worker 1$/), winfo = find(/^Worker 1$/);
  const d = workerSession(c, dinfo), w = workerSession(c, winfo);
  for (const s of [d, w]) await s.send('Runtime.enable');
  const ctx = d.events.find(e => e.method === 'Runtime.executionContextCreated');
  if (!ctx || ctx.params.context.name !== 'Deferred worker 1') fail(`worker context ${JSON.stringify(d.events)}`);
  const iso = [await c.Runtime.getIsolateId(), await d.send('Runtime.getIsolateId'), await w.send('Runtime.getIsolateId')].map(r => r.id);
  if (new Set(iso).size !== 3) fail(`isolate ids ${iso}`);
  ok('each thread is a VM instance of its own (Runtime.getIsolateId)');

  await c.Profiler.enable();
  await c.Profiler.start();
  for (const s of [d, w]) {
    await s.send('Profiler.enable');
    await s.send('Profiler.setSamplingInterval', { interval: 1000 });
    await s.send('Profiler.start');
  }
  const again = await d.raw('Profiler.start');
  if (!again.error || !/already/.test(again.error.message)) fail(`a second start in a session: ${JSON.stringify(again)}`);
  await rounds(c, 60);
  // Stopped in this order: the Deferred worker's while the others run (the sampler goes on),
  // the main one's, then the Worker's, the last user (the sampler stops).
  const pd = (await d.send('Profiler.stop')).profile;
  const { profile: pm } = await c.Profiler.stop();
  const pw = (await w.send('Profiler.stop')).profile;
  for (const [name, p] of [['main', pm], ['deferred', pd], ['worker', pw]]) {
    if (!Array.isArray(p.nodes) || !(p.samples.length || any) || p.samples.length !== p.timeDeltas.length ||
        !(p.endTime >= p.startTime)) fail(`${name}: the Profile lacks nodes, samples, timeDeltas or times`);
    fs.writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(p));
  }
  ok(`three profiles: main ${pm.samples.length}, deferred ${pd.samples.length}, worker ${pw.samples.length} samples`);
  const stopped = await w.raw('Profiler.stop');
  if (!stopped.error || !/not started/.test(stopped.error.message)) fail(`a stop without start: ${JSON.stringify(stopped)}`);

  // Bad input: answered with errors, the connection stays.
  for (const [params, code] of [[{ sessionId: 'nope', message: '{}' }, -32000],
                                [{ sessionId: '999999', message: '{}' }, -32000],
                                [{ sessionId: 7, message: '{}' }, -32602],
                                [{ sessionId: dinfo.sessionId }, -32602]]) {
    try { await c.send('NodeWorker.sendMessageToWorker', params); fail(`accepted ${JSON.stringify(params)}`); } catch (e) {
      const res = e.response || {};
      if (res.code !== code) fail(`${JSON.stringify(params)}: ${JSON.stringify(res)}`);
    }
  }
  try { await c.send('NodeWorker.detach', { sessionId: 'nope' }); fail('detach of no session'); } catch (e) {
    if ((e.response || {}).code !== -32000) fail(`detach nope: ${JSON.stringify(e.response)}`);
  }
  let a = await d.raw('Runtime.evaluate', { expression: '1' });
  if (!a.error || a.error.code !== -32601) fail(`evaluate in a worker session: ${JSON.stringify(a)}`);
  await c.send('NodeWorker.sendMessageToWorker', { sessionId: dinfo.sessionId, message: '{"id":1,"method":' });
  await d.event(e => e.error && e.error.code === -32700);
  const r = await c.Runtime.evaluate({ expression: '40 + 2' });
  if (r.result.value !== 42) fail(`after bad input: ${JSON.stringify(r)}`);
  ok('a wrong sessionId, a bad message, a method a thread does not serve: errors, the connection stays');

  await c.Runtime.evaluate({ expression: '$w.terminate; nil' });
  await until(() => detached.some(m => m.sessionId === winfo.sessionId));
  if (detached.some(m => m.sessionId === dinfo.sessionId)) fail('the Deferred worker was detached too');
  ok('the Worker ended: NodeWorker.detachedFromWorker');
  try { await c.send('NodeWorker.sendMessageToWorker', { sessionId: winfo.sessionId, message: '{"id":1,"method":"Profiler.enable"}' }); fail('a detached session answered'); } catch (e) {
    if ((e.response || {}).code !== -32000) fail(`detached session: ${JSON.stringify(e.response)}`);
  }
  await c.send('NodeWorker.disable', {});
  await c.close();
}

(async () => {
  if (mode === 'threads') await threads(arg, arg2 === 'any');
  else if (mode === 'attach') await attach(arg === 'profile');
  else if (mode === 'profile') await profile(arg);
  else if (mode === 'evaluate') await evaluate();
  else if (mode === 'wait') await wait(arg);
  else if (mode === 'cycles') await cycles(Number(arg));
  else if (mode === 'exit') await exitNow();
  else fail(`unknown mode ${mode}`);
})().catch(e => fail(e && e.stack || e));
