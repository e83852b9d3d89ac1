# http_agent.rb — the HTTP client's connection pool: Node's http.Agent in Ruby spelling (the
# requests themselves are in http_client.rb). An Agent keeps, per "host:port" (or "unix:PATH"),
# the connections serving a request, the idle ones (unref'd, closed after free_socket_timeout)
# and the requests waiting for a connection (max_sockets reached). See docs/script-api.md
# "### HTTP client".
module HTTP
  # One connection of an Agent's pool: the socket and the request it serves now (nil while it
  # waits in the pool).
  class ClientConnection
    attr_reader :socket, :key, :served
    attr_accessor :request

    def initialize(agent, key, socket)
      @agent = agent
      @key = key
      @socket = socket
      @served = 0 # requests answered on it
      @request = nil
      @ended = false
      socket.on(:data) { |d| __on_data(d) }
      socket.on(:end) { __on_end }
      socket.on(:error) { |e| __on_error(e) }
      socket.on(:close) { |had_error| __on_close(had_error) }
      socket.on(:timeout) { __on_timeout }
      socket.on(:drain) { @request&.__on_drain }
    end

    def reused?
      @served > 0
    end

    def alive?
      !@ended && !@socket.destroyed?
    end

    def __served
      @served += 1
    end

    def __on_data(data)
      if @request
        @request.__on_data(data)
      else
        @socket.destroy # a free socket must be quiet: whatever this is, do not reuse it
      end
    end

    # The server's FIN: Net answers with ours and the socket closes, then __on_close handles
    # it (destroying the socket inside an :end listener would race Net's own end).
    def __on_end
      @ended = true
    end

    def __on_error(err)
      @ended = true
      req = @request
      @request = nil
      if req
        req.__on_socket_error(err)
      else
        @agent.__drop(self)
      end
    end

    def __on_close(had_error)
      @ended = true
      req = @request
      if req && !had_error
        @request = nil
        req.__on_eof
      end
      @agent.__drop(self)
    end

    def __on_timeout
      if @request
        @request.__on_timeout
      else
        @socket.destroy # idle in the pool for too long
      end
    end
  end

  # A keep-alive pool of connections per "host:port" (or Unix socket path), as Node's http.Agent.
  class Agent
    attr_reader :max_sockets, :max_free_sockets, :keep_alive, :keep_alive_msecs, :free_socket_timeout

    def initialize(keep_alive: true, max_sockets: 256, max_free_sockets: 256, keep_alive_msecs: 1000,
                   free_socket_timeout: 5000)
      [[:max_sockets, max_sockets], [:max_free_sockets, max_free_sockets]].each do |name, v|
        raise ArgumentError, "#{name} must be a positive Integer, not #{v.inspect}" unless v.is_a?(Integer) && v > 0
      end
      [[:keep_alive_msecs, keep_alive_msecs], [:free_socket_timeout, free_socket_timeout]].each do |name, v|
        raise ArgumentError, "#{name} must be a non-negative Integer (ms), not #{v.inspect}" unless v.is_a?(Integer) && v >= 0
      end
      @keep_alive = keep_alive ? true : false
      @max_sockets = max_sockets
      @max_free_sockets = max_free_sockets
      @keep_alive_msecs = keep_alive_msecs
      @free_socket_timeout = free_socket_timeout
      @busy = {}    # key => [ClientConnection] serving a request
      @free = {}    # key => [ClientConnection] waiting in the pool (unref'd)
      @waiting = {} # key => [ClientRequest] queued for a socket (max_sockets reached)
      @destroyed = false
    end

    # The protocol this agent's connections speak (HTTPS::Agent: "https:").
    def protocol
      "http:"
    end

    # The pool key of a connection's options (Node's agent.getName): "host:port" or "unix:PATH";
    # HTTPS::Agent adds the TLS options, so connections differing in them never mix.
    def get_name(opts)
      opts[:path] ? "unix:#{opts[:path]}" : "#{opts[:host]}:#{opts[:port]}"
    end

    # A new connection for a request (Node's agent.createConnection): the plain TCP (or Unix)
    # socket here; HTTPS::Agent connects with TLS. A subclass may return any Net::Socket.
    def create_connection(opts)
      if opts[:path]
        Net.create_connection(path: opts[:path])
      else
        Net.create_connection(port: opts[:port], host: opts[:host])
      end
    end

    # Checks a request's connection options at the call (HTTPS::Agent: its TLS options).
    def __check_options(_opts); end

    # key => [Net::Socket] in use / idle, as Node's agent.sockets and agent.freeSockets.
    def sockets
      __sockets(@busy)
    end

    def free_sockets
      __sockets(@free)
    end

    # key => number of requests waiting for a socket.
    def pending_requests
      out = {}
      @waiting.each { |k, list| out[k] = list.size unless list.empty? }
      out
    end

    # Closes every free socket and stops pooling; sockets in use close after their response.
    def destroy
      @destroyed = true
      @free.each_value { |list| list.each { |c| c.socket.destroy } }
      @free.clear
      self
    end

    def destroyed?
      @destroyed
    end

    # --- called by ClientRequest ----------------------------------------------------------

    # Gives req a connection now (req.__assign) or queues it. fresh: never a pooled one.
    def __add_request(req, fresh = false)
      key = req.__key
      unless fresh
        free = @free[key]
        while free && (conn = free.pop)
          next unless conn.alive?
          __busy(key) << conn
          conn.socket.ref
          req.__assign(conn)
          return
        end
      end
      if __count(key) >= @max_sockets
        (@waiting[key] ||= []) << req
        return
      end
      conn = ClientConnection.new(self, key, req.__connect)
      __busy(key) << conn
      req.__assign(conn)
    end

    def __remove_request(req)
      list = @waiting[req.__key]
      list&.delete(req)
    end

    # The request on conn is done; keep says the connection may serve another.
    def __release(conn, keep)
      key = conn.key
      __busy(key).delete(conn)
      conn.request = nil
      if keep && @keep_alive && conn.alive?
        waiting = @waiting[key]
        if waiting && (req = waiting.shift)
          __busy(key) << conn
          req.__assign(conn)
          return
        end
        free = (@free[key] ||= [])
        if !@destroyed && @keep_alive && free.size < @max_free_sockets
          free << conn
          conn.socket.set_timeout(@free_socket_timeout)
          conn.socket.unref
          return
        end
      end
      conn.socket.destroy
      __next_waiting(key)
    end

    # conn closed: out of the pool (and a queued request may now open its own).
    def __drop(conn)
      key = conn.key
      found = @busy[key]&.delete(conn) || @free[key]&.delete(conn)
      @busy.delete(key) if @busy[key] && @busy[key].empty?
      @free.delete(key) if @free[key] && @free[key].empty?
      __next_waiting(key) if found
    end

    private

    def __busy(key)
      @busy[key] ||= []
    end

    def __count(key)
      (@busy[key]&.size || 0) + (@free[key]&.size || 0)
    end

    def __next_waiting(key)
      waiting = @waiting[key]
      return unless waiting
      if (req = waiting.shift)
        set_immediate { __add_request(req) }
      end
      @waiting.delete(key) if waiting.empty?
    end

    def __sockets(table)
      out = {}
      table.each { |k, list| out[k] = list.map(&:socket) unless list.empty? }
      out
    end
  end
end
