# Errors: bad patterns, bad subjects, bad arguments: the same classes as under ruby (the
# messages of bad patterns add where; test_regexp.sh checks those under mrun).
def err
  yield
  "no error"
rescue => e
  e.class
end
p err { Regexp.new("a|*b") }, err { Regexp.new("(ab") }, err { Regexp.new("ab)") }, err { Regexp.new("[a") }
p err { Regexp.new("\\") }, err { Regexp.new("(?<n>a)\\k<m>") }, err { Regexp.new("a\\") }, err { Regexp.new("(?<n>a") }
p err { Regexp.new("(?z)") }, err { Regexp.new("[b-a]") }, err { Regexp.new("\xff") }, err { Regexp.new("x{") }
p RegexpError.ancestors.include?(StandardError)
p err { "\xff" =~ /a/ }, err { "\xffabc".gsub(/a/, "b") }, err { "ab\xc3".scan(/a/) }, err { "\xff".split(/,/) }
p err { "a\xff".match?(/a/) }, err { "\xff".index(/a/) }, err { "\xed\xa0\x80" =~ /a/ }, err { "\xc0\x80" =~ /a/ }
p err { "abc" =~ "b" }, err { /a/.match(1) }, err { "a".sub(/a/, 1) }, err { Regexp.new(1) }, err { "a".scan(1) }
p err { /a/.match("abc")[:nope] }, err { /(?<x>a)/.match("abc")["y"] }, err { /a/.match("a").begin(3) }
p err { MatchData.new }, err { "a".gsub(/a/, "\\k<z>") }, err { Regexp.union(1) }
