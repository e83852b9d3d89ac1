# What cannot be shipped is refused where it is written; what fails in a worker comes back.
def try
  yield
  puts "no error"
rescue Exception => e
  puts "#{e.class}: #{e.message}"
end
class Conn; end
class MyList < Array; end
try { Deferred.new([1, { conn: Conn.new }]) { |x| x } }
try { Deferred.new(MyList.new) { |x| x } }
a = [1]; a << a
try { Deferred.new(a) { |x| x } }
try { Deferred.new { [1, 2, { conn: Object.new }] }.value }
x = 1; y = 2
try { Deferred.new { x + y } }
@count = 0
try { Deferred.new { @count += 1 } }
def with_block; Deferred.new { yield }; end
try { with_block { 1 } }
try { Deferred.new { return 1 } }
try { Deferred.new(&:upcase) }
try { Deferred.new }
