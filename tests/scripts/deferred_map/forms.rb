# Deferred.map on what Enumerable gives: Array, Range, Hash (|k, v|), empty; bad calls.
p Deferred.map([]) { |x| x }.value
p Deferred.map(1..6) { |x| x * x }.value
p Deferred.map({ "a" => 1, "b" => 2 }) { |k, v| "#{k}=#{v}" }.value
p Deferred.map([[1, 2], [3, 4]]) { |a, b| a + b }.value
# heavy enough to go to the workers: the pairs of a Hash travel too
big = {}
300.times { |i| big["k#{i}"] = i }
got = Deferred.map(big) { |k, v| s = 0; 3000.times { |i| s += i % (v + 1) }; "#{k}:#{s}" }.value
want = big.map { |k, v| s = 0; 3000.times { |i| s += i % (v + 1) }; "#{k}:#{s}" }
puts "hash of 300 pairs: #{got == want}"
[
  -> { Deferred.map(5) { |x| x } },
  -> { Deferred.map([1]) },
  -> { y = 2; Deferred.map([1]) { |x| x + y } },
].each do |f|
  begin
    f.call
    puts "no error"
  rescue StandardError => e
    puts "#{e.class}: #{e.message}"
  end
end
# an item that cannot be copied to a worker (the map has to ship: the items are not cheap)
list = Array.new(50) { |i| i }
list[40] = -> {}
Deferred.map(list) { |x| s = 0; 20_000.times { |i| s += i }; x.to_s }
        .rescue { |e| puts "#{e.class}: #{e.message}" }.value
