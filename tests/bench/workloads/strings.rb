s = ""
200_000.times { |i| s << "item #{i}, " }
parts = s.split(", ")
puts parts.size + parts.map { |p| p.size }.reduce(:+)
