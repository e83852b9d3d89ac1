Deferred.load("lib_worker.rb")
Deferred.setup { def square(x) = x * x }
puts Deferred.new("ann") { |n| greet(n) }.value
puts Deferred.all(Array.new(4) { |i| Deferred.new(i) { |k| Counter.triple(square(k)) } }).value.inspect
begin
  Deferred.load("no_such_file.rb")
rescue LoadError => e
  puts "LoadError: #{e.message}"
end
File.open("/tmp/mrprof-bad-syntax.rb", "w") { |f| f.write("def broken(\n") } rescue nil
begin
  Deferred.load(ARGV[0])
rescue SyntaxError => e
  puts "SyntaxError"
end
