# check_work.rb [SLOWDOWN] — a fixed amount of work in three methods, for `mrprof check --runs`.
# SLOWDOWN (default 1.0) multiplies the work of `parse` only: 1.25 makes that method 25% slower.
slowdown = (ARGV[0] || "1.0").to_f

def spin(n)
  i = 0
  i += 1 while i < n
  i
end

def parse(n)
  spin(n)
end

def render
  spin(30_000)
end

def store
  spin(20_000)
end

parse_n = (50_000 * slowdown).to_i
300.times do
  parse(parse_n)
  render
  store
end
