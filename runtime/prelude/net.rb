# net.rb — the Ruby half of Net: Node's `net` module for mrun (the C half is net/net.c).
#
#   server = Net.create_server { |sock| sock.on(:data) { |d| sock.write(d) } }
#   server.listen(0) { puts "listening on #{server.address[:port]}" }
#
#   sock = Net.create_connection(port: 8080) { sock.write("hi") }
#   sock.on(:data) { |d| puts d }
#
# Everything is non-blocking on the runtime's event loop. Errors from the system arrive as
# :error events carrying a Net::Error (code, syscall, address, port); bad arguments raise at the
# call. See docs/script-api.md for the whole reference.
module Net
  # A failed system call: code is the errno name ("ECONNREFUSED"), syscall what failed
  # ("connect"), address/port (or the path) what it was about.
  class Error < StandardError
    attr_reader :code, :syscall, :address, :port

    def initialize(code, syscall, address = nil, port = nil, detail = nil)
      @code = code
      @syscall = syscall
      @address = address
      @port = port
      where = port ? " #{address}:#{port}" : (address ? " #{address}" : "")
      super("#{syscall} #{code}#{where}#{detail ? " (#{detail})" : ""}")
    end
  end

  # A write returns false once this many bytes wait in the queue (Node's default).
  HIGH_WATER_MARK = 16 * 1024

  def self.create_server(opts = {}, &on_connection)
    Server.new(opts, &on_connection)
  end

  def self.create_connection(opts = {}, &on_connect)
    Socket.new(opts).connect(opts, &on_connect)
  end

  def self.connect(opts = {}, &on_connect)
    create_connection(opts, &on_connect)
  end

  # 4, 6 or nil
  def self.ip_family(host)
    __ip_family(host.to_s)
  end

  def self.__check_port(port)
    unless port.is_a?(Integer) && port >= 0 && port <= 65535
      raise ArgumentError, "port must be an Integer from 0 to 65535, not #{port.inspect}"
    end
    port
  end

  def self.__check_host(host)
    unless host.is_a?(String) && !host.empty?
      raise ArgumentError, "host must be a non-empty String, not #{host.inspect}"
    end
    host
  end

  def self.__check_path(path)
    raise TypeError, "path must be a String, not #{path.class}" unless path.is_a?(String)
    raise ArgumentError, "path must not be empty" if path.empty?
    path
  end

  def self.__address_hash(name)
    return name if name.nil? || name.is_a?(String)
    { address: name[0], family: name[2] == 6 ? "IPv6" : "IPv4", port: name[1] }
  end

  class Socket
    include EventEmitter

    attr_reader :remote_family

    def initialize(opts = {})
      @state = :new # :new, :connecting, :open, :closed
      @allow_half_open = opts.is_a?(Hash) && opts[:allow_half_open] ? true : false
      @read_ended = false     # the peer half-closed (:end was emitted)
      @write_ended = false    # end() was called
      @shutdown_done = false  # our FIN is out
      @pending = nil          # writes made while connecting: [data, callback]
      @callbacks = []         # callbacks of queued writes, in order
      @paused = false
      @had_error = false
      @destroyed = false
    end

    # connect(port: , host: "127.0.0.1") / connect(path:) / connect(port, host)
    def connect(opts, host = nil, &on_connect)
      opts = { port: opts, host: host || "127.0.0.1" } if opts.is_a?(Integer)
      raise TypeError, "connect takes a Hash (port:, host: or path:), not #{opts.class}" unless opts.is_a?(Hash)
      raise ArgumentError, "the socket is already #{@state == :open ? "connected" : @state}" unless @state == :new
      once(:connect, on_connect) if on_connect
      @state = :connecting
      if opts[:path]
        @path = Net.__check_path(opts[:path])
        __connect_pipe(@path)
      else
        @port = Net.__check_port(opts[:port])
        @host = Net.__check_host(opts[:host] || "127.0.0.1")
        if Net.ip_family(@host)
          __start_tcp(@host)
        else
          Net.__lookup(@host) do |err, ip, _family|
            if err
              __fail(Net::Error.new(err[0], "getaddrinfo", @host, nil, err[1]))
            elsif @state == :connecting
              __start_tcp(ip)
            end
          end
        end
      end
      self
    end

    def connecting?
      @state == :connecting
    end

    def destroyed?
      @destroyed
    end

    def pending?
      @state == :new || @state == :connecting
    end

    # Writes a String; returns false when the write queue is over HIGH_WATER_MARK (wait for
    # :drain). The block runs once the data is handed to the system.
    def write(data, &callback)
      raise TypeError, "write takes a String, not #{data.class}" unless data.is_a?(String)
      if @write_ended || @destroyed
        err = Net::Error.new(@destroyed ? "ERR_STREAM_DESTROYED" : "EPIPE", "write", @host || @path, @port,
                             @destroyed ? "the socket is destroyed" : "write after end")
        set_immediate { __emit_error(err) }
        return false
      end
      if @state != :open
        (@pending ||= []) << [data, callback]
        return true
      end
      __do_write(data, callback)
    end

    # Half-closes: sends data if given, then FIN after everything queued. Reading goes on until
    # the peer ends too (then the socket closes).
    def end(data = nil, &callback)
      write(data) if data && !@write_ended
      once(:finish, callback) if callback
      return self if @write_ended
      @write_ended = true
      __start_shutdown if @state == :open && @pending.nil?
      self
    end

    # Closes at once, dropping what is queued. With an error, :error is emitted first.
    def destroy(error = nil)
      return self if @destroyed
      @destroyed = true
      @had_error = true if error
      __clear_timeout
      if __open?
        __close
      else
        set_immediate { __closed }
      end
      set_immediate { __emit_error(error) } if error
      self
    end

    def pause
      @paused = true
      __read_stop if @state == :open
      self
    end

    def resume
      @paused = false
      __read_start if @state == :open && !@read_ended
      self
    end

    def paused?
      @paused
    end

    def set_no_delay(no_delay = true)
      __set_no_delay(no_delay) if @state == :open
      @no_delay = no_delay
      self
    end

    def set_keep_alive(enable = false, initial_delay_ms = 0)
      __set_keep_alive(enable, (initial_delay_ms / 1000.0).ceil) if @state == :open
      @keep_alive = [enable, initial_delay_ms]
      self
    end

    # Emits :timeout after ms of inactivity (nothing read or written); 0 turns it off. As in
    # Node the socket stays open: call destroy or end in the listener.
    def set_timeout(ms, &callback)
      raise ArgumentError, "timeout must be a non-negative Integer (ms), not #{ms.inspect}" unless ms.is_a?(Integer) && ms >= 0
      __clear_timeout
      @timeout_ms = ms > 0 ? ms : nil
      on(:timeout, callback) if callback
      __touch if @timeout_ms
      self
    end

    def address
      Net.__address_hash(__address)
    end

    def remote_address
      name = __remote_address
      name.is_a?(Array) ? name[0] : name
    end

    def remote_port
      name = __remote_address
      name.is_a?(Array) ? name[1] : nil
    end

    def remote_family
      name = __remote_address
      name.is_a?(Array) ? (name[2] == 6 ? "IPv6" : "IPv4") : nil
    end

    def ready_state
      return "opening" if @state == :connecting
      return "closed" if @state == :closed || @destroyed
      return "readOnly" if @write_ended
      return "writeOnly" if @read_ended
      "open"
    end

    # --- called from net.c and Server ------------------------------------------------------

    def __attach(server) # an accepted connection
      @server = server
      @state = :open
      __read_start
    end

    # A child process's stdio (runtime/child.c gave it its pipe): open already, and one way
    # only. Its stdout or stderr reads until the child closes it (then it closes); writing to
    # it is a "write after end" error. Its stdin writes, and closes after end's FIN is out.
    def __attach_stdio(name, readable)
      @path = name
      @state = :open
      if readable
        @write_ended = true
        @shutdown_done = true
        __read_start unless @paused
      else
        @read_ended = true
      end
      self
    end

    def __on_connect(err)
      return if @destroyed
      if err
        __fail(Net::Error.new(err[0], "connect", @host || @path, @port, err[1]))
        return
      end
      @state = :open
      __set_no_delay(@no_delay) unless @no_delay.nil?
      __set_keep_alive(@keep_alive[0], (@keep_alive[1] / 1000.0).ceil) if @keep_alive
      __read_start unless @paused
      emit(:connect)
      emit(:ready)
      pending = @pending
      @pending = nil
      pending&.each { |data, cb| __do_write(data, cb) unless @destroyed }
      __start_shutdown if @write_ended && !@destroyed
    end

    def __on_data(data)
      __touch if @timeout_ms
      __emit1(:data, data)
    end

    def __on_eof
      @read_ended = true
      emit(:end)
      if @shutdown_done
        destroy
      elsif !@allow_half_open && !@write_ended && !@destroyed # an :end listener may destroy it
        self.end # our FIN goes out after the queued writes; __on_shutdown then closes
      end
    end

    def __on_error(code, message, syscall)
      __fail(Net::Error.new(code, syscall, @host || @path, @port, message))
    end

    def __on_written
      cb = @callbacks.shift
      cb&.call
    end

    def __on_drain
      __touch if @timeout_ms
      emit(:drain)
    end

    def __on_shutdown(err)
      return __shutdown_failed(err) if err
      @shutdown_done = true
      emit(:finish)
      destroy if @read_ended
    end

    def __on_close
      __closed
    end

    private

    def __start_tcp(ip)
      err = __connect_tcp(ip, @port)
      __fail(Net::Error.new(err[0], "connect", @host, @port, err[1])) if err
    end

    def __do_write(data, callback)
      __touch if @timeout_ms
      r = __write(data, !callback.nil?, HIGH_WATER_MARK)
      if r == :done
        set_immediate { callback.call } if callback
        return true
      end
      @callbacks << callback if callback
      r
    end

    def __start_shutdown
      return if @shutdown_started
      @shutdown_started = true
      err = __shutdown
      __shutdown_failed(err) if err
    end

    # The peer is already gone (reset, or closed both ways): nothing left to half-close, so the
    # socket just closes, as Node's does; anything else is an error.
    def __shutdown_failed(err)
      if err[0] == "ENOTCONN"
        destroy
      else
        __fail(Net::Error.new(err[0], "shutdown", @host || @path, @port, err[1]))
      end
    end

    def __fail(error)
      return if @destroyed
      destroy(error)
    end

    def __emit_error(error)
      emit(:error, error)
    end

    def __closed
      return if @state == :closed
      @state = :closed
      @destroyed = true
      __clear_timeout
      emit(:close, @had_error)
      @server&.__connection_closed(self)
    end

    # (Re)starts the inactivity timer; it does not keep the process alive on its own.
    def __touch
      if @timeout_timer
        @timeout_timer.refresh
      else
        @timeout_timer = Timer.new(@timeout_ms, false, [], proc { @timeout_timer = nil; emit(:timeout) })
        @timeout_timer.unref
      end
    end

    def __clear_timeout
      @timeout_timer&.clear
      @timeout_timer = nil
    end
  end

  class Server
    include EventEmitter

    attr_reader :connections

    def initialize(opts = {}, &on_connection)
      opts = {} unless opts.is_a?(Hash)
      @allow_half_open = opts[:allow_half_open] ? true : false
      @connections = 0
      @state = :new # :new, :listening, :closing, :closed
      on(:connection, on_connection) if on_connection
    end

    # listen(port = 0, host = "127.0.0.1", backlog: 511) / listen(path: "/tmp/x.sock")
    def listen(port = nil, host = nil, backlog: 511, path: nil, &on_listening)
      raise ArgumentError, "the server is already listening" if @state == :listening
      raise ArgumentError, "the server was closed; create a new one" unless @state == :new
      unless backlog.is_a?(Integer) && backlog > 0
        raise ArgumentError, "backlog must be a positive Integer, not #{backlog.inspect}"
      end
      once(:listening, on_listening) if on_listening
      if path
        @path = Net.__check_path(path)
        err = __listen_pipe(@path, backlog)
        where = [@path, nil]
      else
        @port = Net.__check_port(port || 0)
        @host = Net.__check_host(host || "127.0.0.1")
        unless Net.ip_family(@host)
          Net.__lookup(@host) do |e, ip, _family|
            if e
              set_immediate { emit(:error, Net::Error.new(e[0], "getaddrinfo", @host, nil, e[1])) }
            else
              __listen_now(ip, backlog)
            end
          end
          return self
        end
        return __listen_now(@host, backlog)
      end
      __after_listen(err, where)
    end

    def listening?
      @state == :listening
    end

    # {address:, family:, port:} or the socket path; nil when not listening.
    def address
      Net.__address_hash(__address)
    end

    # Stops accepting; :close follows once every open connection has closed.
    def close(&callback)
      once(:close, callback) if callback
      if @state == :listening
        @state = :closing
        __close
      elsif @state != :closing
        err = Net::Error.new("ERR_SERVER_NOT_RUNNING", "close", @host || @path, @port, "the server is not running")
        set_immediate { callback ? callback.call(err) : nil }
      end
      self
    end

    def __on_connection(socket)
      @connections += 1
      socket.instance_variable_set(:@allow_half_open, @allow_half_open)
      socket.__attach(self)
      emit(:connection, socket)
    end

    def __connection_closed(_socket)
      @connections -= 1
      __maybe_closed
    end

    def __on_error(code, message, syscall)
      emit(:error, Net::Error.new(code, syscall, @host || @path, @port, message))
    end

    def __on_close
      return if @state == :failed
      @state = :closing if @state == :listening
      __maybe_closed
    end

    private

    def __listen_now(ip, backlog)
      # In a cluster worker the primary's socket is shared (runtime/prelude/cluster.rb).
      return Cluster.__listen(self, ip, @port, backlog) if Object.const_defined?(:Cluster) && Cluster.worker?
      __after_listen(__listen_tcp(ip, @port, backlog), [ip, @port])
    end

    def __after_listen(err, where)
      if err
        @state = :failed
        error = Net::Error.new(err[0], "listen", where[0], where[1], err[1])
        set_immediate { emit(:error, error) }
      else
        @state = :listening
        set_immediate { emit(:listening) }
      end
      self
    end

    def __maybe_closed
      return unless @state == :closing && @connections == 0 && !__open?
      @state = :closed
      emit(:close)
    end
  end
end
