# For CRuby (the peer of peer.rb): Deferred.map is the inline map.
class Deferred
  def initialize(v)
    @v = v
  end

  def value
    @v
  end

  def self.map(enum, &block)
    new(enum.map(&block))
  end
end
