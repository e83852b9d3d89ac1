#!/usr/bin/env bash
# End-to-end tests of the Crypto module (runtime/crypto.c on OpenSSL's EVP, every VM) against
# peers no one here wrote: Python's hashlib/hmac/binascii/base64 on random inputs (every digest
# of Crypto.hashes, HMAC with keys around the block size, PBKDF2, scrypt, HKDF, hex and base64
# both ways; tests/scripts/crypto/peer.py and vectors.rb), `openssl kdf`/`openssl dgst`, and
# Node's crypto for the names and rules. Then the errors the docs name, random numbers,
# Deferred workers (the same results as the main VM; the block forms of the KDFs), the profile
# naming the C methods, and memory that stays flat. docs/script-api.md "## Crypto" is the
# contract.
source "$(dirname "$0")/lib.sh"

PY=$(command -v python3 || true)
export PY

t_everything_matches_python_on_random_inputs() {
    # 1800+ cases from a random seed (printed on failure, to replay): digests at 22 sizes
    # (0 .. 1 MiB, NUL bytes, around the 64- and 128-byte blocks) for every name of
    # Crypto.hashes, each one-shot, streamed in random pieces and from a copy; HMAC with keys of
    # 0..1000 bytes; PBKDF2, scrypt and HKDF; hex and base64 encoded and decoded.
    [ -n "$PY" ] || { echo "SKIP: python3 is missing, nothing to compare with"; return; }
    seed=${CRYPTO_SEED:-$RANDOM}
    names=$($MRUN -e 'puts Crypto.hashes.join(",")') || fail "Crypto.hashes failed"
    "$PY" tests/scripts/crypto/peer.py "$T" "$seed" "$names" || fail "peer.py failed (seed $seed)"
    run $MRUN tests/scripts/crypto/vectors.rb "$T"
    expect_rc 0
    want=$(cat "$T/expected.txt")
    [ "$(printf '%s\n' "$out" | wc -l)" -gt 1800 ] || fail "only $(printf '%s\n' "$out" | wc -l) cases ran (seed $seed)"
    [ "$out" = "$want" ] ||
        fail "seed $seed: mrun and Python differ: $(diff <(printf '%s\n' "$want") <(printf '%s\n' "$out") | head -6 | cut -c1-300 | tr '\n' '|')"
}

t_known_answers_and_openssl_tools() {
    # Published vectors (FIPS 180 "abc", RFC 4231 HMAC case 2, RFC 6070 PBKDF2, RFC 7914
    # scrypt, RFC 5869 HKDF case 1), and the same inputs through the openssl command.
    run $MRUN -e '
      puts Crypto.hexdigest("sha256", "abc"), Crypto.hexdigest("sha3-256", "abc"), Crypto.hexdigest("md5", "")
      puts Crypto.hex(Crypto.hmac("sha256", "Jefe", "what do ya want for nothing?"))
      puts Crypto.hex(Crypto.pbkdf2("password", "salt", 2, 20, "sha1"))
      puts Crypto.hex(Crypto.scrypt("password", "NaCl", 64, n: 1024, r: 8, p: 16))
      puts Crypto.hex(Crypto.hkdf("sha256", "\x0b" * 22, Crypto.from_hex("000102030405060708090a0b0c"), Crypto.from_hex("f0f1f2f3f4f5f6f7f8f9"), 42))'
    expect_rc 0
    expect_out "$(printf '%s\n' \
      ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad \
      3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532 \
      d41d8cd98f00b204e9800998ecf8427e \
      5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843 \
      ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957 \
      fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640 \
      3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865)"
    command -v openssl >/dev/null || { echo "SKIP the openssl part: the openssl tool is missing"; return; }
    lower() { tr -d ':\n' | tr 'A-F' 'a-f'; }
    head -c 100000 /dev/urandom >"$T/r.bin"
    for d in sha256 sha512 sha3-256 sha1 md5 blake2b512; do
        want=$(openssl dgst -"$d" -r "$T/r.bin" | cut -d' ' -f1)
        got=$($MRUN -e "puts Crypto.hexdigest('$d', File.binread('$T/r.bin'))")
        [ "$got" = "$want" ] || fail "$d: mrun $got, openssl dgst $want"
    done
    want=$(openssl kdf -keylen 77 -kdfopt digest:SHA512 -kdfopt hexkey:00ff0102 -kdfopt hexsalt:abcdef -kdfopt info:ctx HKDF | lower)
    got=$($MRUN -e 'puts Crypto.hex(Crypto.hkdf("sha512", "\x00\xff\x01\x02", "\xab\xcd\xef", "ctx", 77))')
    [ "$got" = "$want" ] || fail "hkdf: mrun $got, openssl kdf $want"
    want=$(openssl kdf -keylen 50 -kdfopt digest:SHA256 -kdfopt pass:pw -kdfopt salt:NaCl -kdfopt iter:777 PBKDF2 | lower)
    got=$($MRUN -e 'puts Crypto.hex(Crypto.pbkdf2("pw", "NaCl", 777, 50, "SHA256"))')
    [ "$got" = "$want" ] || fail "pbkdf2: mrun $got, openssl kdf $want"
    want=$(openssl kdf -keylen 32 -kdfopt pass:pw -kdfopt salt:s -kdfopt n:2048 -kdfopt r:4 -kdfopt p:2 SCRYPT | lower)
    got=$($MRUN -e 'puts Crypto.hex(Crypto.scrypt("pw", "s", 32, n: 2048, r: 4, p: 2))')
    [ "$got" = "$want" ] || fail "scrypt: mrun $got, openssl kdf $want"
}

