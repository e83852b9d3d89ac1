# stress.rb — Regexp's error and cleanup paths, for the leak checkers (valgrind_regexp.sh):
# bad patterns (their offsets are found by compiling prefixes), exceptions and break out of
# blocks in the middle of gsub/scan, the retry limit, invalid UTF-8, more dynamic patterns than
# the literal cache holds, MatchData kept across GC, and matching in a Deferred worker (whose VM
# is closed at exit).
n = 0
200.times do |i|
  begin
    Regexp.new("(a|*#{i}")
  rescue RegexpError
    n += 1
  end
  begin
    "a1b2c3".gsub(/\d/) { |d| raise ArgumentError, "stop" if d == "2"; d }
  rescue ArgumentError
    n += 1
  end
  n += 1 if "abc".scan(/./) { |c| break 7 if c == "b" } == 7
  begin
    "x\xff" =~ /x/
  rescue ArgumentError
    n += 1
  end
  n += 1 if /#{i}-(\d+)/ =~ "#{i}-#{i * 2}"
end
kept = (1..300).map { |i| "k#{i}=v#{i}".match(/(?<k>\w+)=(?<v>\w+)/) }
GC.start
n += kept.count { |m| m[:k].start_with?("k") }
begin
  /(a+)+$/ =~ "a" * 30 + "b"
rescue Regexp::TimeoutError
  n += 1
end
big = "w1 w2 w3 " * 20000
n += big.gsub(/w(\d)/) { $1 }.size > 0 ? 1 : 0
n += big.split(/\s+/).size > 0 ? 1 : 0
Deferred.new { ["a-b-c".split(/-/), "x1".sub(/\d/, "2"), (begin; Regexp.new("("); rescue RegexpError; "err"; end)] }
        .then { |v| puts "worker #{v.inspect}" }
puts "ok #{n}"
