# grow.rb [SECONDS] — keeps allocating for SECONDS (default 3), holding on to every other String,
# so that RSS, the live objects and the bytes in use grow while `mrprof top` watches.
secs = (ARGV[0] || "3").to_f
$kept = []
def hold; $kept << ("h" * 20_000); end
def churn; ("c" * 20_000).size; end
t0 = Time.now
while Time.now - t0 < secs
  200.times { hold; churn }
  $kept.shift(200) if $kept.size > 2_000   # at most ~40 MB held
  GC.start                                  # churn's garbage goes now, not when the GC likes
end
puts "grow done"