t_names_are_node_names_in_any_case() {
    # Crypto.hashes are Node's names; any case works, and OpenSSL's other names for the same
    # digest (SHA2-256, SHA-256, RSA-SHA256, the OID) too, as in Node.
    run $MRUN -e '
      h = Crypto.hashes
      p %w[md5 sha1 sha256 sha512 sha3-256 sha224 sha384 sha3-512 blake2b512].all? { |n| h.include?(n) }
      p h == h.sort, h.size >= 15
      v = ["sha256", "SHA256", "Sha256", :sha256, "SHA2-256", "sha-256", "RSA-SHA256", "2.16.840.1.101.3.4.2.1"].map { |n| Crypto.hexdigest(n, "x") }.uniq
      p v.size
      p Crypto::Hash.new("SHA3-256").name, Crypto::Hmac.new("RSA-SHA1", "k").name'
    expect_rc 0
    expect_out_has "true"
    expect_out "$(printf 'true\ntrue\ntrue\n1\n"sha3-256"\n"sha1"')"
    if command -v node >/dev/null; then
        # Node agrees on the digests both list.
        both=$(node -e 'const c = require("crypto"); console.log(c.getHashes().join(","))')
        mine=$($MRUN -e 'puts Crypto.hashes.join(",")')
        for n in ${mine//,/ }; do
            case ",$both," in *",$n,"*) ;; *) fail "Node has no digest named $n";; esac
            a=$(node -e "console.log(require('crypto').createHash('$n').update('abc\u0000').digest('hex'))")
            b=$($MRUN -e "puts Crypto.hexdigest('$n', \"abc\\0\")")
            [ "$a" = "$b" ] || fail "$n: node $a, mrun $b"
        done
    else
        echo "SKIP the Node part: node is missing"
    fi
}

