# server.rb PKI [CERT_NAME] [request_cert]: an HTTPS server for curl and openssl s_client, on
# 127.0.0.1 port 0 (prints "listening PORT"). CERT_NAME: server (default), expired, other...
#   GET /info  -> "PROTOCOL ALPN SOCKET_CLASS authorized=BOOL peer=CN"
#   GET /conn  -> the client's port (a reused connection shows the same)
#   POST /echo -> the body
#   GET /quit  -> answers, then closes the server (the script ends)
# A failed handshake prints "tls_client_error CODE" on stderr; the server keeps serving.
pki = ARGV[0]
name = ARGV[1] || "server"
opts = { cert: "#{pki}/#{name}.pem", key: "#{pki}/#{name}.key", max_body_size: 64 * 1024 * 1024 }
opts.merge!(ca: "#{pki}/ca.pem", request_cert: true, reject_unauthorized: false) if ARGV[2] == "request_cert"
server = HTTPS.create_server(opts) do |req, res|
  s = req.socket
  case req.path
  when "/info"
    cn = s.peer_certificate.empty? ? "-" : s.peer_certificate[:subject]["CN"]
    res.end("#{s.protocol} #{s.alpn_protocol} #{s.class} authorized=#{s.authorized?} peer=#{cn}\n")
  when "/conn"
    res.end("#{s.remote_port}\n")
  when "/echo"
    req.read_body { |b| res.end(b) }
  when "/quit"
    res.set_header("Connection", "close")
    res.end("bye\n")
    server.close
  else
    res.write_head(404)
    res.end("not found\n")
  end
end
server.on(:tls_client_error) { |e, _s| $stderr.puts "tls_client_error #{e.code}" }
server.listen(0) { puts "listening #{server.address[:port]}"; $stdout.flush }
