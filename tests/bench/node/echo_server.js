// echo_server.js — samples/echo_server.rb with Node's net module: echo with backpressure.
//   node tests/bench/node/echo_server.js [PORT]
'use strict';
const net = require('net');
const port = Number(process.argv[2] || 7000);
const server = net.createServer(sock => {
  sock.on('data', d => { if (!sock.write(d)) sock.pause(); });
  sock.on('drain', () => sock.resume());
  sock.on('error', () => {});
});
server.listen(port, '127.0.0.1', () => console.log(`echo_server.js listening on 127.0.0.1:${server.address().port}`));
