# Deferred.stats: its keys, and counters that agree once everything has settled.
st = Deferred.stats
puts st.keys.sort.inspect
puts "before any task: workers #{st[:workers].inspect}, done #{st[:done]}, queued #{st[:queued]}"
Deferred.pool_size = 2
ds = (1..6).map { |i| Deferred.new(i) { |x| s = 0; 20_000.times { |k| s += k }; x } }
m = Deferred.map(1..300) { |x| s = 0; 2_000.times { |k| s += k }; x }
Deferred.all(ds + [m]).value
st = Deferred.stats
ws = st[:workers]
puts "workers: #{ws.size}, keys #{ws[0].keys.sort.inspect}"
puts "queued #{st[:queued]}, running #{st[:running]}"
puts "done = submitted: #{st[:done] == st[:submitted]}, tasks on workers = done: #{ws.inject(0) { |a, w| a + w[:tasks] } == st[:done]}"
puts "items: #{ws.inject(0) { |a, w| a + w[:items] } + st[:inline_items] == 306}"
puts "busy_ms floats > 0: #{ws.all? { |w| w[:busy_ms].is_a?(Float) && (w[:tasks] == 0 || w[:busy_ms] > 0) }}"
puts "round trip measured: #{st[:round_trip_us].is_a?(Float) && st[:round_trip_us] > 0}"