t_unknown_digest_names_the_known_ones() {
    run $MRUN -e 'Crypto.digest("sha257", "x")'
    expect_rc 1
    expect_err_has "unknown digest 'sha257' (known: blake2b512, blake2s256, md5,"
    expect_err_has "sha3-256"
    expect_err_has "(ArgumentError)"
    run $MRUN -e '
      ["", "x" * 100, "sha256\0", "nope"].each do |n|
        [-> { Crypto::Hash.new(n) }, -> { Crypto.hmac(n, "k", "d") }, -> { Crypto::Hmac.new(n, "k") },
         -> { Crypto.pbkdf2("p", "s", 1, 1, n) }, -> { Crypto.hkdf(n, "k", "s", "i", 1) }].each do |f|
          begin; f.call; puts "no error"; rescue ArgumentError => e; puts e.message[0, 16]; end
        end
      end
      begin; Crypto.digest(42, "x"); rescue TypeError => e; puts e.message; end'
    expect_rc 0
    [ "$(printf '%s\n' "$out" | grep -c "^unknown digest ")" = 20 ] || fail "not 20 unknown-digest errors: $out"
    expect_out_has "a digest name must be a String or a Symbol, not Integer"
}

t_wrong_arguments_are_clear_errors() {
    run $MRUN -e '
      def e(what)
        yield
        puts "#{what}: no error"
      rescue ArgumentError, TypeError, Crypto::Error => x
        puts "#{what}: #{x.class}: #{x.message.sub(/memory \(\d+ bytes\)/, "memory (M bytes)")}"
      end
      e("data") { Crypto.digest("sha256", 1) }
      e("nil data") { Crypto::Hash.new("sha256").update(nil) }
      e("key") { Crypto.hmac("sha256", :k, "d") }
      e("neg bytes") { Crypto.random_bytes(-1) }
      e("big bytes") { Crypto.random_bytes(2**31) }
      e("float bytes") { Crypto.random_bytes(1.5) }
      e("iterations") { Crypto.pbkdf2("p", "s", 0, 16, "sha256") }
      e("neg length") { Crypto.pbkdf2("p", "s", 1, -1, "sha256") }
      e("pbkdf2 xof") { Crypto.pbkdf2("p", "s", 1, 16, "shake256") }
      e("hmac xof") { Crypto::Hmac.new("shake128", "k") }
      e("scrypt n") { Crypto.scrypt("p", "s", 16, n: 1000) }
      e("scrypt n=1") { Crypto.scrypt("p", "s", 16, n: 1) }
      e("scrypt n/r") { Crypto.scrypt("p", "s", 16, n: 2**16, r: 1) }
      e("scrypt r") { Crypto.scrypt("p", "s", 16, r: 0) }
      e("scrypt opt") { Crypto.scrypt("p", "s", 16, cost: 1024) }
      e("scrypt mem") { Crypto.scrypt("p", "s", 16, n: 2**20) }
      e("scrypt huge") { Crypto.scrypt("p", "s", 16, n: 2**50, maxmem: 2**62) }
      e("hkdf length") { Crypto.hkdf("sha256", "k", "s", "i", 255 * 32 + 1) }
      e("hkdf info") { Crypto.hkdf("sha256", "k", "s", "i" * 1025, 16) }
      e("output_length") { Crypto.digest("sha256", "x", output_length: 16) }
      e("option") { Crypto::Hash.new("sha256", length: 16) }
      e("equal") { Crypto.timing_safe_equal("abc", "ab") }
      e("equal type") { Crypto.timing_safe_equal("abc", nil) }
      e("random_int") { Crypto.random_int(5, 5) }
      e("random_int range") { Crypto.random_int(0, 2**48) }
      e("uninitialized") { Crypto::Hash.allocate.update("x") }
      e("twice init") { Crypto::Hash.new("md5").send(:initialize, "md5") }'
    expect_rc 0
    expect_out "$(cat <<'EOF'
data: TypeError: data must be a String, not Integer
nil data: TypeError: data must be a String, not NilClass
key: TypeError: key must be a String, not Symbol
neg bytes: ArgumentError: size must be between 0 and 2147483647, not -1
big bytes: ArgumentError: size must be between 0 and 2147483647, not 2147483648
float bytes: TypeError: size must be an Integer, not Float
iterations: ArgumentError: iterations must be between 1 and 2147483647, not 0
neg length: ArgumentError: length must be between 0 and 2147483647, not -1
pbkdf2 xof: ArgumentError: pbkdf2 cannot use shake256: it needs a digest of a fixed size, not an extendable-output function
hmac xof: ArgumentError: HMAC cannot use shake128: it needs a digest of a fixed size, not an extendable-output function
scrypt n: ArgumentError: scrypt: n must be a power of 2 greater than 1, not 1000
scrypt n=1: ArgumentError: n must be between 2 and 9223372036854775807, not 1
scrypt n/r: ArgumentError: scrypt: n must be less than 2**(16 * r) (RFC 7914), not 65536 with r: 1
scrypt r: ArgumentError: r must be between 1 and 1073741824, not 0
scrypt opt: ArgumentError: Crypto.scrypt: unknown option :cost
scrypt mem: ArgumentError: scrypt with n: 1048576, r: 8, p: 1 needs 1073744896 bytes (128 * r * (n + p + 2)), more than maxmem: 33554432 (raise maxmem to allow it)
scrypt huge: ArgumentError: scrypt with n: 1125899906842624, r: 8, p: 1 needs 1152921504606850048 bytes, more than this machine's memory (M bytes)
hkdf length: ArgumentError: hkdf: length 8161 is more than 255 times the digest's size (8160 for SHA2-256)
hkdf info: ArgumentError: hkdf: info must be at most 1024 bytes, not 1025
output_length: ArgumentError: output_length 16 is invalid for sha256, which is not an extendable-output function (its digest is 32 bytes; shake128 and shake256 take any length)
option: ArgumentError: Crypto::Hash.new: unknown option :length
equal: ArgumentError: Input buffers must have the same byte length (a: 3 bytes, b: 2 bytes)
equal type: TypeError: b must be a String, not NilClass
random_int: ArgumentError: max (5) must be greater than min (5)
random_int range: ArgumentError: max - min must be less than 2**48 (281474976710656), not 281474976710656
uninitialized: TypeError: uninitialized Crypto::Hash
twice init: TypeError: Crypto::Hash is initialized already
EOF
)"
}

