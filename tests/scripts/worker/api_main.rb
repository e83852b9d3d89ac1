puts "main? #{Worker.main?}, id #{Worker.thread_id}, data #{Worker.data.inspect}"
begin
  Worker.post_message(1)
rescue RuntimeError => e
  puts "post_message on main: #{e.class}"
end
begin
  Worker.on(:message) { }
rescue RuntimeError => e
  puts "on(:message) on main: #{e.class}"
end
begin
  Worker.new("nope.rb")
rescue ArgumentError => e
  puts "missing file: #{e.class}: #{e.message}"
end
begin
  Worker.new(File.join(File.dirname(__FILE__), "tiny_child.rb"), data: [Object.new])
rescue TypeError => e
  puts "bad data: #{e.class}"
end
w = Worker.new(File.join(File.dirname(__FILE__), "api_child.rb"), data: { "k" => [1, :two] })
w.on(:message) { |m| puts "child: #{m}" }
w.on(:exit) { |c| puts "exit #{c}" }
