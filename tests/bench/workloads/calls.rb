class Counter
  def initialize; @n = 0; end
  def add(k); @n += k; end
  def value; @n; end
end
c = Counter.new
i = 0
while i < 3_000_000
  c.add(i & 3)
  i += 1
end
puts c.value
