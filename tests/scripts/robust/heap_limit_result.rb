# heap_limit_result.rb — results (Hashes of n Strings) ever closer to Deferred.heap_limit: copying
# a result out of a worker that is out of memory must reject that task with NoMemoryError, never
# take the process down (an allocation outside any protection aborted mrun).
Deferred.pool_size = 1
Deferred.heap_limit = 1 << 20
count = Hash.new(0)
(1..60).each do |k|
  begin
    Deferred.new(k * 100) { |m| h = {}; m.times { |i| h[i] = "y" * 150 }; h }.value
    count[:fulfilled] += 1
  rescue NoMemoryError
    count[:no_memory] += 1
  end
end
puts "fulfilled #{count[:fulfilled]}, NoMemoryError #{count[:no_memory]}"
puts "next task #{Deferred.new(1) { |n| n + 1 }.value}"
