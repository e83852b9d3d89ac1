# Errors: refused connects and busy ports are :error events with codes; bad arguments raise at
# the call; writing after end is an :error event; a peer reset is :error + :close.
require_relative "helper"
deadline(10_000)

def raises(cls, pattern, what)
  yield
  check(false, "#{what}: nothing raised")
rescue cls => e
  check(e.message.include?(pattern), "#{what}: #{cls} (#{e.message})")
rescue Exception => e
  check(false, "#{what}: #{e.class} #{e.message}")
end

raises(ArgumentError, "port must be an Integer from 0 to 65535, not -1", "port -1") { Net.create_connection(port: -1) }
raises(ArgumentError, "not 70000", "port 70000") { Net.create_server.listen(70000) }
raises(ArgumentError, "not \"80\"", "port as a String") { Net.create_connection(port: "80") }
raises(ArgumentError, "host must be a non-empty String", "empty host") { Net.create_connection(port: 1, host: "") }
raises(TypeError, "write takes a String, not Integer", "write(42)") { Net::Socket.new.write(42) }

steps = []
step_done = proc do |name|
  steps << name
  finish if steps.size == 5
end

# ECONNREFUSED: listen, learn the port, close, then connect to it.
probe = Net.create_server
probe.listen(0) do
  port = probe.address[:port]
  probe.close do
    c = Net.create_connection(port: port)
    c.on(:error) do |e|
      check(e.is_a?(Net::Error) && e.code == "ECONNREFUSED" && e.syscall == "connect" && e.port == port &&
            e.address == "127.0.0.1" && e.message.start_with?("connect ECONNREFUSED 127.0.0.1:#{port}"),
            "refused connect: #{e.message}")
    end
    c.on(:close) do |had_error|
      check(had_error, "close after a refused connect has had_error")
      step_done.call(:refused)
    end
  end
end

# EADDRINUSE, and listen twice.
a = Net.create_server
a.listen(0) do
  raises(ArgumentError, "already listening", "listen twice") { a.listen(0) }
  b = Net.create_server
  b.on(:error) do |e|
    check(e.code == "EADDRINUSE" && e.syscall == "listen" && e.port == a.address[:port],
          "busy port: #{e.message}")
    a.close { step_done.call(:busy) }
  end
  b.listen(a.address[:port])
end

# Write after end: an :error event, and no crash.
w = Net.create_server { |s| s.on(:end) { s.end } }
w.listen(0) do
  c = Net.create_connection(port: w.address[:port]) do
    c.end("last words")
    r = c.write("more")
    check(r == false, "write after end returns false")
  end
  c.on(:error) { |e| check(e.code == "EPIPE" && e.message.include?("write after end"), "write after end: #{e.message}") }
  c.on(:close) { w.close { step_done.call(:after_end) } }
end

# Peer reset: the server closes with unread data in its buffer, so the kernel answers with RST.
r = Net.create_server do |s|
  s.pause
  set_timeout(50) { s.destroy }
end
r.listen(0) do
  errors = []
  c = Net.create_connection(port: r.address[:port]) { c.write("x" * 100_000) }
  c.on(:error) { |e| errors << e.code }
  c.on(:data) { |_d| }
  c.on(:close) do |had_error|
    ok = (had_error && errors.size == 1 && %w[ECONNRESET EPIPE].include?(errors[0])) || (!had_error && errors.empty?)
    check(ok, "peer reset ends in :close (had_error=#{had_error}, errors=#{errors.inspect})")
    r.close { step_done.call(:reset) }
  end
end

# Destroy with an error: :error with it, then :close(true).
d = Net.create_server { |s| s.on(:end) { s.end } }
d.listen(0) do
  events = []
  c = Net.create_connection(port: d.address[:port]) { c.destroy(RuntimeError.new("enough")) }
  c.on(:error) { |e| events << "error:#{e.message}" }
  c.on(:close) do |had_error|
    events << "close:#{had_error}"
    check(events == ["error:enough", "close:true"], "destroy(error) emits :error then :close(true) (#{events.inspect})")
    d.close { step_done.call(:destroy) }
  end
end
