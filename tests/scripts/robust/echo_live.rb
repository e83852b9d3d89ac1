# echo_live.rb PORT — samples/echo_server.rb as it is, and on SIGUSR1 a full GC, then
# "live N" on stdout: the VM's live objects (test_robust's churn of resets compares them).
Process.on(:SIGUSR1) do
  GC.start
  c = ObjectSpace.count_objects
  puts "live #{c[:TOTAL] - c[:FREE]}"
end
load File.join(File.dirname(__FILE__), "..", "..", "..", "samples", "echo_server.rb")
