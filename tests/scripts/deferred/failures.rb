# A failure in a worker rejects with the same class, the message and the worker's backtrace;
# the worker then takes the next task.
Deferred.pool_size = 1
Deferred.heap_limit = 64 << 20
Deferred.setup { def helper_from_setup = :still_here }
def report(d)
  d.value
rescue Exception => e
  puts "#{e.class}: #{e.message}"
  puts "  at #{e.backtrace[0]}"
  puts "  last #{e.backtrace[-1]}"
end
report Deferred.new(0) { |n|
  10 / n
}
report Deferred.new { undefined_helper(1) }
report Deferred.new { def down(n) = down(n + 1); down(0) }
report Deferred.new { class WorkerOnly < StandardError; end; raise WorkerOnly, "custom" }
report Deferred.new { raise ArgumentError, "bad" }
report Deferred.new { exit 3 }
report Deferred.new { a = []; loop { a << "y" * 10_000 } }
# the worker replaced its VM after running out of memory; setup ran again there
puts "next task: #{Deferred.new(20) { |n| [n + 1, helper_from_setup] }.value.inspect}"
