# stall.rb — loop health and the stall recorder under valgrind (tests/scripts/valgrind_loophealth.sh):
# short callbacks (immediates, a 1 ms interval), one stall timed by its own clock, then
# Process.loop_stats read and checked.   mrun [--prof-stall MS --prof-out DIR] stall.rb [N] [SECS]
def block_the_loop(secs)
  s = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID)
  x = 0
  x += 1 while Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID) - s < secs
  x
end

n = (ARGV[0] || 2000).to_i
secs = (ARGV[1] || 0.3).to_f
count = 0
timer = set_interval(1) { }
step = lambda do
  count += 1
  block_the_loop(secs) if count == n / 2
  if count < n
    set_immediate { step.call }
  else
    clear_interval(timer)
    s = Process.loop_stats
    raise "bad loop_stats #{s}" unless s[:peak_lag_ms] >= secs * 1000 && s[:total_callbacks] >= n
    puts "ok #{s[:peak_lag_ms].round}"
  end
end
set_immediate { step.call }
