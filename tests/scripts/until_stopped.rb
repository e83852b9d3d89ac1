# until_stopped.rb — allocates in a loop until the process is stopped (Ctrl-C / SIGTERM), with an
# ensure that reports it ran. With "idle", it waits on a timer instead (the event loop path).
if ARGV[0] == "idle"
  set_interval(20) { }
  puts "started"
else
  begin
    puts "started"
    loop { Array.new(100) { |i| "item #{i}" } }
  ensure
    puts "ensure ran"
  end
end
