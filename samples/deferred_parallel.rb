# deferred_parallel.rb — use both cores: the same CPU-bound work in series, then on Deferred
# workers, with a timer ticking on the main thread all along.
#
#   build/mrun samples/deferred_parallel.rb [N]
#   build/mrun --cpu-prof --prof-format trace samples/deferred_parallel.rb   # workers as threads

# Workers start with Ruby's core only: give them the method they need.
Deferred.setup do
  def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)
end
def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)

n = (ARGV[0] || 30).to_i
tasks = Deferred.pool_size

t = Time.now
serial = Array.new(tasks) { fib(n) }
serial_s = Time.now - t

ticks = 0
ticker = set_interval(10) { ticks += 1 } # the main loop stays free while workers compute

t = Time.now
jobs = Array.new(tasks) { |i| Deferred.new(n, i) { |k, id| [id, fib(k)] } }
parallel = Deferred.all(jobs).then { |pairs| pairs.map { |_, v| v } }.value
parallel_s = Time.now - t
clear_interval(ticker)

raise "results differ" unless parallel == serial
printf("%d x fib(%d) = %d\n", tasks, n, serial[0])
printf("in series     %.3f s\n", serial_s)
printf("on %d workers  %.3f s  (%.2fx faster; the main loop ticked %d times meanwhile)\n",
       tasks, parallel_s, serial_s / parallel_s, ticks)

# Failures come back as exceptions of the same class, with the worker's backtrace.
Deferred.new { Integer("not a number") }
        .rescue { |e| puts "a worker failed: #{e.class}: #{e.message} (at #{e.backtrace[0]})" }
