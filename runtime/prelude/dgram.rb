# dgram.rb — the Ruby half of Dgram: Node's `dgram` module (UDP) for mrun (the C half is
# net/dgram.c).
#
#   server = Dgram.create_socket(:udp4) { |msg, rinfo| server.send(msg, rinfo[:port], rinfo[:address]) }
#   server.bind(41234, "127.0.0.1") { puts "listening on #{server.address[:port]}" }
#
#   client = Dgram.create_socket(:udp4)
#   client.on(:message) { |msg, rinfo| puts msg; client.close }
#   client.send("hi", 41234, "127.0.0.1")
#
# Everything is non-blocking on the runtime's event loop. Failures of the system arrive as :error
# events (or as the send block's first argument) carrying a Net::Error (code, syscall, address,
# port); bad arguments raise ArgumentError or TypeError at the call, and using a socket in the
# wrong state (closed, bound twice, connected twice) raises a Net::Error with Node's code
# (ERR_SOCKET_DGRAM_NOT_RUNNING...). See docs/script-api.md, "Dgram (UDP)".
module Dgram
  # The largest datagram a socket receives whole (and the default of max_message_size:): any
  # UDP payload fits (65507 bytes over IPv4, 65527 over IPv6).
  MAX_MESSAGE_SIZE = 65536

  # create_socket(:udp4 | :udp6, reuse_addr: false, ipv6_only: false, recv_buffer_size: nil,
  #               send_buffer_size: nil, max_message_size: 65536) { |msg, rinfo| }
  # or create_socket(type: :udp4, ...). The block is a :message listener.
  def self.create_socket(type = nil, opts = nil, &on_message)
    if type.is_a?(Hash)
      opts = type
      type = opts[:type]
    end
    Socket.new(type, opts || {}, &on_message)
  end

  class Socket
    include EventEmitter

    OPTIONS = [:type, :reuse_addr, :ipv6_only, :recv_buffer_size, :send_buffer_size, :max_message_size].freeze

    # Which of libuv's options __set and __get mean (net/dgram.c's enum opt).
    OPT_BROADCAST = 0
    OPT_TTL = 1
    OPT_MULTICAST_TTL = 2
    OPT_MULTICAST_LOOP = 3

    attr_reader :type

    def initialize(type = :udp4, opts = {}, &on_message)
      raise TypeError, "options must be a Hash, not #{opts.class}" unless opts.is_a?(Hash)
      opts.each_key do |k|
        raise ArgumentError, "unknown option #{k.inspect} (known: #{OPTIONS.map(&:inspect).join(", ")})" unless OPTIONS.include?(k)
      end
      @type = case type
              when :udp4, "udp4" then :udp4
              when :udp6, "udp6" then :udp6
              else raise ArgumentError, "socket type must be :udp4 or :udp6, not #{type.inspect}"
              end
      @family = @type == :udp6 ? 6 : 4
      @reuse_addr = opts[:reuse_addr] ? true : false
      @ipv6_only = opts[:ipv6_only] ? true : false
      max = opts[:max_message_size] || MAX_MESSAGE_SIZE
      unless max.is_a?(Integer) && max >= 1 && max <= MAX_MESSAGE_SIZE
        raise ArgumentError, "max_message_size must be an Integer from 1 to #{MAX_MESSAGE_SIZE}, not #{max.inspect}"
      end
      @state = :unbound         # :unbound, :binding (a name is being resolved), :bound
      @connect_state = :none    # :none, :connecting, :connected
      @closing = false
      @closed = false
      @after_bind = nil         # sends waiting for a bind or connect that resolves a name: procs
      @pending_connect = nil    # a connect waiting for such a bind
      @sent = []                # sends queued in libuv: [callback, host, port], in order
      on(:message, on_message) if on_message
      __open(@family, max)
      set_recv_buffer_size(opts[:recv_buffer_size]) if opts[:recv_buffer_size]
      set_send_buffer_size(opts[:send_buffer_size]) if opts[:send_buffer_size]
    end

    # bind(port = 0, host = "0.0.0.0" / "::") { :listening } or bind(port:, address:).
    # Receiving starts: an open bound socket keeps the program alive (see unref).
    def bind(port = nil, host = nil, &on_listening)
      if port.is_a?(Hash)
        host = port[:address] || port[:host]
        port = port[:port]
      end
      __check_running("bind")
      raise Net::Error.new("ERR_SOCKET_ALREADY_BOUND", "bind", nil, nil, "the socket is already bound") unless @state == :unbound
      port = Net.__check_port(port || 0)
      host = host.nil? ? (@family == 6 ? "::" : "0.0.0.0") : Net.__check_host(host)
      once(:listening, on_listening) if on_listening
      if Net.ip_family(host)
        __bind_now(host, port)
      else
        @state = :binding
        Net.__lookup(host, @family) do |err, ip, _family|
          next if @closed || @closing
          if err
            @state = :unbound
            @after_bind = nil
            emit(:error, Net::Error.new(err[0], "getaddrinfo", host, nil, err[1]))
          else
            __bind_now(ip, port)
          end
        end
      end
      self
    end

    # send(data, port, host = "127.0.0.1" / "::1") { |err, bytes| }; on a connected socket
    # send(data) { |err, bytes| }. data is a String or an Array of Strings (one datagram). An
    # unbound socket binds first (port 0, any address). Without a block a failure is an :error
    # event; with one it is the block's first argument.
    #
    # The per-datagram path: symbols are compared with equal? (Symbol#== goes through
    # Comparable in mruby 3.1) and the checks are inline.
    def send(data, port = nil, host = nil, &callback)
      data = __datagram(data) unless data.is_a?(String)
      __check_running("send") if @closed || @closing
      if @connect_state.equal?(:none)
        unless port.is_a?(Integer) && port > 0 && port <= 65535
          raise ArgumentError, "port must be an Integer from 1 to 65535, not #{port.inspect}"
        end
        if host.nil?
          host = @family == 6 ? "::1" : "127.0.0.1"
        elsif !host.is_a?(String) || host.empty?
          Net.__check_host(host)
        end
      elsif !port.nil? || !host.nil?
        raise Net::Error.new("ERR_SOCKET_DGRAM_IS_CONNECTED", "send", nil, nil, "the socket is connected: send(data) without a port")
      end
      if @state.equal?(:bound) && !@connect_state.equal?(:connecting)
        __send_now(data, port, host, callback)
        return self
      end
      if @state == :unbound
        # a bad address must fail before the implicit bind (later sends find out in C)
        if @family == 4 && Net.ip_family(host) == 6
          raise ArgumentError, "a udp4 socket cannot reach the IPv6 address #{host}"
        end
        bind
        return self if @state.equal?(:unbound) # the bind failed: its :error is on the way
      end
      if @state == :binding || @connect_state == :connecting
        (@after_bind ||= []) << proc { __send_now(data, port, host, callback) }
      else
        __send_now(data, port, host, callback)
      end
      self
    end

    # connect(port, host = "127.0.0.1" / "::1") { |err| }: sends without a port go there, and
    # only its datagrams arrive. :connect follows (or :error; the block gets the error).
    def connect(port, host = nil, &callback)
      __check_running("connect")
      raise Net::Error.new("ERR_SOCKET_DGRAM_IS_CONNECTED", "connect", nil, nil, "the socket is already connected") unless @connect_state == :none
      unless port.is_a?(Integer) && port > 0 && port <= 65535
        raise ArgumentError, "port must be an Integer from 1 to 65535, not #{port.inspect}"
      end
      host = host.nil? ? (@family == 6 ? "::1" : "127.0.0.1") : Net.__check_host(host)
      if @family == 4 && Net.ip_family(host) == 6
        raise ArgumentError, "a udp4 socket cannot reach the IPv6 address #{host}"
      end
      if @state == :unbound
        bind
        return self if @state.equal?(:unbound) # the bind failed: its :error is on the way
      end
      @connect_state = :connecting
      @connect_callback = callback
      go = proc do
        if Net.ip_family(host)
          __connect_now(host, port)
        else
          Net.__lookup(host, @family) do |err, ip, _family|
            next if @closed || @closing
            if err
              __connect_failed(Net::Error.new(err[0], "getaddrinfo", host, nil, err[1]))
            else
              __connect_now(ip, port)
            end
          end
        end
      end
      if @state == :binding
        @pending_connect = go
      else
        go.call
      end
      self
    end

    def disconnect
      __check_running("disconnect")
      raise Net::Error.new("ERR_SOCKET_DGRAM_NOT_CONNECTED", "disconnect", nil, nil, "the socket is not connected") unless @connect_state == :connected
      err = __disconnect
      raise Net::Error.new(err[0], "disconnect", nil, nil, err[1]) if err
      @connect_state = :none
      @remote = nil
      self
    end

    # {address:, family:, port:} of the bound socket.
    def address
      __check_running("address")
      name = @state == :bound ? __address : nil
      raise Net::Error.new("EBADF", "getsockname", nil, nil, "the socket is not bound") unless name
      Net.__address_hash(name)
    end

    # {address:, family:, port:} of the connected peer.
    def remote_address
      __check_running("remote_address")
      name = @connect_state == :connected ? __remote_address : nil
      raise Net::Error.new("ERR_SOCKET_DGRAM_NOT_CONNECTED", "getpeername", nil, nil, "the socket is not connected") unless name
      Net.__address_hash(name)
    end

    def bound?
      @state == :bound && !@closed && !@closing
    end

    def connected?
      @connect_state == :connected && !@closed && !@closing
    end

    # Closes the socket: :close follows (the block is its listener). Queued sends are dropped.
    def close(&callback)
      __check_running("close")
      once(:close, callback) if callback
      @closing = true
      @after_bind = nil
      @pending_connect = nil
      __close
      self
    end

    def ref
      __ref
      self
    end

    def unref
      __unref
      self
    end

    def ref?
      __has_ref?
    end

    def set_broadcast(flag)
      __set_opt(OPT_BROADCAST, flag ? 1 : 0, "set_broadcast")
      flag
    end

    def get_broadcast
      __get_opt(OPT_BROADCAST, "get_broadcast") != 0
    end

    # TTL (IPv6: hop limit) of unicast datagrams, 1 to 255.
    def set_ttl(ttl)
      __set_opt(OPT_TTL, __check_byte(ttl, 1, "ttl"), "set_ttl")
      ttl
    end

    def get_ttl
      __get_opt(OPT_TTL, "get_ttl")
    end

    # TTL of multicast datagrams, 0 to 255 (1 by default: the local network only).
    def set_multicast_ttl(ttl)
      __set_opt(OPT_MULTICAST_TTL, __check_byte(ttl, 0, "multicast ttl"), "set_multicast_ttl")
      ttl
    end

    def get_multicast_ttl
      __get_opt(OPT_MULTICAST_TTL, "get_multicast_ttl")
    end

    # Whether our own multicast datagrams come back to us (true by default).
    def set_multicast_loopback(flag)
      __set_opt(OPT_MULTICAST_LOOP, flag ? 1 : 0, "set_multicast_loopback")
      flag
    end

    def get_multicast_loopback
      __get_opt(OPT_MULTICAST_LOOP, "get_multicast_loopback") != 0
    end

    # The interface multicast goes out of: its IPv4 address, or for IPv6 "::%eth0" / "::%1".
    def set_multicast_interface(interface)
      __check_running("set_multicast_interface")
      err = __multicast_interface(__check_string(interface, "interface"))
      raise Net::Error.new(err[0], "set_multicast_interface", interface, nil, err[1]) if err
      self
    end

    def add_membership(group, interface = nil)
      __change_membership(group, interface, true, "add_membership")
    end

    def drop_membership(group, interface = nil)
      __change_membership(group, interface, false, "drop_membership")
    end

    # SO_RCVBUF / SO_SNDBUF in bytes. Linux reports twice what was set (its bookkeeping).
    def get_recv_buffer_size
      __buffer(true, 0, "get_recv_buffer_size")
    end

    def set_recv_buffer_size(size)
      __buffer(true, __check_buffer_size(size), "set_recv_buffer_size")
    end

    def get_send_buffer_size
      __buffer(false, 0, "get_send_buffer_size")
    end

    def set_send_buffer_size(size)
      __buffer(false, __check_buffer_size(size), "set_send_buffer_size")
    end

    # --- called from net/dgram.c ------------------------------------------------------------

    # emit(:message, msg, rinfo) without the splats: the per-datagram path.
    def __on_message(msg, rinfo)
      list = @__events && @__events[:message]
      return false unless list
      n = list.size
      i = 0
      while i < n
        entry = list[i]
        off(:message, entry[0]) if entry[1]
        entry[0].call(msg, rinfo)
        i += 1
      end
      true
    end

    def __on_error(code, message, syscall)
      peer = @remote || []
      emit(:error, Net::Error.new(code, syscall, peer[0], peer[1], message))
    end

    def __on_sent(err, bytes)
      callback, host, port = @sent.shift
      if err
        __send_failed(err, "send", host, port, callback)
      elsif callback
        callback.call(nil, bytes)
      end
    end

    def __on_close
      return if @closed
      @closed = true
      @closing = false
      @sent = []
      @after_bind = nil
      emit(:close)
    end

    private

    def __check_running(what)
      return unless @closed || @closing
      raise Net::Error.new("ERR_SOCKET_DGRAM_NOT_RUNNING", what, nil, nil, "the socket is closed")
    end

    def __datagram(data)
      return data if data.is_a?(String)
      if data.is_a?(Array) && data.all? { |part| part.is_a?(String) }
        return data.join
      end
      raise TypeError, "the datagram must be a String or an Array of Strings, not #{data.class}"
    end

    def __check_string(value, what)
      raise TypeError, "#{what} must be a String, not #{value.class}" unless value.is_a?(String)
      raise ArgumentError, "#{what} must not be empty" if value.empty?
      value
    end

    def __check_byte(value, min, what)
      unless value.is_a?(Integer) && value >= min && value <= 255
        raise ArgumentError, "#{what} must be an Integer from #{min} to 255, not #{value.inspect}"
      end
      value
    end

    def __check_buffer_size(size)
      unless size.is_a?(Integer) && size > 0 && size <= 2_147_483_647
        raise ArgumentError, "buffer size must be a positive Integer (bytes), not #{size.inspect}"
      end
      size
    end

    def __set_opt(opt, value, what)
      __check_running(what)
      err = __set(opt, value)
      raise Net::Error.new(err[0], what, nil, nil, err[1]) if err
    end

    def __get_opt(opt, what)
      __check_running(what)
      v = __get(opt)
      raise Net::Error.new(v[0], what, nil, nil, v[1]) if v.is_a?(Array)
      v
    end

    def __buffer(recv, size, what)
      __check_running(what)
      v = __buffer_size(recv, size)
      raise Net::Error.new(v[0], what, nil, nil, v[1]) if v.is_a?(Array)
      v
    end

    def __change_membership(group, interface, join, what)
      __check_running(what)
      __check_string(group, "multicast group")
      __check_string(interface, "interface") unless interface.nil?
      err = __membership(group, interface, join)
      raise Net::Error.new(err[0], what, group, nil, err[1]) if err
      self
    end

    def __bind_now(ip, port)
      err = __bind(ip, port, @reuse_addr, @ipv6_only)
      if err
        @state = :unbound
        @after_bind = nil
        error = Net::Error.new(err[0], "bind", ip, port, err[1])
        set_immediate { emit(:error, error) }
        return
      end
      @state = :bound
      set_immediate { emit(:listening) unless @closed }
      __run_after_bind
    end

    # After a bind that resolved a name, or a connect: the connect that waited for the bind,
    # then the sends that waited for both (a connect that resolves a name keeps them waiting).
    def __run_after_bind
      if (go = @pending_connect)
        @pending_connect = nil
        go.call
      end
      return if @connect_state == :connecting
      waiting = @after_bind
      @after_bind = nil
      waiting&.each { |job| job.call unless @closed || @closing }
    end

    def __connect_now(ip, port)
      err = __connect(ip, port)
      if err
        __connect_failed(Net::Error.new(err[0], "connect", ip, port, err[1]))
        return
      end
      @connect_state = :connected
      @remote = [ip, port]
      callback = @connect_callback
      @connect_callback = nil
      set_immediate do
        next if @closed
        emit(:connect)
        callback&.call(nil)
      end
      __run_after_bind
    end

    # The sends that waited for the connect are dropped with it.
    def __connect_failed(error)
      @connect_state = :none
      callback = @connect_callback
      @connect_callback = nil
      @after_bind = nil
      set_immediate { callback ? callback.call(error) : emit(:error, error) }
    end

    def __send_now(data, port, host, callback)
      return if @closed || @closing
      r = __send(data, host, port || 0)
      if r.is_a?(Integer)
        set_immediate { callback.call(nil, r) } if callback
      elsif r.equal?(:queued)
        @sent << [callback, host, port]
      elsif r.equal?(:lookup)
        Net.__lookup(host, @family) do |err, ip, _family|
          if err
            __send_failed(err, "getaddrinfo", host, port, callback)
          elsif !@closed && !@closing
            __send_now(data, port, ip, callback)
          end
        end
      else
        error = Net::Error.new(r[0], "send", host, port, r[1])
        set_immediate { callback ? callback.call(error) : emit(:error, error) }
      end
    end

    def __send_failed(err, syscall, host, port, callback)
      error = Net::Error.new(err[0], syscall, host || (@remote && @remote[0]), port || (@remote && @remote[1]), err[1])
      callback ? callback.call(error) : emit(:error, error)
    end
  end
end
