# index, rindex, [] / slice, start_with? with a Regexp (and still with Strings). Same under ruby.
s = "hello world"
p s.index(/o/), s.index(/o/, 5), s.index(/o/, -4), s.index(/z/), s.index(/o/, 20), s.index(/$/), s.index(/\b/, 1)
p s.rindex(/o/), s.rindex(/o/, 5), s.rindex(/o/, -5), s.rindex(/z/), s.rindex(/l+/), s.rindex(/^/), s.rindex(//)
p s.index("o"), s.index("o", 5), s.rindex("o"), s.rindex("o", 5), s.index("zz")
s.index(/w(or)/)
p $~, $1
s.rindex(/q/)
p $~
p s[/o\s\w/], s[/l+/], s[/(h)(e)/, 2], s[/(?<a>w)(?<b>o)/, "b"], s[/(?<a>w)(?<b>o)/, :a], s[/z/], s[/(h)/, 3]
p s.slice(/w.*/), s.slice(/(o)r/, 1), s[0], s[0, 4], s[1..3], s["wor"], s["zz"], s.slice(2), s.slice(2, 2)
s[/(l+)o/]
p $~, $1
p s.start_with?(/hel+/), s.start_with?(/world/), s.start_with?("hell"), s.start_with?("x", /h/), s.start_with?("x", "he")
s.start_with?(/he(l)/)
p $~, $1
s.start_with?(/zz/)
p $~
# []=, slice!, partition, rpartition with a Regexp; Symbol matching.
s = "hello world"; s[/o/] = "0"; p s; s[/(w)(o)/, 2] = "O"; p s; s[/(?<x>h)/, "x"] = "J"; p s
p((begin; s[/z/] = "x"; rescue IndexError => e; e.message; end), (begin; s[/(z)?w/, 1] = "x"; rescue IndexError => e; e.message; end))
t = "hello"
p t.slice!(/l+/), t.slice!(/z/), t.slice!(/(h)(e)/, 2), t
p "a-b-c".partition(/-/), "a-b-c".rpartition(/-/), "abc".partition(/z/), "abc".rpartition(/z/), "aXXbXXc".rpartition(/X+/)
"k=v".partition(/(=)/)
p $~, $1
p :abc =~ /b/, :abc.match(/c/), :abc.match?(/d/), :abc[/b./]
