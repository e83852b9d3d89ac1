# Deferred.map against CRuby's Enumerable#map (ruby -r ./ruby_shim.rb runs it with a shim whose
# Deferred.map is enum.map): the same values, in the same order, from the same enumerables.
def show(label, v)
  puts "#{label}: #{v.inspect}"
end
show "array", Deferred.map([5, 3, 8]) { |x| x * 10 + 1 }.value
show "range", Deferred.map(1..12) { |x| x.to_s * 2 }.value
show "exclusive range", Deferred.map(0...0) { |x| x }.value
show "hash k v", Deferred.map({ "x" => 1, "y" => 2, "z" => 3 }) { |k, v| k * v }.value
show "hash pair", Deferred.map({ "x" => 1 }) { |pair| pair }.value
show "pairs", Deferred.map([[1, [2, 3]], [4, [5, 6]]]) { |a, (b, c)| a + b + c }.value
show "nested", Deferred.map([[1, 2], [3]]) { |a| a.size }.value
big = Deferred.map(0...3000) { |x| s = 0; (x % 50 * 40).times { |i| s += i ^ x }; s % 9973 }.value
show "3000 uneven sum", big.inject(0) { |a, b| a + b }
show "3000 uneven first", big[0, 8]
show "3000 uneven last", big[-8..-1]
