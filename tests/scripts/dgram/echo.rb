# echo.rb HOST [MAX_MESSAGE_SIZE] — a UDP echo server for peer.py's client: prints
# "listening PORT", sends each datagram back to where it came from, and closes at "quit" (the
# program then ends: a closed socket keeps nothing alive).
host = ARGV[0] || "127.0.0.1"
type = host.include?(":") ? :udp6 : :udp4
opts = ARGV[1] ? { max_message_size: ARGV[1].to_i } : {}
sock = Dgram.create_socket(type, opts) do |msg, rinfo|
  if msg == "quit"
    sock.close { puts "closed" }
  else
    sock.send(msg, rinfo[:port], rinfo[:address])
  end
end
sock.on(:error) { |e| puts "error #{e.code} #{e.syscall}"; sock.close }
sock.bind(0, host) { puts "listening #{sock.address[:port]}" }
