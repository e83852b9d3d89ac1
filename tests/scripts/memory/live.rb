# live.rb — keeps what `keep` allocates and drops what `drop` allocates (same sizes, same count):
# both show in "allocated", only `keep` in "live". Prints "by name share%" lines.
$kept = []
def keep; $kept << ("k" * 4000); end
def drop; s = "d" * 4000; s.size; end

Profiler.start_memory_profiling(interval: 32 * 1024)
5000.times { keep; drop }
mem = Profiler.stop_memory_profiling
[:allocated, :live].each do |by|
  rows = mem.top(100, by: by, group: :function)
  all = by == :live ? mem.live : mem.total_allocated
  %w[keep drop].each do |m|
    r = rows.find { |x| x[:name] == m }
    puts "#{by} #{m} #{r ? (r[:total_bytes] * 1000 / all) / 10.0 : 0.0}"
  end
end
mem.save(ARGV[0]) if ARGV[0]
