# N Workers started and ended, in waves of 10; fds back where they were, RSS bounded.
def fd_count = Dir.children("/proc/self/fd").size
def rss_kb = File.read("/proc/self/status")[/VmRSS:\s+(\d+)/, 1].to_i
n = (ARGV[0] || 100).to_i
bound_kb = (ARGV[1] || 64 * 1024).to_i # sanitizers keep freed memory (ASan's quarantine): larger
path = File.join(File.dirname(__FILE__), "tiny_child.rb")
wave = lambda do |left, &done|
  if left == 0
    done.call
    next
  end
  pending = 10
  10.times do |i|
    w = Worker.new(path, data: i)
    w.on(:message) { |m| raise "bad reply #{m}" unless m == i * 2 }
    w.on(:exit) do |c|
      raise "exit #{c}" unless c == 0
      pending -= 1
      wave.call(left - 10, &done) if pending == 0
    end
  end
end
# A first wave to warm up (thread stacks, malloc arenas), then measure.
wave.call(10) do
  GC.start
  fds, rss = fd_count, rss_kb
  wave.call(n) do
    GC.start
    fds2, rss2 = fd_count, rss_kb
    puts "fds: #{fds2 == fds ? "back" : "LEAK #{fds} -> #{fds2}"}"
    grew = rss2 - rss
    puts "rss: #{grew < bound_kb ? "bounded" : "GREW #{grew} kB"}"
    puts "done #{n}"
  end
end
