# client.rb PKI PORTFILE: the HTTPS client against pyserver.py (Python's http.server in
# ssl.SSLContext): GET and POST, the TLS socket under the response, keep-alive reuse and TLS
# session resumption on the Agent, a wrong host name, an expired and a self-signed certificate
# refused with TLS::Error codes, verify: false, the pool key, bad arguments.
require_relative "../http_client/helper"
deadline(30_000)
PKI = ARGV[0]
CA = "#{PKI}/ca.pem"
PORTS = {}
File.read(ARGV[1]).split.each { |kv| k, v = kv.split("="); PORTS[k] = v.to_i }
GOOD = "https://localhost:#{PORTS["good"]}"

def get(url, opts = {}, &cb)
  req = HTTPS.get(url, opts) { |res| res.read_body { |b| cb.call(res, b) } }
  req.on(:error) { |e| cb.call(e, nil) }
  req
end

# get, where an error is a failed check and the script stops (the steps after need the answer).
def get!(url, opts = {}, &cb)
  get(url, opts) do |res, body|
    if body.nil?
      check(false, "GET #{url}: #{res.class} #{res.message}")
      finish
    end
    cb.call(res, body)
  end
end

agent = HTTPS::Agent.new
first_socket = nil
steps([
  ["GET over TLS with ca:", proc do |done|
    get!("#{GOOD}/hello", ca: CA, agent: agent) do |res, body|
      check(res.is_a?(HTTP::IncomingMessage) && res.status == 200 && body == "hello world", "GET /hello: #{res.inspect[0, 200]} #{body.inspect}")
      s = res.socket
      first_socket = s
      check(s.is_a?(TLS::Socket) && s.encrypted? && s.authorized?, "res.socket is an authorized TLS::Socket (#{s.class})")
      check(%w[TLSv1.2 TLSv1.3].include?(s.protocol), "protocol #{s.protocol}")
      check(s.alpn_protocol == "http/1.1", "ALPN http/1.1 offered by the client and chosen: #{s.alpn_protocol.inspect}")
      check(s.servername == "localhost", "SNI localhost: #{s.servername.inspect}")
      check(s.peer_certificate[:subject].inspect.include?("localhost"), "peer certificate subject #{s.peer_certificate[:subject].inspect}")
      check(res.url == "#{GOOD}/hello", "res.url #{res.url}")
      done.call
    end
  end],
  ["keep-alive: the next request reuses the TLS connection", proc do |done|
    get!("#{GOOD}/conn", ca: CA, agent: agent) do |res, body|
      check(res.socket.equal?(first_socket), "same TLS::Socket for the second request")
      get!("#{GOOD}/conn", ca: CA, agent: agent) do |res2, body2|
        check(body2 == body && res2.status == 200, "same client port at the server: #{body} #{body2}")
        check(agent.free_sockets.values.flatten.size == 1, "one free socket in the pool: #{agent.free_sockets.keys}")
        done.call
      end
    end
  end],
  ["POST a body", proc do |done|
    payload = "x" * 100_000 + "end"
    req = HTTPS.request("#{GOOD}/echo", method: "POST", ca: CA, agent: agent) do |res|
      res.read_body do |b|
        check(res.status == 200 && b == payload, "POST echo of #{payload.size} bytes: #{b.size}")
        done.call
      end
    end
    req.on(:error) { |e| check(false, "POST: #{e.message}"); done.call }
    req.end(payload)
  end],
  ["a new connection after a close resumes the TLS session", proc do |done|
    key = agent.sockets.keys[0] || agent.free_sockets.keys[0]
    check(!key.nil? && !agent.session_for(key).nil?, "the agent kept a session for #{key.inspect}")
    agent.free_sockets.values.flatten.each(&:destroy)
    set_timeout(10) do
      get!("#{GOOD}/tls", ca: CA, agent: agent) do |res, body|
        check(!res.socket.equal?(first_socket), "a new connection")
        check(res.socket.session_reused?, "session_reused? on the new connection")
        check(body.to_s.end_with?("reused=True"), "the server resumed it too: #{body.inspect}")
        done.call
      end
    end
  end],
  ["HTTP.get of an https URL goes over TLS on HTTPS.global_agent", proc do |done|
    req = HTTP.get("#{GOOD}/hello", ca: CA) do |res|
      res.read_body do |b|
        check(b == "hello world" && res.socket.is_a?(TLS::Socket), "HTTP.get https: #{b.inspect}")
        check(req.agent.equal?(HTTPS.global_agent), "on HTTPS.global_agent")
        HTTPS.global_agent.destroy
        done.call
      end
    end
    req.on(:error) { |e| check(false, "HTTP.get https: #{e.message}"); done.call }
  end],
  ["127.0.0.1 by IP: the certificate's IP SAN", proc do |done|
    get!("https://127.0.0.1:#{PORTS["good"]}/hello", ca: CA, agent: false) do |res, body|
      check(body == "hello world" && res.socket.servername.nil?, "by IP: #{body.inspect} sni #{res.socket.servername.inspect}")
      done.call
    end
  end],
  ["a wrong host name is refused", proc do |done|
    get("https://localhost:#{PORTS["other"]}/hello", ca: CA, agent: false) do |e, body|
      check(e.is_a?(TLS::Error) && body.nil?, "TLS::Error: #{e.class}")
      check(e.code == "ERR_TLS_CERT_ALTNAME_INVALID" && e.message.include?("hostname mismatch"), "code #{e.code}: #{e.message}")
      done.call
    end
  end],
  ["an expired certificate is refused", proc do |done|
    get("https://localhost:#{PORTS["expired"]}/hello", ca: CA, agent: false) do |e, _|
      check(e.is_a?(TLS::Error) && e.code == "CERT_HAS_EXPIRED" && e.message.include?("certificate has expired"),
            "expired: #{e.class} #{e.respond_to?(:code) ? e.code : ""} #{e.message}")
      done.call
    end
  end],
  ["a self-signed certificate is refused, and our CA unknown to the system store", proc do |done|
    get("https://localhost:#{PORTS["self"]}/hello", ca: CA, agent: false) do |e, _|
      check(e.is_a?(TLS::Error) && e.code == "DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed: #{e.respond_to?(:code) ? e.code : e.inspect}")
      get("#{GOOD}/hello", agent: false) do |e2, _|
        check(e2.is_a?(TLS::Error) && %w[UNABLE_TO_VERIFY_LEAF_SIGNATURE UNABLE_TO_GET_ISSUER_CERT_LOCALLY].include?(e2.code),
              "the system store does not know the test CA: #{e2.respond_to?(:code) ? e2.code : e2.inspect}")
        done.call
      end
    end
  end],
  ["verify: false connects anyway, authorized? false", proc do |done|
    get!("https://localhost:#{PORTS["self"]}/hello", verify: false, agent: false) do |res, body|
      check(body == "hello world", "verify: false body #{body.inspect} #{res.inspect[0, 120]}")
      check(res.respond_to?(:socket) && !res.socket.authorized? && res.socket.authorization_error == "DEPTH_ZERO_SELF_SIGNED_CERT",
            "authorized? false, authorization_error #{res.respond_to?(:socket) ? res.socket.authorization_error.inspect : ""}")
      done.call
    end
  end],
  ["the pool key holds the TLS options", proc do |done|
    a = HTTPS::Agent.new
    k1 = a.get_name(host: "localhost", port: 1, ca: CA)
    k2 = a.get_name(host: "localhost", port: 1, verify: false)
    k3 = HTTP::Agent.new.get_name(host: "localhost", port: 1)
    check(k1 != k2 && k1.start_with?("localhost:1:") && k3 == "localhost:1", "keys #{k1} | #{k2} | #{k3}")
    get!("#{GOOD}/hello", ca: CA, agent: a) do
      get!("#{GOOD}/hello", verify: false, agent: a) do
        check(a.free_sockets.size == 2, "two pools for two TLS configurations: #{a.free_sockets.size}")
        a.destroy
        done.call
      end
    end
  end],
  ["bad arguments raise at the call", proc do |done|
    errs = []
    [proc { HTTPS.get("http://localhost:1/") },
     proc { HTTPS.get("#{GOOD}/", agent: HTTP::Agent.new) },
     proc { HTTP.get("http://localhost:1/", agent: HTTPS::Agent.new) },
     proc { HTTPS.get("ftp://localhost/") }].each do |pr|
      begin
        pr.call
        errs << "none"
      rescue HTTP::Error => e
        errs << e.code
      end
    end
    check(errs == ["ERR_INVALID_PROTOCOL"] * 4, "ERR_INVALID_PROTOCOL for each: #{errs}")
    begin
      HTTPS.get("#{GOOD}/", ca: "/nonexistent/ca.pem", agent: false)
      check(false, "a missing CA file raised nothing")
    rescue => e
      check(e.message.include?("/nonexistent/ca.pem"), "a missing CA file: #{e.class} #{e.message}")
    end
    done.call
  end],
  ["default port 443", proc do |done|
    r = HTTPS.request("https://localhost/x")
    check(r.port == 443 && r.protocol == "https:", "port #{r.port} #{r.protocol}")
    r.on(:error) { |_e| }
    r.abort
    done.call
  end],
])
