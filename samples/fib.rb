# fib.rb — CPU-bound: naive recursive Fibonacci plus a little string work.
#   build/mrun samples/fib.rb [N]
def fib(n)
  n < 2 ? n : fib(n - 1) + fib(n - 2)
end

def build_report(values)
  values.map { |v| "fib=#{v}" }.join(", ")
end

n = (ARGV[0] || 25).to_i
values = [n - 2, n - 1, n].map { |k| fib(k) }
puts build_report(values)
