# =~, match, match?, MatchData, the match globals, case/when. Same output under ruby.
p(/b/ =~ "abc", "abc" =~ /c/, /z/ =~ "abc", "abc" =~ /z/, /a/ =~ nil, /b/ =~ :abc)
p $~
"abc" =~ /z/
p $~, $1
m = /(\d+)-(\d+)/.match("tel 555-1234 ok")
p m, m[0], m[1], m[2], m[3], m[-1], m[-3], m[-4], m[0, 2], m[1..], m.to_a, m.captures, m.size, m.length
p m.pre_match, m.post_match, m.begin(0), m.end(0), m.begin(2), m.end(1), m.offset(0), m.offset(2), m.to_s
p m.string, m.regexp, m.values_at(0, 2), m.names, m.named_captures
m = /(?<y>\d{4})-(?<mo>\d\d)(-(?<d>\d\d))?/.match("on 2024-05 ok")
p m, m[:y], m["mo"], m[:d], m.names, m.named_captures, m.captures, m.begin(:mo), m.end("y"), m.offset(:d)
p(/(a)|(b)/.match("b").to_a, /(a)|(b)/.match("b").begin(1), /(a)|(b)/.match("b").offset(1))
p(/(?<x>a)|(?<x>b)/.match("b")[:x], /(?<x>a)|(?<x>b)/.match("b").named_captures)
p(/b/.match("abcb", 2).begin(0), /b/.match("abcb", -1).begin(0), /b/.match("abc", 5), /b/.match("abc", -9))
p(/b/.match(nil), /b/.match?("abc"), /b/.match?("abc", 2), /b/.match?(nil), "abc".match?(/c/, 3), "abc".match?(/c/, 2))
p("abc".match(/b/), "abc".match("b."), "abc".match(/b/, 2), "a.c".match?("a.c"), "abc".match?("a.c"))
p("abc".match(/(b)/) { |md| md[1] * 2 }, "abc".match(/z/) { |md| 1 })
r = /b/.match("abc") { |md| md.pre_match }
p r
"xyz" =~ /(y)(z)?/
p [$~[0], $1, $2, $3, $9, $&, $`, $', $+]
"xy" =~ /(x)(q)?/
p [$+, $2]
"hello" =~ /l(l)/
p Regexp.last_match, Regexp.last_match(0), Regexp.last_match(1)
"nope" =~ /z/
p [$~, $1, $&, $`, $', $+, Regexp.last_match, Regexp.last_match(1)]
/b/.match?("abc")
p $~
"abc".match?(/b/)
p $~
def kind(s)
  case s
  when /^\d+$/ then "digits #{$~[0]}"
  when /^(\w)\w*$/ then "word starting with #{$1}"
  when /^\s*$/ then "blank"
  else "other"
  end
end
p kind("123"), kind("hello"), kind("  "), kind("a-b"), kind(:sym)
p(/a/ === "cat", /a/ === "dog", /a/ === :cat, /a/ === 5, /a/ === nil)
md = "foo bar baz".match(/(?<w>ba.)/, 5)
p md, md.pre_match, md.post_match
p("ab" !~ /c/, "ab" !~ /a/)
p((/(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)/ =~ "abcdefghijk"), $9, $~[10])
