# server.rb CERT KEY [PORT] — tests/bench/https.sh's server: tests/bench/http/server.rb's hello
# world on HTTPS.create_server. tests/bench/node/https_server.js is the same with Node's https.
cert, key, port = ARGV
server = HTTPS.create_server(cert: cert, key: key) do |_req, res|
  res.write_head(200, "content-type" => "text/plain")
  res.end("Hello World\n")
end
server.on(:error) { |e| warn "https bench server: #{e.message}"; exit 1 }
server.listen((port || 0).to_i) { puts "https bench server listening on 127.0.0.1:#{server.address[:port]}" }
