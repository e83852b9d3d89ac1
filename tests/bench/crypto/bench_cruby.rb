# bench_cruby.rb ROUNDS — the same as bench.rb on CRuby's openssl extension (OpenSSL::Digest).
require "openssl"
rounds = (ARGV[0] || 5).to_i
chunk = OpenSSL::Random.random_bytes(1 << 20)
msg = OpenSSL::Random.random_bytes(64)
now = -> { Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) } # CPU time, as openssl speed
best_bulk = best_small = 1e9
n = 200_000
rounds.times do
  t0 = now.call
  h = OpenSSL::Digest.new("sha256")
  i = 0
  while i < 256
    h.update(chunk)
    i += 1
  end
  h.digest
  t1 = now.call
  i = 0
  while i < n
    OpenSSL::Digest.digest("sha256", msg)
    i += 1
  end
  t2 = now.call
  best_bulk = t1 - t0 if t1 - t0 < best_bulk
  best_small = t2 - t1 if t2 - t1 < best_small
end
puts format("%.1f %.0f", 256 * 1048576 / best_bulk / 1e6, n / best_small)
