# connected.rb [v6] — connect / disconnect: a connected socket sends without a port, receives
# only from its peer, names it in remote_address; a name is resolved in the socket's family;
# after disconnect it sends anywhere again.
require_relative "../net/helper"
deadline(20_000)
v6 = ARGV[0] == "v6"
type = v6 ? :udp6 : :udp4
lo = v6 ? "::1" : "127.0.0.1"
# a name for the loopback address (test_dgram.sh passes one that resolves to ::1, if any)
name = ARGV[1] || (v6 ? "::1" : "localhost")
family = v6 ? "IPv6" : "IPv4"

peer = Dgram.create_socket(type)
other = Dgram.create_socket(type)
client = Dgram.create_socket(type)
log = []
peer.on(:message) { |m, r| peer.send("peer got #{m}", r[:port], r[:address]) }
other.on(:message) { |m, r| log << "other got #{m}" }
peer.bind(0, lo) do
  other.bind(0, lo) do
    pport = peer.address[:port]
    # a name resolves in the socket's family (::1 for udp6)
    events = []
    client.on(:listening) { events << :listening }
    client.connect(pport, name) do |err|
      events << :connect
      check(err.nil?, "connect to #{name}:#{pport} (#{err && err.message})")
      check(client.connected?, "connected? is true")
      ra = client.remote_address
      check(ra == { address: lo, family: family, port: pport }, "remote_address names the peer (#{ra})")
      check(client.address[:port] > 0, "the connect bound the socket implicitly (#{client.address})")
      # a datagram from another socket does not reach a connected one
      other.send("intruder", client.address[:port], lo) do
        client.send("one") # no port: to the peer
      end
    end
    client.on(:message) do |m, r|
      if m == "peer got one"
        check(r[:port] == pport, "the answer comes from the peer")
        check(events == [:listening, :connect], "events :listening then :connect (#{events})")
        client.disconnect
        check(!client.connected?, "connected? is false after disconnect")
        begin
          client.remote_address
          check(false, "remote_address raises after disconnect")
        rescue Net::Error => e
          check(e.code == "ERR_SOCKET_DGRAM_NOT_CONNECTED", "remote_address raises after disconnect (#{e.code})")
        end
        client.send("two", other.address[:port], lo)
        client.send(["th", "ree"], pport, lo)
      elsif m == "peer got three"
        check(log == ["other got two"], "after disconnect a send reaches any address (#{log})")
        [peer, other, client].each(&:close)
        finish
      else
        check(false, "unexpected datagram #{m.inspect} from #{r}")
      end
    end
  end
end
