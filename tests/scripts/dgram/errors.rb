# errors.rb [v6] — Dgram's errors: system failures are :error events (or the send block's first
# argument) carrying a Net::Error with code, syscall, address and port; bad arguments raise
# ArgumentError / TypeError; a socket in the wrong state raises a Net::Error with Node's code.
# Every socket keeps working after an error of the system.
require_relative "../net/helper"
deadline(20_000)

def raises(klass, what, code = nil)
  yield
  check(false, "#{what}: raised nothing")
rescue klass => e
  ok = code.nil? || (e.respond_to?(:code) && e.code == code)
  check(ok, "#{what}: #{klass}#{code ? " #{code}" : ""} (#{e.message})")
rescue StandardError => e
  check(false, "#{what}: #{e.class} #{e.message}, expected #{klass}")
end

# --- bad arguments, at the call --------------------------------------------------------------
raises(ArgumentError, "an unknown socket type") { Dgram.create_socket(:udp5) }
raises(ArgumentError, "an unknown option") { Dgram.create_socket(:udp4, reuse_address: true) }
raises(ArgumentError, "max_message_size 0") { Dgram.create_socket(:udp4, max_message_size: 0) }
raises(ArgumentError, "recv_buffer_size -1") { Dgram.create_socket(:udp4, recv_buffer_size: -1) }
s = Dgram.create_socket(type: :udp4)
check(s.type == :udp4, "create_socket(type: :udp4) makes a udp4 socket")
raises(ArgumentError, "bind to port 70000") { s.bind(70000, "127.0.0.1") }
raises(ArgumentError, "bind to port -1") { s.bind(-1, "127.0.0.1") }
raises(ArgumentError, "bind to port \"80\"") { s.bind("80", "127.0.0.1") }
raises(ArgumentError, "bind to an empty host") { s.bind(0, "") }
raises(ArgumentError, "a udp4 socket bound to ::1") { s.bind(0, "::1") }
raises(ArgumentError, "send to port 0") { s.send("x", 0, "127.0.0.1") }
raises(ArgumentError, "send without a port on an unconnected socket") { s.send("x") }
raises(TypeError, "send of an Integer") { s.send(42, 9, "127.0.0.1") }
raises(TypeError, "send of an Array holding an Integer") { s.send(["a", 1], 9, "127.0.0.1") }
raises(ArgumentError, "send from udp4 to ::1") { s.send("x", 9, "::1") }
check(!s.bound?, "a send that raised did not bind the socket")
raises(ArgumentError, "connect to port 0") { s.connect(0) }
raises(ArgumentError, "set_ttl(0)") { s.set_ttl(0) }
raises(ArgumentError, "set_ttl(256)") { s.set_ttl(256) }
raises(ArgumentError, "set_multicast_ttl(-1)") { s.set_multicast_ttl(-1) }
raises(TypeError, "add_membership(nil)") { s.add_membership(nil) }
raises(Net::Error, "address before bind", "EBADF") { s.address }
raises(Net::Error, "remote_address when not connected", "ERR_SOCKET_DGRAM_NOT_CONNECTED") { s.remote_address }
raises(Net::Error, "disconnect when not connected", "ERR_SOCKET_DGRAM_NOT_CONNECTED") { s.disconnect }
s.close

# --- the system's failures, as events --------------------------------------------------------
pending = 6 # the groups below that call done
done = proc { pending -= 1; finish if pending == 0 }

a = Dgram.create_socket(:udp4)
a.bind(0, "127.0.0.1") do
  port = a.address[:port]
  raises(Net::Error, "bind twice", "ERR_SOCKET_ALREADY_BOUND") { a.bind(0, "127.0.0.1") }
  b = Dgram.create_socket(:udp4)
  b.on(:error) do |e|
    check(e.is_a?(Net::Error) && e.code == "EADDRINUSE" && e.syscall == "bind" &&
          e.address == "127.0.0.1" && e.port == port, "a busy port is an EADDRINUSE :error (#{e.message})")
    # the socket can bind again after the failure
    b.bind(0, "127.0.0.1") { check(b.address[:port] != port, "bind works after EADDRINUSE"); b.close(&done) }
  end
  b.bind(port, "127.0.0.1")
  check(b.bound? == false, "bound? is false after a failed bind")

  # reuse_addr: two sockets on one port
  r1 = Dgram.create_socket(:udp4, reuse_addr: true)
  r2 = Dgram.create_socket(:udp4, reuse_addr: true)
  r1.bind(0, "127.0.0.1") do
    r2.on(:error) { |e| check(false, "reuse_addr lets a second socket bind the port (#{e.message})") }
    r2.bind(r1.address[:port], "127.0.0.1") do
      check(r2.address[:port] == r1.address[:port], "reuse_addr lets a second socket bind the port")
      r1.close; r2.close(&done)
    end
  end

  # EMSGSIZE: a datagram over 65507 bytes, with a block and without one
  a.send("x" * 65508, port, "127.0.0.1") do |err, bytes|
    check(err.is_a?(Net::Error) && err.code == "EMSGSIZE" && err.syscall == "send" && err.port == port && bytes.nil?,
          "65508 bytes over IPv4: the send block gets EMSGSIZE (#{err && err.message})")
    a.once(:error) do |e|
      check(e.code == "EMSGSIZE", "without a block it is an :error event (#{e.message})")
      a.send("fine", port, "127.0.0.1") { |e2, n| check(e2.nil? && n == 4, "the socket sends after EMSGSIZE") }
      a.once(:message) { |m, _| check(m == "fine", "and receives"); done.call }
    end
    a.send("y" * 70000, port, "127.0.0.1")
  end

  # a name that does not resolve
  a.send("x", 9, "no-such-host.invalid") do |err, _|
    check(err.is_a?(Net::Error) && err.syscall == "getaddrinfo" && err.code.start_with?("EAI_"),
          "an unresolvable host is a getaddrinfo error (#{err && err.message})")
    done.call
  end

  # ECONNREFUSED on a connected socket whose peer is gone
  gone = Dgram.create_socket(:udp4)
  gone.bind(0, "127.0.0.1") do
    dead = gone.address[:port]
    gone.close do
      c = Dgram.create_socket(:udp4)
          c.on(:error) do |e|
        check(e.code == "ECONNREFUSED" && e.address == "127.0.0.1" && e.port == dead,
              "a connected socket gets ECONNREFUSED from a closed port (#{e.message})")
        c.close(&done) unless c.instance_variable_get(:@closing)
      end
      c.connect(dead, "127.0.0.1") do |err|
        check(err.nil?, "connect to the closed port succeeds (UDP has no handshake)")
        raises(Net::Error, "connect twice", "ERR_SOCKET_DGRAM_IS_CONNECTED") { c.connect(dead) }
        raises(Net::Error, "send with a port on a connected socket", "ERR_SOCKET_DGRAM_IS_CONNECTED") { c.send("x", dead) }
        c.send("anyone?")
      end
    end
  end

  # after close
  z = Dgram.create_socket(:udp4)
  z.bind(0, "127.0.0.1") do
    z.close do
      raises(Net::Error, "send after close", "ERR_SOCKET_DGRAM_NOT_RUNNING") { z.send("x", port, "127.0.0.1") }
      raises(Net::Error, "close twice", "ERR_SOCKET_DGRAM_NOT_RUNNING") { z.close }
      raises(Net::Error, "bind after close", "ERR_SOCKET_DGRAM_NOT_RUNNING") { z.bind(0) }
      raises(Net::Error, "set_ttl after close", "ERR_SOCKET_DGRAM_NOT_RUNNING") { z.set_ttl(3) }
      done.call
    end
  end
end
