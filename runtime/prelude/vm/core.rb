# core.rb — core methods Ruby programmers expect and Debian's mruby 3.1 lacks, loaded into every
# VM (the main one and each Deferred worker's: rt_vm_init), so tasks on the pool have them too.
# Behaviour follows CRuby's; docs/script-api.md lists what is here and what is still missing.

# Array#sum and Enumerable#sum as CRuby's (the loop is C: Kernel::SumOf.sum, runtime/core.c) (array.c rb_ary_sum, enum.c enum_sum): integers (and
# rationals) are added exactly; from the first Float on, Kahan-Babuska compensated summation
# ([0.1] * 10 sums to 1.0, [1e100, 1.0, -1e100] to 1.0); anything else goes through +.
module Enumerable
  def sum(init = 0, &block)
    values = []
    if block
      each { |*x| values << block.call(*x) }
    else
      each { |x| values << x }
    end
    Kernel::SumOf.sum(values, init, true)
  end
end

class Array
  def sum(init = 0, &block)
    return init if empty?
    Kernel::SumOf.sum(block ? map(&block) : self, init, false)
  end
end

class Range
  # CRuby sums an Integer range without a block by formula.
  def sum(init = 0, &block)
    if !block && first.is_a?(Integer) && last.is_a?(Integer) && init.is_a?(Integer)
      hi = exclude_end? ? last - 1 : last
      return init if hi < first
      return init + (first + hi) * (hi - first + 1) / 2
    end
    super
  end
end

class Integer
  # CRuby's Integer#digits: the digits in base, least significant first.
  def digits(base = 10)
    raise TypeError, "wrong argument type #{base.class} (expected Integer)" unless base.is_a?(Integer)
    raise ArgumentError, "negative radix" if base < 0
    raise ArgumentError, "invalid radix #{base}" if base < 2
    raise Math::DomainError, "out of domain" if self < 0
    return [0] if self == 0
    out = []
    n = self
    while n > 0
      out << n % base
      n /= base
    end
    out
  end
end

class Integer
  def even?
    self % 2 == 0
  end

  def odd?
    self % 2 != 0
  end

  def pred
    self - 1
  end

  # CRuby's Integer#pow(b) and pow(b, m): modular exponentiation by squaring; the result has the
  # sign of m, as Integer#% does.
  def pow(b, m = nil)
    return self**b if m.nil?
    raise TypeError, "Integer#pow() 2nd argument not allowed unless a 1st argument is integer" unless b.is_a?(Integer)
    raise RangeError, "Integer#pow() 1st argument cannot be negative when 2nd argument specified" if b < 0
    raise TypeError, "Integer#pow() 2nd argument not allowed unless all arguments are integers" unless m.is_a?(Integer)
    raise ZeroDivisionError, "divided by 0" if m == 0
    result = 1 % m
    base = self % m
    while b > 0
      result = (result * base) % m if b.odd?
      base = (base * base) % m
      b >>= 1
    end
    result
  end

  def gcd(other)
    raise TypeError, "not an integer" unless other.is_a?(Integer)
    a = abs
    b = other.abs
    a, b = b, a % b while b != 0
    a
  end

  def lcm(other)
    raise TypeError, "not an integer" unless other.is_a?(Integer)
    return 0 if self == 0 || other == 0
    (self * other).abs / gcd(other)
  end

  def bit_length
    n = self < 0 ? ~self : self
    len = 0
    while n > 0
      n >>= 1
      len += 1
    end
    len
  end

  def self.sqrt(n)
    n = Integer(n)
    raise Math::DomainError, 'Numerical argument is out of domain - "isqrt"' if n < 0
    return n if n < 2
    x = Math.sqrt(n).to_i
    x -= 1 while x * x > n
    x += 1 while (x + 1) * (x + 1) <= n
    x
  end
end

# catch/throw as CRuby's: throw unwinds (running ensure clauses) to the innermost catch with the
# same tag (identity, as CRuby compares) and makes it return the value; a throw with no such
# catch raises UncaughtThrowError where it is thrown. The unwinding is an exception that is not a
# StandardError, so `rescue => e` between the two does not stop it (`rescue Exception` would:
# the one place where it differs from CRuby, whose throw is no exception).
class UncaughtThrowError < ArgumentError
  attr_reader :tag, :value

  def initialize(tag, value = nil, msg = "uncaught throw %p")
    @tag = tag
    @value = value
    super(format(msg, tag))
  end
end

