# server.rb — the HTTP server of tests/bench/cluster.sh: answers every request with its pid.
#   build/mrun tests/bench/cluster/server.rb WORKERS   (0: no cluster, one process)
# Prints "cluster_server listening on 127.0.0.1:PORT" once every worker listens.
n = (ARGV[0] || "2").to_i
if n > 0 && Cluster.primary?
  up = 0
  Cluster.on(:listening) do |_w, addr|
    up += 1
    puts "cluster_server listening on 127.0.0.1:#{addr[:port]}" if up == n
  end
  Cluster.fork(n)
else
  server = HTTP.create_server { |_req, res| res.end("#{Process.pid}\n") }
  server.listen(0, "127.0.0.1") do
    puts "cluster_server listening on 127.0.0.1:#{server.address[:port]}" if n == 0
  end
end
