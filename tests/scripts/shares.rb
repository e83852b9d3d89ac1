# shares.rb — three methods burning a known split of the time (60/30/10 by iteration count),
# called round-robin so that every part is spread over the whole run. `shares.rb N timed` also
# measures the wall time of each call and prints "times SIXTY THIRTY TEN" (ms): on a loaded
# machine the scheduler preempts the script for whole time slices, so the wall split is not the
# iteration split, and a wall-mode test compares the profile with what the script measured.
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
if ARGV[1] == "timed"
  t = [0.0, 0.0, 0.0]
  rounds.times do
    t0 = Time.now
    sixty
    t1 = Time.now
    thirty
    t2 = Time.now
    ten
    t3 = Time.now
    t[0] += t1 - t0
    t[1] += t2 - t1
    t[2] += t3 - t2
  end
  printf("times %.3f %.3f %.3f\n", t[0] * 1000, t[1] * 1000, t[2] * 1000)
else
  rounds.times do
    sixty
    thirty
    ten
  end
end
