# 10 000 small tasks: every result arrives exactly once. Nothing waits with #value: the
# process itself stays up until the last task settled.
n = (ARGV[0] || 10_000).to_i
seen = Array.new(n, 0)
list = Array.new(n) { |i| Deferred.new(i) { |k| [k, k * 2] }.then { |k, v| seen[k] += 1 if v == 2 * k } }
Deferred.all(list).then do
  wrong = 0
  seen.each { |c| wrong += 1 unless c == 1 }
  puts "#{n} tasks, #{wrong} lost or duplicated"
end
