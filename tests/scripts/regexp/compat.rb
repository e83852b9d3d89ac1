# String methods without a Regexp behave as in Debian's mruby (the same output under `mruby`).
s = "a,b,,c,, x  y "
p s.split(","), s.split(",", 2), s.split(",", -1), s.split, s.split(" "), s.split(""), s.split(nil)
p s.index("b"), s.index("b", 3), s.index(",", -3), s.rindex(","), s.rindex(",", 4), s.index(""), s.index("zz")
p s[0], s[1, 3], s[2..4], s["b,"], s["zz"], s.slice(3), s.slice(3, 2), s[-2], s[100]
p s.sub(",", ";"), s.gsub(",", ";"), s.gsub(",") { |m| m * 2 }, s.sub("zz", "!"), s.gsub("", "-")
t = s.dup
p t.sub!(",", "|"), t, t.gsub!(",", "|"), t, t.sub!("qq", "z"), t.gsub!("qq", "z")
p s.start_with?("a,"), s.start_with?("b"), s.start_with?("x", "a"), "abc".sub("b", "\\0\\0"), "abc".gsub("b", "[\\&]")
p (begin; "a".start_with?(1); rescue TypeError => e; e.class; end)
u = "abcdef"; u[1] = "X"; u[0, 2] = "Y"; u["de"] = "D"
p u, u.slice!(0), u.slice!(1, 2), u, "a-b".partition("-"), "a-b-c".rpartition("-"), "abc".partition("z")
