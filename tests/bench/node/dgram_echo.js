// dgram_echo.js — samples/udp_echo.rb with Node's dgram module: every datagram goes back.
//   node tests/bench/node/dgram_echo.js [PORT]
'use strict';
const dgram = require('dgram');
const port = Number(process.argv[2] || 41234);
const socket = dgram.createSocket('udp4');
let count = 0;
socket.on('message', (msg, rinfo) => { count++; socket.send(msg, rinfo.port, rinfo.address); });
socket.on('error', () => {});
socket.bind(port, '127.0.0.1', () => console.log(`dgram_echo.js listening on 127.0.0.1:${socket.address().port}`));
process.on('SIGINT', () => { console.log(`dgram_echo.js: ${count} datagrams echoed`); socket.close(); });
