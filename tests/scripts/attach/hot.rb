def hot_attach_fn(n)
  s = 0
  i = 0
  while i < n
    s += i * 2
    i += 1
  end
  s
end
loop { hot_attach_fn(20000) }
