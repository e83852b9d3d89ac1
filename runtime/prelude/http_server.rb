# http_server.rb — Node's `http` server for mrun, on Net (net.rb) and the C parser
# (HTTP::Parser, net/http.c). See docs/script-api.md "## HTTP".
#
#   server = HTTP.create_server do |req, res|
#     res.write_head(200, "Content-Type" => "text/plain")
#     res.end("hello #{req.path}\n")
#   end
#   server.listen(8080) { puts "listening on #{server.address[:port]}" }
#
# One Connection per socket owns one parser and the queue of its responses: requests are handled
# in order, and a response waits (buffered) until the ones before it have finished, so pipelined
# answers go out in request order. Reading stops while the socket's write queue is over
# Net::HIGH_WATER_MARK or too many responses wait, so a client that pipelines without reading
# cannot grow the server's memory.
module HTTP
  def self.create_server(opts = {}, &handler)
    Server.new(opts, &handler)
  end

  # "a=1&b=x+y&a=2" => {"a" => ["1", "2"], "b" => "x y"}: '+' and %XX decoded (a bad %-sequence
  # is kept as it is); a repeated key gives an Array of its values in order (Node's
  # querystring.parse); a field without '=' has the value ""; empty fields are skipped.
  def self.parse_query(str)
    h = {}
    return h if str.nil? || str.empty?
    str.split("&").each do |field|
      next if field.empty?
      i = field.index("=")
      if i
        k = field[0, i]
        v = field[i + 1, field.size - i - 1]
        k = CGI.unescape(k) if k.index("%") || k.index("+")
        v = CGI.unescape(v) if v.index("%") || v.index("+")
      else
        k = field.index("%") || field.index("+") ? CGI.unescape(field) : field
        v = ""
      end
      old = h[k]
      if old.nil?
        h[k] = v
      elsif old.is_a?(Array)
        old << v
      else
        h[k] = [old, v]
      end
    end
    h
  end

  # %XX decoded; '+' stays '+' (it is a space only in a query).
  def self.decode_path(str)
    return str unless str.index("%")
    return CGI.unescape(str) unless str.index("+")
    str.split("+", -1).map { |part| CGI.unescape(part) }.join("+")
  end

  # Logs an exception from a handler as mrun logs an uncaught one (minus the finished main
  # script's stale bottom frame).
  def self.__log_error(e)
    bt = e.backtrace || []
    bt = bt[0, bt.size - 1] if bt.size > 1
    msg = e.message.to_s
    lines = ["#{bt[0] || "mrun"}: #{msg.empty? ? "unhandled exception" : msg} (#{e.class})"]
    i = 1
    while i < bt.size
      lines << "\tfrom #{bt[i]}"
      i += 1
    end
    warn(lines.join("\n"))
  end

  # The request's side of IncomingMessage (the shared base is in http.rb).
  class IncomingMessage
    attr_reader :method, :url

    def __request(method, url)
      @method = method
      @url = url
      self
    end

    # The path part of the url, percent-decoded ("/a%20b?x=1" => "/a b"). An absolute-form
    # target ("http://host/p?q") gives its path ("/p").
    def path
      @path ||= begin
        u = @url
        if u.start_with?("http://") || u.start_with?("https://")
          slash = u.index("/", u.index("//") + 2)
          u = slash ? u[slash, u.size - slash] : "/"
        end
        q = u.index("?")
        u = u[0, q] if q
        HTTP.decode_path(u)
      end
    end

    # What follows the first '?' (not decoded); "" when there is none.
    def query_string
      q = @url.index("?")
      q ? @url[q + 1, @url.size - q - 1] : ""
    end

    # The decoded query parameters as a Hash (HTTP.parse_query: repeated keys give an Array).
    def query
      @query ||= HTTP.parse_query(query_string)
    end

    # A header by any case of its name.
    def [](name)
      @headers[name.downcase]
    end

    # :close, once: after the response finished, or when the connection closed.
    def __close
      return if @closed
      @closed = true
      emit(:close) if @__events
    end

    # The connection closed: :aborted first if the body was not all in.
    def __abort
      return if @closed
      emit(:aborted) if @__events && !@complete
      __close
    end
  end

  class Server
    include EventEmitter

    OPTIONS = %i[max_header_size max_line max_headers max_body_size headers_timeout request_timeout
                 keep_alive_timeout max_requests_per_socket].freeze

    attr_accessor :headers_timeout, :request_timeout, :keep_alive_timeout, :max_requests_per_socket
    attr_reader :max_header_size, :max_line, :max_headers, :max_body_size

    def initialize(opts = {}, &handler)
      raise TypeError, "HTTP.create_server takes a Hash of options, not #{opts.class}" unless opts.is_a?(Hash)
      unknown = opts.keys - OPTIONS
      unless unknown.empty?
        raise ArgumentError, "unknown option#{unknown.size > 1 ? "s" : ""} #{unknown.map(&:inspect).join(", ")} " \
                             "(known: #{OPTIONS.map(&:to_s).join(", ")})"
      end
      @max_header_size = __int(opts, :max_header_size, 16_384, 1)
      @max_line = __int(opts, :max_line, 8192, 1)
      @max_headers = __int(opts, :max_headers, 256, 1)
      @max_body_size = opts.key?(:max_body_size) ? __int(opts, :max_body_size, nil, 0) : 1024 * 1024
      @headers_timeout = __int(opts, :headers_timeout, 60_000, 0)
      @request_timeout = __int(opts, :request_timeout, 300_000, 0)
      @keep_alive_timeout = __int(opts, :keep_alive_timeout, 5000, 0)
      @max_requests_per_socket = opts[:max_requests_per_socket].nil? ? nil : __int(opts, :max_requests_per_socket, nil, 1)
      @parser_opts = { max_line: @max_line, max_header_size: @max_header_size, max_headers: @max_headers,
                       max_body: @max_body_size || 0 }
      @conns = {}
      @closing = false
      # The listener is pluggable: a Net::Server whose :connection sockets carry HTTP here, a
      # TLS::Server whose :secure_connection ones do for HTTPS::Server (https.rb).
      @net = __create_listener
      @net.instance_variable_set(:@__owner, self) # what a cluster worker's disconnect closes
      @net.on(__connection_event) { |sock| Connection.new(self, sock) }
      @net.on(:listening) { emit(:listening) }
      @net.on(:error) { |e| emit(:error, e) }
      @net.on(:close) { emit(:close) }
      on(:request, handler) if handler
    end

    # listen(port = 0, host = "127.0.0.1", backlog: 511) / listen(path: "/tmp/x.sock")
    def listen(port = nil, host = nil, backlog: 511, path: nil, &on_listening)
      once(:listening, on_listening) if on_listening
      @net.listen(port, host, backlog: backlog, path: path)
      self
    end

    def listening?
      @net.listening?
    end

    # {address:, family:, port:} or the socket path; nil when not listening.
    def address
      @net.address
    end

    # Stops accepting. Idle keep-alive connections close at once, busy ones once their
    # responses are out (they answer "Connection: close"); :close follows when all are gone.
    def close(&callback)
      if @net.listening?
        once(:close, callback) if callback
        @closing = true
        @conns.keys.each(&:__server_closing)
        @net.close
      else
        @net.close(&callback)
      end
      self
    end

    def close_all_connections
      @conns.keys.each(&:__destroy)
      self
    end

    def close_idle_connections
      @conns.keys.each { |c| c.__destroy if c.idle? }
      self
    end

    # Open connections (those still sending requests or waiting for answers).
    def connections
      @conns.size
    end

    # The listening server and the event that hands it a socket ready for HTTP.
    def __create_listener
      Net::Server.new
    end

    def __connection_event
      :connection
    end

    # --- called by Connection ---------------------------------------------------------------

    attr_reader :parser_opts

    def __closing?
      @closing
    end

    # "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n", made again only when
    # keep_alive_timeout changes.
    def __keep_alive_lines
      ka = @keep_alive_timeout
      return @ka_lines if @ka_for == ka && @ka_lines
      @ka_for = ka
      @ka_lines = if ka && ka > 0
                    "Connection: keep-alive\r\nKeep-Alive: timeout=#{ka / 1000}\r\n".freeze
                  else
                    "Connection: keep-alive\r\n".freeze
                  end
    end

    def __add(conn)
      @conns[conn] = true
    end

    def __remove(conn)
      @conns.delete(conn)
    end

    private

    def __int(opts, key, default, min)
      v = opts.key?(key) ? opts[key] : default
      return nil if v.nil? || (v == 0 && key == :max_body_size)
      unless v.is_a?(Integer) && v >= min
        raise ArgumentError, "#{key} must be an Integer >= #{min}#{key == :max_body_size ? " (or nil)" : ""}, not #{v.inspect}"
      end
      v
    end
  end

  # One accepted socket: its parser, the queue of its responses, its one timer. Internal.
  class Connection
    # Responses waiting behind the first one before reading pauses (a pipelining client).
    MAX_QUEUED = 32
    # After an error answer (or "Connection: close"), how long the client may take to close
    # while what it still sends is read and dropped (so it sees the answer, not a reset).
    LINGER_MS = 5000
    CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n"

    attr_reader :server, :socket

    def initialize(server, sock)
      @server = server
      @sock = sock
      @parser = HTTP::Parser.new(:request, server.parser_opts)
      @queue = []        # responses in request order; @queue[0] writes to the socket
      @req = nil         # the request whose body is being read
      @res = nil         # its response (also the one a handler's exception concerns)
      @requests = 0
      @dead = false      # no more requests are read (error, upgrade, close)
      @closing = false   # close once the queue is empty
      @pending_error = nil
      @bp = false        # reading paused: the write queue is over the mark
      @qp = false        # reading paused: too many responses queued
      @timer = nil
      @timer_kind = nil  # :head, :body, :idle, :linger or nil
      @upgrade = nil
      server.__add(self)
      sock.on(:data) { |d| __data(d) }
      sock.on(:drain) { __drain }
      sock.on(:error) { |e| __socket_error(e) }
      sock.on(:close) { __closed }
      __arm(:head, server.headers_timeout)
      server.emit(:connection, sock)
    end

    def idle?
      @queue.empty? && @req.nil?
    end

    def __server_closing
      if idle?
        __destroy
      else
        @close_when_idle = true
      end
    end

    def __destroy
      @dead = true
      @sock.destroy
    end

    # --- the socket's events ----------------------------------------------------------------

    def __data(data)
      return if @dead
      events = @parser.feed(data)
      n = events.size
      i = 0
      while i < n
        ev = events[i]
        if ev == :end
          i += 1
          __end_of_request
        elsif ev == :body
          @req.__push(events[i + 1]) if @req
          i += 2
        elsif ev == :head
          __head(events[i + 1])
          i += 2
        elsif ev == :error
          __parse_error(events[i + 1])
          i += 2
        elsif ev == :rest
          __upgrade(events[i + 1])
          return
        else
          i += 2
        end
        return if @dead
      end
      if @req
        __arm(:body, @server.request_timeout) unless @timer_kind == :body
      elsif !@parser.idle?
        __arm(:head, @server.headers_timeout) unless @timer_kind == :head
      elsif @queue.empty?
        __arm(:idle, @server.keep_alive_timeout) # restarted: idle since the last answer
      elsif @timer_kind
        __arm(nil, 0)
      end
    rescue => e
      __handler_failed(e)
    end

    def __drain
      if @bp
        @bp = false
        __read_again
      end
      res = @queue[0]
      res.__drained if res
    end

    def __socket_error(err)
      if @server.listener_count(:client_error) > 0
        @server.emit(:client_error, err, @sock)
      end
      # the socket closes after its error; __closed cleans up
    end

    def __closed
      @dead = true
      __arm(nil, 0)
      @timer = nil
      @server.__remove(self)
      @req&.__abort
      @req = nil
      q = @queue
      @queue = []
      q.each(&:__aborted)
    end

    # --- requests -----------------------------------------------------------------------------

    def __head(h)
      if @closing # a request after one that closes the connection: not read
        @dead = true
        return
      end
      method = h[0]
      req = IncomingMessage.new(@sock, h[2], h[3]).__request(method, h[1])
      @requests += 1
      max = @server.max_requests_per_socket
      keep = h[4] && !@closing && !@server.__closing? && (max.nil? || @requests < max)
      res = ServerResponse.new(self, req, keep, h[3], method == "HEAD", @queue.empty?)
      @closing = true unless keep
      @queue << res
      @req = req
      @res = res
      if h[7] # upgrade (or CONNECT): :rest follows; the socket goes to the :upgrade listener
        @upgrade = req
        return
      end
      __pause_reading if @queue.size > MAX_QUEUED
      if h[8] # Expect: 100-continue
        if @server.listener_count(:check_continue) > 0
          @server.emit(:check_continue, req, res)
          return
        end
        res.write_continue
      end
      @server.emit(:request, req, res)
    end

    def __end_of_request
      req = @req
      @req = nil
      req&.__finish
    end

    def __upgrade(rest)
      req = @upgrade
      @upgrade = nil
      @dead = true
      @queue.clear
      @req = nil
      @res = nil
      __arm(nil, 0)
      event = req.method == "CONNECT" ? :connect : :upgrade
      if @server.listener_count(event) > 0
        @sock.remove_all_listeners(:data)
        @sock.remove_all_listeners(:drain)
        @sock.remove_all_listeners(:error)
        @server.__remove(self)
        @server.emit(event, req, @sock, rest)
      else
        @sock.destroy
      end
    end

    # [code, status, message] from the parser: a client error. With a :client_error listener
    # the listener has the socket; otherwise the status is answered (after the responses
    # before it) with "Connection: close", and the connection closes.
    def __parse_error(info)
      code, status, message = info
      @dead = true
      err = HTTP::Error.new(message, code)
      res = @req ? @res : nil
      @req&.__abort
      @req = nil
      if @server.listener_count(:client_error) > 0
        __arm(nil, 0)
        @server.emit(:client_error, err, @sock)
        return
      end
      if res && res.headers_sent?
        # the handler answered (or began to) before the body was whole: no error answer
        if res.finished?
          @closing = true
          __finish_connection if @queue.empty?
        else
          @sock.destroy
        end
        return
      elsif res
        @queue.delete(res)
        res.__drop
      end
      @pending_error = "HTTP/1.1 #{status} #{STATUS_CODES[status] || "Bad Request"}\r\nConnection: close\r\n\r\n"
      __finish_connection if @queue.empty?
    end

    # An exception from a handler or a request's listener: logged; the response gets 500 if it
    # sent nothing yet, and the connection closes once it is out.
    def __handler_failed(e)
      HTTP.__log_error(e)
      res = @res
      @dead = true
      @req = nil
      if res && !res.finished? && !res.headers_sent?
        @closing = true
        res.__fail(500)
      elsif res && res.finished?
        @closing = true
        __finish_connection if @queue.empty?
      else
        @sock.destroy
      end
    rescue => e2
      HTTP.__log_error(e2)
      @sock.destroy
    end

    # --- responses ----------------------------------------------------------------------------

    def __write(data)
      return false if @sock.destroyed?
      unless @sock.write(data)
        __pause_reading(true)
        return false
      end
      true
    end

    # Called by the first response in the queue once its last bytes are written.
    def __response_done(res)
      @queue.shift
      last = res
      res.__done
      while last.keep_alive? && (nxt = @queue[0])
        nxt.__activate
        break unless nxt.finished?
        @queue.shift
        nxt.__done
        last = nxt
      end
      unless last.keep_alive? # the connection closes after it: what is queued behind never goes out
        @closing = true
        @queue.each(&:__drop)
        @queue.clear
      end
      if @qp && @queue.size <= MAX_QUEUED / 2
        @qp = false
        __read_again
      end
      return unless @queue.empty?
      if @closing || @dead || @close_when_idle
        __finish_connection
      elsif @req.nil? && @parser.idle?
        __arm(:idle, @server.keep_alive_timeout)
      end
    end

    private

    def __finish_connection
      @dead = true
      @queue.each(&:__aborted)
      @queue.clear
      if @pending_error
        @sock.write(@pending_error) unless @sock.destroyed?
        @pending_error = nil
      end
      @sock.end
      # what the client still sends is read and dropped until it closes (or LINGER_MS)
      @bp = @qp = false
      @sock.resume
      __arm(:linger, LINGER_MS)
    end

    def __pause_reading(bp = false)
      if bp
        @bp = true
      else
        @qp = true
      end
      @sock.pause
    end

    def __read_again
      @sock.resume unless @bp || @qp
    end

    def __arm(kind, ms)
      @timer_kind = kind
      if kind.nil? || ms.nil? || ms <= 0
        @timer&.__stop
        return
      end
      if @timer
        @timer.__start(ms, 0)
      else
        @timer = Timer.new(ms, false, [], proc { __timeout })
        @timer.unref
      end
    end

    def __timeout
      kind = @timer_kind
      @timer_kind = nil
      case kind
      when :head, :body
        # Node's 408: the head (headers_timeout) or the whole request (request_timeout) was
        # not in in time (a slowloris client)
        @dead = true
        res = @req ? @res : nil
        @req&.__abort
        @req = nil
        if res && res.headers_sent?
          @sock.destroy
        else
          if res
            @queue.delete(res)
            res.__drop
          end
          @pending_error = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
          if @queue.empty?
            __finish_connection
          else
            @closing = true
          end
        end
      when :idle, :linger
        @sock.destroy
      end
    end
  end

  class ServerResponse
    include EventEmitter

    STATUS_LINES = {}
    STATUS_CODES.each { |code, text| STATUS_LINES[code] = "HTTP/1.1 #{code} #{text}\r\n".freeze }

    attr_accessor :status_code
    attr_writer :status_message
    attr_reader :req

    def initialize(conn, req, keep_alive, version_minor, head, active)
      @conn = conn
      @req = req
      @keep = keep_alive
      @v10 = version_minor == 0
      @head_req = head
      @active = active
      @status_code = 200
      @has_body = !head
      # Left unset until needed (fewer ivars per response; an unset ivar reads as nil):
      # @status_message, @headers (set_header's: {lower-case name => [name, value]}), @extra
      # (write_head's, as given), @headers_sent, @finished, @chunked, @buf (output while an
      # earlier response is still going out), @dropped
    end

    def status_message
      @status_message || STATUS_CODES[@status_code] || "unknown"
    end

    def socket
      @conn.socket
    end
    alias connection socket

    def headers_sent?
      @headers_sent ? true : false
    end

    def finished?
      @finished ? true : false
    end
    alias writable_ended? finished?

    def keep_alive?
      @keep
    end

    def set_header(name, value)
      raise HTTP::Error.new("cannot set headers after they are sent", "ERR_HTTP_HEADERS_SENT") if @headers_sent
      __check_header(name, value)
      (@headers ||= {})[name.to_s.downcase] = [name.to_s, value]
      self
    end

    def get_header(name)
      pair = @headers && @headers[name.to_s.downcase]
      pair && pair[1]
    end

    def has_header?(name)
      @headers ? @headers.key?(name.to_s.downcase) : false
    end

    def remove_header(name)
      raise HTTP::Error.new("cannot remove headers after they are sent", "ERR_HTTP_HEADERS_SENT") if @headers_sent
      @headers&.delete(name.to_s.downcase)
      self
    end

    # {lower-case name => value} of what set_header set.
    def get_headers
      h = {}
      @headers&.each { |k, pair| h[k] = pair[1] }
      h
    end

    def get_header_names
      @headers ? @headers.keys : []
    end

    # write_head(status, headers = {}) / write_head(status, message, headers = {}). The head
    # goes out with the first write or end (one write with a small body).
    def write_head(status, message = nil, headers = nil)
      raise HTTP::Error.new("cannot write the head twice: headers were sent", "ERR_HTTP_HEADERS_SENT") if @headers_sent
      if message.is_a?(Hash) || message.is_a?(Array)
        headers = message
        message = nil
      end
      unless status.is_a?(Integer) && status >= 100 && status <= 999
        raise ArgumentError, "invalid status code #{status.inspect} (an Integer from 100 to 999)"
      end
      @status_code = status
      if message
        message = message.to_s
        raise ArgumentError, "invalid status message #{message.inspect}" if message.index("\r") || message.index("\n")
        @status_message = message
      end
      if headers && !headers.empty?
        raise TypeError, "headers must be a Hash, not #{headers.class}" unless headers.is_a?(Hash)
        headers.each { |k, v| __check_header(k, v) }
        if @extra
          @extra = @extra.merge(headers)
        else
          @extra = headers
        end
      end
      self
    end

    def write_continue
      __out(Connection::CONTINUE) unless @headers_sent
      self
    end

    # Writes a body chunk (chunked encoding for HTTP/1.1 unless a Content-Length was set);
    # false when the socket's queue is over the mark: wait for :drain.
    def write(chunk)
      raise HTTP::Error.new("write after end", "ERR_STREAM_WRITE_AFTER_END") if @finished
      chunk = chunk.to_s unless chunk.is_a?(String)
      unless @headers_sent
        data = __head(nil)
        if @has_body && !chunk.empty?
          if @chunked
            data << chunk.bytesize.to_s(16) << "\r\n" << chunk << "\r\n"
          else
            data << chunk
          end
        end
        return __out(data)
      end
      return true if chunk.empty? || !@has_body
      if @chunked
        __out("#{chunk.bytesize.to_s(16)}\r\n#{chunk}\r\n")
      else
        __out(chunk)
      end
    end

    # Ends the response, with a last chunk if given. Before any write, the head and the body
    # go in one write with a Content-Length.
    def end(body = nil)
      return self if @finished
      body = body.to_s if body && !body.is_a?(String)
      if !@headers_sent
        data = __head(body ? body.bytesize : 0)
        if body && @has_body && body.bytesize > 16384 && @active
          __out(data) # a large body goes as its own write: joining it to the head copies it
          data = body
        elsif body && @has_body && !body.empty?
          data << body
        end
      elsif @chunked
        data = body && !body.empty? ? "#{body.bytesize.to_s(16)}\r\n#{body}\r\n0\r\n\r\n" : "0\r\n\r\n"
      elsif body && @has_body && !body.empty?
        data = body
      end
      @finished = true
      __out(data) if data
      @conn.__response_done(self) if @active && !@dropped
      self
    end

    # --- called by Connection -----------------------------------------------------------------

    def __activate
      @active = true
      return unless @buf
      buf = @buf
      @buf = nil
      @conn.__write(buf)
    end

    def __drop
      __aborted
    end

    def __drained
      emit(:drain) if @__events
    end

    def __done
      @buf = nil
      if @__events
        emit(:finish)
        emit(:close)
      end
      @req.__close
    end

    # The connection closed (or will, before this response's turn): what it writes is dropped.
    def __aborted
      return if @closed_emitted
      @closed_emitted = true
      @dropped = true
      @buf = nil
      emit(:close) if @__events && !@finished
      @req.__abort
    end

    # After a handler's exception: a bare status with "Connection: close".
    def __fail(status)
      @headers = nil
      @extra = nil
      @status_code = status
      @status_message = nil
      @keep = false
      self.end("")
    end

    private

    def __out(data)
      return true if @dropped
      return @conn.__write(data) if @active
      if @buf
        @buf << data
      else
        @buf = data.dup
      end
      true
    end

    def __check_header(name, value)
      n = name.to_s
      if n.empty? || n.count("\r\n: ") > 0
        raise ArgumentError, "invalid header name #{n.inspect}"
      end
      if value.is_a?(Array)
        value.each { |v| __check_value(n, v) }
      else
        __check_value(n, value)
      end
    end

    def __check_value(name, value)
      raise ArgumentError, "header #{name} has no value (nil)" if value.nil?
      v = value.to_s
      raise ArgumentError, "invalid character (CR or LF) in header #{name}: #{v.inspect}" if v.count("\r\n") > 0
    end

    def __add_line(head, name, value)
      if value.is_a?(Array)
        value.each { |v| head << name << ": " << v.to_s << "\r\n" }
      else
        head << name << ": " << value.to_s << "\r\n"
      end
    end

    # The head as one String. body_len: the whole body's size when end came first, else nil.
    def __head(body_len)
      @headers_sent = true
      code = @status_code
      head = if @status_message
               "HTTP/1.1 #{code} #{@status_message}\r\n"
             else
               (STATUS_LINES[code] || "HTTP/1.1 #{code} unknown\r\n").dup
             end
      has_date = has_len = false
      conn = te = nil
      if @headers
        @headers.each do |lower, pair|
          case lower
          when "date" then has_date = true
          when "connection" then conn = pair[1].to_s
          when "content-length" then has_len = true
          when "transfer-encoding" then te = pair[1].to_s
          end
          __add_line(head, pair[0], pair[1])
        end
      end
      @extra&.each do |name, value|
        name = name.to_s
        case name.size
        when 4 then has_date = true if name.casecmp?("date")
        when 10 then conn = value.to_s if name.casecmp?("connection")
        when 14 then has_len = true if name.casecmp?("content-length")
        when 17 then te = value.to_s if name.casecmp?("transfer-encoding")
        end
        __add_line(head, name, value)
      end
      head << "Date: " << HTTP.__date << "\r\n" unless has_date
      no_body = @head_req || code == 204 || code == 304 || code < 200
      @has_body = false if code == 204 || code == 304 || code < 200
      framing = nil
      if no_body
        framing = "Content-Length: #{body_len}\r\n" if @head_req && body_len && !has_len && !te && code >= 200 && code != 204 && code != 304
      elsif te
        @chunked = te.downcase.include?("chunked")
        @keep = false unless @chunked
      elsif has_len
        @chunked = false
      elsif body_len
        framing = "Content-Length: #{body_len}\r\n"
      elsif @v10
        @keep = false # close-delimited: an HTTP/1.0 client cannot read chunks
      else
        @chunked = true
        framing = "Transfer-Encoding: chunked\r\n"
      end
      @keep = false if @keep && @conn.server.__closing?
      if conn
        @keep = false if conn.downcase.include?("close")
      elsif @keep
        head << @conn.server.__keep_alive_lines
      else
        head << "Connection: close\r\n"
      end
      head << framing if framing
      head << "\r\n"
    end
  end
end
