// The Node peer of echo_client.py: sends, half-closes, prints what came back.
const net = require("net");
const s = net.connect(Number(process.argv[2]), "127.0.0.1", () => s.end("hello worker"));
let got = "";
s.on("data", (d) => { got += d; });
s.on("close", () => console.log(got));
