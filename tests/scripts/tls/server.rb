# server.rb — a TLS server for the e2e tests, peer of `openssl s_client`.
#   mrun server.rb DIR count=N [cert=server] [ca=1] [request_cert=1] [reject=0]
#                  [alpn=h2,http/1.1] [sni=other.test:other] [min=TLSv1.2] [max=TLSv1.3]
#                  [expect=BYTES] [timeout=MS]
# DIR holds make_certs.sh's files. Prints "PORT n" once listening, then one line per event:
#   secure protocol=.. alpn=.. servername=.. authorized=.. peer=CN reused=..
#   client_error CODE reason          (a :tls_client_error)
# Each connection answers its first read with "echo:" + what it read and ends (close_notify,
# FIN); with expect=BYTES it echoes the bytes as they come and ends after BYTES. After N connections
# (secure or failed) the server closes, so the script exits when the last one is gone.
dir = ARGV[0]
o = {}
ARGV[1..-1].each { |a| k, v = a.split("=", 2); o[k] = v }
count = (o["count"] || "1").to_i
cert = o["cert"] || "server"
opts = { cert: "#{dir}/#{cert}.pem", key: "#{dir}/#{cert}.key" }
opts[:ca] = "#{dir}/ca.pem" if o["ca"]
opts[:request_cert] = true if o["request_cert"]
opts[:reject_unauthorized] = false if o["reject"] == "0"
opts[:alpn_protocols] = o["alpn"].split(",") if o["alpn"]
opts[:min_version] = o["min"] if o["min"]
opts[:max_version] = o["max"] if o["max"]
opts[:handshake_timeout] = o["timeout"].to_i if o["timeout"]
if o["sni"]
  opts[:sni] = {}
  o["sni"].split(",").each do |e|
    name, c = e.split(":")
    opts[:sni][name] = { cert: "#{dir}/#{c}.pem", key: "#{dir}/#{c}.key" }
  end
end
expect = o["expect"] ? o["expect"].to_i : nil
seen = 0
server = nil
done = proc do
  seen += 1
  server.close if seen == count
end
server = TLS.create_server(opts) do |s|
  peer = s.peer_certificate
  puts "secure protocol=#{s.protocol} alpn=#{s.alpn_protocol.inspect} servername=#{s.servername.inspect} " \
       "authorized=#{s.authorized?} peer=#{peer[:subject] ? peer[:subject]["CN"] : "none"} " \
       "reused=#{s.session_reused?} encrypted=#{s.encrypted?}"
  got = 0
  s.on(:data) do |d|
    if expect
      got += d.bytesize
      s.pause unless s.write(d)
      s.end if got >= expect
    else
      s.end("echo:#{d}") # then close_notify: s_client prints "closed" and exits
    end
  end
  s.on(:drain) { s.resume }
  s.on(:end) { puts "end" unless expect }
  # A system error (ECONNRESET from a peer that resets) is a Net::Error, which has no reason.
  s.on(:error) { |e| puts "error #{e.code} #{e.respond_to?(:reason) ? e.reason : e.message}" }
  s.on(:close) { puts "received #{got}" if expect; done.call }
end
server.on(:tls_client_error) do |e, s|
  puts "client_error #{e.code} #{e.respond_to?(:reason) ? e.reason : e.message} destroyed=#{s.destroyed?}"
  done.call
end
server.on(:error) { |e| puts "server error #{e.message}"; exit 1 }
server.listen(0) { puts "PORT #{server.address[:port]}" }
