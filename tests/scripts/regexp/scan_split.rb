# scan and split. Same output under ruby.
p "foo bar baz".scan(/\w+/), "a1b2".scan(/([a-z])(\d)/), "abc".scan(//), "abc".scan(/b*/), "abc".scan(/z/)
p "a1b2c3".scan(/[a-z](\d)/), "a1 b".scan(/([a-z])(\d)?/), "a.b.c".scan("."), "aaa".scan("aa")
puts "é!é".scan(/./).join("|")
acc = []
r = "k1=v1;k2=v2".scan(/(\w+)=(\w+)/) { |k, v| acc << [k, v, $~[0]] }
p acc, r
acc = []
"x1y2".scan(/\d/) { |d| acc << d + $~.pre_match }
p acc
"a1b2".scan(/\d/)
p $~
"ab".scan(/\d/)
p $~
p "a,b,,c,,".split(/,/), "a,b,,c,,".split(/,/, -1), "a,b,c".split(/,/, 2), "a,b,c".split(/,/, 1), "a,b,c".split(/,/, 0)
p "a1b2c".split(/(\d)/), "a1b2c".split(/(\d)(x)?/), "".split(/,/), "".split(/,/, -1), " a b ".split(/ /), " a  b ".split(/\s+/)
p "abc".split(//), "abc".split(//, 2), "abc".split(/b*/), "aXbXc".split(/x/i), "aXbXc".split(/x/i, 1), "a--b".split(/-/)
puts "héllo wörld".split(/ö/).join("|"), "héllo".split(//).join("|")
p "a b  c".split(/ /, -1), "1, 2,3 ,4".split(/\s*,\s*/), "abc".split(/(?=b)/)
p "a,b,c".split(","), "a b  c".split, "a b  c".split(" "), "a,b".split(",", -1), "abc".split("")
"x-y".split(/-/)
p $~
"x-y-z".split(/-/, 2)
p $~
