# child_process.rb — child processes and signals on mrun's event loop.
#
#   build/mrun samples/child_process.rb [WORDS]
#
# Feeds WORDS random words (default 50 000) through `sort | uniq -c | sort -rn | head -5` in a
# child shell, without blocking the loop (a timer ticks meanwhile), prints the five most common,
# then counts files with exec. Ctrl-C while it runs kills the child and exits cleanly (the
# SIGINT listener), and at_exit reports how long it all took.
t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
at_exit do
  ms = (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0) * 1000
  printf("done in %.0f ms (pid %d, rss %d KiB)\n", ms, $$, Process.memory_usage[:rss] / 1024)
end

n = (ARGV[0] || 50_000).to_i
words = %w[alpha beta gamma delta epsilon zeta eta theta iota kappa]
ticks = 0
ticker = set_interval(10) { ticks += 1 }

child = ChildProcess.spawn("/bin/sh", ["-c", "sort | uniq -c | sort -rn | head -5"])
Process.once(:SIGINT) do
  puts "\ninterrupted: stopping the child"
  child.kill
end

out = String.new
child.stdout.on(:data) { |chunk| out << chunk }
child.on(:error) { |e| warn "could not start: #{e.message}" }
child.on(:close) do |status, signal|
  clear_interval(ticker)
  Process.remove_all_listeners(:SIGINT)
  if status == 0
    puts "most common of #{n} words (the loop ticked #{ticks} times meanwhile):"
    puts out
  else
    puts "sort ended with #{status.inspect} #{signal.inspect}"
  end
  ChildProcess.exec("ls samples | wc -l") { |err, count| puts "samples: #{count.strip}" unless err }
end

# Write in slices, waiting for :drain when the pipe is full (backpressure).
i = 0
feed = lambda do
  while i < n
    i += 1
    unless child.stdin.write(words[(i * 7919) % 97 % words.size] + "\n")
      child.stdin.once(:drain) { feed.call }
      return
    end
  end
  child.stdin.end
end
feed.call
