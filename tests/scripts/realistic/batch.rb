# batch.rb — a Deferred-heavy batch: a timer hands the workers a wave of CPU-bound tasks
# (Digest#rounds) every 4 ms, ARGV[0] waves (default 150); the main thread collects them with
# Deferred.all. Between waves the workers wait for work: idle, which costs no CPU.
Deferred.setup do
  class Digest
    def rounds(seed, n)
      h = seed
      i = 0
      while i < n
        h = (h * 33 + i) & 0xfffffff
        i += 1
      end
      h
    end
  end
end

waves = (ARGV[0] || 150).to_i
jobs = []
sent = 0
timer = nil
timer = set_interval(4) do
  2.times { |i| jobs << Deferred.new(sent * 2 + i) { |seed| Digest.new.rounds(seed, 20_000) } }
  sent += 1
  if sent >= waves
    clear_interval(timer)
    Deferred.all(jobs).then { |sums| puts "#{sums.size} digests, first #{sums[0]}" }
  end
end
