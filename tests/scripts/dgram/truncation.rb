# truncation.rb — datagrams larger than the buffers. A socket made with max_message_size: 100
# gets the first 100 bytes of a longer datagram with rinfo[:truncated] = true (Node delivers
# truncated bytes too, without saying so), and keeps working; a datagram larger than the
# kernel's receive buffer (recv_buffer_size: 2048) still arrives whole when the queue is empty
# (Linux takes one datagram into an empty queue whatever its size).
require_relative "../net/helper"
deadline(20_000)
small = Dgram.create_socket(:udp4, max_message_size: 100)
tiny_rcvbuf = Dgram.create_socket(:udp4, recv_buffer_size: 2048)
tx = Dgram.create_socket(:udp4)
got = []
small.on(:message) do |m, r|
  got << [m, r]
  if got.size == 1
    check(m == "a" * 100 && r[:size] == 100 && r[:truncated] == true,
          "a 300-byte datagram: its first 100 bytes, truncated: true (#{m.bytesize} bytes, #{r})")
    tx.send("b" * 100, small.address[:port], "127.0.0.1")
  elsif got.size == 2
    check(m == "b" * 100 && r[:size] == 100 && !r.key?(:truncated), "a 100-byte datagram arrives whole, no :truncated key")
    tx.send("c" * 65507, small.address[:port], "127.0.0.1")
  else
    check(m == "c" * 100 && r[:truncated], "a 65507-byte datagram: 100 bytes, truncated: true")
    tx.send("d" * 60_000, tiny_rcvbuf.address[:port], "127.0.0.1")
  end
end
tiny_rcvbuf.on(:message) do |m, r|
  check(m == "d" * 60_000 && r[:size] == 60_000 && !r[:truncated],
        "60000 bytes through a 2048-byte SO_RCVBUF arrive whole (#{m.bytesize})")
  [small, tiny_rcvbuf, tx].each(&:close)
  finish
end
small.bind(0, "127.0.0.1") do
  tiny_rcvbuf.bind(0, "127.0.0.1") do
    tx.send("a" * 300, small.address[:port], "127.0.0.1")
  end
end
