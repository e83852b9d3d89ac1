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
//   attach PORT [profile]  for --inspect-wait (tests/bench/inspect.sh): Runtime.enable (and
//                      Profiler.start at 1000 µs with "profile"), runIfWaitingForDebugger, then
//                      stays attached, idle, until the program ends
'use strict';
const fs = require('fs');
const path = require('path');
const CDP = require('chrome-remote-interface');

const [mode, portArg, arg] = process.argv.slice(2);
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

(async () => {
  if (mode === 'attach') await attach(arg === 'profile');
  else if (mode === 'profile') await profile(arg);
  else if (mode === 'evaluate') await evaluate();
  else if (mode === 'wait') await wait(arg);
  else if (mode === 'cycles') await cycles(Number(arg));
  else if (mode === 'exit') await exitNow();
  else fail(`unknown mode ${mode}`);
})().catch(e => fail(e && e.stack || e));
