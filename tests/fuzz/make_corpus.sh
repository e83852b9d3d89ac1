#!/bin/sh
# tests/fuzz/make_corpus.sh — (re)makes the seed corpora under tests/fuzz/corpus/ from the tests'
# own scripts and files, with build/mrun and build/mrprof. Small on purpose (a few KB each):
# libFuzzer mutates from them. Files named repro-* are reproducers of fixed bugs and are kept
# as they are; run this only to refresh the seeds (their content depends on the sampler).
set -eu
cd "$(dirname "$0")/../.."
C=tests/fuzz/corpus
MRUN=${MRUN:-build/mrun} MRPROF=${MRPROF:-build/mrprof}
tmp=$(mktemp -d /tmp/mrprof-corpus.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p $C/cpuprofile $C/trace $C/heapprofile $C/pprof $C/detect $C/live $C/hello $C/copy $C/check

# Profiles: a short CPU run (few samples, so the files stay small) and a memory run.
$MRUN --cpu-prof --prof-hz 200 --prof-out "$tmp/p.cpuprofile" tests/scripts/self_split.rb 20 2>/dev/null
$MRPROF convert "$tmp/p.cpuprofile" $C/trace/seed-mrprof.json
$MRPROF convert "$tmp/p.cpuprofile" $C/pprof/seed-mrprof.pb.gz
cp "$tmp/p.cpuprofile" $C/cpuprofile/seed-mrprof.cpuprofile
$MRUN --heap-prof --prof-out "$tmp/m.heapprofile" tests/scripts/gc_stress.rb 2 2>/dev/null ||
    $MRUN --heap-prof --prof-out "$tmp/m.heapprofile" samples/fib.rb 18 2>/dev/null
[ -f "$tmp/m.heapprofile" ] && cp "$tmp/m.heapprofile" $C/heapprofile/seed-mrprof.heapprofile
# Node's and Chrome's shapes, by hand (small): a legacy head tree, a CpuProfile trace event.
printf '{"head":{"functionName":"(root)","id":1,"hitCount":0,"children":[{"functionName":"f","url":"a.js","lineNumber":3,"id":2,"hitCount":2,"children":[]}]},"startTime":1,"endTime":1.01,"samples":[2,2],"timestamps":[1000000,1005000]}' \
    >$C/cpuprofile/seed-legacy.cpuprofile
printf '{"traceEvents":[{"pid":1,"tid":7,"ts":0,"ph":"I","name":"CpuProfile","args":{"data":{"cpuProfile":{"nodes":[{"id":1,"callFrame":{"functionName":"(root)","url":"","lineNumber":-1}},{"id":2,"parent":1,"callFrame":{"functionName":"a","url":"w.js","lineNumber":0}}],"startTime":1000000,"endTime":1004000,"samples":[2,2,2],"timeDeltas":[0,3000,-2000]}}}},{"pid":1,"tid":7,"ph":"M","name":"thread_name","args":{"name":"worker"}}]}' \
    >$C/trace/seed-chrome66.json
printf '{"head":{"callFrame":{"functionName":"(root)","url":""},"selfSize":0,"id":1,"children":[{"callFrame":{"functionName":"alloc","url":"a.js","lineNumber":1},"selfSize":4096,"id":2,"children":[]}]},"samples":[{"size":4096,"nodeId":2,"ordinal":1}]}' \
    >$C/heapprofile/seed-node.heapprofile
python3 tests/e2e/hostile_gen.py deep-pprof $C/pprof/seed-deep100.pb.gz 100
python3 tests/e2e/hostile_gen.py count-pprof $C/pprof/seed-count.pb.gz 3
# Detection sees every format.
for d in cpuprofile trace heapprofile pprof; do
    for f in $C/$d/seed-*; do cp "$f" $C/detect/; done
done

# The live stream as mrun sends it: a Python viewer says hello on a Unix socket and keeps every
# byte until the end message; and the hello itself for the agent's side.
python3 - "$MRUN" "$tmp" $C/live/seed-stream.bin $C/hello/seed-hello.bin <<'EOF'
import os, socket, struct, subprocess, sys, time
mrun, tmp, out, hello_out = sys.argv[1:5]
sock = os.path.join(tmp, "live.sock")
proc = subprocess.Popen([mrun, "--prof-live", "unix:" + sock, "--prof-live-wait", "--prof-hz", "200",
                         "tests/scripts/self_split.rb", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(500):
    if os.path.exists(sock):
        break
    time.sleep(0.01)
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
body = b"H" + b"MRPROF-LIVE" + struct.pack("<H", 1)
hello = struct.pack("<I", len(body)) + body
open(hello_out, "wb").write(hello)
s.sendall(hello)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
proc.wait()
open(out, "wb").write(bytes([0]) + data)  # first byte: where fuzz_live splits the input
EOF
printf 'tcp:127.0.0.1:0' >$C/hello/seed-tcp.txt
printf 'tcp:[::1]:8080' >$C/hello/seed-tcp6.txt

# Deferred's copier: values as copy_encode writes them (tags N T F I D S Y A H R, u64 LE).
python3 - $C/copy <<'EOF'
import struct, sys
d = sys.argv[1]
u = lambda v: struct.pack("<Q", v)
seeds = {
    "seed-int": b"I" + u(42),
    "seed-float": b"D" + struct.pack("<d", 1.5),
    "seed-string": b"S" + u(5) + b"hello",
    "seed-array": b"A" + u(3) + b"N" + b"T" + b"S" + u(1) + b"x",
    "seed-hash": b"H" + u(2) + b"Y" + u(1) + b"a" + b"I" + u(1) + b"S" + u(1) + b"k" + b"A" + u(1) + b"F",
    "seed-shared": b"A" + u(2) + b"S" + u(2) + b"ab" + b"R" + u(1),
}
for name, data in seeds.items():
    open(f"{d}/{name}", "wb").write(data)
EOF

# check: a stored baseline (even first byte) and budgets (odd first byte).
$MRPROF check --runs 2 --hz 200 --save-baseline "$tmp/base.json" -- tests/scripts/self_split.rb 5 >/dev/null 2>&1 &&
    { printf '0'; cat "$tmp/base.json"; } >$C/check/seed-baseline.json
printf '1Parser#parse<=30%%' >$C/check/seed-budget.txt
printf '1block in <main><=2.5' >$C/check/seed-budget2.txt
du -sh $C/* | sed 's/^/# /'
