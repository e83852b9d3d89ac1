# vectors.rb DIR: mrun's side of tests/scripts/crypto/peer.py. Reads DIR/cases.txt and prints
# "CASE => RESULT" for each line, computed with Crypto; inputs are DIR/dN.bin and DIR/eN.txt.
# Digests and HMACs are computed three ways, one-shot, streaming in random pieces (split points
# from Crypto.random_int) and from a copy taken halfway; the line prints the streaming result,
# and a disagreement prints a line of its own, which the expected output has not.
dir = ARGV[0]
inputs = {}
load = ->(name) { inputs[name] ||= File.binread("#{dir}/#{name}") }
d = ->(i) { load.call("d#{i}.bin") }

# Feeds data to h in random pieces (0 to 3 cuts; an empty piece now and then).
feed = lambda do |h, data|
  cuts = (0...Crypto.random_int(4)).map { Crypto.random_int(data.size + 1) }.sort
  from = 0
  (cuts + [data.size]).each do |to|
    h.update(data.byteslice(from, to - from))
    from = to
  end
  h
end

# One-shot, streaming and copy-halfway results of a digest or HMAC; the streaming one if all agree.
three = lambda do |line, one, make, data|
  streamed = feed.call(make.call, data).hexdigest
  half = data.size / 2
  h = make.call.update(data.byteslice(0, half))
  c = h.copy
  h.update("junk that the copy must not see")
  copied = c.update(data.byteslice(half, data.size - half)).hexdigest
  puts "#{line} MISMATCH one-shot #{one} streamed #{streamed} copy #{copied}" unless one == streamed && one == copied
  streamed
end

File.read("#{dir}/cases.txt").split("\n").each do |line|
  w = line.split(" ")
  r =
    case w[0]
    when "digest"
      one = Crypto.hexdigest(w[1], d.call(w[2]))
      raise "digest and hexdigest differ for #{line}" unless Crypto.hex(Crypto.digest(w[1], d.call(w[2]))) == one
      three.call(line, one, -> { Crypto::Hash.new(w[1]) }, d.call(w[2]))
    when "xof"
      n = w[3].to_i
      one = Crypto.hexdigest(w[1], d.call(w[2]), output_length: n)
      three.call(line, one, -> { Crypto::Hash.new(w[1], output_length: n) }, d.call(w[2]))
    when "hmac"
      one = Crypto.hex(Crypto.hmac(w[1], d.call(w[2]), d.call(w[3])))
      three.call(line, one, -> { Crypto::Hmac.new(w[1], d.call(w[2])) }, d.call(w[3]))
    when "pbkdf2"
      Crypto.hex(Crypto.pbkdf2(d.call(w[2]), d.call(w[3]), w[4].to_i, w[5].to_i, w[1]))
    when "scrypt"
      Crypto.hex(Crypto.scrypt(d.call(w[1]), d.call(w[2]), w[6].to_i, n: w[3].to_i, r: w[4].to_i,
                                                                     p: w[5].to_i, maxmem: 64 * 1024 * 1024))
    when "hkdf"
      Crypto.hex(Crypto.hkdf(w[1], d.call(w[2]), d.call(w[3]), d.call(w[4]), w[5].to_i))
    when "hex" then Crypto.hex(d.call(w[1]))
    when "b64" then Crypto.base64(d.call(w[1]))
    when "b64url" then Crypto.base64(d.call(w[1]), url_safe: true)
    when "b64urlpad" then Crypto.base64(d.call(w[1]), url_safe: true, padding: true)
    when "from_hex"
      Crypto.from_hex(load.call("e#{w[1]}.txt")) == d.call(w[2]) ? "same" : "differs"
    when "from_base64"
      Crypto.from_base64(load.call("e#{w[1]}.txt")) == d.call(w[2]) ? "same" : "differs"
    else raise "vectors.rb: unknown case #{line}"
    end
  puts "#{line} => #{r}"
end
