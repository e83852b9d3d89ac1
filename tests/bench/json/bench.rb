# bench.rb FILE ROUNDS — JSON.parse and JSON.generate MB/s on FILE, best of ROUNDS, printed as
# "parse_mbs generate_mbs". The same script runs under CRuby (ruby -rjson) and mrun.
path, rounds = ARGV[0], (ARGV[1] || 5).to_i
text = File.read(path)
mb = text.bytesize / 1e6
best_p = best_g = 1e9
v = nil
out = nil
rounds.times do
  GC.start
  t0 = Time.now
  v = JSON.parse(text)
  t1 = Time.now
  out = JSON.generate(v)
  t2 = Time.now
  best_p = t1 - t0 if t1 - t0 < best_p
  best_g = t2 - t1 if t2 - t1 < best_g
end
puts format("%.1f %.1f %d", mb / best_p, out.bytesize / 1e6 / best_g, out.bytesize)
