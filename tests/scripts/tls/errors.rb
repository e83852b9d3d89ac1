# errors.rb DIR — bad arguments raise at the call naming the problem; a server that never
# answers the handshake times the client out; a refused connection is a Net::Error; an
# unknown CA is UNABLE_TO_GET_ISSUER_CERT_LOCALLY with the system's store; write after end.
$failures = 0
def check(ok, what)
  puts(ok ? "ok #{what}" : "FAIL #{what}")
  $failures += 1 unless ok
end
def raises(cls, pattern, what)
  yield
  check(false, "#{what}: no exception")
rescue => e
  check(e.is_a?(cls) && e.message.include?(pattern), "#{what}: #{e.class}: #{e.message}")
end
dir = ARGV[0]
scale = (ENV["MRPROF_DEADLINE_SCALE"] || "1").to_i
t = set_timeout(60_000 * scale) { puts "FAIL deadline"; exit 3 }
t.unref
File.open("#{dir}/garbage.pem", "w") { |f| f.write("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n") }

raises(ArgumentError, "#{dir}/missing.pem", "a missing cert file") { TLS.create_server(cert: "#{dir}/missing.pem", key: "#{dir}/server.key") }
raises(ArgumentError, "#{dir}/garbage.pem", "a cert file that is not PEM") { TLS.create_server(cert: "#{dir}/garbage.pem", key: "#{dir}/server.key") }
raises(ArgumentError, "key values mismatch", "a key of another cert") { TLS.create_server(cert: "#{dir}/server.pem", key: "#{dir}/other.key") }
raises(ArgumentError, "needs cert: and key:", "a server with no cert") { TLS.create_server({}) }
raises(ArgumentError, "#{dir}/nope.pem", "a missing ca file") { TLS.connect(port: 1, ca: "#{dir}/nope.pem") }
raises(ArgumentError, "min_version", "a bad version") { TLS.connect(port: 1, ca: "#{dir}/ca.pem", min_version: "SSLv3") }
raises(ArgumentError, "above max_version", "min above max") { TLS.connect(port: 1, ca: "#{dir}/ca.pem", min_version: "TLSv1.3", max_version: "TLSv1.2") }
raises(TypeError, "alpn_protocols", "alpn not an Array") { TLS.connect(port: 1, ca: "#{dir}/ca.pem", alpn_protocols: "h2") }
raises(ArgumentError, "alpn_protocols", "an empty ALPN name") { TLS.connect(port: 1, ca: "#{dir}/ca.pem", alpn_protocols: [""]) }
raises(ArgumentError, "session", "a session that is not one") { TLS.connect(port: 1, ca: "#{dir}/ca.pem", session: "xyz") }
raises(ArgumentError, "handshake_timeout", "a negative handshake timeout") { TLS.connect(port: 1, handshake_timeout: -1) }
raises(TypeError, "Hash", "TLS.connect(5)") { TLS.connect(5) }
raises(ArgumentError, "port", "a bad port") { TLS.connect(port: 70000, ca: "#{dir}/ca.pem") }
raises(TypeError, "sni", "sni not a Hash") { TLS.create_server(cert: "#{dir}/server.pem", key: "#{dir}/server.key", sni: 3) }

pending = 3
done = proc do
  pending -= 1
  if pending == 0
    puts($failures == 0 ? "all passed" : "#{$failures} failed")
    exit($failures == 0 ? 0 : 1)
  end
end

# A TCP server that accepts and says nothing: the client's handshake times out.
silent = Net.create_server { |s| s.on(:data) { } }
silent.listen(0) do
  c = TLS.connect(port: silent.address[:port], ca: "#{dir}/ca.pem", handshake_timeout: 300 * scale)
  c.write("queued before :secure")
  c.on(:error) do |e|
    check(e.is_a?(TLS::Error) && e.code == "ERR_TLS_HANDSHAKE_TIMEOUT", "a silent server: #{e.code}")
  end
  c.on(:close) do |had_error|
    check(had_error, "the socket closed with had_error")
    silent.close
    done.call
  end
end

# A refused connection is Net's error.
probe = Net.create_server { }
probe.listen(0) do
  port = probe.address[:port]
  probe.close do
    c = TLS.connect(port: port, ca: "#{dir}/ca.pem")
    c.on(:error) { |e| check(e.code == "ECONNREFUSED", "a refused connection: #{e.class} #{e.code}") }
    c.on(:close) { done.call }
  end
end

# The system's store does not know the test CA; write after end.
srv = TLS.create_server(cert: "#{dir}/server.pem", key: "#{dir}/server.key") { |s| s.on(:data) { } }
srv.on(:tls_client_error) { }
srv.listen(0) do
  c = TLS.connect(port: srv.address[:port])
  c.on(:error) do |e|
    check(e.code == "UNABLE_TO_GET_ISSUER_CERT_LOCALLY" && e.reason == "unable to get local issuer certificate",
          "the system's store refuses the test CA: #{e.code} (#{e.reason})")
    c2 = TLS.connect(port: srv.address[:port], ca: "#{dir}/ca.pem") do
      c2.end("bye")
      r = c2.write("late")
      check(r == false, "write after end returns false")
    end
    c2.on(:error) { |e2| check(e2.code == "EPIPE", "write after end: #{e2.code}") }
    c2.on(:close) do
      srv.close
      done.call
    end
  end
end
