# Tiny items: shipping would cost more than the work, so the map runs inline (no task).
# The decision rests on a probe of a few microseconds, which a busy machine can stretch (a
# preempted thread, a VM's host stealing the core: under load one map in some sixty shipped 2
# chunks). So the map runs 5 times; most of them must run every item inline.
runs = Array.new(5) do
  s0 = Deferred.stats
  r = Deferred.map(1..1000) { |x| x * 2 }.value
  s1 = Deferred.stats
  [r == (1..1000).map { |x| x * 2 }, s1[:submitted] - s0[:submitted], s1[:inline_items] - s0[:inline_items]]
end
puts "equal: #{runs.all? { |ok, _, _| ok }}"
inline = runs.count { |_, shipped, items| shipped == 0 && items == 1000 }
puts "every item inline, no task shipped, in at least 3 of 5 maps: #{inline >= 3}"
warn "maps (equal, tasks shipped, items inline): #{runs.inspect}" if inline < 5
