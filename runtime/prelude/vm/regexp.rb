# regexp.rb — the Ruby half of Regexp and MatchData (the C half, on Oniguruma, is
# runtime/regexp.c and runtime/regexp_string.c), loaded into every VM. What is here is not on a
# hot path: building patterns from parts, names, inspection.
#
# Note: nothing in this file may mention the match globals by name (the dollar-digit ones, the
# dollar-ampersand...): the C half sets those only once some code has mentioned them, and a
# mention here would make every match pay for them.

class RegexpError
  # The pattern that failed to compile and the byte offset in it where Oniguruma stopped (nil
  # when it cannot be told).
  attr_reader :source, :offset
end

class Regexp
  # Regexp.union(pat, ...) or Regexp.union([pat, ...]): a pattern matching any of them. Strings
  # match literally; Regexps keep their options (embedded as (?mix:...)).
  def self.union(*pats)
    pats = pats[0] if pats.size == 1 && pats[0].is_a?(Array)
    return new("(?!)") if pats.empty?
    if pats.size == 1
      pat = pats[0]
      return pat if pat.is_a?(Regexp)
      return new(escape(pat))
    end
    new(pats.map { |pat| pat.is_a?(Regexp) ? pat.to_s : escape(pat) }.join("|"))
  end

  # The names of the named groups, in the order they first appear.
  def names
    __names.map { |pair| pair[0] }
  end

  # { name => [group numbers] }
  def named_captures
    h = {}
    __names.each { |name, nums| h[name] = nums }
    h
  end

  # (No Regexp#~: it matches $_, which mruby does not keep.)
end

class MatchData
  def names
    regexp.names
  end

  # { name => the last matched group of that name }
  def named_captures
    h = {}
    names.each { |name| h[name] = self[name] }
    h
  end

  def values_at(*indexes)
    indexes.map { |i| self[i] }
  end

  # Ruby 3.1's MatchData#match(n) and match_length(n).
  def match(n)
    raise IndexError, "index #{n} out of matches" if n.is_a?(Integer) && (n < 0 || n >= size)
    self[n]
  end

  def match_length(n)
    m = match(n)
    m && m.size
  end

  def ==(other)
    other.is_a?(MatchData) && string == other.string && regexp == other.regexp &&
      to_a == other.to_a && offset(0) == other.offset(0)
  end
  alias eql? ==

  def inspect
    s = "#<MatchData #{self[0].inspect}"
    nm = regexp.__names
    if nm.empty?
      (1...size).each { |i| s << " #{i}:#{self[i].inspect}" }
    else
      # Group numbers to names (named groups are the only ones that capture then).
      by_num = {}
      nm.each { |name, nums| nums.each { |n| by_num[n] = name } }
      (1...size).each { |i| s << " #{by_num[i] || i}:#{self[i].inspect}" }
    end
    s << ">"
  end
end

class Symbol
  # As CRuby: a Symbol matches as its name.
  def =~(other)
    to_s =~ other
  end

  def match(*args, &block)
    to_s.match(*args, &block)
  end

  def match?(*args)
    to_s.match?(*args)
  end

  def [](*args)
    to_s[*args]
  end
  alias slice []
end
