# server.rb — the HTTP server the e2e tests talk to (tests/e2e/test_http_server.sh).
#
#   build/mrun tests/scripts/http/server.rb [option=value ...]
#     options: HTTP.create_server's (headers_timeout=1000 max_body_size=1048576 ...; "nil" for nil)
#
# Prints "port N pid P" once listening. Routes:
#   GET  /hello            "Hello World\n" (end with a body: one write, Content-Length)
#   ANY  /echo             the body back, with X-Method, X-Path, X-Query (inspect), X-Body-Size
#   GET  /stream?n=K       K chunks written with write (chunked), then end
#   GET  /big?n=BYTES      a body of BYTES 'x's
#   GET  /slow?ms=MS       answers after MS milliseconds
#   GET  /status/CODE      that status, body "status CODE" (none for 204/304)
#   GET  /headers          set_header/get_header/remove_header/has_header? at work
#   GET  /boom             the handler raises (500 expected, the server goes on)
#   GET  /count            counts the body through :data (nothing buffered)
#   GET  /close            server.close, then answers "closing"
#   GET  /after_close      prints "waiting for close", answers "after close" once /close ran
#   anything else          404
opts = {}
ARGV.each do |arg|
  k, v = arg.split("=", 2)
  opts[k.to_sym] = v == "nil" ? nil : v.to_i
end

waiting = [] # /after_close's answers, sent by /close
server = HTTP.create_server(opts) do |req, res|
  path = req.path
  case path
  when "/hello"
    res.write_head(200, "Content-Type" => "text/plain")
    res.end("Hello World\n")
  when "/echo"
    req.read_body do |body|
      res.set_header("X-Method", req.method)
      res.set_header("X-Path", path)
      res.set_header("X-Query", req.query.inspect)
      res.set_header("X-Body-Size", body.bytesize)
      res.set_header("X-Version", req.http_version)
      res.set_header("X-Agent", req.headers["user-agent"].to_s)
      res.end(body)
    end
  when "/stream"
    n = (req.query["n"] || "3").to_i
    res.set_header("Content-Type", "text/plain")
    n.times { |i| res.write("chunk #{i}\n") }
    res.end
  when "/big"
    res.end("x" * req.query["n"].to_i)
  when "/slow"
    set_timeout(req.query["ms"].to_i) { res.end("slow #{req.query["ms"]}\n") }
  when %r{\A/status/(\d+)\z}
    code = $1.to_i
    res.status_code = code
    res.end(code == 204 || code == 304 ? nil : "status #{code}\n")
  when "/headers"
    res.set_header("X-A", "1")
    res.set_header("Set-Cookie", ["a=1", "b=2"])
    res.set_header("X-Gone", "x")
    res.remove_header("x-gone")
    res.write_head(201, "Made It", "X-B" => "2")
    res.end("#{res.get_header("x-a")} #{res.has_header?("X-Gone")} #{res.headers_sent?}\n")
  when "/boom"
    raise ArgumentError, "boom in the handler"
  when "/count"
    n = 0
    req.on(:data) { |chunk| n += chunk.bytesize }
    req.on(:end) { res.end("counted #{n}\n") }
  when "/after_close"
    puts "waiting for close"
    waiting << res
  when "/close"
    server.close { puts "server closed" }
    res.end("closing\n")
    waiting.each { |r| r.end("after close\n") }
  else
    res.write_head(404, "Content-Type" => "text/plain")
    res.end("no route for #{req.method} #{path}\n")
  end
end
server.on(:error) { |e| warn "server error: #{e.message}"; exit 1 }
server.listen(0) { puts "port #{server.address[:port]} pid #{Process.pid}" }
