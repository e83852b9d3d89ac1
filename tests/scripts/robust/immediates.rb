# immediates.rb N — the issue's one-liner, bounded by count: batches of 2 000 set_immediate from
# an interval until N have run, then the live objects after a full GC, against those at the
# start. Prints "ran N, live objects START -> END".
total = (ARGV[0] || 100_000).to_i
def live
  GC.start
  c = ObjectSpace.count_objects
  c[:TOTAL] - c[:FREE]
end
start = live
n = 0
t = set_interval(5) do
  if n >= total
    clear_interval(t)
    set_timeout(20) { puts "ran #{n}, live objects #{start} -> #{live}" }
  else
    2000.times { set_immediate { n += 1 } }
  end
end
