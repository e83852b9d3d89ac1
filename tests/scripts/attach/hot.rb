# attach/hot.rb [PAUSE [SECONDS [STOPFILE]]]: hot_attach_fn over and over, for attach by pid.
#   PAUSE    seconds to sleep after each call (the tests' 0.004 keeps a core mostly free)
#   SECONDS  stop after that long, print "hot done" and exit normally (valgrind_attach.sh:
#            valgrind's leak check runs at that exit); without it, until killed
#   STOPFILE stop as soon as this file exists (before SECONDS): the caller's own end, so a
#            slow start under valgrind cannot use up the time its viewers need
# "hot ready" goes to stderr (unbuffered) first: the runtime and its SIGUSR2 handler are up.
def hot_attach_fn(n)
  s = 0
  i = 0
  while i < n
    s += i * 2
    i += 1
  end
  s
end
pause = ARGV[0] ? ARGV[0].to_f : 0.0
stop = ARGV[1] ? Process.clock_gettime(Process::CLOCK_MONOTONIC) + ARGV[1].to_f : nil
stop_file = ARGV[2]
warn "hot ready"
loop do
  hot_attach_fn(20000)
  sleep pause if pause > 0
  break if stop && Process.clock_gettime(Process::CLOCK_MONOTONIC) >= stop
  break if stop_file && File.exist?(stop_file)
end
puts "hot done"
