# gc_stress.rb — allocation-heavy work with timers, exceptions and fibers: the script the leak
# checkers and the profiler's robustness tests run.
class Node
  attr_reader :value, :children
  def initialize(value)
    @value = value
    @children = []
  end
end

def build_tree(depth)
  node = Node.new("n#{depth}" * 3)
  return node if depth == 0
  3.times { node.children << build_tree(depth - 1) }
  node
end

def checked_parse(s)
  raise ArgumentError, "odd #{s}" if s.size % 2 == 1
  s.to_sym
rescue ArgumentError
  :odd
end

rounds = (ARGV[0] || 30).to_i
total = 0
rounds.times do |i|
  total += build_tree(5).children.size
  total += %w[ab abc abcd].map { |s| checked_parse(s) }.count(:odd)
  h = {}
  200.times { |k| h["key#{k}"] = [k, k.to_s * 2] }
  total += h.size
end
fib = Fiber.new { 3.times { |i| Fiber.yield i * 2 } ; :done }
4.times { fib.resume }
GC.start
set_timeout(1) { puts "total=#{total}" }
