# Throughput: n messages posted at once to a Worker that answers each; messages per second
# (both directions counted once: n round trips) from the first post to the last answer.
n = (ARGV[0] || 100_000).to_i
w = Worker.new(File.join(File.dirname(__FILE__), "echo.rb"))
got = 0
t0 = nil
w.on(:message) do
  if t0.nil? # the warm-up answer: now the burst
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    n.times { |k| w.post_message(k) }
    next
  end
  got += 1
  next if got < n
  printf("%.0f\n", n / (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0))
  w.post_message(nil)
end
w.post_message(0)
