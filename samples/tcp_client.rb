# tcp_client.rb — connects, sends a line, prints what comes back, and closes its side.
#
#   build/mrun samples/tcp_client.rb PORT [HOST] [MESSAGE]
#   (try it against samples/echo_server.rb)
port = (ARGV[0] || 7000).to_i
host = ARGV[1] || "127.0.0.1"
message = ARGV[2] || "hello from mrun"

sock = Net.create_connection(port: port, host: host) do
  puts "connected to #{sock.remote_address}:#{sock.remote_port}"
  sock.end("#{message}\n")
end
sock.on(:data) { |data| print data }
sock.on(:end) { puts "(server closed its side)" }
sock.on(:error) do |e|
  warn "tcp_client: #{e.message}"
  exit 1
end
sock.on(:close) { |had_error| puts "closed#{had_error ? " after an error" : ""}" }
