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

# On a loaded machine the script loses the CPU for milliseconds at a time, and the scheduler's
# tick can preempt it at the same phase again and again: then head's true share is far from
# 30 %. The script measures the wall time it spends in each and prints "head PCT of MS ms" (head's
# share of the two, and their sum) for the test.
t = Time.now.to_f
in_head = 0.0
in_tail = 0.0
600.times do
  a = Time.now.to_f
  head(t + 0.0003)
  b = Time.now.to_f
  tail(t + 0.001)
  c = Time.now.to_f
  in_head += b - a
  in_tail += c - b
  t += 0.001
end
printf("head %.2f of %.1f ms\n", 100 * in_head / (in_head + in_tail), 1000 * (in_head + in_tail))
