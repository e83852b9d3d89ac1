# robust.rb — what the profiler must survive at 10 kHz: GC pressure, raise/rescue, fibers,
# blocks, eval, timers.
def churn(n)
  a = []
  n.times { |i| a << "s#{i}" * 3; a.shift if a.size > 100 }
  a.size
end

def raiser(i)
  raise ArgumentError, "bad #{i}" if i % 3 == 0
  i
rescue ArgumentError => e
  e.message.size
end

f = Fiber.new do
  loop { Fiber.yield churn(200) }
end

total = 0
200.times do |i|
  total += churn(300)
  total += raiser(i)
  total += f.resume
  total += eval("#{i} + 1")
  total += [1, 2, 3].map { |x| x * i }.reduce(:+)
end
GC.start
set_timeout(1) { puts "robust ok #{total > 0}" }
