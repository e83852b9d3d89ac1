# sub, gsub, sub!, gsub!: string, hash and block replacements. Same output under ruby.
s = "John Smith, Jane Doe"
p s.sub(/(\w+) (\w+)/, '\2 \1'), s.gsub(/(\w+) (\w+)/, '\2 \1'), s.gsub(/(?<f>\w+) (?<l>\w+)/, '\k<l> \k<f>')
p s.gsub(/o/, "0"), s.sub(/o/, "0"), s.gsub(/z/, "!"), s.gsub(/[aeiou]/, "a" => "4", "e" => "3", "o" => "0")
p "abc".gsub(/b/, '[\0|\&|\`|\'|\\\\|\q|\+]'), "abc".gsub(/(b)/, '<\+>'), "abc".sub(/b/, "\\"), "abc".sub(/b/, "x\\")
p "ab".sub(/(?<x>a)/, '[\1]'), "ab".sub(/(a)/, '[\10]'), "ab".sub(/(a)/, '[\k]'), "ab".sub(/(a)/, '[\9]')
p "hello world".gsub(/o/) { |m| m.upcase }, "hello world".gsub(/(l+)/) { "<#{$1}:#{$~.begin(0)}>" }
p "a1b22".gsub(/\d+/) { |d| (d.to_i * 2).to_s }, "a1b2".gsub(/\d/) { nil }, "a1b2".gsub(/\d/) { :x }
p "abc".gsub(/x*/, "-"), "abc".gsub(/b*/, "-"), "".gsub(//, "-")
puts "é".gsub(//, "-"), "héllo".gsub(/l/, "L"), "ça va".gsub(/./) { |c| "[#{c}]" }
p "aaa".sub(/a/) { $` + "|" + $' }, "x-y".gsub(/[xy]/, "x" => "1")
p "2024-05-01".gsub(/(\d+)-(\d+)-(\d+)/) { "#{$3}/#{$2}/#{$1}" }
"zzz".gsub(/z/, "y")
p $~
"zzz".gsub(/q/, "y")
p $~
"abcb".gsub(/b/) { "" }
p $~.begin(0)
t = "hello"
p t.sub!(/l/, "L"), t, t.sub!(/z/, "Z"), t, t.gsub!(/l/, "1"), t, t.gsub!(/z/, "2"), t
t = "abc"
p t.gsub!(/[ac]/) { |c| c.upcase }, t
u = "x.y.z"
p u.gsub(/\./, "\\\\"), u.gsub(".", "-"), u.sub(".", "+"), u.gsub("y") { "Y" }
p((begin; "a".freeze.sub!(/x/, ""); rescue FrozenError => e; e.class; end),
  (begin; "a".freeze.gsub!(/a/, ""); rescue FrozenError => e; e.class; end),
  (begin; "ab".sub(/(a)/, '\k<nope>'); rescue IndexError => e; e.message; end),
  (begin; "ab".sub(/(a)/, '\k<x'); rescue RuntimeError => e; e.message; end),
  (begin; "ab".sub(/a/); rescue ArgumentError => e; e.class; end))
p "abc".gsub(/b/).to_a, "a1b2".gsub(/\d/).map { |d| d * 2 }
p "abc".gsub(/b/) { break 42 }
p "path/to/file.rb".sub(/\.rb\z/, ".py"), "  trim  ".gsub(/\A\s+|\s+\z/, ""), "CamelCaseName".gsub(/([a-z])([A-Z])/, '\1_\2').downcase
p "a\nb\nc".gsub(/^/, "> "), "tab\there".gsub(/\t/, "\\t"), "x".gsub(/x/, "\\\\\\\\")
