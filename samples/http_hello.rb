# http_hello.rb — a tiny keep-alive HTTP server on Net: every request gets "Hello World".
# It parses just enough HTTP to find the end of each request (the blank line), so pipelined
# requests in one read are all answered, with one write.
#
# Backpressure: a client that pipelines requests but does not read the answers would make the
# server queue answers without end; when a write returns false (the queue is over
# Net::HIGH_WATER_MARK) the socket stops reading until :drain, so the client's requests wait in
# the kernel's buffers instead of the server's memory. A request head that is not finished
# within MAX_HEAD bytes gets 431 and the connection is closed, as Node's 16 KiB limit does.
#
#   build/mrun samples/http_hello.rb [PORT]      (default 8080; 0 lets the system choose)
#   curl http://127.0.0.1:8080/
RESPONSE = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n" \
           "Connection: keep-alive\r\n\r\nHello World\n"
TOO_LARGE = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n" \
            "Connection: close\r\n\r\n"
MAX_HEAD = 16 * 1024

port = (ARGV[0] || 8080).to_i
server = Net.create_server do |sock|
  pending = ""
  refused = false # answered 431: what else comes is read (to see the close) and dropped
  sock.on(:data) do |data|
    next if refused
    buf = pending.empty? ? data : pending + data
    answered = 0
    pos = 0
    while (i = buf.index("\r\n\r\n", pos))
      answered += 1
      pos = i + 4
    end
    pending = pos == buf.size ? "" : buf[pos..-1]
    if pending.size > MAX_HEAD
      pending = ""
      refused = true
      sock.end(TOO_LARGE)
      next
    end
    if answered > 0 && !sock.write(answered == 1 ? RESPONSE : RESPONSE * answered)
      sock.pause
    end
  end
  sock.on(:drain) { sock.resume }
  sock.on(:error) { |e| } # a client that resets is not the server's problem
end
server.on(:error) do |e|
  warn "http_hello: #{e.message}"
  exit 1
end
server.listen(port) do
  puts "http_hello listening on http://127.0.0.1:#{server.address[:port]}/"
end
