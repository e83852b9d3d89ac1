def work(n)
  s = 0
  i = 0
  while i < n
    s += i
    i += 1
  end
  s
end

def steady
  work(100_000)
end

def slowed(k)
  work(100_000 * k)
end

k = (ARGV[0] || "1").to_i
20.times { steady; slowed(k) }
