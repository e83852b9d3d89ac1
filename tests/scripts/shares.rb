# shares.rb — three methods burning a known split of the time (60/30/10 by iteration count),
# called round-robin so that every part is spread over the whole run.
def burn(n)
  i = 0
  x = 0
  while i < n
    x += i * 2
    i += 1
  end
  x
end

def sixty
  burn(60_000)
end

def thirty
  burn(30_000)
end

def ten
  burn(10_000)
end

rounds = (ARGV[0] || 300).to_i
rounds.times do
  sixty
  thirty
  ten
end