module Kernel
  class ThrowUnwind < Exception # :nodoc: the unwinding of a throw to its catch
    attr_reader :tag, :value

    def initialize(tag, value)
      @tag = tag
      @value = value
    end
  end

  CATCH_TAGS = [] # :nodoc: the tags of the active catch blocks, innermost last (one VM, one list)

  def catch(tag = Object.new, &block)
    raise LocalJumpError, "no block given" unless block
    CATCH_TAGS.push(tag)
    begin
      block.call(tag)
    rescue ThrowUnwind => t
      raise t unless t.tag.equal?(tag)
      t.value
    ensure
      CATCH_TAGS.pop
    end
  end

  def throw(tag, value = nil)
    i = CATCH_TAGS.size - 1
    i -= 1 while i >= 0 && !CATCH_TAGS[i].equal?(tag) # innermost first, without a block
    raise UncaughtThrowError.new(tag, value) if i < 0
    raise ThrowUnwind.new(tag, value)
  end

  # Object#public_send: __send__, except that a private or protected method is an error.
  def public_send(name, *args, **kw, &block)
    if !respond_to?(name) && respond_to?(name, true)
      raise NoMethodError.new("private method '#{name}' called for #{inspect}", name)
    end
    kw.empty? ? __send__(name, *args, &block) : __send__(name, *args, **kw, &block)
  end
end

# Struct: CRuby's keyword_init: true (and #keyword_init?), Enumerable, to_h with a block.
class Struct
  include Enumerable

  module KeywordInit # :nodoc: initialize of a keyword_init struct (below a block's initialize)
    def initialize(*args, **kw)
      # new is C in mruby 3.1 (mrb_instance_new) and hands the keywords on as one Hash.
      kw = args.pop if kw.empty? && args.size == 1 && args[0].is_a?(Hash)
      unless args.empty?
        raise ArgumentError, "wrong number of arguments (given #{args.size}, expected 0)"
      end
      names = self.class.members
      found = 0
      values = names.map do |m|
        if kw.key?(m)
          found += 1
          kw[m]
        elsif !kw.empty? && kw.key?(m.to_s) # CRuby takes "a" => 1 too
          found += 1
          kw[m.to_s]
        end
      end
      if found < kw.size # some key is no member (the rare case: find which)
        unknown = kw.keys.reject { |k| names.include?(k.is_a?(String) ? k.to_sym : k) }
        raise ArgumentError, "unknown keywords: #{unknown.join(', ')}"
      end
      super(*values)
    end
  end

  class << self
    alias_method :__mrun_new, :new

    def new(*names, keyword_init: nil, &block)
      members = names[0].is_a?(String) ? names[1..-1] : names
      seen = {}
      members.each do |m|
        raise ArgumentError, "duplicate member: #{m}" if seen[m.to_s]
        seen[m.to_s] = true
      end
      klass = __mrun_new(*names, &block)
      klass.instance_variable_set(:@__keyword_init, keyword_init)
      if keyword_init
        klass.include(KeywordInit)
        # The generated class's new is C, which hands keywords on as a Hash: this one passes
        # them as keywords, so an initialize(**kw) of the block's gets them.
        class << klass
          def new(*args, **kw, &block)
            o = allocate
            if kw.empty?
              o.__send__(:initialize, *args, &block)
            else
              o.__send__(:initialize, *args, **kw, &block)
            end
            o
          end
          alias_method :[], :new
        end
      end
      klass
    end

    def keyword_init?
      @__keyword_init
    end

    def inspect
      s = super
      @__keyword_init ? "#{s}(keyword_init: true)" : s
    end
  end

  def deconstruct
    to_a
  end

  def to_h(&block)
    h = {}
    members.each_with_index do |m, i|
      if block
        pair = block.call(m, self[i])
        raise TypeError, "wrong element type #{pair.class} (expected array)" unless pair.is_a?(Array)
        raise ArgumentError, "element has wrong array length (expected 2, was #{pair.size})" unless pair.size == 2
        h[pair[0]] = pair[1]
      else
        h[m] = self[i]
      end
    end
    h
  end
end

class Time
  # CRuby's Time#xmlschema / iso8601 (require "time"): "2024-01-02T03:04:05Z" for a UTC time,
  # the offset ("+01:00") otherwise; n fraction digits.
  def xmlschema(fraction_digits = 0)
    n = fraction_digits.to_i
    s = strftime("%FT%T")
    s << strftime(".%#{n}N") if n > 0
    s << (utc? ? "Z" : strftime("%:z"))
  end
  alias iso8601 xmlschema

  alias gmt_offset utc_offset
  alias gmtoff utc_offset
  alias tv_sec to_i
  alias tv_usec usec

  def nsec
    usec * 1000
  end
  alias tv_nsec nsec
