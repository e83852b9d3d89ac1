# bad_clients.rb DIR — a TLS server meets clients that are not TLS clients, over raw Net
# sockets: garbage bytes, a plain HTTP request, one that hangs up mid-handshake, one that stops
# mid-handshake (the handshake timeout ends it). Each gets a :tls_client_error with its code,
# its socket destroyed; meanwhile a real TLS client is served; afterwards no fd stays open.
$failures = 0
def check(ok, what)
  puts(ok ? "ok #{what}" : "FAIL #{what}")
  $failures += 1 unless ok
end
def fd_count
  (0...4096).count { |i| File.exist?("/proc/self/fd/#{i}") }
end
dir = ARGV[0]
scale = (ENV["MRPROF_DEADLINE_SCALE"] || "1").to_i
t = set_timeout(60_000 * scale) { puts "FAIL deadline"; exit 3 }
t.unref
# The first bytes of a ClientHello: a handshake record header and the start of its body.
PARTIAL_HELLO = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + "\x11" * 20
warm = Net.create_server { }
warm.listen(0) do
  warm.close do
    fds = fd_count
    errors = {}
    server = TLS.create_server(cert: "#{dir}/server.pem", key: "#{dir}/server.key", handshake_timeout: 1500 * scale) do |s|
      s.on(:data) { |d| s.write("echo:#{d}") }
    end
    port = nil
    good_done = false
    finish = proc do
      next unless errors.size == 4 && good_done
      check(errors["garbage"] && errors["garbage"].code.start_with?("ERR_SSL_"), "garbage: #{errors["garbage"]&.code} (#{errors["garbage"]&.reason})")
      check(errors["http"]&.code == "ERR_SSL_HTTP_REQUEST", "a plain HTTP request: #{errors["http"]&.code} (#{errors["http"]&.reason})")
      check(errors["hangup"]&.code == "ECONNRESET", "a hang-up mid-handshake: #{errors["hangup"]&.code}")
      check(errors["stall"]&.code == "ERR_TLS_HANDSHAKE_TIMEOUT", "a client that stops mid-handshake: #{errors["stall"]&.code}")
      check(errors.values.all? { |e| e.is_a?(TLS::Error) && e.is_a?(Net::Error) && e.syscall == "handshake" }, "each is a TLS::Error (a Net::Error) from the handshake")
      server.close do
        set_immediate do
          GC.start
          check(fd_count == fds, "no fd left open (#{fds} before, #{fd_count} after)")
          puts($failures == 0 ? "all passed" : "#{$failures} failed")
          exit($failures == 0 ? 0 : 1)
        end
      end
    end
    kinds = {}
    server.on(:tls_client_error) do |err, sock|
      kind = kinds[err.port] || "unknown (port #{err.port.inspect})"
      check(sock.is_a?(TLS::Socket) && sock.destroyed?, "#{kind}: the socket is destroyed")
      errors[kind] = err
      finish.call
    end
    server.on(:connection) do |sock|
      check(sock.is_a?(TLS::Socket), "a :connection at accept gives a TLS::Socket")
    end
    raw = proc do |kind, bytes, hang_up|
      c = Net.create_connection(port: port) do
        kinds[c.address[:port]] = kind
        c.write(bytes) if bytes
        c.end if hang_up
      end
      closed = false
      c.on(:error) { |_e| } # a reset is fine: the server gave up on us
      c.on(:close) { closed = true }
      c
    end
    server.listen(0) do
      port = server.address[:port]
      raw.call("garbage", "\x00\x01\x02 this is not TLS at all\r\n" * 8, false)
      raw.call("http", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", false)
      raw.call("hangup", PARTIAL_HELLO, true)
      raw.call("stall", PARTIAL_HELLO, false)
      g = TLS.connect(port: port, ca: "#{dir}/ca.pem") { g.write("hi") }
      g.on(:data) do |d|
        check(d == "echo:hi", "a real client is served meanwhile (#{d.inspect})")
        g.end
      end
      g.on(:error) { |e| check(false, "the real client failed: #{e.message}") }
      g.on(:close) do
        good_done = true
        finish.call
      end
    end
  end
end
