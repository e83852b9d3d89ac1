# Deferred#value waits for a worker's task (blocked: Deferred#value); a timer callback that runs
# during the wait is running code (spin), not the wait. The task itself sleeps on its worker
# (blocked: sleep on that thread).
def spin
  t = Time.now
  x = 0
  x += 1 while Time.now - t < 0.05
  x
end
set_timeout(10) { spin }
d = Deferred.new { sleep 0.3; 42 }
p d.value
