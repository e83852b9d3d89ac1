# Two fib(N) tasks on two workers vs the same two calls in series on the main thread.
n = (ARGV[0] || 30).to_i
Deferred.pool_size = 2
Deferred.setup { def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2) }
def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)
Deferred.all([Deferred.new { fib(15) }, Deferred.new { fib(15) }]).value # warm both workers
t = Time.now
fib(n); fib(n)
serial = Time.now - t
t = Time.now
Deferred.all([Deferred.new(n) { |k| fib(k) }, Deferred.new(n) { |k| fib(k) }]).value
parallel = Time.now - t
printf("%.3f %.3f\n", serial, parallel)
