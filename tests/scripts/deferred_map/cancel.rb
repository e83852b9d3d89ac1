# Cancel of queued tasks: one worker is kept busy (it spins until a file appears), so what is
# queued behind it stays queued; cancelled blocks never run (they would write a file).
dir = ARGV[0]
Deferred.pool_size = 1
busy = Deferred.new(dir) do |d|
  File.open("#{d}/started", "w") { |f| f.write("1") }
  n = 0
  n += 1 until File.exist?("#{d}/release")
  :released
end
nil until File.exist?("#{dir}/started") # the worker has taken it: it is running, not queued
queued = Deferred.new(dir) { |d| File.open("#{d}/queued_ran", "w") { |f| f.write("1") }; 1 }
items = (0...20).map { |i| [i, dir] }
map = Deferred.map(items) do |i, d|
  s = 0
  50_000.times { |k| s += k }
  File.open("#{d}/item_#{i}", "w") { |f| f.write("1") }
  i
end
st = Deferred.stats
puts "queued #{st[:queued] >= 2}, running #{st[:running]}"
puts "cancel running: #{busy.cancel}"
puts "cancel queued: #{queued.cancel}"
puts "cancel again: #{queued.cancel}"
puts "cancel map: #{map.cancel}"
queued.rescue { |e| puts "queued: #{e.class}: #{e.message}" }
map.rescue { |e| puts "map: #{e.class}" }
File.open("#{dir}/release", "w") { |f| f.write("1") }
puts "busy: #{busy.value.inspect}"
st = Deferred.stats
ran_inline = st[:inline_items]
files = Dir.entries(dir).select { |f| f.start_with?("item_") }.size
puts "queued block ran: #{File.exist?("#{dir}/queued_ran")}"
puts "map items that ran: only the inline ones: #{files == ran_inline} (#{ran_inline < 20})"
puts "stats: queued #{st[:queued]}, running #{st[:running]}, cancelled #{st[:cancelled] >= 2}, " \
     "done #{st[:done]}, submitted = done + cancelled: #{st[:submitted] == st[:done] + st[:cancelled]}"
puts "cancel settled: #{busy.cancel}"
