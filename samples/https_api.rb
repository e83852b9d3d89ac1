# https_api.rb — a JSON API over HTTPS: a key-value store, and what TLS negotiated with the
# caller. It makes no certificate itself: give it a PEM certificate and key.
#
#   GET    /tls          {"protocol","cipher","alpn","sni","client"}: this connection's TLS
#   GET    /kv           every key and value (?prefix=P: the keys starting with P)
#   PUT    /kv/:key      body {"value": ...} -> 200 and the entry
#   GET    /kv/:key      the entry, or 404
#   DELETE /kv/:key      204, or 404
#   anything else on /kv: 405 (with Allow); another path: 404; a body that is not JSON: 400
#
#   tests/scripts/tls/make_certs.sh /tmp/pki        (a throwaway CA and a localhost certificate)
#   build/mrun samples/https_api.rb [PORT] [CERT KEY]
#       (default 8443; 0 lets the system choose; CERT KEY default to $HTTPS_CERT $HTTPS_KEY,
#        else /tmp/pki/server.pem /tmp/pki/server.key)
#   curl --cacert /tmp/pki/ca.pem -X PUT -d '{"value":42}' https://localhost:8443/kv/answer
#   curl --cacert /tmp/pki/ca.pem https://localhost:8443/kv
class KVAPI
  JSON_TYPE = { "Content-Type" => "application/json" }.freeze

  def initialize
    @store = {}
  end

  def call(req, res)
    path = req.path
    if path == "/tls"
      req.method == "GET" ? tls_info(req, res) : not_allowed(req, res, "GET")
    elsif path == "/kv"
      req.method == "GET" ? list(req, res) : not_allowed(req, res, "GET")
    elsif path.start_with?("/kv/") && path.size > 4
      key = path[4..-1]
      case req.method
      when "GET" then show(key, res)
      when "PUT" then req.read_body { |body| put(key, body, res) }
      when "DELETE" then delete(key, res)
      else not_allowed(req, res, "GET, PUT, DELETE")
      end
    else
      reply(res, 404, { "error" => "no route for #{path}" })
    end
  end

  private

  def tls_info(req, res)
    s = req.socket
    peer = s.peer_certificate
    reply(res, 200, { "protocol" => s.protocol, "cipher" => s.cipher[:name], "alpn" => s.alpn_protocol,
                      "sni" => s.servername, "client" => peer.empty? ? nil : peer[:subject]["CN"] })
  end

  def list(req, res)
    prefix = req.query["prefix"]
    out = {}
    @store.each { |k, v| out[k] = v if !prefix.is_a?(String) || k.start_with?(prefix) }
    reply(res, 200, out)
  end

  def put(key, body, res)
    data = begin
      JSON.parse(body)
    rescue JSON::ParserError => e
      return reply(res, 400, { "error" => "bad JSON: #{e.message}" })
    end
    return reply(res, 400, { "error" => "the body needs a \"value\"" }) unless data.is_a?(Hash) && data.key?("value")
    @store[key] = data["value"]
    reply(res, 200, { "key" => key, "value" => data["value"] })
  end

  def show(key, res)
    if @store.key?(key)
      reply(res, 200, { "key" => key, "value" => @store[key] })
    else
      reply(res, 404, { "error" => "no key #{key}" })
    end
  end

  def delete(key, res)
    if @store.key?(key)
      @store.delete(key)
      res.write_head(204)
      res.end
    else
      reply(res, 404, { "error" => "no key #{key}" })
    end
  end

  def not_allowed(req, res, allow)
    res.set_header("Allow", allow)
    reply(res, 405, { "error" => "#{req.method} not allowed on #{req.path}" })
  end

  def reply(res, status, obj)
    res.write_head(status, JSON_TYPE)
    res.end(JSON.generate(obj))
  end
end

port = (ARGV[0] || 8443).to_i
cert = ARGV[1] || ENV["HTTPS_CERT"] || "/tmp/pki/server.pem"
key = ARGV[2] || ENV["HTTPS_KEY"] || "/tmp/pki/server.key"
api = KVAPI.new
begin
  server = HTTPS.create_server(cert: cert, key: key) { |req, res| api.call(req, res) }
rescue ArgumentError, TLS::Error => e
  warn "https_api: #{e.message} (make a certificate with tests/scripts/tls/make_certs.sh DIR)"
  exit 1
end
server.on(:error) do |e|
  warn "https_api: #{e.message}"
  exit 1
end
server.on(:tls_client_error) { |e, _sock| warn "https_api: a client failed its handshake: #{e.code}" }
server.listen(port) do
  puts "https_api listening on https://localhost:#{server.address[:port]}/"
end
