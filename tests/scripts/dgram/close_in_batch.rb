# close_in_batch.rb — a listener that closes its socket in the middle of a batch: 10 datagrams
# wait in the kernel, recvmmsg takes them in one call, the first :message closes the socket,
# and the other 9 are dropped (no event after close, no use of the closed handle).
require_relative "../net/helper"
deadline(20_000)
rx = Dgram.create_socket(:udp4)
tx = Dgram.create_socket(:udp4)
got = 0
rx.on(:message) do |_m, _r|
  got += 1
  rx.close if got == 1
end
# :close comes from the handle's close callback, after libuv finished the batch: whatever the
# batch would have delivered after close has had its chance.
rx.on(:close) do
  check(got == 1, "one :message, then nothing after close (#{got})")
  tx.close
  finish
end
rx.bind(0, "127.0.0.1") do
  port = rx.address[:port]
  # all ten are sent before the loop polls again: they wait together in rx's queue
  10.times { |i| tx.send("m#{i}", port, "127.0.0.1") }
end
