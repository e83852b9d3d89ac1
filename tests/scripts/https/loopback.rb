# loopback.rb PKI: an HTTPS server and its clients in one process. Bad input (a plain-HTTP
# client, garbage bytes, a ClientHello cut short, a client that does not trust the server)
# gets an error and a :tls_client_error while the server keeps serving; redirects http -> https
# are followed and https -> http refused; a client certificate reaches req.socket; Connection:
# close, server close; every fd opened is closed at the end.
require_relative "../http_client/helper"
deadline(30_000)
PKI = ARGV[0]
CA = "#{PKI}/ca.pem"

def fd_count
  (0...4096).count { |i| File.exist?("/proc/self/fd/#{i}") }
end

# The silent client's wait; a slow run (valgrind: a handshake can take seconds) gets more.
HANDSHAKE_MS = (2000 * (ENV["MRPROF_DEADLINE_SCALE"] || "1").to_f).to_i
fds = nil # counted once both servers listen (libuv's first listen opens a spare fd for EMFILE)
client_errors = []
server = HTTPS.create_server(cert: "#{PKI}/server.pem", key: "#{PKI}/server.key", ca: CA, request_cert: true,
                             reject_unauthorized: false, handshake_timeout: HANDSHAKE_MS,
                             keep_alive_timeout: 120_000) do |req, res| # slow runs (valgrind) keep the pool alive
  s = req.socket
  case req.path
  when "/down"
    res.write_head(302, "Location" => "http://127.0.0.1:#{$plain_port}/plain")
    res.end
  when "/who"
    cn = s.peer_certificate.empty? ? "-" : s.peer_certificate[:subject]["CN"]
    res.end("#{s.class} #{s.alpn_protocol} authorized=#{s.authorized?} peer=#{cn}")
  else
    req.read_body { |b| res.end("#{req.method} #{req.path} #{b.size}") }
  end
end
server.on(:tls_client_error) { |e, _s| client_errors << e.code }
secure = 0
server.on(:secure_connection) { |_s| secure += 1 }
plain = HTTP.create_server do |req, res|
  res.write_head(301, "Location" => "https://localhost:#{$tls_port}/secure")
  res.end
end

# Calls the block once cond holds, or after ms (slow runs: valgrind) whatever it says.
def wait_for(cond, ms = 3000, &block)
  left = (ms * (ENV["MRPROF_DEADLINE_SCALE"] || "1").to_f / 10).to_i
  poll = nil
  poll = proc { (cond.call || (left -= 1) <= 0) ? block.call : set_timeout(10) { poll.call } }
  poll.call
end

def https_ok(port, what, &after)
  req = HTTPS.get("https://localhost:#{port}/ok", ca: CA, agent: false) do |res|
    res.read_body do |b|
      check(res.status == 200 && b == "GET /ok 0", "#{what}: the server still serves (#{b.inspect})")
      after.call
    end
  end
  req.on(:error) { |e| check(false, "#{what}: #{e.message}"); after.call }
end

def raw(port, bytes, &after)
  c = Net.create_connection(port: port) { c.write(bytes) }
  got = ""
  c.on(:data) { |d| got << d }
  c.on(:error) { |_e| }
  c.on(:close) { after.call(got) }
  c
end

