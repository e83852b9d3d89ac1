# server.rb — tests/bench/http.sh's server on the HTTP module: "/big" answers 1 MB, anything else
# "Hello World\n" (the contract's hello world). tests/bench/node/http_server.js is the same with
# Node's http module.   build/mrun tests/bench/http/server.rb [PORT]
BIG = "x" * (1024 * 1024)
server = HTTP.create_server do |req, res|
  if req.url == "/big"
    res.write_head(200, "content-type" => "application/octet-stream", "content-length" => BIG.bytesize.to_s)
    res.end(BIG)
  else
    res.write_head(200, "content-type" => "text/plain")
    res.end("Hello World\n")
  end
end
server.on(:error) { |e| warn "http bench server: #{e.message}"; exit 1 }
server.listen((ARGV[0] || 0).to_i) { puts "http bench server listening on 127.0.0.1:#{server.address[:port]}" }
