#!/usr/bin/env bash
# The terminal viewer and the live agent, measured side by side (part of `make bench`):
#   1. the first screen of a 1 000 000-sample profile: `mrprof view` in a real terminal (tmux),
#      from start to the first drawn screen, and `view --once` (read + aggregate + draw);
#      reference: speedscope's importer on the same file (what a browser viewer must do first)
#   2. the live agent's cost to the profiled program: CPU seconds of `mrun --cpu-prof` on fib,
#      alone and with --prof-live and a viewer attached for the whole run
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
tmp=$(mktemp -d /tmp/mrprof-bench-viewer.XXXXXX)
sock="mrprof-bench-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$tmp"' EXIT

best() { sort -n | head -n 1; }
now() { date +%s.%N; }

echo "== the first screen of a 1 000 000-sample profile (wall seconds, best of $RUNS)"
big=$tmp/big.cpuprofile
build/bench/bigprofile "$big" >/dev/null
once=$(for _ in $(seq "$RUNS"); do
    s=$(now); build/mrprof view --once --size 120x40 "$big" >/dev/null; e=$(now)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }'
done | best)
tui=$(for _ in $(seq "$RUNS"); do
    tmux -L "$sock" kill-server 2>/dev/null
    s=$(now)
    tmux -L "$sock" -f /dev/null new-session -d -s b -x 120 -y 40 "build/mrprof view $big"
    until tmux -L "$sock" capture-pane -p -t b 2>/dev/null | grep -q 'SELF%'; do sleep 0.01; done
    e=$(now)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }'
done | best)
tmux -L "$sock" kill-server 2>/dev/null
ss=$(for _ in $(seq "$RUNS"); do
    s=$(now); node tests/node/speedscope_top.js "$big" >/dev/null 2>&1; e=$(now)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }'
done | best)
printf '%-44s %8s s\n' "mrprof view, first screen in tmux" "$tui"
printf '%-44s %8s s\n' "mrprof view --once (read, aggregate, draw)" "$once"
printf '%-44s %8s s\n' "speedscope's importer on the same file" "$ss"
printf '%-44s %8s x\n' "speedscope / mrprof view first screen" "$(awk -v a="$ss" -v b="$tui" 'BEGIN { printf "%.1f", a / b }')"

echo
echo "== the live agent's cost: CPU seconds of mrun on fib, best of $RUNS"
cpu() {  # user+sys seconds of mrun "$@" (children counted: none)
    { TIMEFORMAT='%U %S'; time build/mrun "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }'
}
W=tests/bench/workloads/fib.rb
plain=$(for _ in $(seq "$RUNS"); do cpu "$W"; done | best)
prof=$(for _ in $(seq "$RUNS"); do cpu --cpu-prof --prof-out "$tmp/p.cpuprofile" "$W"; done | best)
live=$(for _ in $(seq "$RUNS"); do
    rm -f "$tmp/l.sock"
    ( sleep 0.2; build/mrprof top --attach "unix:$tmp/l.sock" --once >/dev/null 2>&1 ) &
    cpu --cpu-prof --prof-out "$tmp/p.cpuprofile" --prof-live "unix:$tmp/l.sock" --prof-live-wait "$W"
    wait
done | best)
printf '%-44s %8s\n' "mrun (no profiler)" "$plain"
printf '%-44s %8s  x%s\n' "mrun --cpu-prof (1 kHz)" "$prof" "$(awk -v a="$prof" -v b="$plain" 'BEGIN { printf "%.3f", a / b }')"
printf '%-44s %8s  x%s  (vs --cpu-prof alone: x%s)\n' "mrun --cpu-prof --prof-live + 1 viewer" "$live" \
    "$(awk -v a="$live" -v b="$plain" 'BEGIN { printf "%.3f", a / b }')" \
    "$(awk -v a="$live" -v b="$prof" 'BEGIN { printf "%.3f", a / b }')"
