# busy_live.rb [SECONDS] — CPU-bound for SECONDS (default 3) without ever returning to the event
# loop, for the live viewer's tests: `hot` takes ~75 % of the time, `cool` ~25 %.
secs = (ARGV[0] || "3").to_f

def spin(n)
  i = 0
  i += 1 while i < n
  i
end

def hot
  spin(30_000)
end

def cool
  spin(10_000)
end

t0 = Time.now.to_f
rounds = 0
while Time.now.to_f - t0 < secs
  10.times { hot; cool }
  rounds += 1
end
puts "busy_live done"
