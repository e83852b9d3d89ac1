x = [1]
@a = "s"
p(defined?(foo) && 1, defined?(@a), !defined?(Zzz), (defined?(String) ? 1 : 2))
puts "in #{defined?(x)} str"
puts <<~EOS
  heredoc #{defined?(@a)} #{defined?(@b)}
EOS
p defined?(x.first.succ), defined?(x.nope.succ), defined?(@a.upcase), defined?(@b.upcase), defined?(Comparable::Zed), defined?(Object::Comparable)
p defined?(puts(1, 2)), defined?(x[0]), defined?(-x.size), defined?(x&.size), defined?(nil.to_s)
unless defined?(Nope) then p :nope end
p [1, 2].map { |i| defined?(i) ? i : 0 }
def d(v = defined?(String)) = v
p d rescue p :default_arg_not_rewritten
p(while false do end) rescue p 1
def kw(a:, b: 2) = defined?(a)
p kw(a: 1)
p lambda { |q| defined?(q) }.call(1), proc { defined?(_1) }.call(3) rescue p :numbered
h = {defined?(x) => 1}; p h
p defined?(yield), defined?(super)
p defined?(String.new.upcase), defined?(@@cv) rescue p $!.class
def kw2(a: defined?(@a), b: defined?(Nope)) = [a, b]
p kw2
pr = proc { |z = defined?(String)| z }; p pr.call
def self.sd(w = 1, v = defined?(w)) = v
p sd
