path = File.join(File.dirname(__FILE__), "busy_child.rb")
%w[calls allocs].each do |kind|
  w = Worker.new(path, data: kind)
  w.on(:message) { |m| puts "#{kind}: #{m}"; w.terminate }
  w.on(:error) { |e| puts "#{kind}: error #{e.message}" }
  w.on(:exit) { |c| puts "#{kind}: exit #{c} running=#{w.running?}" }
end
# A Worker waiting on its loop is terminated at once; one terminated before it started too.
idle = Worker.new(File.join(File.dirname(__FILE__), "idle_child.rb"))
idle.on(:message) { idle.terminate }
idle.on(:exit) { |c| puts "idle: exit #{c}" }
early = Worker.new(File.join(File.dirname(__FILE__), "idle_child.rb"))
early.terminate
early.on(:exit) { |c| puts "early: exit #{c}" }
