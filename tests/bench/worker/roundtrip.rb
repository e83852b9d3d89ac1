# Round trip of a message to a started Worker and back, one at a time (as
# tests/bench/node/deferred_roundtrip.js does with worker_threads): p50 and p99 in µs.
n = (ARGV[0] || 20_000).to_i
w = Worker.new(File.join(File.dirname(__FILE__), "echo.rb"))
times = Array.new(n)
i = -1
t0 = 0.0
w.on(:message) do
  times[i] = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0 if i >= 0
  i += 1
  if i < n
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    w.post_message(i)
  else
    w.post_message(nil)
  end
end
w.post_message(0) # warm-up round (i = -1)
w.on(:exit) do
  times.sort!
  printf("%.1f %.1f\n", times[n / 2] * 1e6, times[(n * 99) / 100] * 1e6)
end
