# server.close stops accepting at once but emits :close only after the open connections close.
require_relative "helper"
deadline(10_000)
events = []
server = Net.create_server do |s|
  s.on(:data) do |d|
    events << "server got #{d}"
    server.close { events << "server closed" }
    check(!server.listening?, "not listening right after close")
    set_timeout(100) do
      events << "connection still open"
      # a new connection is refused now
      late = Net.create_connection(port: $port)
      late.on(:error) { |e| events << "late #{e.code}" }
      late.on(:close) { s.end("bye") }
    end
  end
  s.on(:end) { s.end }
end
server.listen(0) do
  $port = server.address[:port]
  c = Net.create_connection(port: $port) { c.write("hi") }
  c.on(:data) { |d| events << "client got #{d}" }
  c.on(:close) do
    set_timeout(20) do
      check(events == ["server got hi", "connection still open", "late ECONNREFUSED", "client got bye", "server closed"],
            "close waits for the open connection (#{events.inspect})")
      finish
    end
  end
end
