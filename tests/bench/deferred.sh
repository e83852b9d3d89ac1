#!/usr/bin/env bash
# Deferred vs Node's worker_threads, side by side on this machine:
#   1. round trip of a trivial task on a warm pool, one at a time (p50 and p99 in µs over N)
#   2. speedup of two CPU-bound tasks on two workers over the same two calls in series
#      (fib(30) in mruby ~0.1 s per task; Node gets fib(38), about as long, for the same shape)
# Each line is the median of RUNS runs.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
N=${N:-20000}
B=tests/bench/deferred
NB=tests/bench/node
median_of() {  # median line (by first field) of RUNS runs of "$@"
    for _ in $(seq "$RUNS"); do "$@"; done | sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
}
echo "== Deferred vs Node worker_threads (median of $RUNS runs)"
read -r mp50 mp99 <<<"$(median_of build/mrun $B/roundtrip.rb "$N")"
read -r np50 np99 <<<"$(median_of node $NB/deferred_roundtrip.js "$N")"
printf '%-34s %10s %10s %8s\n' "round trip, trivial task (µs)" mrun node ratio
printf '%-34s %10s %10s %8s\n' "  p50 over $N" "$mp50" "$np50" "$(awk -v a="$mp50" -v b="$np50" 'BEGIN { printf "%.2f", a / b }')"
printf '%-34s %10s %10s %8s\n' "  p99 over $N" "$mp99" "$np99" "$(awk -v a="$mp99" -v b="$np99" 'BEGIN { printf "%.2f", a / b }')"
read -r ms mp <<<"$(median_of build/mrun $B/speedup.rb 30)"
read -r ns np <<<"$(median_of node $NB/deferred_speedup.js 38)"
printf '%-34s %10s %10s\n' "2 tasks on 2 workers" mrun node
printf '%-34s %10s %10s\n' "  serial s" "$ms" "$ns"
printf '%-34s %10s %10s\n' "  parallel s" "$mp" "$np"
printf '%-34s %10s %10s\n' "  speedup" "$(awk -v a="$ms" -v b="$mp" 'BEGIN { printf "%.2fx", a / b }')" \
    "$(awk -v a="$ns" -v b="$np" 'BEGIN { printf "%.2fx", a / b }')"
