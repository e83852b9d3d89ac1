# half_idle.rb — alternates ~20 ms of CPU work with ~20 ms asleep on a timer, 15 times.
def spin(ms)
  t0 = Time.now
  x = 0
  x += 1 while (Time.now - t0) * 1000 < ms
  x
end

n = 0
step = proc do
  spin(20)
  n += 1
  set_timeout(20, &step) if n < 15
end
step.call
