p [1, 2, 3].sum, [1, 2].sum(10), [0.5, 1].sum, ["a", "b"].sum(""), (1..4).sum, (1...4).sum, (5..1).sum, {a: 1, b: 2}.sum { |k, v| v }, [].sum, [1, 2].sum { |x| x * 10 }
p ([0.1] * 10).sum, [0.1, 0.2, 0.3].sum, [1e100, 1.0, -1e100].sum, [1, 2.5].sum, [3, 5].sum(0.0), ([0.1] * 10).sum(0.0), ([0.1] * 10).each.sum(0.0)
p (1..10).sum { |x| x * 0.1 }, {a: 0.5, b: 0.25}.sum { |k, v| v }, [0.1, 0.2, 0.3].each.sum, [[1], [2]].sum([]), [1, 2r].sum
p [Float::INFINITY, 1.0].sum, [Float::INFINITY, -Float::INFINITY].sum.nan?, [1.0, Float::NAN].sum.nan?
begin; [0.1, 1, "x"].sum; rescue TypeError => e; p e.class; end
p [0.1, 0.2, 0.3].sum { |x| x * 3 }, (1..3).sum(0.5), (1..3).sum { |x| x / 2.0 }
