# value inside a timer callback waits while the loop goes on: an interval keeps ticking.
# timer_value.rb FLAG: the worker's task lasts until the interval has ticked 5 times (the main
# thread then creates the file FLAG), or 10 s. A fixed 0.15 s task left a main thread starved on
# a loaded machine fewer than 5 ticks; now only a loop that stopped running fails.
flag = ARGV[0]
ticks = 0
iv = set_interval(5) do
  ticks += 1
  File.open(flag, "w") { } if ticks == 5
end
set_timeout(1) do
  v = Deferred.new(flag) { |f| t = Time.now; nil until File.exist?(f) || Time.now - t > 10; :slow }.value
  clear_interval(iv)
  puts "value #{v} after #{ticks >= 5 ? "5+" : ticks} ticks"
end
