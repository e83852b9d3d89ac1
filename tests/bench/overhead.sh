#!/usr/bin/env bash
# overhead.sh [BASE_BUILD_DIR] — the sampler's cost side by side: CPU seconds (user+sys, best
# of RUNS) of mrun plain and under --cpu-prof at 1 kHz and 10 kHz, on fib.rb (calls and
# integer arithmetic) and calls.rb (method calls), for this tree's build/mrun and, when given,
# another build's mrun (e.g. the main branch's), the runs of the two interleaved so that the
# machine's load drifts over both alike.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
W=tests/bench/workloads
BASE=${1:-}
tmp=$(mktemp -d /tmp/mrprof-overhead.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

cpu_once() {
    { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }'
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }'; }

bins=(build)
[ -n "$BASE" ] && bins+=("$BASE")
echo "== sampler overhead (CPU seconds, best of $RUNS; ratio = profiled / plain)"
printf '%-10s %-8s %-28s %8s %8s %8s\n' workload rate build plain profiled ratio
for w in fib calls; do
    for hz in 1000 10000; do
        declare -A plain=() prof=()
        for _ in $(seq "$RUNS"); do
            for b in "${bins[@]}"; do
                plain[$b]=$(min "$(cpu_once "$b/mrun" "$W/$w.rb")" "${plain[$b]:-}")
                prof[$b]=$(min "$(cpu_once "$b/mrun" --cpu-prof --prof-hz "$hz" --prof-out "$tmp/p.cpuprofile" "$W/$w.rb")" "${prof[$b]:-}")
            done
        done
        for b in "${bins[@]}"; do
            printf '%-10s %-8s %-28s %8s %8s %8s\n' "$w" "${hz}Hz" "$b" "${plain[$b]}" "${prof[$b]}" "$(ratio "${prof[$b]}" "${plain[$b]}")"
        done
    done
done
