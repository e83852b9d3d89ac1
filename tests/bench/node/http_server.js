// http_server.js — tests/bench/http/server.rb with Node's http module: "/big" answers 1 MB,
// anything else "Hello World\n".   node tests/bench/node/http_server.js [PORT]
'use strict';
const http = require('http');
const BIG = Buffer.alloc(1024 * 1024, 'x');
const server = http.createServer((req, res) => {
  if (req.url === '/big') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG.length });
    res.end(BIG);
  } else {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('Hello World\n');
  }
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1',
  () => console.log(`http_server.js listening on 127.0.0.1:${server.address().port}`));
