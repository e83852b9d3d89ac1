#!/usr/bin/env python3
"""hostile_gen.py — writes the hostile inputs of tests/e2e/test_hostile.sh (issue 19).

pprof files are encoded here by hand (profile.proto's field numbers; protobuf varints), so the
test does not depend on the writer it checks. Usage: hostile_gen.py KIND OUT [ARG].
  deep-pprof OUT N      one sample whose stack is one function N frames deep (gzipped)
  count-pprof OUT N     one sample of count N and 1 s of cpu nanoseconds (gzipped)
  bomb-gzip OUT BYTES   gzip of BYTES zero bytes (what a decompression bomb looks like)
"""
import gzip
import sys


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, payload):  # length-delimited
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def vfield(num, v):  # varint
    return varint(num << 3) + varint(v)


def packed(num, values):
    return field(num, b"".join(varint(v) for v in values))


def profile(stack_ids, values, types):
    strings = ["", "samples", "count", "cpu", "nanoseconds", "deep", "deep.rb"]
    msg = b""
    for t, u in types:
        msg += field(1, vfield(1, strings.index(t)) + vfield(2, strings.index(u)))
    msg += field(2, packed(1, stack_ids) + packed(2, values))
    msg += field(4, vfield(1, 1) + field(4, vfield(1, 1) + vfield(2, 3)))  # location 1: function 1, line 3
    msg += field(5, vfield(1, 1) + vfield(2, strings.index("deep")) + vfield(4, strings.index("deep.rb"))
                 + vfield(5, 1))
    for s in strings:
        msg += field(6, s.encode())
    return msg


def main():
    kind, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if kind == "deep-pprof":
        data = gzip.compress(profile([1] * n, [1, 1000000], [("samples", "count"), ("cpu", "nanoseconds")]))
    elif kind == "count-pprof":
        data = gzip.compress(profile([1], [n, 1000000000], [("samples", "count"), ("cpu", "nanoseconds")]))
    elif kind == "bomb-gzip":
        data = gzip.compress(b"\0" * n)
    else:
        sys.exit("unknown kind " + kind)
    with open(out, "wb") as f:
        f.write(data)


main()
