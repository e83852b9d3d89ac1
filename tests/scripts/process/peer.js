// peer.js — the child_process half of test_child.sh's comparison with Node: the same cases as
// peer.rb, one after the other, each printed as Ruby's inspect would print it.
const cp = require('child_process');
const r = (v) => (v === null || v === undefined ? 'nil' : JSON.stringify(v));
const steps = [
  (next) => cp.spawn('sh', ['-c', 'exit 7']).on('exit', (s, g) => { console.log(`exit ${r(s)} ${r(g)}`); next(); }),
  (next) => cp.spawn('sh', ['-c', 'kill -TERM $$']).on('close', (s, g) => { console.log(`close ${r(s)} ${r(g)}`); next(); }),
  (next) => { const c = cp.spawn('sleep', ['30']); c.on('exit', (s, g) => { console.log(`killed ${r(s)} ${r(g)} ${c.killed} ${c.kill()}`); next(); }); console.log(`kill ${c.kill('SIGKILL')}`); },
  (next) => cp.spawn('no_such_program_zz').on('error', (e) => { console.log(`error ${r(e.code)} ${r(e.syscall)} ${r(e.path)}`); next(); }),
  (next) => cp.exec('echo out; echo err >&2; exit 3', (e, o, eo) => { console.log(`exec ${r(e.message)} ${r(e.code)} ${e.killed} ${r(e.signal)} ${r(o)} ${r(eo)}`); next(); }),
  (next) => cp.exec('sleep 30', { timeout: 50 }, (e) => { console.log(`timeout ${r(e.message)} ${r(e.code)} ${e.killed} ${r(e.signal)}`); next(); }),
  (next) => cp.exec('yes', { maxBuffer: 10 }, (e, o) => { console.log(`maxbuffer ${r(e.message)} ${r(e.code)} ${r(o)}`); next(); }),
  (next) => cp.exec('printf ok', (e, o, eo) => { console.log(`ok ${r(e)} ${r(o)} ${r(eo)}`); next(); }),
];
const run = (i) => i < steps.length && steps[i](() => run(i + 1));
run(0);
