# wait.rb — for mrun --inspect-wait: top-level work that only a profile started before the run
# can see, then "started" (the client's cue to stop the profile); it then stays until the client
# ends it (Runtime.evaluate "exit 0"), or 300 s.
def startup_work(n)
  s = 0
  i = 0
  while i < n
    s += i % 7
    i += 1
  end
  s
end

startup_work(300_000)
puts "started"
set_timeout(300_000) {}
