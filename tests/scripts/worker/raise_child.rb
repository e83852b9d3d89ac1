class CustomFailure < StandardError; end

def inner(n)
  raise ArgumentError, "bad value #{n}" if n == 0
  inner(n - 1)
end

case Worker.data
when "timer" then set_timeout(1) { inner(2) }
when "top" then inner(1)
when "custom" then raise CustomFailure, "only in the worker"
when "exit" then exit(7)
when "syntax" then load(File.join(File.dirname(__FILE__), "bad_syntax.rb.txt"))
end
