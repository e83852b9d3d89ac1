# The loop waits for a timer, then for a socket's data: idle time, no synchronous call.
server = Net.create_server { |x| set_timeout(200) { x.end("hello") } }
server.listen(0, "127.0.0.1") do
  set_timeout(200) do
    c = Net.create_connection(port: server.address[:port], host: "127.0.0.1")
    c.on(:data) { |d| puts d }
    c.on(:close) { server.close }
  end
end
