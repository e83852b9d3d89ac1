# Tasks whose arguments are bigger than Deferred.heap_limit: the worker runs out of memory while
# it decodes them (runtime/copy.c), so each is rejected with NoMemoryError and the worker starts
# a new VM; nothing may leak on the way (the asan suite's LeakSanitizer and valgrind check).
#   mrun heap_limit_args.rb [TASKS]
Deferred.pool_size = 1
Deferred.heap_limit = 1 << 20
tasks = (ARGV[0] || 200).to_i
# 200 nested Arrays of 100 Strings of 100 bytes: about 2.5 MB once decoded.
arg = Array.new(200) { Array.new(100) { "x" * 100 } }
rejected = 0
tasks.times do
  begin
    Deferred.new(arg) { |a| a.size }.value
  rescue NoMemoryError
    rejected += 1
  end
end
# The worker still works after all that.
small = Deferred.new(20) { |n| n + 1 }.value
puts "rejected #{rejected} of #{tasks}; next task #{small}"
