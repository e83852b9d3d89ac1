// node_client.js PORT CA: Node's https client against an mrun HTTPS server. Two GETs on new
// connections (keepAlive off): the second resumes the TLS session Node's agent kept (our
// server's session tickets), then a POST. Prints one line per answer.
'use strict';
const https = require('https');
const fs = require('fs');
const [port, caPath] = process.argv.slice(2);
const ca = fs.readFileSync(caPath);
const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 10 });
function get(path, method, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: 'localhost', port, path, method, ca, agent }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve(`${res.statusCode} ${data.trim()} reused=${req.socket.isSessionReused()} alpn=${req.socket.alpnProtocol}`));
    });
    req.on('error', reject);
    req.end(body);
  });
}
(async () => {
  console.log(await get('/info', 'GET'));
  console.log(await get('/info', 'GET'));
  console.log(await get('/echo', 'POST', 'posted by node'));
})().catch((e) => { console.log(`error ${e.code} ${e.message}`); process.exit(1); });