t_a_hash_is_finished_after_digest() {
    # Node's rule: digest (or hexdigest) ends a Hash; digest again or update raises
    # Crypto::Error ERR_CRYPTO_HASH_FINALIZED. A copy taken before goes on on its own.
    run $MRUN -e '
      [Crypto::Hash.new("sha256"), Crypto::Hmac.new("sha256", "k")].each do |h|
        h << "ab"
        c = h.copy
        d = h.hexdigest
        p h.finished?, c.finished?
        %i[digest hexdigest copy].each { |m| begin; h.send(m); rescue Crypto::Error => e; puts "#{m}: #{e.code}"; end }
        begin; h.update("c"); rescue Crypto::Error => e; puts e.message; end
        p c.update("c").hexdigest == (h.is_a?(Crypto::Hash) ? Crypto.hexdigest("sha256", "abc") : Crypto.hex(Crypto.hmac("sha256", "k", "abc")))
        p d.size, h.digest_length, h.block_length, h
      end'
    expect_rc 0
    expect_out "$(cat <<'EOF'
true
false
digest: ERR_CRYPTO_HASH_FINALIZED
hexdigest: ERR_CRYPTO_HASH_FINALIZED
copy: ERR_CRYPTO_HASH_FINALIZED
Digest already called: a Crypto::Hash is finished once its digest has been taken (take a copy before to go on)
true
64
32
64
#<Crypto::Hash sha256 (finished)>
true
false
digest: ERR_CRYPTO_HASH_FINALIZED
hexdigest: ERR_CRYPTO_HASH_FINALIZED
copy: ERR_CRYPTO_HASH_FINALIZED
Digest already called: a Crypto::Hmac is finished once its digest has been taken (take a copy before to go on)
true
64
32
64
#<Crypto::Hmac sha256 (finished)>
EOF
)"
}

