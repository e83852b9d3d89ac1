#!/usr/bin/env bash
# Worker vs Node's worker_threads, side by side on this machine:
#   1. round trip of a small message to a started Worker and back, one at a time (p50 and p99 in
#      µs over N; Node: tests/bench/node/deferred_roundtrip.js, the same shape)
#   2. throughput: M messages posted at once, each answered (round trips per second)
# Each line is the median of RUNS runs. Wall-clock figures: a loaded machine stretches both sides.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
N=${N:-20000}
M=${M:-100000}
B=tests/bench/worker
NB=tests/bench/node
median_of() {  # median line (by first field) of RUNS runs of "$@"
    for _ in $(seq "$RUNS"); do "$@"; done | sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
}
echo "== Worker vs Node worker_threads (median of $RUNS runs)"
if ! command -v node >/dev/null; then
    echo "node is not installed: no reference to compare with (skipped)"
    exit 0
fi
read -r mp50 mp99 <<<"$(median_of build/mrun $B/roundtrip.rb "$N")"
read -r np50 np99 <<<"$(median_of node $NB/deferred_roundtrip.js "$N")"
printf '%-34s %10s %10s %8s\n' "message round trip (µs)" mrun node ratio
printf '%-34s %10s %10s %8s\n' "  p50 over $N" "$mp50" "$np50" "$(awk -v a="$mp50" -v b="$np50" 'BEGIN { printf "%.2f", a / b }')"
printf '%-34s %10s %10s %8s\n' "  p99 over $N" "$mp99" "$np99" "$(awk -v a="$mp99" -v b="$np99" 'BEGIN { printf "%.2f", a / b }')"
mt=$(median_of build/mrun $B/burst.rb "$M")
nt=$(median_of node $NB/worker_burst.js "$M")
printf '%-34s %10s %10s %8s\n' "burst of $M, round trips/s" "$mt" "$nt" "$(awk -v a="$mt" -v b="$nt" 'BEGIN { printf "%.2f", a / b }')"
