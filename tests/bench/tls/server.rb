# server.rb CERT KEY MODE BYTES — mrun's TLS server for tests/bench/tls.sh (twin of
# tests/bench/node/tls_server.js). MODE sink: each connection reads BYTES, then writes "done"
# and ends. MODE source: each connection is sent BYTES (honouring backpressure), then ends.
# MODE handshake: nothing but the handshake (openssl s_time). Prints "listening 127.0.0.1:PORT".
cert, key, mode, bytes = ARGV
bytes = bytes.to_i
chunk = "x" * 65536
server = TLS.create_server(cert: cert, key: key) do |s|
  s.on(:error) { }
  if mode == "sink"
    got = 0
    s.on(:data) do |d|
      got += d.bytesize
      s.end("done") if got >= bytes
    end
  elsif mode == "source"
    sent = 0
    pump = proc do
      while sent < bytes
        sent += chunk.bytesize
        unless s.write(chunk)
          s.once(:drain) { pump.call }
          break
        end
      end
      s.end if sent >= bytes
    end
    pump.call
  else
    s.on(:data) { }
  end
end
server.on(:tls_client_error) { }
server.listen(0) { puts "listening 127.0.0.1:#{server.address[:port]}" }
