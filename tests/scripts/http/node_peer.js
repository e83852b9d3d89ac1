// node_peer.js — the routes of tests/scripts/http/server.rb that decide the head's framing,
// written on Node's http: test_http_server.sh compares the heads both servers send.
//   node tests/scripts/http/node_peer.js   (prints "port N")
'use strict';
const http = require('http');
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const path = url.pathname;
  if (path === '/hello') {
    res.setHeader('Content-Type', 'text/plain'); // writeHead would fix the head before end's
    res.end('Hello World\n');                    // length is known (Node's writeHead is eager)
  } else if (path === '/stream') {
    const n = Number(url.searchParams.get('n') || 3);
    res.setHeader('Content-Type', 'text/plain');
    for (let i = 0; i < n; i++) res.write(`chunk ${i}\n`);
    res.end();
  } else if (path.startsWith('/status/')) {
    const code = Number(path.slice(8));
    res.statusCode = code;
    res.end(code === 204 || code === 304 ? undefined : `status ${code}\n`);
  } else {
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain');
    res.end(`no route for ${req.method} ${path}\n`);
  }
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => console.log(`port ${server.address().port}`));
