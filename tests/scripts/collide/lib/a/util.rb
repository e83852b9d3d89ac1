# lib/a/util.rb — the first `helper` (see ../../main.rb).
def helper
  spin(20_000)
end
