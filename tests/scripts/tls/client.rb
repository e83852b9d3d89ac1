# client.rb — a TLS client for the e2e tests, peer of `openssl s_server`.
#   mrun client.rb DIR port=N [host=127.0.0.1] [servername=NAME|none] [ca=ca|none] [verify=0]
#                  [alpn=h2,http/1.1] [cert=client] [min=..] [max=..] [send=TEXT|www]
#                  [big=BYTES] [session_in=FILE] [session_out=FILE] [expect_file=FILE]
# DIR holds make_certs.sh's files (ca=NAME picks DIR/NAME.pem; ca=none: the system's store).
# Prints one line per event: "secure authorized=.. error=.. protocol=.. alpn=.. reused=..
# cn=..", "received N", "same as FILE" / "differs from FILE", "end", "close had_error=..",
# "error CODE (reason)". Sends TEXT (www: an HTTP/1.0 GET, s_server -www's request), or BIG
# bytes, then waits for the peer to end.
dir = ARGV[0]
o = {}
ARGV[1..-1].each { |a| k, v = a.split("=", 2); o[k] = v }
opts = { port: o["port"].to_i, host: o["host"] || "127.0.0.1" }
opts[:servername] = (o["servername"] == "none" ? nil : o["servername"]) if o["servername"]
ca = o["ca"] || "ca"
opts[:ca] = "#{dir}/#{ca}.pem" unless ca == "none"
opts[:verify] = false if o["verify"] == "0"
opts[:alpn_protocols] = o["alpn"].split(",") if o["alpn"]
opts[:cert], opts[:key] = "#{dir}/#{o["cert"]}.pem", "#{dir}/#{o["cert"]}.key" if o["cert"]
opts[:min_version] = o["min"] if o["min"]
opts[:max_version] = o["max"] if o["max"]
opts[:session] = File.open(o["session_in"], "rb") { |f| f.read } if o["session_in"]
big = o["big"] ? o["big"].to_i : nil
got = []
size = 0
sock = TLS.connect(opts) do
  cn = (sock.peer_certificate[:subject] || {})["CN"]
  puts "secure authorized=#{sock.authorized?} error=#{sock.authorization_error.inspect} " \
       "protocol=#{sock.protocol} alpn=#{sock.alpn_protocol.inspect} reused=#{sock.session_reused?} cn=#{cn}"
end
if big
  chunk = "0123456789abcdef" * 4096 # 64 KiB
  sent = 0
  pump = proc do
    while sent < big
      n = [chunk.bytesize, big - sent].min
      sent += n
      unless sock.write(n == chunk.bytesize ? chunk : chunk[0, n])
        sock.once(:drain) { pump.call }
        break
      end
    end
    sock.end if sent >= big
  end
  pump.call
else
  text = o["send"] || "www"
  sock.write(text == "www" ? "GET / HTTP/1.0\r\n\r\n" : text)
end
sock.on(:data) do |d|
  size += d.bytesize
  got << d if o["expect_file"] || !big
end
sock.on(:session) do |s|
  File.open(o["session_out"], "wb") { |f| f.write(s) } if o["session_out"]
end
sock.on(:end) do
  puts "end"
  puts "received #{size}"
  if o["expect_file"]
    want = File.open(o["expect_file"], "rb") { |f| f.read }
    puts(got.join == want ? "same as #{o["expect_file"]}" : "differs from #{o["expect_file"]}")
  elsif !big
    puts got.join.split("\n").grep(/Protocol|Reused|New,|Cipher is|echo/).join("\n")
  end
end
sock.on(:error) { |e| puts "error #{e.code} (#{(e.reason if e.respond_to?(:reason)) || e.message})" }
sock.on(:close) { |had_error| puts "close had_error=#{had_error}" }
