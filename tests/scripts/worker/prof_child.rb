def worker_spin(n)
  s = 0
  n.times { |i| s += i * i }
  s
end

def worker_hot
  total = 0
  40.times { total += worker_spin(20_000) }
  total
end

Worker.post_message(worker_hot)
