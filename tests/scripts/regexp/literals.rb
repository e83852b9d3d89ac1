# Regexp objects: literals, options, construction, printing, equality. Same output under ruby.
x = "wor"
p(/a/, /a/i, /a/m, /a/x, /a/mix, /a\/b/, /#{x}ld/i, /#{x}(\d+)#{x}/, /a b # c
   d/x)
p(/a/.source, /a\/b/.source, /#{x}ld/i.source, /\d+\.\w/.source)
p(/a/.options, /a/i.options, /a/m.options, /a/x.options, /a/mix.options, /a/n.options)
p(/a/.to_s, /a/i.to_s, /a/mix.to_s, /a\/b/.to_s, /(?<n>b)/m.to_s)
p(/a/.inspect, /a/n.inspect, Regexp.new("a/b").inspect, Regexp.new("a\\/b").inspect)
p(Regexp.new("a.c"), Regexp.new("a", Regexp::IGNORECASE), Regexp.new("a", Regexp::MULTILINE | Regexp::EXTENDED),
  Regexp.new("a", true), Regexp.new("a", false), Regexp.new("a", nil), Regexp.new(/b/i), Regexp.compile("c"))
p(Regexp::IGNORECASE, Regexp::EXTENDED, Regexp::MULTILINE, Regexp::NOENCODING, Regexp::FIXEDENCODING)
p(/a/ == /a/, /a/ == /a/i, /a/ == Regexp.new("a"), /a/.eql?(/a/), /a/.hash == /a/.hash, /a/ == "a")
h = { /a/ => 1 }
p h[/a/], h[/b/]
p(/a/i.casefold?, /a/.casefold?)
p(/(?<first>\w+) (?<last>\w+)/.names, /(a)(b)/.names, /(?<x>.)(?<y>.)(?<x>.)/.names)
p(/(?<first>\w+) (?<last>\w+)/.named_captures, /(?<x>.)(?<y>.)(?<x>.)/.named_captures)
p Regexp.escape("a.b*c?d+e^f$g|h\\i(j)k[l]m{n}o-p q#r\ts\nt\ru\fv\vw/")
puts Regexp.escape("é.ü")
p Regexp.quote("1+1=2")
p(Regexp.union, Regexp.union("a"), Regexp.union("a.b", "c|d"), Regexp.union(/x/), Regexp.union(/x/i, "y."),
  Regexp.union(["a", "b"]), Regexp.union(%w[cat dog]) =~ "hotdog")
p(/a/.frozen?, Regexp.new("a").frozen?)
# (Offsets are bytes in mrun, characters in CRuby: ASCII subjects here; non-ASCII results by puts.)
p(/\p{Alpha}+/ =~ "123hello", "a é" =~ /\w/, "٣" =~ /\d/)
puts /[[:alpha:]]+/.match("1é2")[0], /\p{Alpha}+/.match("123héllo")[0], "é a"[/\w/], "x٣"[/\d/].inspect
p(/a.c/m =~ "a\nc", /a.c/ =~ "a\nc", /^b/ =~ "a\nb", /\Ab/ =~ "a\nb", /b\z/ =~ "ab\n", /b\Z/ =~ "ab\n")
p(/\h+/.match("xx1fz")[0], /(?i)ABC/ =~ "xabc", /a(?=b)/ =~ "cab", /(?<!x)b/ =~ "xbab", /(a)\1/ =~ "baa")
p(/(?<q>["']).*?\k<q>/.match(%q(say "hi" 'x'))[0], /\Gab/ =~ "abab")
p(/é+/i =~ "xÉé", /caf./ =~ "café", /caf./ =~ "cafe")
puts "naïve".match(/ï(.)/)[1], /[à-ÿ]+/.match("abcàéz")[0], "xÉé"[/é+/i], "日本語テキスト".scan(/\p{Han}/).join("|")
p(/a(b)/.dup, /a/i.clone =~ "xA", /a(b)/.match("ab").dup[1], /a(b)/.match("ab").clone.pre_match, Regexp.new("q").dup.source)
