w = Worker.new(File.join(File.dirname(__FILE__), "prof_child.rb"))
w.on(:message) { |v| puts "result #{v}" }
w.on(:exit) { |c| puts "exit #{c}" }
