# attach/timed.rb SECONDS: hot_attach_fn in bursts of ~1.5 ms with 4 ms sleeps for SECONDS, then
# "timed done" and a normal exit; "timed ready" on stderr first (valgrind_attach.sh: the leak check runs at that exit).
def hot_attach_fn(n)
  s = 0
  i = 0
  while i < n
    s += i * 2
    i += 1
  end
  s
end
warn "timed ready" # on stderr, unbuffered: the runtime (and its SIGUSR2 handler) is up
stop = Process.clock_gettime(Process::CLOCK_MONOTONIC) + (ARGV[0] || 5).to_f
while Process.clock_gettime(Process::CLOCK_MONOTONIC) < stop
  hot_attach_fn(2000)
  sleep 0.004
end
puts "timed done"
