# Every copyable type goes to a worker and back equal; shared references stay shared.
values = [
  nil, true, false, 0, -1, 2**61, -(2**61), 1.5, -0.25, 1e300,
  "", "text", "bytes\x00\xff\xfe", :sym, :"with space",
  [], [1, [2, [3, []]]], {}, { a: 1, "b" => [2.5, nil], 3 => { c: :d } },
  { [1, 2] => "array key" }
]
values.each_with_index do |v, i|
  back = Deferred.new(v) { |x| x }.value
  raise "value #{i} came back as #{back.inspect}, sent #{v.inspect}" unless back == v && back.class == v.class
end
bin = "\xff\x00abc"
raise "bytes changed" unless Deferred.new(bin) { |s| s.bytes }.value == bin.bytes
# deep nesting: no recursion on the C stack
deep = []
cur = deep
100_000.times { n = []; cur << n; cur = n }
depth = Deferred.new(deep) do |d|
  k = 0
  while d[0]
    d = d[0]
    k += 1
  end
  k
end.value
raise "depth #{depth}" unless depth == 100_000
s = "shared"
same = Deferred.new([s, s, { k: s }]) { |a| a[0].equal?(a[1]) && a[1].equal?(a[2][:k]) }.value
raise "shared reference not kept" unless same
res = Deferred.new { x = [1]; [x, x] }.value
raise "shared result not kept" unless res[0].equal?(res[1])
puts "copied #{values.size} values, depth #{depth}, shared ok"
