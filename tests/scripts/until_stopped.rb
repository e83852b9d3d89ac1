# until_stopped.rb — allocates in a loop until the process is stopped (Ctrl-C / SIGTERM), with an
# ensure that reports it ran. It prints "started", then "busy" once the loop has run a while.
# With "idle", it waits on a timer instead (the event loop path).
if ARGV[0] == "idle"
  set_interval(20) { }
  puts "started"
else
  begin
    puts "started"
    n = 0
    loop do
      Array.new(100) { |i| "item #{i}" }
      n += 1
      puts "busy" if n == 5000 # ~0.1 s of CPU done: the profile has samples of this loop
    end
  ensure
    puts "ensure ran"
  end
end
