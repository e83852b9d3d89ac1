# features.rb DIR — an mrun TLS client against an mrun TLS server: SNI chosen by the client's
# servername: (host an IP), ALPN both sides, the accessors (cipher, peer_certificate,
# protocol), :session and session: resumption in TLS 1.3 and 1.2, writes queued before
# :secure, end before :secure, a client certificate both ways, and the server's
# :connection / :secure_connection / :secure order.
$failures = 0
def check(ok, what)
  puts(ok ? "ok #{what}" : "FAIL #{what}")
  $failures += 1 unless ok
end
dir = ARGV[0]
scale = (ENV["MRPROF_DEADLINE_SCALE"] || "1").to_i
t = set_timeout(60_000 * scale) { puts "FAIL deadline"; exit 3 }
t.unref
events = []
server = TLS.create_server(cert: "#{dir}/server.pem", key: "#{dir}/server.key", ca: "#{dir}/ca.pem",
                           request_cert: true, reject_unauthorized: false, alpn_protocols: ["h2", "http/1.1"],
                           sni: { "other.test" => { cert: "#{dir}/other.pem", key: "#{dir}/other.key" } }) do |s|
  events << :secure_connection
  s.on(:data) { |d| s.end("#{s.servername}|#{s.alpn_protocol}|#{s.authorized?}|#{(s.peer_certificate[:subject] || {})["CN"]}|#{d}") }
end
server.on(:connection) { |s| events << :connection; s.once(:secure) { events << :secure } }

steps = []
run_next = proc { steps.shift&.call }

# one(opts) { |sock, reply| } connects, sends "ping" before :secure, collects the reply
one = proc do |opts, blk|
  reply = String.new
  c = TLS.connect({ port: server.address[:port], ca: "#{dir}/ca.pem" }.merge(opts))
  c.write("pi")
  c.write("ng")
  c.on(:data) { |d| reply << d }
  c.on(:error) { |e| check(false, "client error #{e.message}") }
  c.on(:close) { blk.call(c, reply); run_next.call }
end

steps << proc do
  one.call({ host: "127.0.0.1", servername: "other.test", alpn_protocols: ["http/1.1"] }, proc do |c, reply|
    check(reply == "other.test|http/1.1|false||ping", "SNI other.test, ALPN http/1.1, writes queued before :secure (#{reply})")
    cert = c.peer_certificate
    check(cert[:subject] == { "CN" => "other.test" } && cert[:issuer] == { "CN" => "mrprof test CA" },
          "peer_certificate subject and issuer (#{cert[:subject].inspect} #{cert[:issuer].inspect})")
    check(cert[:subjectaltname] == "DNS:other.test", "subjectaltname #{cert[:subjectaltname].inspect}")
    check(cert[:fingerprint256].to_s =~ /\A([0-9A-F]{2}:){31}[0-9A-F]{2}\z/, "fingerprint256 #{cert[:fingerprint256]}")
    check(cert[:valid_to].to_s.end_with?("GMT") && cert[:serial_number].to_s =~ /\A[0-9A-F]+\z/, "valid_to and serial_number")
    check(c.authorized? && c.authorization_error.nil?, "authorized against other.test")
    check(c.servername == "other.test" && c.encrypted? && c.secure?, "servername, encrypted?, secure?")
    check(c.cipher[:version] == "TLSv1.3" && c.cipher[:name] == c.cipher[:standard_name], "cipher #{c.cipher.inspect}")
  end)
end
steps << proc do
  check(events.first(3) == [:connection, :secure, :secure_connection], "server events in order: #{events.first(3).inspect}")
  one.call({ host: "127.0.0.1", cert: "#{dir}/client.pem", key: "#{dir}/client.key" }, proc do |c, reply|
    check(reply == "||true|test-client|ping", "an IP host sends no SNI, no ALPN offered, client cert verified (#{reply})")
    check(c.alpn_protocol.nil? && c.servername.nil?, "no ALPN, no servername")
  end)
end
%w[TLSv1.3 TLSv1.2].each do |v|
  saved = nil
  steps << proc do
    reply = String.new
    c = TLS.connect(port: server.address[:port], host: "localhost", ca: "#{dir}/ca.pem", max_version: v) { c.write("x") }
    c.on(:session) { |s| saved = s }
    c.on(:data) { |d| reply << d }
    c.on(:close) do
      check(saved.is_a?(String) && !saved.empty? && c.session == saved, "#{v}: :session gave a session (#{saved&.bytesize} bytes)")
      check(!c.session_reused? && c.protocol == v, "#{v}: first connection is a full handshake")
      run_next.call
    end
  end
  steps << proc do
    c = TLS.connect(port: server.address[:port], host: "localhost", ca: "#{dir}/ca.pem", max_version: v, session: saved) { c.write("y") }
    c.on(:data) { }
    c.on(:close) do
      check(c.session_reused?, "#{v}: session: resumed it")
      check(c.peer_certificate[:subject] == { "CN" => "localhost" }, "#{v}: peer_certificate after resumption")
      run_next.call
    end
  end
end
steps << proc do
  # end before :secure: the data and close_notify go after the handshake
  reply = String.new
  c = TLS.connect(port: server.address[:port], ca: "#{dir}/ca.pem")
  c.end("early")
  c.on(:data) { |d| reply << d }
  c.on(:close) do |had_error|
    check(!had_error && reply.end_with?("|early"), "end(data) before :secure (#{reply})")
    run_next.call
  end
end
steps << proc do
  server.close
  puts($failures == 0 ? "all passed" : "#{$failures} failed")
  exit($failures == 0 ? 0 : 1)
end
server.listen(0) { run_next.call }
