p catch(:a) { throw :a, 1; 2 }
p catch(:a) { 2 }
p catch(:a) { throw :a }
p catch { |t| throw t, 5 }
p catch(:o) { catch(:i) { throw :o, :outer }; :no }
p catch(:o) { catch(:i) { throw :i, :inner }; }
begin; throw :nope, 3; rescue UncaughtThrowError => e; p e.message, e.tag, e.value, e.class.ancestors.take(3); end
begin; catch("s") { throw "s" }; rescue ArgumentError => e; p e.message; end
x = []; catch(:a) { begin; throw :a; ensure; x << :ensured; end }; p x
p catch(:a) { begin; throw :a, 1; rescue => e; :rescued; end }
begin; catch(:a); rescue Exception => e; p e.class, e.message; end
p UncaughtThrowError.new(:t, 2, "custom %p").message rescue p $!
def deep(n) = n == 0 ? throw(:done, :bottom) : deep(n - 1)
p catch(:done) { deep(100) }
p catch(:x) { [1,2,3].each { |i| throw :x, i * 10 if i == 2 }; :none }
