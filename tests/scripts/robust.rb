# robust.rb — what the profiler must survive at 10 kHz: GC pressure, raise/rescue, fibers,
# blocks, eval, timers, sockets (an echo exchange over TCP while the rest runs), and Deferred
# workers churning and raising on their own threads meanwhile.
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

Deferred.setup do
  def wchurn(n)
    a = []
    n.times { |i| a << "w#{i}" * 3; a.shift if a.size > 100 }
    a.size
  end

  def wraiser(i)
    raise IndexError, "w#{i}" if i % 2 == 1
    i
  rescue IndexError => e
    e.message.size
  end
end
work = Array.new(4) { |k| Deferred.new(k) { |j| (0...400).map { |i| wchurn(20) + wraiser(i + j) }.size } }

f = Fiber.new do
  loop { Fiber.yield churn(200) }
end

total = 0
200.times do |i|
  total += churn(300)
  20.times { |k| total += raiser(i * 20 + k) } # enough raises that raiser is always sampled
  total += f.resume
  total += eval("#{i} + 1")
  total += [1, 2, 3].map { |x| x * i }.reduce(:+)
end
GC.start

echoed = 0
server = Net.create_server do |s|
  s.on(:data) { |d| s.write(d.reverse) }
  s.on(:end) { s.end }
end
server.listen(0) do
  50.times do |i|
    c = Net.create_connection(port: server.address[:port]) { c.end("msg #{i} " * 20 + churn(50).to_s) }
    c.on(:data) { |_d| echoed += 1 }
    c.on(:close) { server.close if (i == 49) }
  end
end
server.on(:close) { puts "robust ok #{total > 0 && echoed >= 50 && Deferred.all(work).value == [400] * 4}" }
