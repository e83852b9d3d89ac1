# An invoice / inventory report: money with floats and integers, formatted columns, string
# helpers, pack/unpack for a checksum, combinations for bundles.
Item = Struct.new(:sku, :name, :price, :qty)

items = [
  Item.new("A-100", "Widget", 0.1, 10),
  Item.new("A-101", "Gadget, large", 19.99, 3),
  Item.new("B-200", "Gizmo \"pro\"", 5.05, 7),
  Item.new("C-300", "Thingamajig", 1234.5, 1),
]

puts format("%-6s|%-15s|%9s|%4s|%10s", "sku", "name", "price", "qty", "total")
puts "-" * 48
items.each do |it|
  puts format("%-6s|%-15.15s|%9.2f|%4d|%10.2f", it.sku, it.name, it.price, it.qty, it.price * it.qty)
end
totals = items.map { |it| it.price * it.qty }
p totals.sum, [0.1] * 10 == [0.1] * 10, ([0.1] * 10).sum, [0.1, 0.2, 0.3].sum, [1e100, 1.0, -1e100].sum, [1, 2.5].sum, [3, 5].sum(0.0)
p (1..10).sum { |x| x * 0.1 }, {a: 0.5, b: 0.25}.sum { |k, v| v }, [0.1, 0.2, 0.3].each.sum
p format("%+d %x %o %b %e %08.3f %-5s| %5.1f%% %c %s", 42, 255, 8, 5, 12345.678, 3.14159, "ab", 99.5, 65, :sym)
p format("%<a>05d-%{b}", a: 7, b: "x"), "%s and %p" % ["str", "str"], "%.3s" % "abcdef", "%*d" % [5, 42]
p "Gizmo".tr("iz", "IZ"), "a--b---c".squeeze("-"), "hello".count("l"), "hello".delete("l"), "az".succ, "zz".succ, "a9".succ
p "Widget".each_char.to_a.first(3), "abc".bytes.sum, "hello world".split.map(&:capitalize).join(" "), "snake_case_word".split("_").map.with_index { |w, i| i.zero? ? w : w.capitalize }.join
checksum = items.map(&:sku).join.unpack("C*").sum % 65536
p checksum, [checksum].pack("n").unpack1("H*"), [1, 2, 3].pack("C*").bytes, "AB".unpack("C*")
p items.map(&:qty).each_slice(2).to_a, items.map(&:sku).zip(items.map(&:qty)).to_h, [1, 2, 3].combination(2).count, [:s, :m].product([1, 2]).length
bundles = items.combination(2).map { |a, b| [a.sku + "+" + b.sku, (a.price + b.price).round(2)] }.min_by(2) { |_, price| price }
p bundles
p 1234.5.round(-2), 1234.5678.round(2), 1234.5678.floor(1), 1234.5678.ceil(2), 10.fdiv(4), 7.divmod(-2), -7 / 2, 2**10, 10.0 / 4
p 1234567.digits.each_slice(3).map(&:join).join(",").reverse, 12.clamp(1, 10), 5.clamp(..3), 15.5.clamp(1, 10)
p items.partition { |it| it.price > 10 }.map { |g| g.map(&:sku) }, items.sum(&:qty), items.max_by(&:price).name, items.sort_by { |it| -it.qty }.map(&:sku)
p items.each_with_object(Hash.new(0)) { |it, h| h[it.sku[0]] += it.qty }, items.find_index { |it| it.qty == 7 }, items.map(&:name).max_by(&:size)
p 100.0.to_s, 1e20.to_s, 1.0e-5.to_s, 3.0 * 1.5, 0.5 + 0.25, 1/3r
