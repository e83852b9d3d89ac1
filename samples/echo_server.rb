# echo_server.rb — sends back whatever each client sends, with backpressure: when a write
# returns false the socket stops reading until :drain.
#
#   build/mrun samples/echo_server.rb [PORT | PATH]   (a PATH with a / listens on a Unix socket)
arg = ARGV[0] || "7000"
server = Net.create_server do |sock|
  sock.on(:data) do |data|
    sock.pause unless sock.write(data)
  end
  sock.on(:drain) { sock.resume }
  # A client that goes away without reading everything resets the connection: not worth a word.
  sock.on(:error) { |e| warn "echo_server: #{e.message}" unless %w[ECONNRESET EPIPE].include?(e.code) }
end
server.on(:error) do |e|
  warn "echo_server: #{e.message}"
  exit 1
end
if arg.include?("/")
  server.listen(path: arg) { puts "echo_server listening on #{arg}" }
else
  server.listen(arg.to_i) { puts "echo_server listening on 127.0.0.1:#{server.address[:port]}" }
end
