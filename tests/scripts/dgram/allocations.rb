# allocations.rb — what a datagram costs in objects: 1000 datagrams received and answered
# (send of a frozen String to a known port) with the GC off, counting live objects. Receiving
# makes the message, the rinfo Hash and the address String; a send the kernel takes at once
# makes nothing.
require_relative "../net/helper"
deadline(20_000)
n = 0
rx = Dgram.create_socket(:udp4)
tx = Dgram.create_socket(:udp4)
before = nil
data = "x".freeze
host = "127.0.0.1".freeze
port = 0
live = proc { c = ObjectSpace.count_objects; c[:TOTAL] - c[:FREE] }
rx.on(:message) do |_msg, _rinfo|
  n += 1
  tx.send(data, port, host)
  if n == 1
    GC.start
    GC.disable
    before = live.call
  elsif n == 1001
    per = (live.call - before) / 1000.0
    GC.enable
    check(per <= 3.05, "a datagram received and one sent cost 3 objects (#{per})")
    rx.close
    tx.close
    finish
  end
end
rx.bind(0, "127.0.0.1") do
  port = rx.address[:port]
  tx.send(data, port, host)
end
