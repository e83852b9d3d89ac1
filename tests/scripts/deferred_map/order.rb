# Deferred.map over 10 000 items of mixed sizes (a seeded generator): the results come back in
# input order, none lost, equal to what the inline map gives; the pool's counters add up.
#
# The work is a loop whose value has a closed form, so checking costs nothing beside it. The
# copy weight is set to 0: ThreadSanitizer slows the copier (instrumented) some 20 times but
# not Debian's libmruby (the VM), and there the model would rightly keep the map inline; this
# test is about what shipping returns, so it makes the map ship on every build.
Deferred::MapRun.const_set(:COPY_OVERHEAD, 0)
seed = 12_345
items = Array.new(10_000) do |i|
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  size = seed % 100 < 90 ? 700 + seed % 800 : 5_000 + seed % 10_000 # 10 % up to 20x bigger
  [i, size, "s#{size}"]
end
s0 = Deferred.stats
got = Deferred.map(items) do |i, size, label|
  s = 0
  size.times { |k| s += k & 3 }
  [i, s, label.upcase]
end.value
s1 = Deferred.stats
want = items.map { |i, size, label| [i, size / 4 * 6 + [0, 0, 1, 3][size % 4], label.upcase] }
puts "#{got.size} results, equal to the inline map: #{got == want}"
puts "indexes in order: #{got.map { |r| r[0] } == (0...10_000).to_a}"
shipped = s1[:workers].inject(0) { |a, w| a + w[:items] } - s0[:workers].inject(0) { |a, w| a + w[:items] }
inline = s1[:inline_items] - s0[:inline_items]
puts "every item ran once: #{shipped + inline == 10_000} (shipped to workers: #{shipped > 0})"
puts "tasks: #{s1[:submitted] - s0[:submitted] > 1}"
