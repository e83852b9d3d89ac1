# One slow item does not leave a core idle: item 1 waits until the last item has run (it spins
# on a file that the last item writes), so the worker holding it is stuck while the other takes
# every remaining chunk. Item 0 is slow enough that the inline probe stops after it.
dir = ARGV[0]
Deferred.pool_size = 2
n = 400
items = (0...n).map { |i| [i, dir] }
got = Deferred.map(items) do |i, d|
  s = 0
  (i == 0 ? 200_000 : 3_000).times { |k| s += k }
  if i == 1
    s += 1 until File.exist?("#{d}/go")
  elsif i == 399
    File.open("#{d}/go", "w") { |f| f.write("go") }
  end
  i
end.value
st = Deferred.stats
puts "results in order: #{got == (0...n).to_a}"
tasks = st[:workers].map { |w| w[:tasks] }.sort
puts "tasks per worker: one stuck worker ran 1, the other the rest: #{tasks[0] == 1 && tasks[1] == st[:submitted] - 1}"
puts "several chunks: #{st[:submitted] >= 5}"
puts "items: #{st[:workers].inject(0) { |a, w| a + w[:items] } + st[:inline_items]}"
# uneven work with no waiting: split in several tasks for each worker
s0 = Deferred.stats
sizes = (0...2000).map { |i| i % 97 == 0 ? 20_000 : 200 + (i * 37) % 300 }
r = Deferred.map(sizes) { |k| s = 0; k.times { |j| s += j }; s }.value
s1 = Deferred.stats
puts "uneven equal: #{r == sizes.map { |k| s = 0; k.times { |j| s += j }; s }}"
puts "uneven split into at least 2 tasks per worker: #{s1[:submitted] - s0[:submitted] >= 4}"
