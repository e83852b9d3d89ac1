# live_http.rb — a clustered HTTP server for `mrprof top`'s cluster test
# (tests/e2e/test_clusterprof.sh): 2 workers whose requests spend their time in hot_worker.
#
#   mrun tests/scripts/cluster/live_http.rb INFO
#
# The primary appends to the file INFO (the script's stdout is the viewer's while it runs):
# "primary PID" at once, "worker ID PID" for each worker online (a replacement too: a worker
# killed by a signal is replaced), and "port N" once both listen. GET /work?n=N answers the
# worker's pid after N rounds of hot_worker.
def hot_worker(n) = (1..n).reduce(0) { |a, i| a ^ (i * 7) }

info = ARGV[0] or raise "usage: live_http.rb INFO"
note = ->(line) { File.open(info, "a") { |f| f.puts line } }
if Cluster.primary?
  note.("primary #{Process.pid}")
  listening = 0
  Cluster.on(:online) { |w| note.("worker #{w.id} #{w.pid}") }
  Cluster.on(:listening) do |_w, addr|
    listening += 1
    note.("port #{addr[:port]}") if listening == 2
  end
  Cluster.on(:exit) do |w, _status, signal|
    Cluster.fork(1) if signal && !w.exited_after_disconnect?
  end
  Cluster.fork(2)
else
  server = HTTP.create_server do |req, res|
    m = /n=(\d+)/.match(req.url)
    res.end("#{Process.pid} #{hot_worker(m ? m[1].to_i : 20_000)}\n")
  end
  server.listen(0, "127.0.0.1")
end
