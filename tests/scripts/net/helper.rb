# helper.rb — shared by the Net test scripts: checks that print one line each, a deadline so a
# test never hangs, and the process's open file descriptor count.
$failures = 0

def check(ok, what)
  if ok
    puts "ok #{what}"
  else
    puts "FAIL #{what}"
    $failures += 1
  end
end

def finish
  puts($failures == 0 ? "all passed" : "#{$failures} failed")
  exit($failures == 0 ? 0 : 1)
end

# Fails the script when it has not finished after ms (the timer does not keep it alive).
# MRPROF_DEADLINE_SCALE multiplies it for slow runs (valgrind_net.sh: valgrind on a loaded
# machine is 50 times slower and more); the harness's own time limit still catches a hang.
def deadline(ms)
  ms = (ms * (ENV["MRPROF_DEADLINE_SCALE"] || "1").to_f).to_i
  t = set_timeout(ms) do
    puts "FAIL deadline of #{ms} ms passed"
    exit 3
  end
  t.unref
  t
end

def fd_count
  (0...4096).count { |i| File.exist?("/proc/self/fd/#{i}") }
end

# libuv opens one spare fd (/dev/null, kept for EMFILE handling) at the first listen. Runs the
# block after a first listen and close, so fd counts taken in it compare like with like.
def after_warm_up(&block)
  s = Net.create_server { }
  s.listen(0) { s.close { block.call } }
end
