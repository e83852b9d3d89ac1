# big_payloads.rb MB ROUNDS — round trips of an MB-megabyte String through a Deferred worker;
# prints the process's peak resident memory (VmHWM) in MB at the end. mruby's GC counts objects,
# not bytes: without the byte-based collections of runtime/deferred.c every dead payload stays.
def status(key) = File.read("/proc/self/status").split("\n").find { |l| l.start_with?(key) }.split[1].to_i >> 10
mb = (ARGV[0] || 10).to_i
rounds = (ARGV[1] || 12).to_i
Deferred.pool_size = 1
rounds.times do
  s = "x" * (mb << 20)
  r = Deferred.new(s) { |a| a + "y" }.value
  raise "bad result #{r.size}" unless r.size == (mb << 20) + 1
end
puts "rounds #{rounds} of #{mb} MB, peak RSS #{status("VmHWM")} MB"