t_random_bytes_length_and_variety() {
    # Lengths are exact; 1 MiB holds every byte value, about 4096 times each (a bound a fair
    # source misses with a probability far below 1e-9); 2000 draws of 16 bytes are all
    # different; random_int stays in its range and reaches both ends; UUIDs are version 4.
    run $MRUN -e '
      p [0, 1, 7, 1000, 65536].map { |n| Crypto.random_bytes(n).size }
      big = Crypto.random_bytes(1 << 20)
      counts = Array.new(256, 0); big.each_byte { |b| counts[b] += 1 }
      p counts.min > 3500 && counts.max < 4700
      p (1..2000).map { Crypto.random_bytes(16) }.uniq.size
      ints = (1..3000).map { Crypto.random_int(-3, 4) }
      p ints.min, ints.max, ints.uniq.size
      p (1..1000).map { Crypto.random_int(2**47) }.all? { |i| i >= 0 && i < 2**47 }
      u = (1..500).map { Crypto.random_uuid }
      p u.uniq.size, u.all? { |s| s =~ /\A\h{8}-\h{4}-4\h{3}-[89ab]\h{3}-\h{12}\z/ }
      p Crypto.random_bytes(0).class'
    expect_rc 0
    expect_out "$(printf '%s\n' '[0, 1, 7, 1000, 65536]' true 2000 -3 3 7 true 500 true String)"
}

t_timing_safe_equal_compares_bytes() {
    run $MRUN -e '
      a = Crypto.random_bytes(1000); b = a.dup
      p Crypto.timing_safe_equal(a, b), Crypto.timing_safe_equal("", "")
      [0, 500, 999].each { |i| c = a.dup; c.setbyte(i, c.getbyte(i) ^ 1); p Crypto.timing_safe_equal(a, c) }
      p Crypto.timing_safe_equal("a\0b", "a\0c"), Crypto.timing_safe_equal("a\0b", "a\0b")'
    expect_rc 0
    expect_out "$(printf '%s\n' true true false false false false true)"
}

t_base64_and_hex_decoding_refuses_garbage() {
    run $MRUN -e '
      ["Zm9v", "Zm9vYg==", "Zm9vYg", "Zm9v\nYmFy\n", "-_-_", "+/+/", ""].each { |s| p Crypto.from_base64(s) }
      ["Zm9vY", "Zm9v!", "Zm=9v", "Zm9vY===", "Zm9vYg=", "Zg=", "Zm9v\0"].each do |s|
        begin; Crypto.from_base64(s); puts "decoded #{s.inspect}"; rescue ArgumentError => e; puts e.message; end
      end
      p Crypto.from_hex("00ffA0"), Crypto.from_hex("")
      ["abc", "0g", "zz", " 00", "0x00"].each do |s|
        begin; Crypto.from_hex(s); puts "decoded #{s.inspect}"; rescue ArgumentError => e; puts e.message; end
      end
      p Crypto.base64(""), Crypto.base64("f"), Crypto.base64("fo", padding: false), Crypto.base64("\xfb\xff", url_safe: true)'
    expect_rc 0
    expect_out "$(cat <<'EOF'
"foo"
"foob"
"foob"
"foobar"
"\xfb\xff\xbf"
"\xfb\xff\xbf"
""
invalid base64: 5 digits (a group of 4 cannot end with a single digit)
invalid base64: '!' at offset 4
invalid base64: data after the padding '=' at offset 3
invalid base64: too much padding at offset 7
invalid base64: 6 digits and 1 '=' (padding must complete a group of 4)
invalid base64: 2 digits and 1 '=' (padding must complete a group of 4)
invalid base64: 0x00 at offset 4
"\x00\xff\xa0"
""
hex must have an even number of digits, not 3
not hex: 'g' at offset 1
not hex: 'z' at offset 0
not hex: ' ' at offset 0
not hex: 'x' at offset 1
""
"Zg=="
"Zm8"
"-_8"
EOF
)"
}