end

# The implicit conversions CRuby's core types answer to (libraries test respond_to?(:to_ary)).
class Array
  def to_ary
    self
  end
end

class Hash
  def to_hash
    self
  end
end

module Kernel
  # pp as p (returns its argument(s)); CRuby's pp also wraps structures wider than 80 columns.
  def pp(*args)
    p(*args)
  end
end

module Kernel
  alias_method :__mrun_Integer, :Integer
  alias_method :__mrun_Float, :Float

  # Integer() and Float() with CRuby's exception: false (nil instead of an error).
  def Integer(arg, base = nil, exception: true)
    return(base ? __mrun_Integer(arg, base) : __mrun_Integer(arg)) if exception
    begin
      base ? __mrun_Integer(arg, base) : __mrun_Integer(arg)
    rescue ArgumentError, TypeError, RangeError
      nil
    end
  end

  def Float(arg, exception: true)
    return __mrun_Float(arg) if exception
    begin
      __mrun_Float(arg)
    rescue ArgumentError, TypeError, RangeError
      nil
    end
  end
end

module Kernel
  # The base case CRuby has, so that a respond_to_missing? of a script's can call super.
  def respond_to_missing?(name, include_private = false)
    false
  end
  private :respond_to_missing?
end

class Module
  # mruby 3.1 keeps visibility on methods but does not report it (instance_methods and
  # method_defined? list private ones too): this is method_defined?, the best it can tell.
  def public_method_defined?(name, inherit = true)
    method_defined?(name)
  end

  def private_class_method(*names)
    singleton_class.__send__(:private, *names.flatten)
    nil
  end

  def public_class_method(*names)
    singleton_class.__send__(:public, *names.flatten)
    nil
  end

  # Accepted and ignored: mruby 3.1 has no private constants (Foo::BAR stays reachable).
  def private_constant(*names)
    nil
  end
end

class Symbol
  def start_with?(*prefixes)
    to_s.start_with?(*prefixes)
  end

  def end_with?(*suffixes)
    to_s.end_with?(*suffixes)
  end

  def [](*args)
    to_s[*args]
  end
  alias slice []

  def succ
    to_s.succ.to_sym
  end
  alias next succ
end

# min(n), max(n), min_by(n), max_by(n): CRuby's forms with a count (the n smallest or largest,
# in order); without n, mruby's own methods.
module Enumerable
  alias_method :__mrun_min, :min
  alias_method :__mrun_max, :max
  alias_method :__mrun_min_by, :min_by
  alias_method :__mrun_max_by, :max_by

  def min(n = nil, &block)
    return __mrun_min(&block) if n.nil?
    raise ArgumentError, "negative size (#{n})" if n < 0
    (block ? sort(&block) : sort).first(n)
  end

  def max(n = nil, &block)
    return __mrun_max(&block) if n.nil?
    raise ArgumentError, "negative size (#{n})" if n < 0
    (block ? sort { |a, b| block.call(b, a) } : sort { |a, b| b <=> a }).first(n)
  end

  def min_by(n = nil, &block)
    return __mrun_min_by(&block) if n.nil? || !block
    raise ArgumentError, "negative size (#{n})" if n < 0
    sort_by(&block).first(n)
  end

  def max_by(n = nil, &block)
    return __mrun_max_by(&block) if n.nil? || !block
    raise ArgumentError, "negative size (#{n})" if n < 0
    sort_by(&block).reverse.first(n)
  end
end

class Range
  alias_method :__mrun_range_min, :min
  alias_method :__mrun_range_max, :max

  def min(n = nil, &block)
    n.nil? ? __mrun_range_min(&block) : super
  end

  def max(n = nil, &block)
    n.nil? ? __mrun_range_max(&block) : super
  end
end

class Integer
  def fdiv(other)
    to_f / other
  end
end

class Float
  def fdiv(other)
    self / other
  end
end

module Comparable
  alias_method :__mrun_clamp, :clamp

  # clamp(min, max) and CRuby's clamp(range) (an endless or beginless range clamps one side).
  def clamp(min, max = (no_max = true; nil))
    return __mrun_clamp(min, max) unless no_max
    raise TypeError, "wrong argument type #{min.class} (expected Range)" unless min.is_a?(Range)
    range = min
    raise ArgumentError, "cannot clamp with an exclusive range" if range.exclude_end? && !range.end.nil?
    lo = range.begin
    hi = range.end
    raise ArgumentError, "min argument must be less than or equal to max argument" if lo && hi && (lo <=> hi) > 0
    return lo if lo && (self <=> lo) < 0
    return hi if hi && (self <=> hi) > 0
    self
  end
