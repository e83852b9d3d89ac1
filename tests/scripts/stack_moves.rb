# stack_moves.rb [SECONDS] — moves the VM's stack and call-info array again and again: each
# Fiber starts with a small stack, and a deep call in it makes mruby realloc both (stack_extend,
# cipush) many times. Under a high sampling rate a signal lands inside those moves; the sampler
# must drop such a sample, never walk the freed memory (a crash seen under load, in a server).
def deep(n)
  n == 0 ? 0 : 1 + deep(n - 1)
end

secs = (ARGV[0] || 2).to_f
t0 = Time.now
fibers = 0
sum = 0
while Time.now - t0 < secs
  sum += Fiber.new { deep(400) + [1, 2, 3].map { |x| x * 2 }.size }.resume
  fibers += 1
end
puts "fibers #{fibers}, sum ok #{sum == fibers * 403}"
