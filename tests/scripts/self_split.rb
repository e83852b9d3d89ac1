# self_split.rb — three methods that each burn their own loop (no shared helper), so their
# *self* times split about 60/30/10: used to check that consumers see the same top functions.
def sixty
  i = 0
  i += 1 while i < 60_000
end

def thirty
  i = 0
  i += 1 while i < 30_000
end

def ten
  i = 0
  i += 1 while i < 10_000
end

(ARGV[0] || 200).to_i.times do
  sixty
  thirty
  ten
end
