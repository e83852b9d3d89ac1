# set.rb — CRuby's Set (lib/set.rb of Ruby 3.1), on a Hash as CRuby's is: elements are the keys
# (insertion order kept, eql?/hash equality), so include? is one Hash lookup in C. Loaded into
# every VM. `require "set"` is accepted (runtime/prelude/require.rb).

class Set
  include Enumerable

  def self.[](*items)
    new(items)
  end

  def initialize(enum = nil, &block)
    @hash = {}
    return if enum.nil?
    unless enum.respond_to?(:each)
      raise ArgumentError, "value must be enumerable"
    end
    if block
      enum.each { |x| @hash[block.call(x)] = true }
    else
      enum.each { |x| @hash[x] = true }
    end
  end

  def initialize_copy(orig)
    super
    @hash = orig.__hash.dup
  end

  def freeze
    @hash.freeze
    super
  end

  def size
    @hash.size
  end
  alias length size

  def empty?
    @hash.empty?
  end

  def include?(o)
    @hash.key?(o)
  end
  alias member? include?
  alias === include?

  def add(o)
    @hash[o] = true
    self
  end
  alias << add

  def add?(o)
    return nil if @hash.key?(o)
    @hash[o] = true
    self
  end

  def delete(o)
    @hash.delete(o)
    self
  end

  def delete?(o)
    return nil unless @hash.key?(o)
    @hash.delete(o)
    self
  end

  def clear
    @hash.clear
    self
  end

  def each(&block)
    return to_enum(:each) unless block
    @hash.each_key(&block)
    self
  end

  def to_a
    @hash.keys
  end

  def to_set
    self
  end

  def dup
    Set.new(@hash.keys)
  end

  def merge(*enums)
    enums.each { |e| __each_of(e) { |x| @hash[x] = true } }
    self
  end

  def subtract(enum)
    __each_of(enum) { |x| @hash.delete(x) }
    self
  end

  def |(enum)
    dup.merge(enum)
  end
  alias union |
  alias + |

  def -(enum)
    dup.subtract(enum)
  end
  alias difference -

  def &(enum)
    out = Set.new
    __each_of(enum) { |x| out.add(x) if @hash.key?(x) }
    out
  end
  alias intersection &

  def ^(enum)
    out = Set.new(enum)
    each { |x| out.add(x) unless out.delete?(x) }
    out
  end

  def subset?(set)
    __set_arg(set)
    size <= set.size && all? { |x| set.include?(x) }
  end
  alias <= subset?

  def superset?(set)
    __set_arg(set)
    size >= set.size && set.all? { |x| include?(x) }
  end
  alias >= superset?

  def proper_subset?(set)
    __set_arg(set)
    size < set.size && all? { |x| set.include?(x) }
  end
  alias < proper_subset?

  def proper_superset?(set)
    __set_arg(set)
    size > set.size && set.all? { |x| include?(x) }
  end
  alias > proper_superset?

  def <=>(set)
    return nil unless set.is_a?(Set)
    return 0 if self == set
    return -1 if proper_subset?(set)
    return 1 if proper_superset?(set)
    nil
  end

  def intersect?(set)
    raise ArgumentError, "value must be a set" unless set.is_a?(Set) || set.is_a?(Enumerable)
    set.any? { |x| include?(x) }
  end

  def disjoint?(set)
    !intersect?(set)
  end

  def ==(other)
    return true if equal?(other)
    other.is_a?(Set) && size == other.size && other.all? { |x| @hash.key?(x) }
  end

  # Sets are Hash keys: equal sets have equal hashes whatever their order.
  def hash
    h = size
    @hash.each_key { |x| h ^= x.hash } # xor: no overflow, no order
    h
  end

  def eql?(other)
    other.is_a?(Set) && size == other.size && other.all? { |x| @hash.key?(x) }
  end

  def delete_if
    return to_enum(:delete_if) unless block_given?
    @hash.keys.each { |x| @hash.delete(x) if yield(x) }
    self
  end

  def keep_if
    return to_enum(:keep_if) unless block_given?
    @hash.keys.each { |x| @hash.delete(x) unless yield(x) }
    self
  end

  def select!(&block)
    return to_enum(:select!) unless block
    n = size
    keep_if(&block)
    size == n ? nil : self
  end
  alias filter! select!

  def reject!(&block)
    return to_enum(:reject!) unless block
    n = size
    delete_if(&block)
    size == n ? nil : self
  end

  def map!
    return to_enum(:map!) unless block_given?
    keys = @hash.keys
    @hash = {}
    keys.each { |x| @hash[yield(x)] = true }
    self
  end
  alias collect! map!

  def classify
    return to_enum(:classify) unless block_given?
    out = {}
    each { |x| (out[yield(x)] ||= Set.new).add(x) }
    out
  end

  def join(sep = nil)
    to_a.join(sep)
  end

  def inspect
    return "#<Set: {...}>" if Set.__inspecting.include?(object_id)
    Set.__inspecting << object_id
    begin
      "#<Set: {" + @hash.keys.map(&:inspect).join(", ") + "}>"
    ensure
      Set.__inspecting.delete(object_id)
    end
  end
  alias to_s inspect

  def self.__inspecting
    @__inspecting ||= []
  end

  def __hash
    @hash
  end

  private

  def __each_of(enum, &block)
    if enum.is_a?(Set) || enum.is_a?(Array) || enum.respond_to?(:each)
      enum.each(&block)
    else
      raise ArgumentError, "value must be enumerable"
    end
  end

  def __set_arg(set)
    raise ArgumentError, "value must be a set" unless set.is_a?(Set)
  end
end

module Enumerable
  def to_set(&block)
    Set.new(self, &block)
  end
end

class Array
  def to_set(&block)
    Set.new(self, &block)
  end
end
