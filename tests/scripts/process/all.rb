# all.rb — Process, signals, ChildProcess and the blocking Kernel calls in one run, for
# valgrind (tests/scripts/valgrind_process.sh): prints "ok" when every part did what it should.
checks = []
got = []
# The children keep the loop alive long enough for the signals (sent below) to be read.
at_exit do
  checks << (got.sort == ["SIGHUP", "SIGUSR1"])
  puts(checks.all? ? "ok" : "failed: #{checks.inspect} #{got.inspect}")
end

# Signals: handled, then back to the default (SIGUSR2 left unhandled would end us, so only
# remove a handler of a signal we no longer send).
Process.on(:SIGUSR1) { |s| got << s }
Process.once(:SIGHUP) { |s| got << s }
Process.kill(:SIGUSR1, Process.pid)
Process.kill(:SIGHUP, $$)

# A child: 1 MiB through cat and back, with backpressure.
data = "0123456789abcdef" * 65536
cat = ChildProcess.spawn("cat")
echoed = String.new
cat.stdout.on(:data) { |d| echoed << d }
cat.stdin.write(data)
cat.stdin.end
cat.on(:close) { |status| checks << (status == 0 && echoed == data) }

# A program that does not exist, one killed, exec with its limits.
missing = ChildProcess.spawn("no_such_program_for_valgrind")
missing.on(:error) { |e| checks << (e.code == "ENOENT") }
sleeper = ChildProcess.spawn("sleep", ["30"])
sleeper.on(:exit) { |s, sig| checks << (s.nil? && sig == "SIGKILL") }
sleeper.kill(:SIGKILL)
ChildProcess.exec("echo out; exit 2") { |e, o| checks << (e.code == 2 && o == "out\n") }
ChildProcess.exec("yes", max_buffer: 1000) { |e, o| checks << (e.code == "ERR_CHILD_PROCESS_STDIO_MAXBUFFER" && o.bytesize == 1000) }
ChildProcess.exec("sleep 30", timeout: 20) { |e| checks << (e.killed && e.signal == "SIGTERM") }

# The blocking calls.
checks << (system("true") == true && $?.success?)
# nil natively; under valgrind, which runs posix_spawn's vfork as a fork, the failed exec is the
# child's exit 127 (false). test_process checks nil.
checks << [nil, false].include?(system("no_such_program_for_valgrind"))
checks << (`echo hi` == "hi\n")
checks << (sleep(0).is_a?(Integer))
checks << (Process.memory_usage[:heap_used] > 0)
checks << (Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) > 0)
begin
  Process.kill(:TERM, 2**22 + 4321)
  checks << false
rescue Errno::ESRCH
  checks << true
end

set_immediate { Process.remove_all_listeners(:SIGUSR1) if got.include?("SIGUSR1") }
