#!/usr/bin/env bash
# ChildProcess.spawn vs Node's child_process.spawn, side by side on this machine: `true`
# spawned N times (default 1000), one after the other, each awaited until 'close' (its stdio
# pipes drained and closed, its exit reaped). mrun and node runs alternate, RUNS times
# (default 5), so a change in the machine's load hits both; each column is the median.
# Target (issue 21): mrun within 1.2x of Node.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
N=${N:-1000}
command -v node >/dev/null || { echo "spawn.sh: node is not installed: no reference to compare with (SKIP)"; exit 0; }
m=() n=()
for _ in $(seq "$RUNS"); do
    m+=("$(build/mrun tests/bench/child/spawn.rb "$N" | awk '{ print $1 }')")
    n+=("$(node tests/bench/node/spawn.js "$N" | awk '{ print $1 }')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mm=$(median "${m[@]}") nm=$(median "${n[@]}")
echo "== spawn round trip: \`true\` $N times in a row, each awaited (median of $RUNS runs, µs)"
printf '%-34s %10s %10s %8s\n' "" mrun node ratio
printf '%-34s %10s %10s %8s\n' "  mean round trip" "$mm" "$nm" "$(awk -v a="$mm" -v b="$nm" 'BEGIN { printf "%.2f", a / b }')"
printf '%-34s %10s %10s\n' "  all runs" "$(IFS=/; echo "${m[*]}")" "$(IFS=/; echo "${n[*]}")"
