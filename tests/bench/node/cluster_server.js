// cluster_server.js — tests/bench/cluster/server.rb with Node's cluster: WORKERS workers
// (default 2) answer every request with their pid.   node tests/bench/node/cluster_server.js [WORKERS]
'use strict';
const cluster = require('cluster');
const http = require('http');
const n = Number(process.argv[2] || 2);
if (cluster.isPrimary) {
  let up = 0;
  cluster.on('listening', (w, addr) => {
    if (++up === n) console.log(`cluster_server.js listening on 127.0.0.1:${addr.port}`);
  });
  for (let i = 0; i < n; i++) cluster.fork();
} else {
  const body = `${process.pid}\n`;
  http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(body);
  }).listen(0, '127.0.0.1');
}
