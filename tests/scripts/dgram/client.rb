# client.rb HOST PORT COUNT — checks an echo server (peer.py server) from mrun: one message, an
# empty datagram, all 256 byte values, the largest datagram of the family, COUNT numbered
# messages (at most 32 in flight), then "quit"; the rinfo of every answer names the server.
require_relative "../net/helper"
deadline(30_000)
host = ARGV[0]
port = ARGV[1].to_i
count = (ARGV[2] || 200).to_i
family = host.include?(":") ? "IPv6" : "IPv4"
biggest = family == "IPv6" ? 65527 : 65507
sock = Dgram.create_socket(family == "IPv6" ? :udp6 : :udp4)
sock.on(:error) { |e| check(false, "no error (#{e.message})"); finish }
big = (0...biggest).map { |i| ((i * 7 + 3) % 256).chr }.join
binary = (0..255).map(&:chr).join * 4
steps = [["hello", "a message comes back"], ["", "an empty datagram comes back empty"],
         [binary, "all 256 byte values come back intact"],
         [big, "the largest datagram (#{biggest} bytes) comes back intact"]]
step = 0
rinfo_ok = true
numbered = {}
sent = 0
send_window = proc do
  while sent < count && sent - numbered.size < 32
    sock.send("message #{sent}", port, host)
    sent += 1
  end
end
sock.on(:message) do |msg, rinfo|
  rinfo_ok &&= rinfo[:address] == host && rinfo[:port] == port && rinfo[:family] == family &&
               rinfo[:size] == msg.bytesize
  if step < steps.size
    check(msg == steps[step][0], steps[step][1])
    step += 1
    if step < steps.size
      sock.send(steps[step][0], port, host)
    else
      send_window.call
    end
  else
    numbered[msg] = true
    if numbered.size == count
      want = (0...count).all? { |i| numbered["message #{i}"] }
      check(want, "#{count} numbered messages all come back")
      check(rinfo_ok, "every rinfo names the server (#{family} #{host}:#{port}) and the size")
      sock.send("quit", port, host) { sock.close { finish } }
    else
      send_window.call
    end
  end
end
sock.send(steps[0][0], port, host)
