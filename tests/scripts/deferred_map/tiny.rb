# Tiny items: shipping would cost more than the work, so the map runs inline (no task).
s0 = Deferred.stats
r = Deferred.map(1..1000) { |x| x * 2 }.value
s1 = Deferred.stats
puts "equal: #{r == (1..1000).map { |x| x * 2 }}"
puts "tasks shipped: #{s1[:submitted] - s0[:submitted]}, items inline: #{s1[:inline_items] - s0[:inline_items]}"
