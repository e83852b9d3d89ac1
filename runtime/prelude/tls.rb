# tls.rb — the Ruby half of TLS: Node's `tls` module for mrun (the C half is net/tls.c).
#
#   server = TLS.create_server(cert: "server.pem", key: "server.key") do |sock|
#     sock.on(:data) { |d| sock.write(d) }            # plaintext, as on a Net::Socket
#   end
#   server.listen(0)
#
#   sock = TLS.connect(host: "localhost", port: 8443, ca: "ca.pem") { sock.write("hi") }
#   sock.on(:data) { |d| puts d }
#
# A TLS::Socket is a Net::Socket whose TCP stream carries TLS records: the bytes read go through
# its engine (TLS::Engine, an OpenSSL SSL over memory BIOs) and the plaintext comes out as
# :data; write encrypts and sends. Every Net::Socket method and event works on the plaintext;
# writes made before the handshake completes wait for it. The hooks overridden here are the
# ones net.c calls (__on_data, __on_connect, __on_eof) and Net::Socket's write path
# (__do_write, __start_shutdown).
module TLS
  # A TLS failure: code as Node names it ("CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID",
  # "ERR_SSL_WRONG_VERSION_NUMBER", "ERR_TLS_HANDSHAKE_TIMEOUT", "ECONNRESET"), syscall where it
  # happened ("handshake", "read", "write"), reason OpenSSL's text ("certificate has expired").
  class Error < Net::Error
    attr_reader :reason

    def initialize(code, syscall, address = nil, port = nil, detail = nil)
      @reason = detail
      super
    end
  end

  DEFAULT_MIN_VERSION = "TLSv1.2"
  DEFAULT_MAX_VERSION = "TLSv1.3"
  HANDSHAKE_TIMEOUT = 120_000

  def self.connect(opts = {}, &on_secure)
    raise TypeError, "TLS.connect takes a Hash (host:, port:, ca:...), not #{opts.class}" unless opts.is_a?(Hash)
    Socket.new(opts).__tls_connect(opts, &on_secure)
  end

  def self.create_server(opts = {}, &on_secure_connection)
    Server.new(opts, &on_secure_connection)
  end

  def self.__timeout_ms(opts)
    ms = opts.key?(:handshake_timeout) ? opts[:handshake_timeout] : HANDSHAKE_TIMEOUT
    unless ms.is_a?(Integer) && ms >= 0
      raise ArgumentError, "handshake_timeout must be a non-negative Integer (ms), not #{ms.inspect}"
    end
    ms
  end

  # The client context for these options, made once and then shared by every TLS.connect with
  # the same ones: loading the system's store (a bundle of ~150 CAs) costs tens of ms, more
  # than a handshake. Files are read when a context is first made (as Node reads its CA bundle
  # once); at most CLIENT_CONTEXTS are kept (then the cache starts over).
  CLIENT_CONTEXTS = 64

  def self.__client_context(opts)
    verify = opts.key?(:verify) ? (opts[:verify] ? true : false) : true
    min = opts[:min_version] || DEFAULT_MIN_VERSION
    max = opts[:max_version] || DEFAULT_MAX_VERSION
    key = [opts[:ca], opts[:cert], opts[:key], verify, opts[:alpn_protocols], min, max]
    cache = (@client_contexts ||= {})
    ctx = cache[key]
    return ctx if ctx
    ctx = Context.new(server: false, ca: opts[:ca], cert: opts[:cert], key: opts[:key], verify: verify,
                      alpn_protocols: opts[:alpn_protocols], min_version: min, max_version: max)
    cache.clear if cache.size >= CLIENT_CONTEXTS
    cache[key.map { |v| v.is_a?(String) || v.is_a?(Array) ? v.dup.freeze : v }] = ctx
    ctx
  end

  def self.__server_context(opts)
    Context.new(server: true, cert: opts[:cert], key: opts[:key], ca: opts[:ca],
                request_cert: opts[:request_cert] ? true : false,
                reject_unauthorized: opts.key?(:reject_unauthorized) ? (opts[:reject_unauthorized] ? true : false) : true,
                alpn_protocols: opts[:alpn_protocols],
                min_version: opts[:min_version] || DEFAULT_MIN_VERSION,
                max_version: opts[:max_version] || DEFAULT_MAX_VERSION,
                session_timeout: opts[:session_timeout] || 300)
  end

  class Socket < Net::Socket
    alias __net_do_write __do_write
    alias __net_start_shutdown __start_shutdown
    alias __net_on_eof __on_eof
    # (Without an engine, i.e. connected by Net's own connect, a TLS::Socket is plain TCP.)

    def initialize(opts = {})
      super
      @engine = nil
      @secure = false
      @tls_queue = nil # plaintext writes made before :secure: [data, callback]
      @authorized = false
      @authorization_error = nil
    end

    # TLS.connect's work: the client's context and engine, then Net's connect.
    def __tls_connect(opts, &on_secure)
      host = opts[:host] || "127.0.0.1"
      @servername = opts.key?(:servername) ? opts[:servername] : (Net.ip_family(host.to_s) ? nil : host)
      if !@servername.nil? && !(@servername.is_a?(String) && !@servername.empty?)
        raise ArgumentError, "servername must be a non-empty String or nil, not #{@servername.inspect}"
      end
      @verify = opts.key?(:verify) ? (opts[:verify] ? true : false) : true
      @handshake_timeout = TLS.__timeout_ms(opts)
      ctx = TLS.__client_context(opts)
      # The name the certificate must match: the SNI name, else the host (a name or an IP).
      check = opts[:path] ? @servername : (@servername || host)
      @engine = Engine.new(ctx, @servername, check, opts[:session])
      once(:secure, on_secure) if on_secure
      connect(opts)
    end

    # TLS::Server's work at accept, before Net's __attach starts reading.
    def __tls_accept(engine, server, handshake_timeout)
      @engine = engine
      @tls_server = server
      @handshake_timeout = handshake_timeout
      __tls_start_timer
    end

    def encrypted?
      true
    end

    def authorized?
      @authorized
    end

    attr_reader :authorization_error

    def secure?
      @secure
    end

    def protocol
      @engine&.protocol
    end

    def cipher
      @engine&.cipher
    end

    def alpn_protocol
      @engine&.alpn_protocol
    end

    def servername
      @tls_server ? @engine&.servername : @servername
    end

    def peer_certificate
      @engine ? @engine.peer_certificate : {}
    end

    def session
      @engine&.session
    end

    def session_reused?
      @engine ? @engine.session_reused? : false
    end

    def destroy(error = nil)
      __tls_clear_timer
      super
    end

    # --- the hooks net.c calls --------------------------------------------------------------

    def __on_connect(err)
      super
      return if err || @destroyed || !@engine || @state != :open
      __tls_start_timer
      __tls_process(@engine.feed(nil)) # the ClientHello
    end

    def __on_data(data)
      return super unless @engine # a TLS::Socket connected with Net's connect: plain TCP
      __touch if @timeout_ms
      r = @engine.feed(data)
      data.clear # (see __release)
      __tls_process(r)
    end

    # The TCP stream ended. Before the handshake completed, that is a reset as Node reports it;
    # after a close_notify it is expected; otherwise (a peer that skips close_notify) it ends
    # the stream as Node does.
    def __on_eof
      return __net_on_eof unless @engine
      unless @secure
        return __tls_fail(["ECONNRESET", "the peer closed the connection before the TLS handshake completed",
                           "handshake"])
      end
      if @read_ended
        destroy if @shutdown_done
        return
      end
      __net_on_eof
    end

    # A system error on the TCP stream (a reset as the client gives up). Before :secure on a
    # server's socket, nobody but the server knows the socket yet: it is the server's
    # :tls_client_error, as a bad handshake is, never an :error with no listener (which raises
    # and ended the program: wrk's resets as it stops).
    def __on_error(code, message, syscall)
      return super unless @engine && @tls_server && !@secure
      __tls_fail([code, message, syscall])
    end

    private

    def __tls_process(r)
      plain = r[0]
      out = r[1]
      flags = r[2]
      if out && !@destroyed
        __net_do_write(out, nil)
        out.clear
      end
      return __tls_fail(r[3]) if r[3]
      __tls_secured if flags & Engine::SECURE != 0
      emit(:session, @engine.session) if flags & Engine::SESSION != 0 && !@destroyed
      __emit1(:data, plain) if plain && !@destroyed
      __on_eof if flags & Engine::PEER_CLOSED != 0 && !@read_ended && !@destroyed
    end

    def __tls_secured
      __tls_clear_timer
      @secure = true
      @authorization_error = @engine.verify_error
      @authorized = @authorization_error.nil? && !@engine.peer_certificate.empty?
      if @tls_server
        emit(:secure)
        @tls_server.__tls_secure(self)
      else
        emit(:secure)
      end
      queue = @tls_queue
      @tls_queue = nil
      queue&.each { |data, cb| __do_write(data, cb) unless @destroyed }
      __start_shutdown if @write_ended && !@destroyed
    end

    def __tls_fail(err)
      return if @destroyed
      address = @host || @path
      port = @port
      if @tls_server # the client's address
        address = remote_address
        port = remote_port
      end
      error = TLS::Error.new(err[0], err[2], address, port, err[1])
      if @tls_server && !@secure
        # A bad client: the server hears of it, the socket just goes.
        destroy
        @tls_server.__tls_client_error(error, self)
      else
        __fail(error)
      end
    end

    def __closed
      __tls_clear_timer
      super
    end

    def __tls_start_timer
      return if @handshake_timeout == 0 || @secure
      @handshake_timer = Timer.new(@handshake_timeout, false, [], proc {
        @handshake_timer = nil
        __tls_fail(["ERR_TLS_HANDSHAKE_TIMEOUT", "the TLS handshake did not complete in #{@handshake_timeout} ms",
                    "handshake"])
      })
      @handshake_timer.unref
    end

    def __tls_clear_timer
      @handshake_timer&.clear
      @handshake_timer = nil
    end

    # Plaintext in, ciphertext out; before the handshake completes, writes wait in order.
    def __do_write(data, callback)
      return __net_do_write(data, callback) unless @engine
      unless @secure
        (@tls_queue ||= []) << [data, callback]
        return true
      end
      begin
        cipher = @engine.write(data)
      rescue TLS::Error => e
        __fail(e)
        return false
      end
      if cipher.nil?
        set_immediate { callback.call } if callback
        return true
      end
      r = __net_do_write(cipher, callback)
      cipher.clear # (see below)
      r
    end

    # The ciphertext Strings (what was read, what was written) are ours alone and garbage as
    # soon as used: clear frees their buffers now. mruby's GC runs by object count, so 64 KiB
    # Strings made at every read and write otherwise pile up between collections (hundreds of
    # MB in a bulk transfer) and every new one lands on fresh pages. A write still queued keeps
    # its bytes: Net's __write copied them or holds a shared copy, which clear leaves alone.

    # end(): close_notify, then FIN (once the handshake is done: the writes queued before it
    # go out first).
    def __start_shutdown
      return __net_start_shutdown unless @engine
      return if @shutdown_started
      return unless @secure
      out = @engine.close_notify
      __net_do_write(out, nil) if out
      # That write can fail at once (the peer is gone: EPIPE), and the failure destroys the
      # socket: then there is nothing left to shut down.
      __net_start_shutdown unless @destroyed
    end
  end

  class Server < Net::Server
    def initialize(opts = {}, &on_secure_connection)
      raise TypeError, "TLS.create_server takes a Hash (cert:, key:...), not #{opts.class}" unless opts.is_a?(Hash)
      super(opts, &nil)
      @socket_class = TLS::Socket
      @handshake_timeout = TLS.__timeout_ms(opts)
      @ctx = TLS.__server_context(opts)
      sni = opts[:sni]
      if sni
        raise TypeError, "sni must be a Hash of name => {cert:, key:}, not #{sni.class}" unless sni.is_a?(Hash)
        sni.each do |name, o|
          unless name.is_a?(String) && o.is_a?(Hash)
            raise ArgumentError, "sni entries are \"name\" => {cert:, key:}, not #{name.inspect} => #{o.inspect}"
          end
          @ctx.__add_sni(name, TLS.__server_context(opts.merge(o)))
        end
      end
      on(:secure_connection, on_secure_connection) if on_secure_connection
    end

    def __on_connection(socket)
      socket.__tls_accept(Engine.new(@ctx, nil, nil, nil), self, @handshake_timeout)
      super
    end

    def __tls_secure(socket)
      emit(:secure_connection, socket)
    end

    def __tls_client_error(error, socket)
      emit(:tls_client_error, error, socket)
    end

    def __tls_socket_for?(socket)
      socket.is_a?(TLS::Socket) && socket.instance_variable_get(:@tls_server).equal?(self)
    end
  end
end
