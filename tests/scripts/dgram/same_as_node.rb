# same_as_node.rb — the scenario of same_as_node.js with Dgram: test_dgram.sh runs both and
# compares what they print (error codes and syscalls, rinfo, events, an implicit bind).
a = Dgram.create_socket(:udp4)
lines = []
a.bind(0, "127.0.0.1") do
  port = a.address[:port]
  b = Dgram.create_socket(:udp4)
  b.on(:error) do |e|
    lines << "bind error #{e.code} #{e.syscall} #{e.address} #{e.port == port}"
    c = Dgram.create_socket(:udp4)
    c.on(:listening) { lines << "implicit listening" }
    c.send("\0" * 65508, port, "127.0.0.1") do |err, _|
      lines << "send error #{err.code} #{err.syscall} #{err.address} #{err.port == port}"
      a.once(:message) do |msg, rinfo|
        lines << "message #{msg.bytesize} #{rinfo.keys.join(",")} #{rinfo[:family]} #{rinfo[:size]} #{rinfo[:port] == c.address[:port]}"
        gone = Dgram.create_socket(:udp4)
        gone.bind(0, "127.0.0.1") do
          dead = gone.address[:port]
          gone.close do
            d = Dgram.create_socket(:udp4)
            d.on(:error) do |e2|
              lines << "recv error #{e2.code} #{e2.syscall}"
              [a, b, c, d].each(&:close)
              puts lines.join("\n")
            end
            d.connect(dead, "127.0.0.1") { lines << "connect"; d.send("x") }
          end
        end
      end
      c.send("", port, "127.0.0.1")
    end
  end
  b.bind(port, "127.0.0.1")
end
