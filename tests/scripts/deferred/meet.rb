# Worker code for tests that need each of two Deferred workers to run one task; a test loads it
# with Deferred.load. meet(mine, other) creates the file `mine`, then waits (up to 60 s) until
# `other` exists: two tasks that meet each other run at the same time, so with two workers each
# runs one. Without it, a worker not yet scheduled on a loaded machine took no task, and had no
# samples and no file.
def spin(ms) = (t = Time.now; x = 0; x += 1 while (Time.now - t) * 1000 < ms; x)

def meet(mine, other)
  File.open(mine, "w") { }
  t = Time.now
  nil until File.exist?(other) || Time.now - t > 60
end
