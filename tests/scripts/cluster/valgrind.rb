# valgrind.rb — a small cluster run for tests/scripts/valgrind_cluster.sh (the primary under
# valgrind): two workers serve HTTP on a shared port (POLICY: reuseport or shared), the primary
# asks it 6 times with its own HTTP client and sends each worker a message of every copier type,
# then disconnects them all; prints what came back and each worker's exit.
#   build/mrun tests/scripts/cluster/valgrind.rb [reuseport|shared]
Cluster.scheduling_policy = (ARGV[0] || "reuseport").to_sym if Cluster.primary?
if Cluster.primary?
  listening = 0
  answers = 0
  replies = 0
  finish = lambda do
    next unless answers == 6 && replies == 2
    puts "answers #{answers}, replies #{replies}"
    Cluster.disconnect
  end
  Cluster.on(:listening) do |_w, addr|
    listening += 1
    next unless listening == 2
    6.times do
      HTTP.get("http://127.0.0.1:#{addr[:port]}/") do |res|
        body = String.new
        res.on(:data) { |d| body << d }
        res.on(:end) { answers += 1; finish.call }
      end
    end
  end
  Cluster.on(:message) { |_w, m| replies += 1 if m == [nil, true, 1, 2.5, "s", :y, { "k" => [1] }]; finish.call }
  Cluster.on(:exit) { |w, s, sig| puts "exit #{w.id} #{s.inspect} #{sig.inspect}" }
  Cluster.fork(2).each { |w| w.on(:online) { w.send([nil, true, 1, 2.5, "s", :y, { "k" => [1] }]) } }
else
  Cluster.on(:message) { |m| Cluster.send(m) }
  HTTP.create_server { |_req, res| res.end("#{Process.pid}\n") }.listen(0, "127.0.0.1")
end
