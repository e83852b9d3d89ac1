# slow_accept.rb — an accepted connection's socket object is made by the server's C callback (in the
# loop's poll phase) before the :connection listener runs; here its initialize spins 0.3 s.
class SlowSocket < Net::Socket
  def initialize(*a)
    super
    t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    nil while Process.clock_gettime(Process::CLOCK_MONOTONIC) - t < 0.3
  end
end
server = Net.create_server { |sock| sock.end; server.close }
server.instance_variable_set(:@socket_class, SlowSocket)
server.listen(0) do
  c = Net.create_connection(port: server.address[:port], host: "127.0.0.1")
  c.on(:error) {}
  c.on(:close) {}
end
