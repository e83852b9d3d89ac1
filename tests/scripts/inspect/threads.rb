# threads.rb — the script of test_inspect's NodeWorker tests: the main VM's hot work on a timer
# ("round N" after each), one Deferred task that spins deferred_hot for ever (a long task: the
# profiler must join it in the middle), and a Worker (threads_worker.rb) spinning worker_hot on
# its own timer. Each thread's hot method has a name of its own, so that a profile shows whose
# samples it holds. Runs until told (Runtime.evaluate "exit 0") or 300 s.
def hot(n)
  s = 0
  i = 0
  while i < n
    s += i * i
    i += 1
  end
  s
end

Deferred.pool_size = 1
Deferred.setup do
  def deferred_hot(n)
    s = 0
    i = 0
    while i < n
      s += i * 3
      i += 1
    end
    s
  end
end
$task = Deferred.new { loop { deferred_hot(50_000) } }
$w = Worker.new(File.join(File.dirname(__FILE__), "threads_worker.rb"))
$w.on(:exit) { |code| puts "worker exit #{code}" }

$rounds = 0
$timer = set_interval(2) do
  hot(30_000)
  $rounds += 1
  puts "round #{$rounds}"
end
set_timeout(300_000) { exit 0 }
