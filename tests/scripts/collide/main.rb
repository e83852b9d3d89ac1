# collide/main.rb — two functions named `helper` in files with one base name (lib/a/util.rb,
# lib/b/util.rb), for `mrprof check` (tests/unit/test_check.c, tests/data/check/): every path of
# check must keep them apart. lib/b's helper is defined after lib/a's has run (same name).
def spin(n)
  i = 0
  i += 1 while i < n
  i
end

require_relative "lib/a/util"
100.times { helper }
require_relative "lib/b/util"
50.times { helper }
