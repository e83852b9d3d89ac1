# hot_loop.rb [CPU_SECONDS] — a hot loop that never allocates and never returns to the event
# loop (integer arithmetic and method calls only; Profiler.thread_cpu_time returns a Float,
# which is not a heap object), for CPU_SECONDS of this thread's CPU time (default 3). A live
# view must name its frames while it runs (issue 18.5).
def mix(h, i)
  (h * 31 + i) & 0xffff
end

def crunch(n)
  h = 0
  i = 0
  while i < n
    h = mix(h, i)
    i += 1
  end
  h
end

secs = (ARGV[0] || 3).to_f
t0 = Profiler.thread_cpu_time
h = 0
h ^= crunch(1000) while Profiler.thread_cpu_time - t0 < secs
puts "hot_loop done #{h}"
