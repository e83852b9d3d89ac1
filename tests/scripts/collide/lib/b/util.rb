# lib/b/util.rb — the second `helper`, same name and base name as lib/a's (see ../../main.rb).
def helper
  spin(20_000)
end
