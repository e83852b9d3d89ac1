# events.rb — the server's events and options driven by a raw Net client in the same process:
# :check_continue, :upgrade (and none), :client_error, :connection, max_requests_per_socket,
# keep_alive_timeout, close_all_connections, req's :data/:end, res's :finish/:close.
# Prints "ok ..." / "FAIL ..." lines and "all passed".
require_relative "../net/helper"
deadline(20_000)

# exchange(port, bytes) { |answer, closed| }: sends bytes, collects what comes until the peer
# closes or `until_text` has arrived.
def exchange(port, bytes, until_text = nil, &done)
  got = ""
  finished = false
  c = Net.create_connection(port: port) { c.write(bytes) }
  c.on(:data) do |d|
    got << d
    if until_text && got.include?(until_text) && !finished
      finished = true
      done.call(got, false, c)
    end
  end
  c.on(:error) { |_e| }
  c.on(:close) do
    unless finished
      finished = true
      done.call(got, true, c)
    end
  end
end

steps = []
run_next = proc { (s = steps.shift) ? s.call : finish }

# 1. :check_continue: the listener decides; it sends 100 itself and then answers.
steps << proc do
  srv = HTTP.create_server { |_req, res| res.end("unused") }
  srv.on(:check_continue) do |req, res|
    res.write_continue
    req.read_body { |b| res.end("got #{b}") }
  end
  srv.listen(0) do
    exchange(srv.address[:port], "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc") do |got, closed|
      check(got.start_with?("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK") && got.end_with?("got abc") && closed,
            "check_continue listener: #{got.inspect[0, 80]}")
      srv.close { run_next.call }
    end
  end
end

# 2. :upgrade with a listener: it gets the socket and the bytes after the head; without one
#    the socket is destroyed.
steps << proc do
  srv = HTTP.create_server { |_req, res| res.end("plain") }
  srv.on(:upgrade) do |req, sock, head|
    sock.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
    sock.write("head=#{head} #{req.headers["upgrade"]}")
    sock.on(:data) { |d| sock.end("echo:#{d}") }
  end
  srv.listen(0) do
    port = srv.address[:port]
    exchange(port, "GET /ws HTTP/1.1\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nEARLY", "head=EARLY echo") do |got, _closed, c|
      c.write("more")
      c.on(:close) do
        check(got.start_with?("HTTP/1.1 101") && got.end_with?("echo:more"), "upgrade listener: #{got.inspect[-40, 40]}")
        srv.close { run_next.call }
      end
    end
  end
end
steps << proc do
  srv = HTTP.create_server { |_req, res| res.end("plain") }
  srv.listen(0) do
    exchange(srv.address[:port], "GET /ws HTTP/1.1\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n") do |got, closed|
      check(got.empty? && closed, "upgrade without a listener: closed, nothing sent")
      srv.close { run_next.call }
    end
  end
end

# 3. :client_error: the listener gets an HTTP::Error with its code and the socket.
steps << proc do
  srv = HTTP.create_server { |_req, res| res.end("x") }
  srv.on(:client_error) do |err, sock|
    check(err.is_a?(HTTP::Error) && err.code.is_a?(String) && err.code.start_with?("HPE_"), "client_error gets #{err.code}")
    sock.end("HTTP/1.1 400 Bad Request\r\nX-Mine: 1\r\n\r\n")
  end
  srv.listen(0) do
    exchange(srv.address[:port], "NOT HTTP AT ALL\r\n\r\n") do |got, _closed|
      check(got.include?("X-Mine: 1"), "the client_error listener answers")
      srv.close { run_next.call }
    end
  end
end

# 4. max_requests_per_socket: 2 -> the second answer says close; :connection seen once.
steps << proc do
  conns = 0
  srv = HTTP.create_server(max_requests_per_socket: 2) { |req, res| res.end(req.url) }
  srv.on(:connection) { |_s| conns += 1 }
  srv.listen(0) do
    exchange(srv.address[:port], "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n") do |got, closed|
      check(got.scan("HTTP/1.1 200").size == 2 && got.include?("Connection: close") && got.end_with?("/2") && closed,
            "max_requests_per_socket 2: two answers, the second closes")
      check(conns == 1, ":connection once")
      srv.close { run_next.call }
    end
  end
end

# 5. keep_alive_timeout: an idle connection is closed by the server.
steps << proc do
  srv = HTTP.create_server(keep_alive_timeout: 200) { |_req, res| res.end("k") }
  srv.listen(0) do
    exchange(srv.address[:port], "GET / HTTP/1.1\r\n\r\n") do |got, closed|
      check(got.include?("Keep-Alive: timeout=0") && closed, "idle keep-alive connection closed after keep_alive_timeout")
      srv.close { run_next.call }
    end
  end
end

# 6. req :data/:end, res :finish/:close, close_all_connections on a busy connection.
steps << proc do
  events = []
  srv = nil
  srv = HTTP.create_server do |req, res|
    if req.url == "/body"
      n = 0
      req.on(:data) { |c| n += c.bytesize }
      req.on(:end) { events << "end #{n} #{req.complete?} #{req.body.inspect}"; res.end("ok") }
      res.on(:finish) { events << "finish" }
      res.on(:close) { events << "close" }
    else
      res.on(:close) { events << "busy res close #{res.finished?}" }
      req.on(:close) { events << "busy req close" }
      srv.close_all_connections
    end
  end
  srv.listen(0) do
    port = srv.address[:port]
    exchange(port, "POST /body HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", "ok") do |_got, _closed, c|
      c.destroy
      exchange(port, "GET /busy HTTP/1.1\r\n\r\n") do |got, closed|
        check(got.empty? && closed, "close_all_connections cuts a busy connection")
        set_immediate do
          check(events == ["end 5 true \"\"", "finish", "close", "busy req close", "busy res close false"], "events: #{events.inspect}")
          srv.close { run_next.call }
        end
      end
    end
  end
end

# 7. the client goes away before the answer: a later res.end is dropped quietly.
steps << proc do
  client = nil
  srv = HTTP.create_server do |_req, res|
    client.destroy
    res.on(:close) do
      set_immediate do
        res.end("too late")
        check(res.finished? && srv.connections == 0, "res.end after the client left: dropped")
        srv.close { run_next.call }
      end
    end
  end
  srv.listen(0) do
    client = Net.create_connection(port: srv.address[:port]) { client.write("GET / HTTP/1.1\r\n\r\n") }
  end
end

# 8. backpressure on the response: write returns false over the mark, :drain follows; 8 MiB
#    arrive whole (chunked) at a client that reads them.
steps << proc do
  drains = 0
  falses = 0
  srv = HTTP.create_server do |_req, res|
    chunk = "z" * 65536
    left = 128
    pump = proc do
      while left > 0
        left -= 1
        unless res.write(chunk)
          falses += 1
          break
        end
      end
      res.end if left == 0 && !res.finished?
    end
    res.on(:drain) { drains += 1; pump.call }
    pump.call
  end
  srv.listen(0) do
    got = 0
    buf = ""
    c = Net.create_connection(port: srv.address[:port]) { c.write("GET /big HTTP/1.1\r\nConnection: close\r\n\r\n") }
    c.on(:data) { |d| got += d.bytesize; buf << d if buf.bytesize < 200 }
    c.on(:close) do
      check(buf.include?("Transfer-Encoding: chunked") && got > 128 * 65536, "8 MiB streamed (#{got} bytes)")
      check(falses > 0 && drains > 0, "write returned false #{falses} times, :drain came #{drains} times")
      srv.close { run_next.call }
    end
  end
end

run_next.call
