# chain.rb — a known call chain: outer -> middle -> inner (inner burns the time), inside a class.
class Chain
  def outer
    middle
  end

  def middle
    inner
  end

  def inner
    x = 0
    200_000.times { |i| x += i }
    x
  end

  def self.run(n)
    c = new
    n.times { c.outer }
  end
end
Chain.run((ARGV[0] || 5).to_i)
