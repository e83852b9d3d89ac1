w = Worker.new(File.join(File.dirname(__FILE__), "late_child.rb"))
3.times { |i| w.post_message(i) }
w.on(:message) { |m| p m }
w.on(:exit) { |c| puts "exit #{c}" }
