# value inside a timer callback waits while the loop goes on: an interval keeps ticking.
ticks = 0
iv = set_interval(5) { ticks += 1 }
set_timeout(1) do
  v = Deferred.new { t = Time.now; x = 0; x += 1 while Time.now - t < 0.15; :slow }.value
  clear_interval(iv)
  puts "value #{v} after #{ticks >= 5 ? "5+" : ticks} ticks"
end
