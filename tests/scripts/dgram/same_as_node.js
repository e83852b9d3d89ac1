// same_as_node.js — the scenario of same_as_node.rb with Node's dgram: test_dgram.sh runs both
// and compares what they print (error codes and syscalls, rinfo, events, an implicit bind).
'use strict';
const dgram = require('dgram');
const a = dgram.createSocket('udp4');
const lines = [];
a.bind(0, '127.0.0.1', () => {
  const port = a.address().port;
  const b = dgram.createSocket('udp4');
  b.on('error', (e) => {
    lines.push(`bind error ${e.code} ${e.syscall} ${e.address} ${e.port === port}`);
    const c = dgram.createSocket('udp4');
    c.on('listening', () => lines.push('implicit listening'));
    c.send(Buffer.alloc(65508), port, '127.0.0.1', (err) => {
      lines.push(`send error ${err.code} ${err.syscall} ${err.address} ${err.port === port}`);
      a.once('message', (msg, rinfo) => {
        lines.push(`message ${msg.length} ${Object.keys(rinfo).join(',')} ${rinfo.family} ${rinfo.size} ${rinfo.port === c.address().port}`);
        const gone = dgram.createSocket('udp4');
        gone.bind(0, '127.0.0.1', () => {
          const dead = gone.address().port;
          gone.close(() => {
            const d = dgram.createSocket('udp4');
            d.on('error', (e2) => {
              lines.push(`recv error ${e2.code} ${e2.syscall}`);
              for (const s of [a, b, c, d]) s.close();
              console.log(lines.join('\n'));
            });
            d.connect(dead, '127.0.0.1', () => { lines.push('connect'); d.send('x'); });
          });
        });
      });
      c.send('', port, '127.0.0.1');
    });
  });
  b.bind(port, '127.0.0.1');
});
