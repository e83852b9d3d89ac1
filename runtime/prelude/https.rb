# https.rb — Node's `https` for mrun: the HTTP server and client (http_server.rb,
# http_client.rb, http_agent.rb) over TLS (tls.rb, net/tls.c), with no second HTTP code path:
# HTTPS::Server is HTTP::Server whose listener is a TLS::Server (requests come from its
# :secure_connection sockets), and HTTPS::Agent is HTTP::Agent whose create_connection is
# TLS.connect (pool key with the TLS options, TLS sessions kept per key and offered again).
#
#   server = HTTPS.create_server(cert: "server.pem", key: "server.key") do |req, res|
#     res.end("hello over #{req.socket.protocol}\n")
#   end
#   server.listen(8443)
#
#   HTTPS.get("https://localhost:8443/", ca: "ca.pem") { |res| res.read_body { |b| puts b } }
#
# See docs/script-api.md "## HTTPS".
module HTTPS
  # TLS.create_server's options an HTTPS server takes (the rest are HTTP::Server's).
  TLS_SERVER_OPTIONS = %i[cert key ca request_cert reject_unauthorized alpn_protocols min_version max_version
                          handshake_timeout sni session_timeout].freeze
  ALPN = ["http/1.1"].freeze

  def self.create_server(opts = {}, &handler)
    Server.new(opts, &handler)
  end

  # HTTP.request's API and options plus TLS.connect's (ca:, verify:, servername:, cert:, key:,
  # alpn_protocols:, min_version:, max_version:, handshake_timeout:). Only https URLs.
  def self.request(url_or_opts = {}, opts = {}, &on_response)
    HTTP::ClientRequest.new(url_or_opts, opts, nil, "https:", &on_response)
  end

  def self.get(url_or_opts = {}, opts = {}, &on_response)
    req = HTTP::ClientRequest.new(url_or_opts, opts, "GET", "https:", &on_response)
    req.end
    req
  end

  def self.global_agent
    @global_agent ||= Agent.new
  end

  def self.global_agent=(agent)
    raise TypeError, "global_agent must be an HTTPS::Agent, not #{agent.class}" unless agent.is_a?(Agent)
    @global_agent = agent
  end

  # The HTTP server on a TLS::Server. Extra events: :secure_connection(tls_socket) and
  # :tls_client_error(err, tls_socket) (a handshake that failed: the socket is gone, the
  # server keeps serving), as Node's https.Server.
  class Server < HTTP::Server
    def initialize(opts = {}, &handler)
      raise TypeError, "HTTPS.create_server takes a Hash of options (cert:, key:...), not #{opts.class}" unless opts.is_a?(Hash)
      raise ArgumentError, "HTTPS.create_server needs cert: and key: (PEM file paths)" unless opts[:cert] && opts[:key]
      tls = {}
      http = {}
      opts.each { |k, v| (TLS_SERVER_OPTIONS.include?(k) ? tls : http)[k] = v }
      tls[:alpn_protocols] ||= ALPN
      @tls_opts = tls
      super(http, &handler)
    end

    def __create_listener
      tls = TLS::Server.new(@tls_opts)
      @tls_opts = nil
      tls.on(:secure_connection) { |sock| emit(:secure_connection, sock) if listener_count(:secure_connection) > 0 }
      tls.on(:tls_client_error) { |err, sock| emit(:tls_client_error, err, sock) if listener_count(:tls_client_error) > 0 }
      tls
    end

    def __connection_event
      :secure_connection
    end
  end

  # HTTP::Agent for https: connections by TLS.connect (ALPN "http/1.1" unless alpn_protocols:
  # says otherwise), pooled per host, port and TLS options, and the TLS session of each pool key
  # kept (max_cached_sessions, oldest out first) and offered when a new connection opens, as
  # Node's https.Agent does. A session whose connection failed is forgotten.
  class Agent < HTTP::Agent
    attr_reader :max_cached_sessions

    def initialize(max_cached_sessions: 100, **opts)
      unless max_cached_sessions.is_a?(Integer) && max_cached_sessions >= 0
        raise ArgumentError, "max_cached_sessions must be a non-negative Integer, not #{max_cached_sessions.inspect}"
      end
      super(**opts)
      @max_cached_sessions = max_cached_sessions
      @sessions = {} # pool key => session (insertion order: the oldest first)
      @checked = {}  # pool keys whose TLS options made a context
    end

    def protocol
      "https:"
    end

    def get_name(opts)
      name = super
      HTTP::TLS_OPTIONS.each { |k| name = "#{name}:#{opts.key?(k) ? opts[k].inspect : ""}" }
      name
    end

    def create_connection(opts)
      key = get_name(opts)
      tls = opts.dup
      tls[:alpn_protocols] = ALPN unless tls.key?(:alpn_protocols)
      offered = @sessions[key]
      tls[:session] = offered if offered
      sock = TLS.connect(tls)
      sock.on(:session) { |s| __cache_session(key, s) }
      sock.on(:error) { |_e| @sessions.delete(key) if offered && @sessions[key].equal?(offered) }
      sock
    end

    # ClientRequest's check at the call: bad TLS options (a missing or bad PEM file, an unknown
    # version) raise there, not at connect on a later turn. The context is TLS's shared client
    # context for these options (TLS.__client_context), which the connections then use.
    def __check_options(opts)
      key = get_name(opts)
      return if @checked[key]
      sn = opts[:servername]
      raise ArgumentError, "servername must be a non-empty String or nil, not #{sn.inspect}" unless sn.nil? || (sn.is_a?(String) && !sn.empty?)
      TLS.__timeout_ms(opts)
      o = opts.dup
      o[:alpn_protocols] = ALPN unless o.key?(:alpn_protocols)
      TLS.__client_context(o)
      @checked.clear if @checked.size >= 1000
      @checked[key] = true
    end

    # The TLS session kept for a pool key (nil when none): what the next connection offers.
    def session_for(key)
      @sessions[key]
    end

    def cached_sessions
      @sessions.size
    end

    def destroy
      @sessions.clear
      super
    end

    private

    def __cache_session(key, session)
      return if @max_cached_sessions == 0 || session.nil?
      @sessions.delete(key)
      @sessions.shift while @sessions.size >= @max_cached_sessions
      @sessions[key] = session
    end
  end
end
