// http_hello.js — samples/http_hello.rb written with Node's net module, line for line, as the
// reference for `make bench`: keep-alive, fixed tiny response, pipelined requests answered in
// one write.   node tests/bench/node/http_hello.js [PORT]
'use strict';
const net = require('net');
const RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n' +
                 'Connection: keep-alive\r\n\r\nHello World\n';
const port = Number(process.argv[2] || 8080);
const server = net.createServer(sock => {
  let pending = '';
  sock.setEncoding('latin1');
  sock.on('data', data => {
    const buf = pending.length ? pending + data : data;
    let answered = 0, pos = 0, i;
    while ((i = buf.indexOf('\r\n\r\n', pos)) !== -1) { answered++; pos = i + 4; }
    pending = pos === buf.length ? '' : buf.slice(pos);
    if (answered > 0) sock.write(answered === 1 ? RESPONSE : RESPONSE.repeat(answered));
  });
  sock.on('error', () => {});
});
server.on('error', e => { console.error(`http_hello.js: ${e.message}`); process.exit(1); });
server.listen(port, '127.0.0.1', () => console.log(`http_hello.js listening on http://127.0.0.1:${server.address().port}/`));
