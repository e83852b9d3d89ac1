# names.rb — same-named methods in different classes, many blocks, String and Proc calls in a
# hot loop: the shape that made a sampler name a frame after the previous tenant of its call
# slot (issue 18.3: "Store#size" under String#each_char, "String#call", a bare "size").
# It runs for ARGV[0] seconds (default 2), then prints every method the program has, one per
# line after a "methods:" line: "Class#m" for instance methods, "Class.m" for singleton
# methods, a bare "m" for methods of Object (the profiler's names for them).
module Sized
  def size
    items.size
  end
end

class Store
  include Sized
  attr_reader :items

  def initialize
    @items = %w[a b c]
  end

  def call(x)
    x.to_s
  end

  def to_s
    "Store(#{size})"
  end
end

class Box
  def initialize(v)
    @v = v
  end

  def size
    @v.size
  end

  def call(s)
    n = 0
    s.each_char { |c| n += 1 if c == "a" }
    n + s.size
  end

  def self.call(v)
    new(v).size
  end
end

def count(s)
  n = 0
  s.each_char { |c| n += 1 if c == "a" }
  n + s.size
end

secs = (ARGV[0] || 2).to_f
store = Store.new
box = Box.new("banana")
word = "banana" * 8
t0 = Time.now
while Time.now - t0 < secs
  count(word)
  box.call(word)
  store.size
  store.call(12).size
  Box.call([1, 2, 3])
  [store, box].each { |o| o.size }
  proc { |w| w.size }.call(word)
  store.to_s
end

puts "methods:"
Object.constants.each do |name|
  mod = Object.const_get(name)
  next unless mod.is_a?(Module)
  mod.instance_methods(false).each { |m| puts mod == Object ? m.to_s : "#{mod}##{m}" }
  mod.singleton_methods.each { |m| puts "#{mod}.#{m}" }
end
