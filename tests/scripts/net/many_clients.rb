# N clients (default 1000) connected at the same time: the server waits until all are open,
# then answers each; every client gets its own answer and every socket closes.
require_relative "helper"
n = (ARGV[0] || 1000).to_i
deadline(30_000)
after_warm_up do
  fds = fd_count
  sockets = []
  max_open = 0
  server = Net.create_server do |s|
    sockets << s
    max_open = server.connections if server.connections > max_open
    if sockets.size == n # all connected at once: answer everyone
      sockets.each { |x| x.once(:data) { |d| x.end("re:#{d}") } }
      sockets.each_with_index { |x, i| x.write("go") }
    end
  end
  server.listen(0) do
    port = server.address[:port]
    answered = 0
    closed = 0
    n.times do |i|
      c = Net.create_connection(port: port)
      got = ""
      c.on(:data) { |d| got == "" && d == "go" ? (got = "go"; c.write("client #{i}")) : got << d }
      c.on(:end) { answered += 1 if got == "gore:client #{i}" }
      c.on(:error) { |e| puts "client #{i}: #{e.message}" }
      c.on(:close) do
        closed += 1
        if closed == n
          check(max_open == n, "#{n} connections open together (max seen #{max_open})")
          check(answered == n, "every client got its own answer (#{answered}/#{n})")
          server.close do
            check(server.connections == 0, "server counts 0 connections after close")
            check(fd_count == fds, "no fd left open (#{fds} before, #{fd_count} after)")
            finish
          end
        end
      end
    end
  end
end
