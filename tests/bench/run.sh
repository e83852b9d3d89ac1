#!/usr/bin/env bash
# make bench: side-by-side measurements, each printed with its reference and the ratio.
#   1. mrun vs Debian's mruby on CPU-bound workloads (goal: ratio 1.00)
#   2. profiler overhead: mrun --cpu-prof vs plain mrun (CPU time), and samples delivered;
#      memory profiler overhead: mrun --heap-prof vs plain mrun on an allocation-heavy script
#   then net (tests/bench/net.sh), HTTP vs Node's http (http.sh), Cluster.fork(2) vs Node's cluster and one process (cluster.sh), JSON vs CRuby and Node (json.sh), Deferred vs worker_threads
#   (deferred.sh), Deferred.map vs one task per item and inline (deferred_map.sh), Worker messages vs worker_threads (worker.sh), loop health and the stall recorder (loophealth.sh), mrun --inspect's cost attached and idle beside --prof-live (inspect.sh), attach by pid: latency and cost when nobody looks (attach.sh), ChildProcess.spawn vs Node's (spawn.sh), Regexp vs CRuby (regexp.sh), the core
#   additions vs CRuby (core.sh), check's rates,
#   the viewer (viewer.sh), the SVG flame graph's time and size (svg.sh), and the soak with hostile clients (soak.sh)
# Each figure is the best (minimum) of RUNS runs of user+sys CPU seconds.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
W=tests/bench/workloads
tmp=$(mktemp -d /tmp/mrprof-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

cpu_of() {  # best CPU seconds of "$@" over RUNS runs
    local best=""
    for _ in $(seq "$RUNS"); do
        local t
        t=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }')
        best=$(awk -v a="$t" -v b="${best:-1e9}" 'BEGIN { print (a < b) ? a : b }')
    done
    echo "$best"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }'; }

echo "== mrun vs mruby (CPU seconds, best of $RUNS)"
printf '%-16s %10s %10s %8s\n' workload mruby mrun ratio
for w in fib strings calls; do
    a=$(cpu_of mruby "$W/$w.rb"); b=$(cpu_of build/mrun "$W/$w.rb")
    printf '%-16s %10s %10s %8s\n' "$w" "$a" "$b" "$(ratio "$b" "$a")"
done

echo
echo "== profiler overhead on fib (CPU seconds, best of $RUNS) and samples delivered"
echo "   floor = the same ratio for an EMPTY signal handler on a C busy loop with the same kind"
echo "   of timer (tests/bench/sigfloor.c): what this machine charges for the signals alone"
cc -O2 -o "$tmp/sigfloor" tests/bench/sigfloor.c -lrt
printf '%-10s %10s %10s %8s %8s %12s\n' rate plain profiled ratio floor delivered
base=$(cpu_of build/mrun "$W/fib.rb")
for hz in 1000 10000; do
    prof=$(cpu_of build/mrun --cpu-prof --prof-hz "$hz" --prof-out "$tmp/p.cpuprofile" "$W/fib.rb")
    MRUN_QUIET=1 build/mrun --cpu-prof --prof-hz "$hz" --prof-mode wall --prof-out "$tmp/w.cpuprofile" "$W/fib.rb" >/dev/null
    delivered=$(build/mrprof report "$tmp/w.cpuprofile" | sed -n 's/.*(\([0-9.]*%\) of requested).*/\1/p')
    floor=$("$tmp/sigfloor" "$hz" | awk '{ printf "%.3f", $2 / $1 }')
    printf '%-10s %10s %10s %8s %8s %12s\n' "${hz}Hz" "$base" "$prof" "$(ratio "$prof" "$base")" "$floor" "$delivered"
done

echo
bash tests/bench/memory.sh

echo
echo "== a 1 000 000-sample profile (tests/bench/bigprofile.c: 40 000 nodes, 5 000 stacks)"
echo "   wall seconds, best of $RUNS; the write figure is the writer alone, the others whole commands"
wall_of() {  # best wall seconds of "$@" over RUNS runs
    local best=""
    for _ in $(seq "$RUNS"); do
        local t
        t=$( { TIMEFORMAT='%R'; time "$@" >/dev/null 2>&1; } 2>&1 )
        best=$(awk -v a="$t" -v b="${best:-1e9}" 'BEGIN { print (a < b) ? a : b }')
    done
    echo "$best"
}
big=$tmp/big.cpuprofile
w=$(for _ in $(seq "$RUNS"); do build/bench/bigprofile "$big"; done | awk '{ print $8 }' | sort -n | head -n 1)
printf '%-40s %8s s  (%s MB)\n' "write .cpuprofile" "$w" "$(( $(stat -c %s "$big") / 1000000 ))"
rep=$(wall_of build/mrprof report "$big")
ss=$(wall_of node tests/node/speedscope_top.js "$big")
ssn=$(wall_of node -e 0)
printf '%-40s %8s s\n' "mrprof report" "$rep"
printf '%-40s %8s s  (node start-up %s s included)\n' "speedscope's importer (npm, in Node)" "$ss" "$ssn"
printf '%-40s %8s x\n' "speedscope / mrprof report" "$(awk -v a="$ss" -v b="$rep" 'BEGIN { printf "%.1f", a / b }')"
for ext in cpuprofile json speedscope.json pb.gz folded; do
    printf '%-40s %8s s\n' "mrprof convert to .$ext" "$(wall_of build/mrprof convert "$big" "$tmp/out.$ext")"
done
# The same through the other readers: the trace and pprof files just written.
printf '%-40s %8s s\n' "mrprof report on the trace (.json)" "$(wall_of build/mrprof report "$tmp/out.json")"
printf '%-40s %8s s\n' "speedscope's importer on the trace" "$(wall_of node tests/node/speedscope_top.js "$tmp/out.json")"
printf '%-40s %8s s\n' "mrprof report on the pprof (.pb.gz)" "$(wall_of build/mrprof report "$tmp/out.pb.gz")"

echo
bash tests/bench/net.sh

echo
bash tests/bench/http.sh

echo
bash tests/bench/cluster.sh

echo
bash tests/bench/json.sh

echo
bash tests/bench/deferred.sh
echo
bash tests/bench/deferred_map.sh

echo
bash tests/bench/worker.sh

echo
bash tests/bench/loophealth.sh

echo
bash tests/bench/inspect.sh

echo
bash tests/bench/attach.sh

echo
bash tests/bench/spawn.sh
bash tests/bench/regexp.sh
bash tests/bench/core.sh

echo
bash tests/bench/check_rates.sh

echo
bash tests/bench/viewer.sh

echo
bash tests/bench/svg.sh

echo
bash tests/bench/soak.sh

echo
bash tests/bench/crypto.sh

echo
bash tests/bench/dgram.sh

echo
bash tests/bench/tls.sh
bash tests/bench/https.sh
