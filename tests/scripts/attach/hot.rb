def hot_attach_fn(n)
  s = 0
  i = 0
  while i < n
    s += i * 2
    i += 1
  end
  s
end
# ARGV[0]: seconds to sleep after each call (the tests' 0.004 keeps a core mostly free)
pause = ARGV[0] ? ARGV[0].to_f : 0.0
loop do
  hot_attach_fn(20000)
  sleep pause if pause > 0
end
