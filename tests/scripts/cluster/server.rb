# server.rb — a clustered HTTP server for tests/e2e/test_cluster.sh and tests/bench/cluster.sh.
#
#   build/mrun tests/scripts/cluster/server.rb [workers=2] [restart=1] [port=0]
#
# The primary forks the workers and prints "port N pid P" once every worker listens, then one
# line per event: "online ID PID", "exit ID STATUS SIGNAL", "restart ID PID" (restart=1: a
# worker that dies by a signal the primary did not send is replaced by a new one). Routes:
#   GET /pid          the worker's pid
#   GET /slow?ms=MS   answers after MS milliseconds (the worker's pid)
#   GET /work?n=N     N rounds of string work, then the pid (CPU for a profile)
opts = { "workers" => "2", "restart" => "0", "port" => "0" }
ARGV.each do |arg|
  k, v = arg.split("=", 2)
  opts[k] = v
end

if Cluster.primary?
  $stdout.sync = true if $stdout.respond_to?(:sync=)
  n = opts["workers"].to_i
  listening = 0
  announced = false
  Cluster.on(:online) { |w| puts "online #{w.id} #{w.pid}" }
  Cluster.on(:listening) do |w, addr|
    listening += 1
    if !announced && listening >= n
      announced = true
      puts "port #{addr[:port]} pid #{Process.pid}"
    end
    puts "listening #{w.id} #{w.pid}" if announced && listening > n
  end
  Cluster.on(:exit) do |w, status, signal|
    puts "exit #{w.id} #{status.inspect} #{signal.inspect}"
    if opts["restart"] == "1" && signal && !w.exited_after_disconnect?
      nw = Cluster.fork(1)[0]
      puts "restart #{nw.id} #{nw.pid}" if nw
    end
  end
  Cluster.on(:message) do |w, msg|
    if msg == "disconnect-me"
      w.disconnect
    end
  end
  Cluster.fork(n)
else
  server = HTTP.create_server do |req, res|
    case req.path
    when "/pid"
      res.end("#{Process.pid}\n")
    when "/slow"
      m = /ms=(\d+)/.match(req.url)
      ms = m ? m[1].to_i : 200
      Cluster.send("disconnect-me") if req.url.include?("disconnect=1")
      set_timeout(ms) { res.end("#{Process.pid}\n") }
    when "/work"
      m = /n=(\d+)/.match(req.url)
      n = m ? m[1].to_i : 1000
      s = String.new
      n.times { |i| s << i.to_s }
      res.end("#{Process.pid} #{s.size}\n")
    else
      res.status_code = 404
      res.end("not found\n")
    end
  end
  server.listen(opts["port"].to_i, "127.0.0.1")
end
