# alias_clock.rb — work locked to a 1 ms wall-clock period, the sampler's own period at 1 kHz:
# `head` runs for the first 30 % of every millisecond, `tail` for the rest. A sampler without
# enough jitter sees the same phase again and again and reports head at 0 % or 100 %; an
# unbiased one reports about 30 %.
def head(deadline)
  nil while Time.now.to_f < deadline
end

def tail(deadline)
  nil while Time.now.to_f < deadline
end

t = Time.now.to_f
600.times do
  head(t + 0.0003)
  tail(t + 0.001)
  t += 0.001
end
