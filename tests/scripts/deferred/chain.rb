# then/rescue/ensure run in order, after the code that attached them, on the main thread.
# Two kinds of order are promised: within one chain, and of reactions queued on Deferreds
# already settled (one FIFO queue). Between independent chains (d's and the combinators'
# below, each waiting on its own worker task) no order is: the test checks each chain alone.
log = []
d = Deferred.new(1) { |n| n + 1 }
tail = d.then { |v| log << "then1 #{v}"; v * 10 }
 .then { |v| log << "then2 #{v}"; raise "stop at #{v}" }
 .then { |v| log << "skipped #{v}" }
 .rescue { |e| log << "rescue #{e.message}"; Deferred.new(5) { |n| n * n } }
 .then { |v| log << "adopted #{v}"; v }
 .ensure { log << "ensure" }
log << "sync end"
Deferred.resolve(7).then { |v| log << "resolved #{v}" }
Deferred.reject("no").rescue { |e| log << "rejected #{e.message}" }
all = Deferred.all([Deferred.new { 1 }, 2, Deferred.resolve(3)]).value
log << "all #{all.inspect}"
begin
  Deferred.all([Deferred.new { 1 }, Deferred.new { raise IndexError, "second" }]).value
rescue IndexError => e
  log << "all rejected #{e.message}"
end
log << "any #{Deferred.any([Deferred.reject("a"), Deferred.new { :b }]).value.inspect}"
begin
  Deferred.any([Deferred.reject("x"), Deferred.reject("y")]).value
rescue Deferred::AggregateError => e
  log << "aggregate #{e.errors.map(&:message).inspect}"
end
log << "race #{Deferred.race([Deferred.new { :fast }]).value.inspect}"
tail.value # the chain's end, so every line of it is in the log (and d is settled)
log << "state #{d.state}"
puts log
