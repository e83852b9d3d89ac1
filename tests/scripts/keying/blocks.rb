# blocks.rb — three blocks in <main> doing different work: each is its own function, at its own
# line (tests/e2e/test_keying.sh). The heavy block spins 3x the light one.
heavy = proc do
  i = 0
  i += 1 while i < 300_000
end
light = proc do
  i = 0
  i += 1 while i < 100_000
end
(ARGV[0] || 20).to_i.times { heavy.call; light.call }
