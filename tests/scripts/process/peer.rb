# peer.rb — the mrun half of test_child.sh's comparison with Node (peer.js): the same cases,
# one after the other, printed with inspect.
steps = [
  ->(nxt) { ChildProcess.spawn("sh", ["-c", "exit 7"]).on(:exit) { |s, g| puts "exit #{s.inspect} #{g.inspect}"; nxt.call } },
  ->(nxt) { ChildProcess.spawn("sh", ["-c", "kill -TERM $$"]).on(:close) { |s, g| puts "close #{s.inspect} #{g.inspect}"; nxt.call } },
  ->(nxt) { c = ChildProcess.spawn("sleep", ["30"]); c.on(:exit) { |s, g| puts "killed #{s.inspect} #{g.inspect} #{c.killed?} #{c.kill}"; nxt.call }; puts "kill #{c.kill(:SIGKILL)}" },
  ->(nxt) { ChildProcess.spawn("no_such_program_zz").on(:error) { |e| puts "error #{e.code.inspect} #{e.syscall.inspect} #{e.path.inspect}"; nxt.call } },
  ->(nxt) { ChildProcess.exec("echo out; echo err >&2; exit 3") { |e, o, eo| puts "exec #{e.message.inspect} #{e.code.inspect} #{e.killed} #{e.signal.inspect} #{o.inspect} #{eo.inspect}"; nxt.call } },
  ->(nxt) { ChildProcess.exec("sleep 30", timeout: 50) { |e| puts "timeout #{e.message.inspect} #{e.code.inspect} #{e.killed} #{e.signal.inspect}"; nxt.call } },
  ->(nxt) { ChildProcess.exec("yes", max_buffer: 10) { |e, o| puts "maxbuffer #{e.message.inspect} #{e.code.inspect} #{o.inspect}"; nxt.call } },
  ->(nxt) { ChildProcess.exec("printf ok") { |e, o, eo| puts "ok #{e.inspect} #{o.inspect} #{eo.inspect}"; nxt.call } },
]
run = nil
run = ->(i) { steps[i].call(-> { run.call(i + 1) }) if i < steps.size }
run.call(0)
