path = File.join(File.dirname(__FILE__), "raise_child.rb")
%w[timer top custom exit syntax].each do |kind|
  w = Worker.new(path, data: kind)
  w.on(:error) do |e|
    puts "#{kind}: error #{e.class}: #{e.message}"
    puts "#{kind}: #{e.backtrace.grep(/raise_child|bad_syntax/).first(2).join(" | ")}"
  end
  w.on(:exit) { |c| puts "#{kind}: exit #{c}" }
end
