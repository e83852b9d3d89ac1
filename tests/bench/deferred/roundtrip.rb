# Round trip of a trivial task on a warm pool: Deferred.new { ... }.value, one at a time.
n = (ARGV[0] || 20_000).to_i
Deferred.new { 0 }.value # start the pool
times = Array.new(n)
n.times do |i|
  t = Time.now
  Deferred.new(i) { |k| k + 1 }.value
  times[i] = Time.now - t
end
times.sort!
printf("%.1f %.1f\n", times[n / 2] * 1e6, times[(n * 99) / 100] * 1e6)
