# Integer, Comparable, Kernel and Symbol additions, each as CRuby 3.1 prints it.
require "time"
p [1, 2, 3, 4].map(&:even?), [-3, 0, 7].map(&:odd?), 5.pred, 10.fdiv(4), 1.5.fdiv(2)
p 3.pow(2), 3.pow(4, 5), 2.pow(100, 1_000_000_007), (-3).pow(3, 7), 3.pow(3, -7), 12.gcd(18), 12.lcm(18), 0.lcm(5), (-12).gcd(8)
p [0, 1, 255, 256, -1, -256, 2**40].map(&:bit_length), Integer.sqrt(24), Integer.sqrt(25), Integer.sqrt(10**12 + 1)
[[-> { 3.pow(-1, 5) }], [-> { 3.pow(2, 0) }], [-> { Integer.sqrt(-1) }]].each { |(f)| begin; f.call; rescue => e; p e.class; end }
p Integer("42"), Integer("0x1f"), Integer("ff", 16), Integer("zz", exception: false), Integer(nil, exception: false), Float("1.5"), Float("x", exception: false)
["12abc", "", "1__2"].each { |s| begin; Integer(s); rescue ArgumentError => e; p e.class; end }
p 12.clamp(1, 10), 5.clamp(..3), 0.clamp(1..), 2.clamp(1..3), "b".clamp("a", "c"), 1.5.clamp(2, 3)
[-> { 1.clamp(1...3) }, -> { 1.clamp(3..1) }, -> { 1.clamp(5) }].each { |f| begin; f.call; rescue => e; p e.class; end }
p [3, 1, 2].min(2), [3, 1, 2].max(2), (1..5).max(2), (1..5).min(0), {a: 3, b: 1, c: 2}.min_by(2) { |_, v| v }, %w[aa b ccc].max_by(2, &:size), %w[aa b ccc].min(2) { |a, b| a.size <=> b.size }
p :abc.start_with?("a", "x"), :abc.end_with?("bc"), :abc[1], :abc[0, 2], :az.succ, :a.next
class Q; def respond_to_missing?(n, p = false) = n.to_s.start_with?("q_") || super; def method_missing(n, *a) = n.to_s.start_with?("q_") ? n : super; end
p Q.new.respond_to?(:q_x), Q.new.respond_to?(:z), Q.new.q_y, Q.new.public_send(:q_z), 5.public_send(:+, 1)
p [1, [2, 3]].to_ary, {a: 1}.to_hash
x = pp({k: [1, 2]}); p x
p Time.at(0).utc.iso8601, Time.at(1_700_000_000, 123_456).utc.iso8601(3), Time.at(1_700_000_000, 5).utc.xmlschema(6), Time.at(0).utc.utc_offset, Time.at(0).utc.zone, Time.at(5, 7).utc.nsec
p [1, 2, 4, 5, 7].slice_when { |a, b| b != a + 1 }.to_a, [1, 2, 4, 9, 10].chunk_while { |a, b| b == a + 1 }.to_a, [].slice_when { true }.to_a
a = [3, 1, 2]; a.sort_by! { |x| -x }; p a, (1..6).grep_v(2..4), (1..3).grep_v(2) { |x| x * 10 }, [1, nil, 2].each.compact
p [1, 2, 4].slice_when { |a, b| b > a + 1 }.map(&:sum)
p [1234, -1234, 1250, -1250, 1350, 50, 49, -50, 0, 999].map { |x| [x.floor(-2), x.ceil(-2), x.round(-2), x.round(-2, half: :even), x.round(-2, half: :down), x.truncate(-2), x.round(-1), x.round, x.floor(1)] }
p 5.round(-1, half: :even), 15.round(-1, half: :even), 25.round(-1, half: :even), 1234.round(-20)
