#!/usr/bin/env bash
# attach.sh — attach on demand (make bench): how long from `mrprof record --pid` to a profile
# that names the target's hot function, and what attach costs a program nobody looks at.
#
# 1. Latency: tests/scripts/attach/hot.rb runs with no flag; 20 times, `mrprof record --pid P
#    --duration 0.01` signals it (SIGUSR2), connects, records 10 ms and writes the profile. The
#    wall time of that command is an upper bound of "signal to first named sample" (it includes
#    the 10 ms, the final profile and the write); a run whose profile lacks hot_attach_fn is a
#    miss. Median and p95.
# 2. Cost: CPU seconds (user+sys, best of RUNS) of a workload run with --no-attach (nothing
#    armed: the baseline), run as is (armed, nobody attaches), and run as is with one 0.2 s
#    attach at its start (after the viewer leaves nothing samples; the ratio holds those 0.2 s
#    of sampling). Ratios to --no-attach, in the same run.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
W=tests/bench/workloads
tmp=$(mktemp -d /tmp/mrprof-bench-attach.XXXXXX)
trap 'kill $tpid 2>/dev/null; rm -rf "$tmp"' EXIT
tpid=""

ready() {  # the target catches SIGUSR2
    local i
    for i in $(seq 300); do
        grep -qE '^SigCgt:.*[89abcdef]..$' /proc/$1/status 2>/dev/null && return 0
        sleep 0.02
    done
    return 1
}
now() { date +%s%N; }

echo "== attach on demand: mrprof record --pid latency (20 attaches to tests/scripts/attach/hot.rb)"
build/mrun tests/scripts/attach/hot.rb 2>/dev/null &
tpid=$!
ready $tpid || { echo "attach.sh: the target never caught SIGUSR2"; exit 1; }
: >"$tmp/lat"
misses=0
for i in $(seq 20); do
    t0=$(now)
    build/mrprof record --pid $tpid --duration 0.01 -o "$tmp/a.cpuprofile" >/dev/null 2>&1
    t1=$(now)
    if build/mrprof report "$tmp/a.cpuprofile" 2>/dev/null | grep -q hot_attach_fn; then
        echo $(((t1 - t0) / 1000000)) >>"$tmp/lat"
    else
        misses=$((misses + 1))
    fi
    # the viewer left: wait until the socket is gone before the next attach
    for _ in $(seq 100); do [ -e "/tmp/mrun-$(id -u)/$tpid.sock" ] || break; sleep 0.01; done
done
kill $tpid 2>/dev/null; wait $tpid 2>/dev/null; tpid=""
sort -n "$tmp/lat" | awk -v m=$misses '{ v[NR] = $1 } END {
    if (NR == 0) { print "  no attach named the hot function"; exit }
    p95 = v[int((NR * 95 + 99) / 100)]
    printf "  median %d ms, p95 %d ms, min %d ms, max %d ms over %d attaches (%d without the hot function)\n", v[int((NR + 1) / 2)], p95, v[1], v[NR], NR, m }'

TIMEFORMAT='%U %S'
cpu_once() {
    { time "$@" >/dev/null 2>"$tmp/err"; } 2>"$tmp/t1"
    tail -n 1 "$tmp/t1" | awk '{ print $1 + $2 }'
}
# The workload run as is, attached for 0.2 s right after it starts; its CPU seconds.
cpu_attached_once() {
    { time build/mrun "$1" >/dev/null 2>"$tmp/err"; } 2>"$tmp/t2" &
    local p=$! i m=""
    for i in $(seq 300); do
        m=$(pgrep -P $p -x mrun 2>/dev/null | head -n 1)
        [ -n "$m" ] || m=$p
        ready "$m" && break
    done
    build/mrprof record --pid "$m" --duration 0.2 -o "$tmp/b.cpuprofile" >/dev/null 2>&1
    wait $p
    tail -n 1 "$tmp/t2" | awk '{ print $1 + $2 }'
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }'; }

echo "== attach on demand: CPU seconds of mrun (best of $RUNS; ratio to --no-attach)"
printf '%-8s %10s %12s %14s\n' workload no-attach armed attached-0.2s
for w in ${BENCH_WORKLOADS:-fib}; do
    off="" armed="" att=""
    for _ in $(seq "$RUNS"); do
        off=$(min "$(cpu_once build/mrun --no-attach "$W/$w.rb")" "$off")
        armed=$(min "$(cpu_once build/mrun "$W/$w.rb")" "$armed")
        att=$(min "$(cpu_attached_once "$W/$w.rb")" "$att")
    done
    printf '%-8s %10s %12s %14s\n' "$w" "$off" "$armed" "$att"
    printf '%-8s %10s %12s %14s\n' "  ratio" 1.000 "$(ratio "$armed" "$off")" "$(ratio "$att" "$off")"
done
