# http_hello.rb — the smallest HTTP server on the HTTP module: every request gets "Hello World".
#
# Keep-alive, pipelining (answers in request order), the limits (a head over 16 KiB: 431; a
# request line over 8 KiB: 414; bad syntax: 400, then close) and backpressure (a client that
# pipelines without reading makes the server stop reading, not queue answers) are the server's;
# see docs/script-api.md "## HTTP".
#
#   build/mrun samples/http_hello.rb [PORT]      (default 8080; 0 lets the system choose)
#   curl http://127.0.0.1:8080/
port = (ARGV[0] || 8080).to_i
server = HTTP.create_server do |_req, res|
  res.write_head(200, "Content-Type" => "text/plain")
  res.end("Hello World\n")
end
server.on(:error) do |e|
  warn "http_hello: #{e.message}"
  exit 1
end
server.listen(port) do
  puts "http_hello listening on http://127.0.0.1:#{server.address[:port]}/"
end
