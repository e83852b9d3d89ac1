// https_server.js CERT KEY [PORT] — tests/bench/https/server.rb with Node's https module:
// "Hello World\n" to every request, ALPN http/1.1 as mrun's HTTPS server offers it.
'use strict';
const https = require('https');
const fs = require('fs');
const server = https.createServer({
  cert: fs.readFileSync(process.argv[2]), key: fs.readFileSync(process.argv[3]), ALPNProtocols: ['http/1.1'],
}, (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('Hello World\n');
});
server.listen(Number(process.argv[4] || 0), '127.0.0.1',
  () => console.log(`https_server.js listening on 127.0.0.1:${server.address().port}`));
