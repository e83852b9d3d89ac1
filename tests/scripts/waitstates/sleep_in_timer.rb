# A timer callback that sleeps (blocks the loop), between two waits for timers (idle).
def hold
  sleep 0.3
end
set_timeout(100) { hold }
set_timeout(500) { }