end

# The questions `defined?` asks at run time, once runtime/defined.c has rewritten it (mruby 3.1
# parses defined?(x) as a method call). Each answers true or false for the caller's self.
module Kernel
  def __mrun_method_defined?(name)
    respond_to?(name, true)
  end

  def __mrun_responds?(recv, name)
    recv.respond_to?(name)
  end

  def __mrun_gvar_defined?(name)
    global_variables.include?(name)
  end

  def __mrun_cvar_defined?(name)
    mod = is_a?(Module) ? self : self.class
    mod.class_variable_defined?(name)
  end

  # Lexical scope approximated by the enclosing module's name: Foo::Bar looks in Foo::Bar (and
  # its ancestors), Foo and Object.
  def __mrun_const_defined?(name)
    mod = is_a?(Module) ? self : self.class
    return true if mod.const_defined?(name)
    scope = Object
    return true if scope.const_defined?(name)
    (mod.name || "").split("::").each do |part|
      break unless scope.const_defined?(part)
      scope = scope.const_get(part)
      break unless scope.is_a?(Module)
      return true if scope.const_defined?(name)
    end
    false
  end

  def __mrun_const_in?(scope, name)
    scope = Object if scope.nil?
    scope.is_a?(Module) && scope.const_defined?(name)
  end

  def __mrun_super_defined?(name)
    return false unless name
    owners = (is_a?(Module) ? singleton_class : self.class).ancestors
    found = false
    owners.each do |m|
      next unless m.instance_methods(false).include?(name)
      return true if found
      found = true
    end
    false
  end
end

class Array
  def sort_by!(&block)
    return to_enum(:sort_by!) unless block
    replace(sort_by(&block))
  end
end

module Enumerable
  # Splits between neighbours a, b where the block says so (slice_when) or does not
  # (chunk_while); returns the groups as an Array (CRuby returns an Enumerator of them).
  def slice_when(&block)
    __mrun_split_between(true, &block)
  end

  def chunk_while(&block)
    __mrun_split_between(false, &block)
  end

  def grep_v(pattern, &block)
    out = []
    each { |x| out << (block ? block.call(x) : x) unless pattern === x }
    out
  end

  def compact
    to_a.compact
  end

  def __mrun_split_between(split_on)
    out = []
    cur = nil
    prev = nil
    each do |x|
      if cur.nil?
        cur = [x]
      elsif (yield(prev, x) ? true : false) == split_on
        out << cur
        cur = [x]
      else
        cur << x
      end
      prev = x
    end
    out << cur if cur
    out.each
  end
end

class Integer
  # floor/ceil/round to a negative number of digits (1234.round(-2) == 1200): mruby 3.1 ignores
  # the argument. round's ties go away from zero unless half: :even or :down.
  def floor(ndigits = 0)
    return self if ndigits >= 0
    return 0 if -ndigits > 18
    m = 10**-ndigits
    (self / m) * m
  end

  def ceil(ndigits = 0)
    return self if ndigits >= 0
    return 0 if -ndigits > 18
    m = 10**-ndigits
    -((-self) / m) * m
  end

  def round(ndigits = 0, half: :up)
    return self if ndigits >= 0
    return 0 if -ndigits > 18
    m = 10**-ndigits
    r = self % m
    base = self - r
    twice = r * 2
    return base if twice < m
    return base + m if twice > m
    case half
    when :even then (base / m).even? ? base : base + m
    when :down, :to_zero then self > 0 ? base : base + m
    when :up, nil then self > 0 ? base + m : base
    else raise ArgumentError, "invalid rounding mode: #{half}"
    end
  end

  def truncate(ndigits = 0)
    return self if ndigits >= 0
    self < 0 ? ceil(ndigits) : floor(ndigits)
  end
end

class Range
  # (1..10).step(3) { } / .to_a: every n-th value from begin (numeric ranges by addition, others
  # by position, as CRuby). Without a block, an Enumerator.
  def step(n = 1, &block)
    return to_enum(:step, n) unless block
    b = self.begin
    e = self.end
    if b.is_a?(Numeric)
      raise ArgumentError, "step can't be negative" if n < 0
      raise ArgumentError, "step can't be 0" if n == 0
      i = 0
      loop do
        x = b + i * n
        break if e && (exclude_end? ? x >= e : x > e)
        yield x
        i += 1
      end
    else
      raise ArgumentError, "step can't be negative" if n < 0
      raise ArgumentError, "step can't be 0" if n == 0
      each_with_index { |x, i| yield x if i % n == 0 }
    end
    self
  end
  alias % step
end
