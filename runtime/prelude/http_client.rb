# http_client.rb — the HTTP/1.1 client: Node's `http.request` / `http.get` / `http.Agent` in Ruby
# spelling, on Net sockets and the C parser (HTTP::Parser, net/http.c).
#
#   HTTP.get("http://127.0.0.1:8080/x") { |res| res.read_body { |body| puts res.status, body } }
#   req = HTTP.request(method: "POST", port: 8080, path: "/echo") { |res| ... }
#   req.on(:error) { |e| warn e.code }
#   req.end("payload")
#
# A request takes a socket from its Agent (a keep-alive pool per "host:port"), sends its head
# with the first write or at end, and parses the response as it arrives. Errors (refused, reset,
# timed out, a malformed response) are :error events on the request carrying an HTTP::Error
# with a code; with no :error listener they raise (EventEmitter's rule). Errors of the caller
# (a bad URL, header or argument) raise at the call. See docs/script-api.md "### HTTP client".
module HTTP
  # Methods a request may be sent again for when its reused keep-alive socket turns out dead
  # before any byte of the response came (RFC 9110 9.2.2).
  IDEMPOTENT_METHODS = %w[GET HEAD PUT DELETE OPTIONS TRACE].freeze
  # Methods that send no body by default: no Content-Length: 0 for them (Node's rule).
  BODYLESS_METHODS = %w[GET HEAD DELETE OPTIONS TRACE CONNECT].freeze
  REDIRECT_STATUSES = [301, 302, 303, 307, 308].freeze
  MAX_REDIRECTS = 5

  # RFC 9110's token: a method or a header name.
  def self.__token?(str)
    return false if str.empty?
    str.each_byte do |b|
      return false if b <= 32 || b >= 127 || "\"(),/:;<=>?@[\\]{}".include?(b.chr)
    end
    true
  end

  # "http://user:pw@host:port/path?q" => {protocol:, host:, port:, path:, auth:} ("https://":
  # protocol "https:", port 443 by default); raises HTTP::Error ERR_INVALID_URL /
  # ERR_INVALID_PROTOCOL.
  def self.__parse_url(url)
    raise TypeError, "url must be a String, not #{url.class}" unless url.is_a?(String)
    scheme, sep, rest = url.partition("://")
    raise HTTP::Error.new("Invalid URL: #{url}", "ERR_INVALID_URL") if sep.empty? || scheme.empty?
    scheme = scheme.downcase
    unless scheme == "http" || scheme == "https"
      raise HTTP::Error.new("Protocol \"#{scheme}:\" not supported. Expected \"http:\" or \"https:\"",
                            "ERR_INVALID_PROTOCOL")
    end
    cut = 0
    cut += 1 while cut < rest.size && !"/?#".include?(rest[cut])
    authority = rest[0, cut]
    path = rest[cut..-1]
    path = path.partition("#")[0]
    path = "/#{path}" if path.start_with?("?")
    path = "/" if path.empty?
    auth = nil
    if authority.include?("@")
      auth, _, authority = authority.rpartition("@")
    end
    if authority.start_with?("[")
      close = authority.index("]")
      raise HTTP::Error.new("Invalid URL: #{url}", "ERR_INVALID_URL") unless close
      host = authority[1...close]
      port_s = authority[(close + 1)..-1]
      raise HTTP::Error.new("Invalid URL: #{url}", "ERR_INVALID_URL") unless port_s.empty? || port_s.start_with?(":")
      port_s = port_s[1..-1] || ""
    else
      host, _, port_s = authority.partition(":")
    end
    raise HTTP::Error.new("Invalid URL: #{url}", "ERR_INVALID_URL") if host.empty?
    port = scheme == "https" ? 443 : 80
    unless port_s.empty?
      unless port_s.bytes.all? { |b| b >= 48 && b <= 57 } && port_s.size <= 5 && port_s.to_i <= 65535
        raise HTTP::Error.new("Invalid URL: #{url}", "ERR_INVALID_URL")
      end
      port = port_s.to_i
    end
    { protocol: "#{scheme}:", host: host, port: port, path: path, auth: auth }
  end

  def self.request(url_or_opts = {}, opts = {}, &on_response)
    ClientRequest.new(url_or_opts, opts, &on_response)
  end

  # request with method GET, ended at once.
  def self.get(url_or_opts = {}, opts = {}, &on_response)
    req = ClientRequest.new(url_or_opts, opts, "GET", &on_response)
    req.end
    req
  end

  def self.global_agent
    @global_agent ||= Agent.new
  end

  def self.global_agent=(agent)
    raise TypeError, "global_agent must be an HTTP::Agent, not #{agent.class}" unless agent.is_a?(Agent)
    @global_agent = agent
  end

  # The client's side of IncomingMessage: a response's status line.
  class IncomingMessage
    attr_reader :status, :status_message, :url

    alias status_code status

    def __set_status(status, reason, url)
      @status = status
      @status_message = reason
      @url = url
    end
  end

  # The options of a request that go to TLS.connect when its protocol is "https:" (HTTPS's
  # connector, https.rb); they are part of the Agent's pool key.
  TLS_OPTIONS = %i[ca verify servername cert key alpn_protocols min_version max_version handshake_timeout].freeze

  # An outgoing request: Node's http.ClientRequest. Events: :socket(sock), :response(res),
  # :continue, :information(res), :finish, :timeout, :abort, :error(err), :close.
  #
  # The protocol ("http:" or "https:") comes from the URL, else from opts[:protocol], else from
  # the caller (HTTP.request: "http:", HTTPS.request: "https:"). The connection itself is the
  # Agent's (Agent#create_connection: Net for HTTP::Agent, TLS for HTTPS::Agent): there is one
  # HTTP code path for both.
  class ClientRequest
    include EventEmitter

    attr_reader :method, :path, :host, :port, :socket_path, :agent, :response, :redirect_count, :protocol

    def initialize(url_or_opts, opts, force_method = nil, default_protocol = "http:", &on_response)
      opts = __merge_opts(url_or_opts, opts, default_protocol)
      @protocol = opts[:protocol]
      @tls_opts = {}
      TLS_OPTIONS.each { |k| @tls_opts[k] = opts[k] if opts.key?(k) }
      @method = (force_method || opts[:method] || "GET").to_s.upcase
      raise HTTP::Error.new("Method must be a valid HTTP token [\"#{@method}\"]", "ERR_INVALID_HTTP_TOKEN") unless HTTP.__token?(@method)
      @socket_path = opts[:socket_path]
      if @socket_path
        Net.__check_path(@socket_path)
      else
        @host = opts[:hostname] || opts[:host] || "127.0.0.1"
        @host = @host[1...-1] if @host.is_a?(String) && @host.start_with?("[") && @host.end_with?("]")
        Net.__check_host(@host)
        @port = Net.__check_port(opts[:port] || (@protocol == "https:" ? 443 : 80))
      end
      @path = opts[:path] || "/"
      raise TypeError, "path must be a String, not #{@path.class}" unless @path.is_a?(String)
      __check_path(@path)
      @headers = {} # lower-case name => [name as given, value]
      (opts[:headers] || {}).each { |k, v| set_header(k, v) }
      if opts[:auth] && !has_header?("authorization")
        set_header("Authorization", "Basic #{[opts[:auth]].pack("m0")}")
      end
      @agent_opt = opts.key?(:agent) ? opts[:agent] : nil
      @agent = __agent_for(@protocol, @agent_opt)
      @agent.__check_options(__conn_opts) if @protocol == "https:"
      @timeout = opts[:timeout]
      unless @timeout.nil? || (@timeout.is_a?(Integer) && @timeout >= 0)
        raise ArgumentError, "timeout must be a non-negative Integer (ms), not #{@timeout.inspect}"
      end
      fr = opts[:follow_redirects] || false
      @max_redirects = fr == true ? MAX_REDIRECTS : fr
      unless @max_redirects == false || (@max_redirects.is_a?(Integer) && @max_redirects >= 0)
        raise ArgumentError, "follow_redirects must be true, false or an Integer >= 0, not #{fr.inspect}"
      end
      @redirect_count = 0
      @parser_opts = {}
      if (mhs = opts[:max_header_size])
        raise ArgumentError, "max_header_size must be a positive Integer, not #{mhs.inspect}" unless mhs.is_a?(Integer) && mhs > 0
        @parser_opts[:max_header_size] = mhs
      end
      @state = :new        # :new, :queued, :active, :done
      @head_sent = false
      @ended = false       # end called
      @chunked = nil       # body framing, decided when the head goes out
      @out = []            # writes made before a socket came: [String, callback]
      @body_copy = nil     # the whole body, kept for a 307/308 redirect
      @held = nil          # body held back until 100 Continue: [String, callback]
      @conn = nil
      @retried = false
      on(:response, on_response) if on_response
      # The socket is asked for on the next turn, so listeners attached after the call see
      # every event (Node does this with nextTick).
      set_immediate { __start }
    end

    def set_header(name, value)
      raise HTTP::Error.new("Cannot set headers after they are sent to the client", "ERR_HTTP_HEADERS_SENT") if @head_sent
      name = name.to_s
      raise HTTP::Error.new("Header name must be a valid HTTP token [\"#{name}\"]", "ERR_INVALID_HTTP_TOKEN") unless HTTP.__token?(name)
      values = value.is_a?(Array) ? value.map(&:to_s) : [value.to_s]
      values.each do |v|
        if v.include?("\r") || v.include?("\n") || v.include?("\0")
          raise HTTP::Error.new("Invalid character in header content [\"#{name}\"]", "ERR_INVALID_CHAR")
        end
      end
      @headers[name.downcase] = [name, value.is_a?(Array) ? values : values[0]]
      self
    end

    def get_header(name)
      entry = @headers[name.to_s.downcase]
      entry && entry[1]
    end

    def has_header?(name)
      @headers.key?(name.to_s.downcase)
    end

    def remove_header(name)
      raise HTTP::Error.new("Cannot remove headers after they are sent to the client", "ERR_HTTP_HEADERS_SENT") if @head_sent
      @headers.delete(name.to_s.downcase)
      self
    end

    # name as given => value, for the headers set so far.
    def headers
      out = {}
      @headers.each_value { |name, v| out[name] = v }
      out
    end

    def headers_sent?
      @head_sent
    end

    def finished?
      @ended
    end

    def destroyed?
      @state == :done
    end

    def socket
      @conn&.socket
    end

    def set_timeout(ms, &callback)
      raise ArgumentError, "timeout must be a non-negative Integer (ms), not #{ms.inspect}" unless ms.is_a?(Integer) && ms >= 0
      if callback
        on(:timeout, callback)
        @timeout_block = true
      end
      @timeout = ms
      @conn.socket.set_timeout(ms) if @conn
      self
    end

    def set_no_delay(on = true)
      @no_delay = on
      @conn&.socket&.set_no_delay(on)
      self
    end

    # Sends the head now (the body follows with write/end).
    def flush_headers
      __send_head(false) unless @head_sent
      self
    end

    # Writes a chunk of the body; with no Content-Length set the body is sent chunked. Returns
    # false when the socket's queue is full (wait for :drain).
    def write(chunk, &callback)
      raise TypeError, "write takes a String, not #{chunk.class}" unless chunk.is_a?(String)
      raise HTTP::Error.new("write after end", "ERR_STREAM_WRITE_AFTER_END") if @ended
      return true if @state == :done
      __send_head(false) unless @head_sent
      (@body_copy ||= "") << chunk if @max_redirects
      return true if chunk.empty? && callback.nil?
      __write_body(chunk, callback)
    end

    # Ends the request, with body as its last (or whole) part: given whole to end with no
    # write before, the body goes out with a Content-Length.
    def end(body = nil, &callback)
      raise TypeError, "end takes a String or nil, not #{body.class}" unless body.nil? || body.is_a?(String)
      return self if @ended
      once(:finish, callback) if callback
      unless @head_sent
        @body_copy = body.dup if @max_redirects && body
        __send_head(true, body)
        @ended = true
        __write_body(body, nil) if body && !body.empty?
        __write_body(nil, nil) # the end of the body
        return self
      end
      write(body) if body && !body.empty?
      @ended = true
      __write_body(nil, nil)
      self
    end

    # Stops the request: the socket is closed (not reused); emits :abort then :close.
    def abort
      return self if @state == :done
      emit(:abort)
      destroy
    end

    # Closes the request's socket (never back to the pool); with an error, emits :error(err).
    def destroy(error = nil)
      return self if @state == :done
      __fail(error, true)
      self
    end

    # --- called by Agent and ClientConnection ---------------------------------------------

    def __key
      @key ||= @agent.get_name(__conn_opts)
    end

    # The connection's options for the Agent: where, and for https the TLS options.
    def __conn_opts
      o = @socket_path ? { path: @socket_path } : { host: @host, port: @port }
      o.merge(@tls_opts)
    end

    # A new connection from the Agent (Net or TLS: the Agent's create_connection decides).
    def __connect
      sock = @agent.create_connection(__conn_opts)
      unless @socket_path
        sock.set_no_delay(@no_delay.nil? ? true : @no_delay)
        sock.set_keep_alive(true, @agent.keep_alive_msecs) if @agent.keep_alive
      end
      sock
    end

    def __assign(conn)
      return @agent.__release(conn, true) if @state == :done
      @state = :active
      @conn = conn
      conn.request = self
      @reused = conn.reused?
      @got_bytes = false
      @res = nil
      @interim = false
      parser_opts = @parser_opts
      @parser = HTTP::Parser.new(:response, parser_opts)
      @parser.no_body! if @method == "HEAD"
      conn.socket.set_timeout(@timeout || 0)
      conn.socket.resume if conn.socket.paused? # a response paused as it ended
      emit(:socket, conn.socket)
      return if @state == :done
      pending = @out
      @out = []
      @out_bytes = 0
      ok = true
      pending.each { |data, cb| ok = __raw_write(data, cb) }
      if @want_drain && ok
        @want_drain = false
        set_immediate { emit(:drain) } # else the socket's own :drain follows
      end
    end

    def __on_data(data)
      return unless @state == :active
      @got_bytes = true
      @wire = nil
      __handle(@parser.feed(data))
    end

    def __on_eof
      return unless @state == :active
      events = @parser.finish
      if @res.nil?
        # nothing of a (final) response: the server hung up on us
        return if __retry?
        return __fail(HTTP::Error.new("socket hang up", "ECONNRESET"))
      end
      __handle(events) if events[0] == :end # a body read until close is complete
      return unless @state == :active
      __fail(HTTP::Error.new("socket hang up (the server closed the connection before the whole " \
                             "response body came)", "ECONNRESET"))
    end

    def __on_socket_error(err)
      return unless @state == :active
      @conn = nil # the socket is already closing
      return if __retry?(err)
      __fail(__http_error(err))
    end

    def __on_timeout
      return unless @state == :active
      emit(:timeout)
      # set_timeout(ms) { } leaves it to the block (Node's way); otherwise the request fails
      return if @timeout_block || @state != :active
      __fail(HTTP::Error.new("timeout: no activity on the socket for #{@timeout} ms", "ETIMEDOUT"))
    end

    def __on_drain
      @want_drain = false
      emit(:drain)
    end

    private

    def __merge_opts(url_or_opts, opts, default_protocol)
      raise TypeError, "options must be a Hash, not #{opts.class}" unless opts.is_a?(Hash)
      base = case url_or_opts
             when String then HTTP.__parse_url(url_or_opts)
             when Hash then url_or_opts
             else raise TypeError, "HTTP.request takes a URL String or a Hash of options, not #{url_or_opts.class}"
             end
      merged = base.merge(opts)
      if (url = merged.delete(:url))
        merged = HTTP.__parse_url(url).merge(merged)
      end
      merged[:protocol] ||= default_protocol
      unless merged[:protocol] == "http:" || merged[:protocol] == "https:"
        raise HTTP::Error.new("Protocol \"#{merged[:protocol]}\" not supported. Expected \"http:\" or \"https:\"",
                              "ERR_INVALID_PROTOCOL")
      end
      if default_protocol == "https:" && merged[:protocol] != "https:"
        raise HTTP::Error.new("Protocol \"#{merged[:protocol]}\" not supported. Expected \"https:\" " \
                              "(HTTPS.request is TLS only; HTTP.request takes both)", "ERR_INVALID_PROTOCOL")
      end
      merged
    end

    # The Agent for a protocol: the one given (it must speak it), a one-shot one for
    # agent: false, else the protocol's global agent.
    def __agent_for(protocol, given)
      https = protocol == "https:"
      if given == false
        return https ? HTTPS::Agent.new(keep_alive: false) : Agent.new(keep_alive: false)
      end
      if given.nil?
        return https ? HTTPS.global_agent : HTTP.global_agent
      end
      raise TypeError, "agent must be an HTTP::Agent, an HTTPS::Agent or false, not #{given.class}" unless given.is_a?(Agent)
      if given.protocol != protocol
        raise HTTP::Error.new("Protocol \"#{protocol}\" not supported by this agent. Expected \"#{given.protocol}\" " \
                              "(#{https ? "an https URL needs an HTTPS::Agent" : "an http URL needs an HTTP::Agent"})",
                              "ERR_INVALID_PROTOCOL")
      end
      given
    end

    def __check_path(path)
      path.each_byte do |b|
        if b <= 32 || b == 127
          raise HTTP::Error.new("Request path contains unescaped characters", "ERR_UNESCAPED_CHARACTERS")
        end
      end
    end

    def __start
      return unless @state == :new
      @state = :queued
      @agent.__add_request(self, false)
    end

    def __host_header
      return "localhost" if @socket_path
      host = @host.include?(":") ? "[#{@host}]" : @host
      @port == (@protocol == "https:" ? 443 : 80) ? host : "#{host}:#{@port}"
    end

    # Builds and queues the head. whole: end was called with the whole body (or none).
    def __send_head(whole, body = nil)
      @head_sent = true
      te = get_header("transfer-encoding")
      if has_header?("content-length")
        @chunked = false
      elsif te
        @chunked = te.to_s.downcase.end_with?("chunked")
      elsif whole
        @chunked = false
        if (body && !body.empty?) || !BODYLESS_METHODS.include?(@method)
          @headers["content-length"] = ["Content-Length", (body ? body.bytesize : 0).to_s]
        end
      else
        @chunked = true
        @headers["transfer-encoding"] = ["Transfer-Encoding", "chunked"]
      end
      @expect = get_header("expect").to_s.downcase == "100-continue"
      head = "#{@method} #{@path} HTTP/1.1\r\n"
      head << "Host: #{__host_header}\r\n" unless has_header?("host")
      unless has_header?("connection")
        head << (@agent.keep_alive && !@agent.destroyed? ? "Connection: keep-alive\r\n" : "Connection: close\r\n")
      end
      @headers.each_value do |name, v|
        if v.is_a?(Array)
          v.each { |x| head << "#{name}: #{x}\r\n" }
        else
          head << "#{name}: #{v}\r\n"
        end
      end
      head << "\r\n"
      @head_wire = head
      __raw_write(head, nil)
    end

    # chunk nil: the end of the body.
    def __write_body(chunk, callback)
      if chunk.nil?
        data = @chunked ? "0\r\n\r\n" : nil
        cb = proc { __emit_finish }
        if data.nil?
          if @conn
            set_immediate { cb.call }
          else
            @out << ["", cb]
          end
          return true
        end
      else
        return true if chunk.empty?
        data = @chunked ? "#{chunk.bytesize.to_s(16)}\r\n#{chunk}\r\n" : chunk
        cb = callback
      end
      if @expect && !@continued
        (@held ||= []) << [data, cb]
        return true
      end
      __raw_write(data, cb)
    end

    def __raw_write(data, callback)
      return true if @state == :done
      (@wire ||= []) << data if @conn && @reused && !@got_bytes && IDEMPOTENT_METHODS.include?(@method)
      unless @conn
        # no socket yet: queued here, and the script is asked to wait (:drain) past the mark
        @out << [data, callback]
        @out_bytes = (@out_bytes || 0) + data.bytesize
        return true if @out_bytes < Net::HIGH_WATER_MARK
        @want_drain = true
        return false
      end
      return (set_immediate { callback&.call }; true) if data.empty?
      @conn.socket.write(data, &callback)
    end

    def __handle(events)
      i = 0
      n = events.size
      while i < n && @state == :active
        ev = events[i]
        arg = events[i + 1]
        case ev
        when :head
          i += 2
          __on_head(arg)
        when :body
          i += 2
          @res&.__push(arg) unless @discard
        when :end
          i += 1
          if @interim
            @interim = false
            next
          end
          if i < n
            # bytes after the response: the server is not speaking HTTP/1.1 in turn
            @keep = false
          end
          __on_message_end
        when :error
          i += 2
          code, _status, message = arg
          __fail(HTTP::Error.new("Parse Error: #{message}", code))
        else
          i += 1
        end
      end
    end

    def __on_head(head)
      status, reason, headers, minor, keep_alive, length, chunked = head
      if status >= 100 && status < 200 && status != 101
        @interim = true
        info = HTTP::IncomingMessage.new(@conn.socket, headers, minor)
        info.__set_status(status, reason, __url)
        if status == 100 && @expect && !@continued
          @continued = true
          emit(:continue)
          held = @held || []
          @held = nil
          held.each { |data, cb| __raw_write(data, cb) }
        else
          emit(:information, info)
        end
        return
      end
      # a final response that came before the 100 we waited for: the held body is never sent,
      # so the connection cannot carry another request
      @keep = keep_alive && !(@expect && !@continued) && status != 101
      # a body delimited by the server's close leaves nothing to reuse (whatever the flag says)
      @keep = false if length.nil? && !chunked && @method != "HEAD" && status != 204 && status != 304
      @held = nil
      res = HTTP::IncomingMessage.new(@conn.socket, headers, minor)
      res.__set_status(status, reason, __url)
      if @max_redirects && REDIRECT_STATUSES.include?(status) && headers["location"]
        @discard = true
        @redirect_to = headers["location"]
        @res = res
        return
      end
      @res = res
      @response = res
      emit(:response, res)
    end

    def __on_message_end
      res = @res
      conn = @conn
      @conn = nil
      @state = :done unless @redirect_to
      keep = @keep && @ended && !@held
      conn.__served
      conn.request = nil
      @agent.__release(conn, keep)
      if @redirect_to
        __redirect
      else
        __emit_finish if @ended # the write's callback may still be queued: :finish comes first
        res.__finish
        res.emit(:close)
        emit(:close)
      end
    end

    def __url
      scheme = @protocol == "https:" ? "https" : "http"
      if @socket_path
        "#{scheme}://localhost#{@path}"
      else
        "#{scheme}://#{__host_header}#{@path}"
      end
    end

    def __redirect
      location = @redirect_to
      status = @res.status
      @redirect_to = nil
      @discard = false
      @res = nil
      if @redirect_count >= @max_redirects
        return __fail(HTTP::Error.new("Maximum number of redirects exceeded (#{@max_redirects})", "ERR_TOO_MANY_REDIRECTS"))
      end
      @redirect_count += 1
      begin
        target = __resolve(location)
      rescue HTTP::Error => e
        return __fail(e)
      end
      proto_changed = !target[:same] && target[:protocol] != @protocol
      if proto_changed
        # http -> https is followed (on the https agent); https -> http would send the request
        # (and the body of a 307/308) in clear after the server was reached over TLS: refused.
        if @protocol == "https:"
          return __fail(HTTP::Error.new("Refusing to follow a redirect from https: to http: (#{location}): " \
                                        "it would leave TLS", "ERR_INSECURE_REDIRECT"))
        end
        @protocol = target[:protocol]
        @agent = __agent_for(@protocol, @agent_opt.is_a?(Agent) ? nil : @agent_opt)
        begin
          @agent.__check_options(__conn_opts.merge(host: target[:host], port: target[:port]))
        rescue StandardError => e # bad TLS options meet their first https hop here
          return __fail(e)
        end
      end
      same_origin = target[:same] || (!proto_changed && !@socket_path && @host == target[:host] && @port == target[:port])
      unless target[:same]
        @socket_path = nil
        @host = target[:host]
        @port = target[:port]
      end
      @key = nil
      @path = target[:path]
      body = @body_copy
      if status == 303 || ((status == 301 || status == 302) && @method == "POST")
        @method = "GET" unless @method == "HEAD"
        body = nil
        %w[content-length transfer-encoding content-type].each { |h| @headers.delete(h) }
      else
        %w[content-length transfer-encoding].each { |h| @headers.delete(h) }
      end
      unless same_origin
        %w[authorization cookie host].each { |h| @headers.delete(h) }
      end
      @state = :new
      @head_sent = false
      @ended = false
      @chunked = nil
      @out = []
      @held = nil
      @continued = false
      @finish_emitted = false
      @keep = false
      @retried = false
      @body_copy = nil
      self.end(body)
      __start
    end

    # location against the current URL: absolute, scheme-relative, absolute path or relative.
    def __resolve(location)
      if location.include?("://")
        return HTTP.__parse_url(location)
      end
      if location.start_with?("//")
        return HTTP.__parse_url("#{@protocol}#{location}")
      end
      path = if location.start_with?("/")
               location
             elsif location.start_with?("?")
               "#{@path.partition("?")[0]}#{location}"
             else
               dir = @path.partition("?")[0]
               dir = dir[0..dir.rindex("/")]
               "#{dir}#{location}"
             end
      { same: true, path: path }
    end

    # A reused keep-alive socket died before any byte of the response: the server closed it
    # while we were sending. Idempotent requests go once more on a fresh connection.
    def __retry?(err = nil)
      return false unless @reused && !@got_bytes && !@retried && @wire && IDEMPOTENT_METHODS.include?(@method)
      return false if err && !%w[ECONNRESET EPIPE].include?(err.code)
      @retried = true
      conn = @conn
      @conn = nil
      if conn
        conn.request = nil
        @agent.__release(conn, false)
      end
      wire = @wire
      @wire = nil
      @out = wire.map { |data| [data, nil] }
      @state = :queued
      @agent.__add_request(self, true)
      true
    end

    def __http_error(err)
      return err if err.is_a?(TLS::Error) # its code, syscall and reason as they are
      code = err.respond_to?(:code) ? err.code : nil
      code = "ENOTFOUND" if err.is_a?(Net::Error) && err.syscall == "getaddrinfo" && %w[EAI_NONAME EAI_NODATA EAI_AGAIN EAI_FAIL].include?(code)
      message = code == "ENOTFOUND" ? "getaddrinfo ENOTFOUND #{@host}" : err.message
      HTTP::Error.new(message, code)
    end

    # Ends the request in failure: the socket is destroyed (never pooled), :error (when there
    # is an error) and :close follow.
    def __fail(error, by_user = false)
      was = @state
      @state = :done
      @agent.__remove_request(self) if was == :queued
      conn = @conn
      @conn = nil
      if conn
        conn.request = nil
        conn.socket.destroy
      end
      if @res && !@res.complete?
        @res.emit(:aborted)
        @res.emit(:close)
      end
      __emit_error(error) if error
      emit(:close)
    end

    def __emit_finish
      return if @finish_emitted
      @finish_emitted = true
      emit(:finish)
    end

    def __emit_error(error)
      emit(:error, error)
    end
  end
end
