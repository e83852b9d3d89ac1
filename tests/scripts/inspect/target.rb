# target.rb — the script mrun --inspect's tests drive (tests/e2e/test_inspect.sh): one round of
# hot work every few ms on a timer, "round N" printed after each (the client waits for those
# console messages, not for time). It runs until told (Runtime.evaluate "exit 0") or 300 s.
def hot(n)
  s = 0
  i = 0
  while i < n
    s += i * i
    i += 1
  end
  s
end

def allocate(n)
  a = []
  n.times { |i| a << "item #{i} " * 4 }
  a
end

$rounds = 0
$keep = []
$timer = set_interval(2) do
  hot(60_000)
  $keep << allocate(100)
  $keep.shift if $keep.size > 20
  $rounds += 1
  puts "round #{$rounds}"
end
set_timeout(300_000) { clear_interval($timer) }
