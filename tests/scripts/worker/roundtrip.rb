# Messages both ways with every type the copier carries, each compared after the round trip.
VALUES = [nil, true, false, 0, -1, 2**40, 1.5, -0.25, "", "text", "bin\x00\xff", :sym,
          [], [1, [2, [3]]], {}, { "a" => 1, b: [nil, 2.5], 3 => { "x" => :y } },
          "é" * 1000, (1..2000).to_a]
shared = [1, 2]
VALUES << [shared, shared]
w = Worker.new(File.join(File.dirname(__FILE__), "echo_back.rb"), data: VALUES)
got = []
w.on(:message) do |m|
  if m == :data_ok
    puts "data: ok"
  elsif m.is_a?(Array) && m[0] == :data_bad
    puts "data: BAD #{m[1].inspect}"
  else
    got << m
    w.post_message(:done) if got.size == VALUES.size
  end
end
VALUES.each { |v| w.post_message(v) }
w.on(:exit) do |code|
  bad = VALUES.each_index.reject { |i| VALUES[i] == got[i] && VALUES[i].class == got[i].class }
  puts bad.empty? ? "round trip: #{got.size} ok" : "round trip BAD at #{bad.inspect}: #{got.inspect}"
  last = got.last
  puts "shared kept: #{last[0].equal?(last[1])}"
  puts "exit #{code}"
  begin
    w.post_message(1)
    puts "post after exit: dropped"
  rescue => e
    puts "post after exit raised #{e.class}"
  end
end
begin
  w.post_message(Object.new)
rescue TypeError => e
  puts "TypeError: #{e.message}"
end
begin
  a = []; a << a
  w.post_message(a)
rescue ArgumentError => e
  puts "ArgumentError: #{e.class}"
end