server.listen(0) do
  port = $tls_port = server.address[:port]
  plain.listen(0) do
    $plain_port = plain.address[:port]
    fds = fd_count - 2 # the two listening sockets close at the end
    steps([
      ["a plain HTTP client gets an error", proc do |done|
        req = HTTP.get("http://127.0.0.1:#{port}/ok") { |res| check(false, "a plain response came: #{res.status}") }
        req.on(:error) do |e|
          check(%w[ECONNRESET HPE_INVALID_CONSTANT].include?(e.code), "plain HTTP to HTTPS: #{e.code} #{e.message}")
          wait_for(proc { client_errors.include?("ERR_SSL_HTTP_REQUEST") }) do
            check(client_errors.include?("ERR_SSL_HTTP_REQUEST"), "tls_client_error ERR_SSL_HTTP_REQUEST: #{client_errors}")
            https_ok(port, "after a plain HTTP client") { done.call }
          end
        end
      end],
      ["garbage bytes", proc do |done|
        n = client_errors.size
        raw(port, "\x16\x03\x01\x00\x05garbage and more garbage" * 10) do |_got|
          check(client_errors.size == n + 1, "garbage: a tls_client_error (#{client_errors[n..-1]})")
          https_ok(port, "after garbage") { done.call }
        end
      end],
      ["a ClientHello cut short, then EOF", proc do |done|
        n = client_errors.size
        c = raw(port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") do
          check(client_errors[n] == "ECONNRESET", "cut handshake: #{client_errors[n..-1]}")
          https_ok(port, "after a cut handshake") { done.call }
        end
        set_timeout(50) { c.end }
      end],
      ["a ClientHello cut short, then silence: the handshake timeout", proc do |done|
        n = client_errors.size
        raw(port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") do
          check(client_errors[n] == "ERR_TLS_HANDSHAKE_TIMEOUT", "silent client: #{client_errors[n..-1]}")
          https_ok(port, "after a silent client") { done.call }
        end
      end],
      ["a client that does not trust the server's CA", proc do |done|
        n = client_errors.size
        req = HTTPS.get("https://localhost:#{port}/ok", agent: false) { check(false, "trusted an unknown CA") }
        req.on(:error) do |e|
          check(e.is_a?(TLS::Error) && %w[UNABLE_TO_GET_ISSUER_CERT_LOCALLY SELF_SIGNED_CERT_IN_CHAIN].include?(e.code), "client: #{e.code}")
          wait_for(proc { client_errors.size > n }) do
            check(client_errors[n].to_s.start_with?("ERR_SSL_"), "server: #{client_errors[n..-1]}")
            done.call
          end
        end
      end],
      ["a client certificate reaches req.socket", proc do |done|
        req = HTTPS.get("https://localhost:#{port}/who", ca: CA, cert: "#{PKI}/client.pem", key: "#{PKI}/client.key", agent: false) do |res|
          res.read_body do |b|
            check(b == "TLS::Socket http/1.1 authorized=true peer=test-client", "with a client cert: #{b}")
            HTTPS.get("https://localhost:#{port}/who", ca: CA, agent: false) do |res2|
              res2.read_body do |b2|
                check(b2 == "TLS::Socket http/1.1 authorized=false peer=-", "without: #{b2}")
                done.call
              end
            end
          end
        end
        req.on(:error) { |e| check(false, "client cert: #{e.message}"); done.call }
      end],
      ["http -> https redirect followed", proc do |done|
        req = HTTP.request("http://127.0.0.1:#{$plain_port}/start", follow_redirects: true, ca: CA, method: "POST") do |res|
          res.read_body do |b|
            check(res.status == 200 && b == "GET /secure 0" && res.socket.is_a?(TLS::Socket), "followed to https: #{res.status} #{b}")
            check(res.url == "https://localhost:#{port}/secure" && req.redirect_count == 1, "url #{res.url}")
            check(req.agent.is_a?(HTTPS::Agent), "on an HTTPS agent: #{req.agent.class}")
            HTTPS.global_agent.destroy
            HTTP.global_agent.destroy
            done.call
          end
        end
        req.on(:error) { |e| check(false, "http -> https: #{e.message}"); done.call }
        req.end("body")
      end],
      ["https -> http redirect refused", proc do |done|
        req = HTTPS.get("https://localhost:#{port}/down", ca: CA, follow_redirects: true, agent: false) { check(false, "followed to http") }
        req.on(:error) do |e|
          check(e.code == "ERR_INSECURE_REDIRECT" && e.message.include?("http://127.0.0.1"), "refused: #{e.code} #{e.message}")
          done.call
        end
      end],
      ["many requests, keep-alive and Connection: close", proc do |done|
        agent = HTTPS::Agent.new(max_sockets: 4)
        left = 40
        40.times do |i|
          req = HTTPS.request("https://localhost:#{port}/n#{i}", method: "POST", ca: CA, agent: agent,
                              headers: i % 10 == 9 ? { "Connection" => "close" } : {}) do |res|
            res.read_body do |b|
              check(b == "POST /n#{i} #{i * 100}", "request #{i}") unless b == "POST /n#{i} #{i * 100}"
              left -= 1
              if left == 0
                check(true, "40 requests on at most 4 connections")
                agent.destroy
                done.call
              end
            end
          end
          req.on(:error) do |e|
            check(false, "request #{i}: #{e.message}")
            left -= 1
            done.call if left == 0
          end
          req.end("x" * (i * 100))
        end
      end],
      ["close: every fd back", proc do |done|
        plain.close
        server.close do
          wait_for(proc { fd_count == fds }) do
            check(secure > 10, "secure connections counted by :secure_connection (#{secure})")
            check(fd_count == fds, "no fd left open (#{fds} before, #{fd_count} after)")
            done.call
          end
        end
      end],
    ])
  end
end