t_large_inputs_hash_in_one_pass() {
    # 64 MiB through digest, a Hash fed 1 MiB pieces and HMAC: the same as Python's, and the
    # process's peak memory stays near the data's size (no copy per call: the input is read
    # in place).
    [ -n "$PY" ] || { echo "SKIP: python3 is missing"; return; }
    run $MRUN -e '
      s = "\x01\x00abc" * (64 * 1024 * 1024 / 5)
      puts Crypto.hexdigest("sha256", s)
      h = Crypto::Hash.new("sha512"); piece = s.byteslice(0, 1 << 20); 64.times { h.update(piece) }; puts h.hexdigest
      puts Crypto.hex(Crypto.hmac("sha1", "k" * 100, s))
      hwm = File.read("/proc/self/status").split("\n").find { |l| l.start_with?("VmHWM:") }.split[1].to_i
      puts(hwm < 64 * 1024 + 100 * 1024 ? "memory ok" : "memory #{hwm} kB")'
    expect_rc 0
    want=$("$PY" -c '
import hashlib, hmac
s = b"\x01\x00abc" * (64 * 1024 * 1024 // 5)
print(hashlib.sha256(s).hexdigest())
print(hashlib.sha512(s[:1 << 20] * 64).hexdigest())
print(hmac.new(b"k" * 100, s, "sha1").hexdigest())
print("memory ok")')
    expect_out "$want"
}

t_deferred_workers_compute_the_same() {
    # Every VM has Crypto: tasks on two workers return what the main VM computes; a streaming
    # Hash lives inside a task; errors cross as the same class.
    run $MRUN --workers 2 -e '
      data = (0..300).map { |i| Crypto.random_bytes(i * 37) }
      main = data.map { |d| [Crypto.hexdigest("sha256", d), Crypto.hex(Crypto.hmac("sha512", d, "x")), Crypto.hexdigest("sha3-256", d)] }
      tasks = data.each_slice(40).map do |slice|
        Deferred.new(slice) do |sl|
          sl.map { |d| [Crypto.hexdigest("sha256", d), Crypto.hex(Crypto.hmac("sha512", d, "x")), Crypto::Hash.new("SHA3-256").update(d).hexdigest] }
        end
      end
      p Deferred.all(tasks).value.flatten(1) == main
      p Deferred.new { Crypto.hex(Crypto.pbkdf2("pw", "salt", 1000, 32, "sha256")) }.value == Crypto.hex(Crypto.pbkdf2("pw", "salt", 1000, 32, "sha256"))
      p Deferred.new { Crypto.hex(Crypto.scrypt("pw", "salt", 32, n: 1024)) }.value == Crypto.hex(Crypto.scrypt("pw", "salt", 32, n: 1024))
      p Deferred.new { [Crypto.random_bytes(32).size, Crypto.hashes.size] }.value == [32, Crypto.hashes.size]
      begin; Deferred.new { Crypto.digest("nope", "x") }.value; rescue ArgumentError => e; puts e.message[0, 21]; end
      begin; Deferred.new { Crypto.pbkdf2("p", "s", 1, 1, "sha1") { |e, k| } }.value; rescue NotImplementedError => e; puts e.message[0, 44]; end
      begin; Deferred.new { h = Crypto::Hash.new("md5"); h.digest; h.update("x") }.value; rescue Crypto::Error => e; puts e.code; end'
    expect_rc 0
    expect_out "$(printf '%s\n' true true true true "unknown digest 'nope'" "Crypto.pbkdf2 with a block runs on the Defer" ERR_CRYPTO_HASH_FINALIZED)"
}

t_workers_fetch_the_digests_at_once() {
    # Four workers start together on digests no VM has used yet: each digest's first fetch
    # races in the shared table (md_cache) and every worker gets the same answers (the tsan
    # suite runs this too).
    run $MRUN --workers 4 -e '
      names = %w[sha1 sha224 sha256 sha384 sha512 sha512-224 sha512-256 sha3-224 sha3-256 sha3-384 sha3-512 md5 blake2b512 blake2s256 shake128 shake256 ripemd160 sm3 md5-sha1]
      tasks = (1..8).map { |i| Deferred.new(names, i) { |ns, k| ns.shuffle.map { |n| [n, Crypto.hexdigest(n, "x" * k), Crypto::Hash.new(n).update("x" * k).hexdigest] }.sort } }
      res = Deferred.all(tasks).value
      p res.each_with_index.all? { |r, i| r.all? { |n, a, b| a == b && a == Crypto.hexdigest(n, "x" * (i + 1)) } }
      p res.map(&:size).uniq'
    expect_rc 0
    expect_out "$(printf 'true\n[19]')"
}

t_kdf_block_forms_run_on_the_pool() {
    # Node's callback forms: pbkdf2/scrypt/hkdf with a block return nil at once, the work runs
    # on a worker and the block gets (nil, key) on the main thread; a bad argument raises at
    # the call, as in Node; an OpenSSL failure would arrive as (error, nil).
    run $MRUN -e '
      want = Crypto.pbkdf2("pw", "salt", 5000, 32, "sha256")
      r = Crypto.pbkdf2("pw", "salt", 5000, 32, "sha256") { |err, key| p [:pbkdf2, err, key == want] }
      Crypto.scrypt("pw", "salt", 16, n: 4096) { |err, key| p [:scrypt, err, key == Crypto.scrypt("pw", "salt", 16, n: 4096)] }
      Crypto.hkdf("sha256", "k", "s", "i", 64) { |err, key| p [:hkdf, err, key.size] }
      begin; Crypto.pbkdf2("pw", "salt", 0, 32, "sha256") { |e, k| p :never }; rescue ArgumentError => e; p [:raised, e.message]; end
      p [:after_calls, r]
      Crypto.__on_pool(->(err, key) { p [:failed, err.class, err.message, key] }, :digest, ["nope", "x"])'
    expect_rc 0
    expect_order '[:raised, "iterations must be between 1 and 2147483647, not 0"]' "[:after_calls, nil]" "[:hkdf, nil, 64]"
    expect_out_has "[:hkdf, nil, 64]"
    expect_out_has "[:pbkdf2, nil, true]"
    expect_out_has "[:scrypt, nil, true]"
    expect_err_lacks "never"
    expect_out_has '[:failed, ArgumentError, "unknown digest '"'nope'"' (known: '
}

t_profile_names_the_crypto_methods() {
    run $MRUN --cpu-prof --prof-out "$T/c.cpuprofile" -e '
      chunk = "x" * (1 << 20); msg = "m" * 64
      h = Crypto::Hash.new("sha256")
      200.times { h.update(chunk) }
      h.hexdigest
      100_000.times { Crypto.digest("sha256", msg) }
      20.times { Crypto.pbkdf2("pw", "salt", 20_000, 32, "sha256") }'
    expect_rc 0
    run $MRPROF report "$T/c.cpuprofile"
    expect_rc 0
    expect_out_has "Crypto::Hash#update"
    expect_out_has "Crypto.digest"
    expect_out_has "Crypto.pbkdf2"
}

t_memory_stays_flat() {
    # Contexts are freed with their objects, whether digested, abandoned, failed or copied:
    # 20 rounds of 5000 of each after 5 warm-up rounds leave the RSS where it was.
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0" run $MRUN -e '
      def rss = File.read("/proc/self/status").split("\n").find { |l| l.start_with?("VmRSS:") }.split[1].to_i
      def round
        5000.times do
          Crypto::Hash.new("sha512").update("x" * 100)
          Crypto::Hmac.new("sha256", "key").update("y").copy.hexdigest
          Crypto::Hash.new("sha3-256").copy
          begin; Crypto::Hash.new("sha256", output_length: 1); rescue ArgumentError; end
          begin; Crypto.digest("nope", "x"); rescue ArgumentError; end
          Crypto.hmac("sha1", "k", "d"); Crypto.hkdf("sha256", "", "s", "i", 40)
        end
        GC.start
      end
      5.times { round }
      base = rss
      20.times { round }
      puts(rss - base < 2048 ? "flat" : "grew #{base} -> #{rss} kB")'
    expect_rc 0
    expect_out "flat"
}
long_test t_memory_stays_flat 300

[ "${1:-}" = --lib ] || run_tests
