# Half-close in both directions (allow_half_open: true on the side that keeps writing).
require_relative "helper"
deadline(10_000)
done = 0
# 1. The client ends first; the server, still able to write, answers after :end.
s1 = Net.create_server(allow_half_open: true) do |s|
  got = ""
  s.on(:data) { |d| got << d }
  s.on(:end) { s.end("server read #{got.size} bytes after your FIN") }
end
s1.listen(0) do
  c = Net.create_connection(port: s1.address[:port]) { c.end("x" * 1000) }
  reply = ""
  c.on(:data) { |d| reply << d }
  c.on(:close) do |had_error|
    check(reply == "server read 1000 bytes after your FIN" && !had_error, "client half-close: the server still answers (#{reply.inspect})")
    s1.close { (done += 1) == 2 && finish }
  end
end
# 2. The server ends first; the client gets :end and can still send.
s2 = Net.create_server(allow_half_open: true) do |s|
  got = ""
  s.on(:data) { |d| got << d }
  s.on(:end) do
    check(got == "still talking", "server half-close: data sent after the server's FIN arrives (#{got.inspect})")
    s.destroy
  end
  s.end("bye")
end
s2.listen(0) do
  c = Net.create_connection(port: s2.address[:port], allow_half_open: true)
  c.on(:end) do
    check(c.ready_state == "writeOnly", "client ready_state after the server's FIN is writeOnly (#{c.ready_state})")
    c.end("still talking")
  end
  c.on(:close) { s2.close { (done += 1) == 2 && finish } }
end
