require "set"
s = Set.new([3, 1, 2, 1])
p s, s.size, s.length, s.empty?, Set.new.empty?, s.include?(1), s.member?(9), s === 2, s.to_a
p Set[1, 2], Set.new([1, 2]) { |x| x * 10 }, Set.new(1..3), Set.new({a: 1})
p s.add(4), s << 5, s.add?(5), s.add?(6).class, s.delete(6), s.delete?(100), s.delete?(5)
p Set[1, 2] | Set[2, 3], Set[1, 2] & [2, 3], Set[1, 2, 3] - [2], Set[1, 2] ^ Set[2, 3], Set[1] + [4], Set[1].union([2])
p Set[1, 2].subset?(Set[1, 2, 3]), Set[1, 2] <= Set[1, 2], Set[1, 2] < Set[1, 2], Set[1, 2, 3].superset?(Set[1]), Set[1,2,3] > Set[1], Set[1].proper_subset?(Set[1,2])
p Set[1, 2] == Set[2, 1], Set[1] == [1], Set[1, 2].eql?(Set[2, 1]), Set[1, 2].hash == Set[2, 1].hash
h = {Set[1, 2] => :found}; p h[Set[2, 1]]
p Set[1, 2].map { |x| x * 2 }, Set[1, 2, 3].select(&:odd?), Set[3, 1].sort, Set[1,2].sum, Set[1, 2].to_set.equal?(nil), [1, 1, 2].to_set
p Set[1, 2].disjoint?(Set[3]), Set[1, 2].intersect?([2]), Set[1,2].min, Set[1,2].first, Set[1, 2].group_by(&:odd?), Set[1, 2, 3].partition(&:odd?)
r = []; p(Set[1, 2].each { |x| r << x }); p r, Set[1].each.class
t = Set[1, 2, 3]; t.delete_if(&:odd?); p t; t.merge([7, 8]); p t; p t.select! { |x| x > 7 }, t.reject! { |x| x > 100 }, t.keep_if { |x| x }
p Set[1, [2, 3], "a", nil, :s, Set[4]], Set[].inspect, Set[1].to_s
u = Set[1]; v = u.dup; v << 2; p u, v
p Set[1, 2].map! { |x| x + 1 } rescue p $!
p Set[3,4].filter_map { |x| x if x > 3 }, Set[1,2].count, Set[1, 2].frozen?, Set[1, 2].freeze.frozen?
p Set[1,2].join("-"), Set[1,2] <=> Set[1,2,3], Set[1,2] <=> Set[3], Set[[1, 2]].to_h rescue p $!
begin; Set.new(5); rescue => e; p [e.class, e.message]; end
p Set[1,2].collect! { |x| x * 3 }, Set[1,2,3].classify(&:odd?)
s = Set[1,2]; s.clear; p s, Set[1, 2].subtract([1]), Set[1,2].minmax, Set[1,2].include?(1.0), Set[1, 2].find { |x| x > 1 }
