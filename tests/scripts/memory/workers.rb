# workers.rb — allocation on Deferred workers: their stacks are profiled as threads of their own.
def on_main; "m" * 50_000; end
d = Deferred.new { a = []; 200.times { a << ("w" * 50_000) }; a.size }
d.then { |n| puts "worker kept #{n}" }
200.times { on_main }
