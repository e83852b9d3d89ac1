# valgrind.rb — Crypto's paths that allocate outside the VM (OpenSSL's digest, HMAC and KDF
# contexts, the fetched-digest cache) and those that raise half-way, in the main VM and on a
# Deferred worker, for tests/scripts/valgrind_crypto.sh. Prints "worker ok" at the end.
data = Crypto.random_bytes(5000)
Crypto.hashes.each do |n|
  Crypto.digest(n, data)
  h = Crypto::Hash.new(n).update(data)
  h.copy.hexdigest
  h.digest
  Crypto::Hash.new(n).update("abandoned") # freed by the GC, never digested
  begin; h.update("x"); rescue Crypto::Error; end
  next if n.start_with?("shake")
  m = Crypto::Hmac.new(n, "k" * 200).update(data)
  m.copy
  m.hexdigest
  Crypto.hmac(n, "", data)
end
Crypto.digest("shake256", data, output_length: 1000)
Crypto.pbkdf2("pw", "salt", 100, 100, "sha512")
Crypto.scrypt("pw", "salt", 64, n: 1024, r: 8, p: 2)
Crypto.hkdf("sha256", "", "salt", "info", 100)
Crypto.hkdf("sha384", "k", "", "", 300)
Crypto.timing_safe_equal(data, data.dup)
Crypto.from_base64(Crypto.base64(data))
Crypto.from_hex(Crypto.hex(data))
Crypto.random_uuid
Crypto.random_int(10, 20)
# Errors at every stage: arguments, unknown names, OpenSSL refusing, finished objects.
errs = [-> { Crypto.digest("nope", "x") }, -> { Crypto::Hash.new("sha256", output_length: 3) },
        -> { Crypto::Hmac.new("shake128", "k") }, -> { Crypto.scrypt("p", "s", 16, n: 2**20) },
        -> { Crypto.pbkdf2("p", "s", 0, 1, "sha1") }, -> { Crypto.hkdf("md5", "k", "", "", 5000) },
        -> { Crypto.from_base64("abc!") }, -> { Crypto.from_hex("0") }, -> { Crypto.random_bytes(-1) },
        -> { Crypto.timing_safe_equal("a", "") }, -> { Crypto.digest("sha256", nil) }]
20.times { errs.each { |f| begin; f.call; raise "no error"; rescue ArgumentError, TypeError; end } }
GC.start
w = Deferred.new(data) do |d|
  Crypto.hashes.map { |n| Crypto::Hash.new(n).update(d).hexdigest } +
    [Crypto.hex(Crypto.hmac("sha256", "k", d)), Crypto.hex(Crypto.scrypt("p", "s", 32, n: 256))]
end.value
raise "worker differs" unless w.size == Crypto.hashes.size + 2 && w[Crypto.hashes.index("sha256")] == Crypto.hexdigest("sha256", data)
Crypto.pbkdf2("pw", "salt", 10, 16, "sha256") { |err, key| raise "block form" if err || key.size != 16; puts "worker ok" }
