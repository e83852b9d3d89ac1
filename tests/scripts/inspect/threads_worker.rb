# threads_worker.rb — threads.rb's Worker: worker_hot on its own timer until terminated.
def worker_hot(n)
  s = 0
  i = 0
  while i < n
    s += i ^ 5
    i += 1
  end
  s
end

set_interval(2) { worker_hot(40_000) }
