# Deferred.map bench: mrun uneven.rb MODE WORKLOAD [N]
#   MODE      map (Deferred.map), per_item (Deferred.new per item + Deferred.all), inline (Array#map)
#   WORKLOAD  pareto: item costs from a Pareto distribution (alpha 1.2, seeded: a heavy tail, a
#             few items hundreds of times the median); tiny: x * 2 + 1 on Integers
# Prints "SECONDS CHECKSUM TASKS BALANCE": the wall time of the map alone (not the process
# start), a checksum of the results (the modes must agree), the tasks shipped, and the workers'
# summed busy time over the busiest one's: the speedup the split allows when the cores are free
# (2.0 on 2 workers is perfect; 1.0 is one worker doing everything).
mode, workload = ARGV[0], ARGV[1]
Deferred.setup do
  def spin(units)
    s = 0
    (units * 200).times { |i| s += i & 7 }
    s
  end
end

def spin(units)
  s = 0
  (units * 200).times { |i| s += i & 7 }
  s
end

items = if workload == "pareto"
          n = (ARGV[2] || 2000).to_i
          seed = 42
          Array.new(n) do
            seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
            u = (seed + 1).to_f / 2_147_483_649
            c = (1.0 / (u**(1.0 / 1.2))).to_i # Pareto, x_m = 1
            c > 2000 ? 2000 : c
          end
        else
          (1..(ARGV[2] || 200_000).to_i).to_a
        end
s0 = Deferred.stats[:submitted]
t0 = Time.now
out = case mode
      when "map"
        if workload == "pareto"
          Deferred.map(items) { |c| spin(c) }.value
        else
          Deferred.map(items) { |x| x * 2 + 1 }.value
        end
      when "per_item"
        if workload == "pareto"
          Deferred.all(items.map { |c| Deferred.new(c) { |k| spin(k) } }).value
        else
          Deferred.all(items.map { |c| Deferred.new(c) { |x| x * 2 + 1 } }).value
        end
      else
        workload == "pareto" ? items.map { |c| spin(c) } : items.map { |x| x * 2 + 1 }
      end
el = Time.now - t0
sum = 0
out.each_with_index { |v, i| sum = (sum * 31 + v + i) % 1_000_000_007 }
ws = Deferred.stats[:workers].map { |w| w[:busy_ms] }
busy = ws.inject(0.0) { |a, b| a + b }
balance = ws.empty? ? 1.0 : busy / ws.max # the parallelism the chunks allow on free cores
puts "#{el.round(4)} #{sum} #{Deferred.stats[:submitted] - s0} #{balance.round(2)}"
