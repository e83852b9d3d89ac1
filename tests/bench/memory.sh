#!/usr/bin/env bash
# memory.sh — the memory profiler's overhead (called by tests/bench/run.sh): CPU seconds
# (user + sys) of tests/bench/workloads/alloc.rb, about 2.8 GB allocated in 3.5 M
# malloc/realloc calls, unprofiled and profiled in turn (AB BA AB ...: a machine that drifts
# slows both alike). Printed: the median of each side, the median of the per-pair ratios (the
# figure to read; goal under 1.05 at the default interval) and the samples taken.
set -u
cd "$(dirname "$0")/../.."
PAIRS=${PAIRS:-9}
W=tests/bench/workloads/alloc.rb
tmp=$(mktemp -d /tmp/mrprof-membench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cpu() { { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "== memory profiler overhead on $W (CPU seconds, median of $PAIRS interleaved pairs)"
printf '%-50s %8s %9s %8s %9s\n' run plain profiled ratio samples
for args in "--heap-prof" "--heap-prof --heap-prof-interval 524288" "--heap-prof --heap-prof-interval 16384" \
            "--heap-prof-all" "--heap-prof --cpu-prof"; do
    : >"$tmp/a"; : >"$tmp/b"; : >"$tmp/r"
    cpu_out=; case $args in *--cpu-prof*) cpu_out="--prof-out $tmp/c.cpuprofile";; esac # mrun refuses --prof-out without it
    for i in $(seq "$PAIRS"); do
        if [ $((i % 2)) = 1 ]; then
            a=$(cpu build/mrun "$W"); b=$(cpu build/mrun $args --heap-prof-out "$tmp/h.heapprofile" $cpu_out "$W")
        else
            b=$(cpu build/mrun $args --heap-prof-out "$tmp/h.heapprofile" $cpu_out "$W"); a=$(cpu build/mrun "$W")
        fi
        echo "$a" >>"$tmp/a"; echo "$b" >>"$tmp/b"
        awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f\n", b / a }' >>"$tmp/r"
        [ -t 2 ] && printf '\r  %s: pair %d/%d ' "$args" "$i" "$PAIRS" >&2
    done
    [ -t 2 ] && printf '\r%70s\r' '' >&2
    n=$(build/mrun $args --heap-prof-out "$tmp/h.heapprofile" $cpu_out "$W" 2>&1 >/dev/null |
        sed -n 's/.*heap profile written to [^ ]* (\([0-9]*\) samples.*/\1/p')
    printf '%-50s %8s %9s %8.3f %9s\n' "mrun $args" "$(median <"$tmp/a")" "$(median <"$tmp/b")" "$(median <"$tmp/r")" "$n"
done
