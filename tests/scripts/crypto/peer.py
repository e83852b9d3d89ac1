#!/usr/bin/env python3
"""peer.py DIR SEED NAMES — the reference side of test_crypto.sh: Python's hashlib, hmac,
binascii and base64 (not code of this project) compute what mrun's Crypto must.

Writes random inputs (binary, NUL bytes included; many sizes around the block boundaries, up to
1 MiB) as DIR/dN.bin, encodings of them as DIR/eN.txt, the work as DIR/cases.txt (one case a
line; inputs named by number) and the answers as DIR/expected.txt ("CASE => RESULT"). NAMES is
the comma-separated list of Crypto.hashes: a name Python cannot compute is an error, so a digest
mrun offers is never left untested. tests/scripts/crypto/vectors.rb does the same work on mrun.
HKDF is RFC 5869 written out on Python's hmac (hashlib has no HKDF); test_crypto.sh also checks
it against `openssl kdf`."""
import base64, binascii, hashlib, hmac, os, random, sys

out, seed, names = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
rng = random.Random(seed)

PY = {"blake2b512": "blake2b", "blake2s256": "blake2s", "sha3-224": "sha3_224",
      "sha3-256": "sha3_256", "sha3-384": "sha3_384", "sha3-512": "sha3_512",
      "sha512-224": "sha512_224", "sha512-256": "sha512_256", "shake128": "shake_128",
      "shake256": "shake_256"}
XOF = {"shake128": 16, "shake256": 32}


def ctor(name):
    py = PY.get(name, name)
    try:
        hashlib.new(py)
    except ValueError:
        sys.exit(f"peer.py: Python's hashlib has no {name} ({py}): cannot check it")
    return lambda data=b"": hashlib.new(py, data)


datas = []


def data(b):
    datas.append(b)
    with open(f"{out}/d{len(datas) - 1}.bin", "wb") as f:
        f.write(b)
    return len(datas) - 1


def rand_bytes(n):
    b = bytearray(rng.getrandbits(8) for _ in range(min(n, 4096)))
    if n > 4096:
        b = bytearray(rng.randbytes(n))
    if n >= 3:  # a NUL inside, whatever the draw gave
        b[rng.randrange(n)] = 0
    return bytes(b)


SIZES = [0, 1, 2, 3, 55, 56, 57, 63, 64, 65, 111, 112, 113, 127, 128, 129, 136, 200, 1000,
         4096, 65537, 1 << 20]
D = [data(rand_bytes(n)) for n in SIZES]
D.append(data(b"\0" * 300))
D.append(data(bytes(range(256)) * 4))
KEYS = [data(rand_bytes(n)) for n in (0, 1, 20, 63, 64, 65, 127, 128, 129, 200, 1000)]

cases, expected = [], []


def case(line, result):
    cases.append(line)
    expected.append(f"{line} => {result}")


for name in names:
    h = ctor(name)
    for d in D:
        if name in XOF:
            case(f"digest {name} {d}", h(datas[d]).hexdigest(XOF[name]))
            for n in (1, 64, 200):
                if d % 5 == 0:
                    case(f"xof {name} {d} {n}", h(datas[d]).hexdigest(n))
        else:
            case(f"digest {name} {d}", h(datas[d]).hexdigest())
    if name in XOF:
        continue
    for k in KEYS:
        for d in (D[0], D[4], D[9], D[18], rng.choice(D)):
            case(f"hmac {name} {k} {d}",
                 hmac.new(datas[k], datas[d], PY.get(name, name)).hexdigest())

# PBKDF2: hashlib.pbkdf2_hmac on random passwords and salts (empty ones included).
small = [d for d in D + KEYS if len(datas[d]) <= 200]
for i in range(40):
    name = rng.choice(["sha1", "sha256", "sha512", "md5", "sha3-256", "sha224", "blake2b512"])
    pw, salt = rng.choice(small), rng.choice(small)
    it, n = rng.choice([1, 2, 3, 100, 1000]), rng.choice([1, 16, 20, 32, 33, 64, 65, 100, 200])
    case(f"pbkdf2 {name} {pw} {salt} {it} {n}",
         hashlib.pbkdf2_hmac(PY.get(name, name), datas[pw], datas[salt], it, n).hex())

# scrypt: hashlib.scrypt, the defaults (n 16384, r 8, p 1) and others, RFC 7914's included.
rfc = [(data(b""), data(b""), 16, 1, 1, 64), (data(b"password"), data(b"NaCl"), 1024, 8, 16, 64)]
for pw, salt, n, r, p, dk in rfc + [
        (rng.choice(small), rng.choice(small), n, r, p, dk)
        for n, r, p, dk in [(2, 1, 1, 1), (4, 2, 3, 32), (256, 4, 2, 100), (16384, 8, 1, 64),
                            (1024, 1, 1, 16), (8, 16, 1, 33), (512, 8, 2, 64)]]:
    case(f"scrypt {pw} {salt} {n} {r} {p} {dk}",
         hashlib.scrypt(datas[pw], salt=datas[salt], n=n, r=r, p=p, dklen=dk,
                        maxmem=64 * 1024 * 1024).hex())


def hkdf(name, ikm, salt, info, length):
    h = PY.get(name, name)
    size = hashlib.new(h).digest_size
    prk = hmac.new(salt or b"\0" * size, ikm, h).digest()
    t, okm, i = b"", b"", 1
    while len(okm) < length:
        t = hmac.new(prk, t + info + bytes([i]), h).digest()
        okm, i = okm + t, i + 1
    return okm[:length].hex()


for i in range(30):
    name = rng.choice(["sha1", "sha256", "sha512", "sha384", "md5", "sha3-256"])
    ikm, salt, info = rng.choice(small), rng.choice(small), rng.choice(small)
    size = hashlib.new(PY.get(name, name)).digest_size
    n = rng.choice([1, 16, 32, 42, size, size + 1, 255 * size])
    case(f"hkdf {name} {ikm} {salt} {info} {n}", hkdf(name, datas[ikm], datas[salt], datas[info], n))

# hex and base64 both ways: binascii.hexlify, b64encode, urlsafe_b64encode (Node's base64url
# has no padding), encodebytes (MIME lines) for decoding.
encs = []


def enc(text):
    encs.append(text)
    with open(f"{out}/e{len(encs) - 1}.txt", "wb") as f:
        f.write(text)
    return len(encs) - 1


for d in D + KEYS:
    b = datas[d]
    short = len(b) <= 4096
    for kind, text in (("hex", binascii.hexlify(b)), ("b64", base64.b64encode(b)),
                       ("b64url", base64.urlsafe_b64encode(b).rstrip(b"=")),
                       ("b64urlpad", base64.urlsafe_b64encode(b))):
        if short:
            case(f"{kind} {d}", text.decode())
        e = enc(text)
        case(f"from_{'hex' if kind == 'hex' else 'base64'} {e} {d}", "same")
    case(f"from_hex {enc(binascii.hexlify(b).upper())} {d}", "same")
    case(f"from_base64 {enc(base64.encodebytes(b))} {d}", "same")

with open(f"{out}/cases.txt", "w") as f:
    f.write("\n".join(cases) + "\n")
with open(f"{out}/expected.txt", "w") as f:
    f.write("\n".join(expected) + "\n")
