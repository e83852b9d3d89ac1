# The first failure rejects the whole map: a MapError naming the item's index, carrying the
# worker's exception and backtrace; the chunks still queued are cancelled.
Deferred.pool_size = 2
Deferred.setup do
  def check(x)
    raise ArgumentError, "item #{x} is bad" if x == 7_321
    x
  end
end
begin
  Deferred.map(0...10_000) do |x|
    s = 0
    300.times { |i| s += i }
    check(x) + s - s
  end.value
  puts "no error"
rescue Deferred::MapError => e
  puts "#{e.class}: #{e.message}"
  puts "index #{e.index}, error #{e.error.class}: #{e.error.message}"
  puts "backtrace #{e.backtrace.join(' | ')}"
end
d = Deferred.map([3, 2, 1, 0]) { |x| 6 / x }
d.rescue { |e| puts "rescued #{e.class}: #{e.message} (#{e.error.class})" }.value
puts "after: queued #{Deferred.stats[:queued]}"
