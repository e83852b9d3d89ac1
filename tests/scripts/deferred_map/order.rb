# Deferred.map over 10 000 items of mixed sizes (a seeded generator): the results come back in
# input order, none lost, equal to the inline map; the pool's counters add up.
Deferred.setup do
  def cost(n)
    s = 0
    n.times { |i| s = (s + i * 7) % 1_000_003 }
    s
  end
end

def cost(n)
  s = 0
  n.times { |i| s = (s + i * 7) % 1_000_003 }
  s
end

seed = 12_345
items = Array.new(10_000) do |i|
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  # 90 % small, 10 % up to 50x bigger: enough work for every item that shipping pays even
  # where copying is slow (ThreadSanitizer instruments the copier, not Debian's libmruby)
  size = seed % 100 < 90 ? 100 + seed % 400 : 2000 + seed % 8000
  [i, size, "s#{size}"]
end
s0 = Deferred.stats
got = Deferred.map(items) { |i, size, label| [i, cost(size), label.upcase] }.value
s1 = Deferred.stats
want = items.map { |i, size, label| [i, cost(size), label.upcase] }
puts "#{got.size} results, equal to the inline map: #{got == want}"
puts "indexes in order: #{got.map { |r| r[0] } == (0...10_000).to_a}"
shipped = s1[:workers].inject(0) { |a, w| a + w[:items] } - s0[:workers].inject(0) { |a, w| a + w[:items] }
inline = s1[:inline_items] - s0[:inline_items]
puts "every item ran once: #{shipped + inline == 10_000} (shipped to workers: #{shipped > 0})"
puts "tasks: #{s1[:submitted] - s0[:submitted] > 1}"
