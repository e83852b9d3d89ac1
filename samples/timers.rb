# timers.rb — the event loop: a timeout, an interval that stops itself, an immediate.
#   build/mrun samples/timers.rb
started = Time.now
set_immediate { puts "immediate: runs before any timer" }
set_timeout(30) { puts "timeout: 30 ms later" }
ticks = 0
interval = set_interval(10) do
  ticks += 1
  puts "interval: tick #{ticks}"
  clear_interval(interval) if ticks == 3
end
set_timeout(60) { puts format("done after %.0f ms", (Time.now - started) * 1000) }
