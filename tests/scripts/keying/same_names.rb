# same_names.rb — a method `crunch` for the workers (in Deferred.setup) and another `crunch` on
# the main thread: two functions, each at its own line (tests/e2e/test_keying.sh).
Deferred.setup do
  def crunch(n)
    i = 0
    i += 1 while i < n
    i
  end
end

def crunch(n)
  i = 0
  i += 2 while i < n
  i
end

n = (ARGV[0] || 4_000_000).to_i
jobs = Array.new(2) { Deferred.new(n) { |k| crunch(k) } }
crunch(n)
Deferred.all(jobs).value
