# udp_echo.rb — a UDP echo server on Dgram: every datagram goes back to where it came from.
#
#   build/mrun samples/udp_echo.rb [PORT] [HOST]     (default 41234 on 127.0.0.1; PORT 0: any free
#                                                     port; HOST ::1 for IPv6)
# Try it from another terminal:
#   nc -u 127.0.0.1 41234                            (type a line: it comes back)
#   python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
#   s.sendto(b"hello", ("127.0.0.1", 41234)); print(s.recvfrom(100))'
# Ctrl-C stops it and prints how many datagrams it echoed.
class UdpEcho
  attr_reader :count, :bytes

  def initialize(socket)
    @socket = socket
    @count = 0
    @bytes = 0
  end

  # One datagram: back to its sender, as it came.
  def echo(msg, rinfo)
    @count += 1
    @bytes += msg.bytesize
    @socket.send(msg, rinfo[:port], rinfo[:address])
  end
end

port = (ARGV[0] || 41234).to_i
host = ARGV[1] || "127.0.0.1"
socket = Dgram.create_socket(host.include?(":") ? :udp6 : :udp4)
echo = UdpEcho.new(socket)
socket.on(:message) { |msg, rinfo| echo.echo(msg, rinfo) }
socket.on(:error) { |e| warn "udp_echo: #{e.message}" }  # e.g. a send to a peer that is gone
socket.bind(port, host) do
  a = socket.address
  puts "udp_echo listening on #{a[:family] == "IPv6" ? "[#{a[:address]}]" : a[:address]}:#{a[:port]}"
end
Process.on(:SIGINT) do
  puts "\nudp_echo: #{echo.count} datagrams (#{echo.bytes} bytes) echoed"
  socket.close
end
