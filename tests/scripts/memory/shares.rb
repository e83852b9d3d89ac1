# shares.rb [INTERVAL] — three methods allocate Strings of known sizes in known proportions
# (1 : 2 : 3 in bytes): the memory profile's shares must match, and its estimate of the bytes
# allocated must match what the allocator hook counted. Prints "name share%" per method, then
# "estimated E counted C requested R".
interval = (ARGV[0] || "16384").to_i
N = 4000
def small;  "s" * 1000; end   # 1001 bytes with the terminator
def medium; "m" * 2000; end
def large;  "l" * 3000; end

Profiler.start_memory_profiling(interval: interval)
N.times { small; medium; large }
mem = Profiler.stop_memory_profiling
all = mem.total_allocated
rows = mem.top(100, group: :function)
%w[small medium large].each do |m|
  r = rows.find { |x| x[:name] == m }
  puts "#{m} #{r ? (r[:total_bytes] * 1000 / all) / 10.0 : 0.0}"
end
puts "estimated #{mem.estimated_allocated} counted #{all} requested #{N * (1001 + 2001 + 3001)} samples #{mem.samples}"
