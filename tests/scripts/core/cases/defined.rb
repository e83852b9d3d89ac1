x = 1
p defined?(x), defined?(y), defined?(@a), defined?($zz), defined?(String), defined?(Nope), defined?(puts), defined?(nope_method)
@a = 1; $zz = 2
p defined?(@a), defined?($zz), defined?(self), defined?(nil), defined?(true), defined?(1), defined?("s"), defined?([1])
p defined?(x = 2), defined?(x += 1), defined?(String.new), defined?(String.nope), defined?(Nope.new), defined?(1 + 1), defined?(Object::String), defined?(Object::Nope), defined?(Nope::X), defined?(::String)
def m; defined?(yield); end
p m, m { }
class A; def f; end; end
class B < A; def f; defined?(super); end; def g; defined?(super); end; end
p B.new.f, B.new.g
class C; @@v = 1; def self.cv = defined?(@@v); def self.cw = defined?(@@w); end
p C.cv, C.cw
module Outer; K = 1; class Inner; def k = defined?(K); def j = defined?(J); end; end
p Outer::Inner.new.k, Outer::Inner.new.j
p [1].map { |e| defined?(e) }, (defined? x), defined?(x.succ), defined?(x.nope)
puts defined?(Foo) ? "yes" : "no"
h = {k: defined?(String)}; p h, "#{defined?(@a)}"
y = defined?(@zz) || "default"; p y
p(defined?(String) && defined?(Integer))
case defined?(Comparable) when "constant" then p :cmp end
