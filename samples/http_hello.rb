# http_hello.rb — a tiny keep-alive HTTP server on Net: every request gets "Hello World".
# It parses just enough HTTP to find the end of each request (the blank line), so pipelined
# requests in one read are all answered, with one write.
#
#   build/mrun samples/http_hello.rb [PORT]      (default 8080; 0 lets the system choose)
#   curl http://127.0.0.1:8080/
RESPONSE = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n" \
           "Connection: keep-alive\r\n\r\nHello World\n"

port = (ARGV[0] || 8080).to_i
server = Net.create_server do |sock|
  pending = ""
  sock.on(:data) do |data|
    buf = pending.empty? ? data : pending + data
    answered = 0
    pos = 0
    while (i = buf.index("\r\n\r\n", pos))
      answered += 1
      pos = i + 4
    end
    pending = pos == buf.size ? "" : buf[pos..-1]
    sock.write(answered == 1 ? RESPONSE : RESPONSE * answered) if answered > 0
  end
  sock.on(:error) { |e| } # a client that resets is not the server's problem
end
server.on(:error) do |e|
  warn "http_hello: #{e.message}"
  exit 1
end
server.listen(port) do
  puts "http_hello listening on http://127.0.0.1:#{server.address[:port]}/"
end
