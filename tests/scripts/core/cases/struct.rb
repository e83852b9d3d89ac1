P = Struct.new(:x, :y)
K = Struct.new(:a, :b, keyword_init: true)
p P.new(1, 2), P.new(1), K.new(a: 1, b: 2), K.new(a: 1), K.new
p K.inspect, P.inspect, K.keyword_init?, P.keyword_init?
p K.members, K.new(a: 1).to_h, P.new(1, 2).to_h, P.new(1, 2).to_a, P.new(1,2).members
p P.new(1, 2) == P.new(1, 2), P.new(1, 2) == P.new(1, 3), P.new(1,2).eql?(P.new(1,2)), P.new(1,2).hash == P.new(1,2).hash
p({P.new(1,2) => :v}[P.new(1,2)])
r = []; P.new(3, 4).each { |v| r << v }; p r
r = []; P.new(3, 4).each_pair { |k, v| r << [k, v] }; p r
p P.new(1, 2).map { |v| v * 2 }, P.new(1, 5).select(&:odd?), P.new(1,2).sum, P.new(4,1).sort, P.new(1,2).include?(2)
p P.new(1, 2).to_h { |k, v| [k.to_s, v] }
[-> { P.new(1, 2, 3) }, -> { K.new(1) }, -> { K.new(c: 1) }, -> { K.new(a: 1, c: 2, d: 3) }, -> { P.new(1,2)[:z] }, -> { P.new(1,2)[5] }, -> { Struct.new(:a, :a) }, -> { P.new(1,2).z = 1 }].each do |f|
  begin; f.call; rescue => e; p [e.class, e.is_a?(NoMethodError) ? nil : e.message.lines.first.chomp]; end
end
o = P.new(1, 2); o.x = 10; o[:y] = 20; p o, o[0], o["y"], o[-1]
p P.new(1, 2).values_at(0, 1), P.new(1,2).size, P.new(1,2).values, P.new(1,2).dig(:x)
Q = Struct.new(:a, :b, keyword_init: true) do
  def sum = a + b
end
p Q.new(a: 1, b: 2).sum
R = Struct.new(:a) do
  def initialize(a = 7) = super
end
p R.new, R.new(3)
S3 = Struct.new(:a, :b, keyword_init: true)
class S3; def initialize(**kw); super(**kw); self.b ||= 0; end; end
p S3.new(a: 1)
p K.new(a: 1, b: 2) == K.new(a: 1, b: 2), K.new(a: 1).to_a
h = {a: 1, b: 2}; p K.new(**h)
p P.new(1,2).deconstruct
p P[5, 6]
K2 = Struct.new(:a, :b, keyword_init: true); p K2.new("a" => 1, b: 2); begin; K2.new("c" => 1, d: 2); rescue => e; p e.message; end
