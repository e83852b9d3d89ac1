# half_idle.rb — alternates ~20 ms of CPU work with ~20 ms asleep on a timer, 15 times, and
# prints the wall time it measured in each: "busy MS idle MS". On a loaded machine the timers
# fire late and the spins overrun, so the split is not 50/50: the test compares the profile with
# what the script measured.
def spin(ms)
  t0 = Time.now
  x = 0
  x += 1 while (Time.now - t0) * 1000 < ms
  x
end

n = 0
busy = 0.0
idle = 0.0
last = nil
step = proc do
  t0 = Time.now
  idle += t0 - last if last
  spin(20)
  n += 1
  last = Time.now
  busy += last - t0
  if n < 15
    set_timeout(20, &step)
  else
    printf("busy %.1f idle %.1f\n", busy * 1000, idle * 1000)
  end
end
step.call
