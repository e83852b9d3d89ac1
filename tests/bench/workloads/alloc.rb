# alloc.rb — allocation-heavy work for the memory profiler's overhead: Strings of many sizes,
# Arrays and Hashes built and dropped, some kept, so that malloc, realloc and free all run.
kept = []
1_500_000.times do |i|
  s = "x" * (16 + i % 2000)
  a = [s, i, s.size]
  h = { i => a, :k => s }
  s << "tail" if i % 3 == 0
  kept << h if i % 100 == 0
  kept.shift if kept.size > 500
end
puts kept.size
