Worker.post_message("main? #{Worker.main?}, id>0 #{Worker.thread_id > 0}, ARGV #{ARGV.inspect}, data #{Worker.data.inspect}")
begin
  Process.on(:SIGUSR1) { }
rescue NotImplementedError => e
  Worker.post_message("Process.on: #{e.class}")
end
Deferred.new(21) { |x| x * 2 }.then do |v|
  Worker.post_message("deferred #{v}")
  inner = Worker.new(File.join(File.dirname(__FILE__), "tiny_child.rb"), data: 5)
  inner.on(:message) { |m| Worker.post_message("nested reply #{m}") }
end
