// compare_node.js PORT: the requests of compare_node.rb, sent by Node's http client; each line
// is what server.py's /capture saw (the framing headers and the body). The e2e test compares
// the two outputs line by line.
const http = require('http');
const port = +process.argv[2];
const agent = new http.Agent({ keepAlive: true });
const steps = [
  (cb) => http.request({ port, path: '/capture?get', agent }, cb).end(),
  (cb) => http.request({ port, path: '/capture?post-whole', method: 'POST', agent }, cb).end('abc'),
  (cb) => { const r = http.request({ port, path: '/capture?post-parts', method: 'POST', agent }, cb); r.write('ab'); r.end('c'); },
  (cb) => http.request({ port, path: '/capture?post-empty', method: 'POST', agent }, cb).end(),
  (cb) => { const r = http.request({ port, path: '/capture?put-length', method: 'PUT', agent, headers: { 'Content-Length': 3 } }, cb); r.write('a'); r.end('bc'); },
  (cb) => http.request({ port, path: '/capture?delete', method: 'DELETE', agent }, cb).end(),
  (cb) => http.request({ port, path: '/capture?patch-whole', method: 'PATCH', agent }, cb).end('{"a":1}'),
  (cb) => http.request({ port, path: '/capture?no-agent', agent: false }, cb).end(),
];
let i = 0;
function next() {
  if (i === steps.length) { agent.destroy(); return; }
  steps[i++]((res) => {
    let b = '';
    res.setEncoding('latin1');
    res.on('data', (d) => b += d);
    res.on('end', () => { console.log(b); next(); });
  });
}
next();
