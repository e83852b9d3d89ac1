# spawn.rb N: spawns `true` N times, one after the other, each awaited (:close), and prints the
# mean round trip in µs and the total seconds. Node's twin: tests/bench/node/spawn.js.
n = (ARGV[0] || 1000).to_i
t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
done = 0
step = nil
step = lambda do
  c = ChildProcess.spawn("true")
  c.on(:close) do |status|
    raise "true exited #{status.inspect}" unless status == 0
    done += 1
    if done < n
      step.call
    else
      s = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
      printf("%.1f %.3f\n", s * 1e6 / n, s)
    end
  end
end
step.call
