# A cluster of pure CPU work, for the profiler's tests (tests/e2e/test_clusterprof.sh): the
# primary forks 2 workers and burns in burn_primary, each worker in burn_worker; the primary
# prints "worker ID PID" for each, and "done" once every worker has exited.
def burn_primary(n) = (1..n).reduce(0) { |a, i| a + i * i }
def burn_worker(n) = (1..n).reduce(0) { |a, i| a ^ (i * 7) }
n = (ARGV[0] || 300_000).to_i
if Cluster.primary?
  ws = Cluster.fork(2)
  ws.each { |w| puts "worker #{w.id} #{w.pid}" }
  Cluster.on(:exit) { puts "done" if Cluster.workers.empty? }
  burn_primary(n)
else
  burn_worker(2 * n)
end
