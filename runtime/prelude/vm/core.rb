# core.rb — core methods Ruby programmers expect and Debian's mruby 3.1 lacks, loaded into every
# VM (the main one and each Deferred worker's: rt_vm_init), so tasks on the pool have them too.
# Behaviour follows CRuby's; docs/script-api.md lists what is here and what is still missing.

module Enumerable
  # CRuby's Enumerable#sum: init + each element (or the block's value for it), with +.
  def sum(init = 0, &block)
    acc = init
    if block
      each { |*x| acc += block.call(*x) }
    else
      each { |x| acc += x }
    end
    acc
  end
end

class Array
  def sum(init = 0, &block)
    acc = init
    i = 0
    n = size
    if block
      while i < n
        acc += block.call(self[i])
        i += 1
      end
    else
      while i < n
        acc += self[i]
        i += 1
      end
    end
    acc
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
