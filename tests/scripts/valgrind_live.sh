#!/bin/sh
# valgrind_live.sh — the live agent and the viewer under valgrind's leak checker (run by
# tests/run.sh's valgrind suite): mrun --prof-live with a viewer attached for the whole run,
# then mrprof view --once on the profile it wrote.
set -u
d=$(mktemp -d /tmp/mrprof-vg-live.XXXXXX)
trap 'rm -rf "$d"' EXIT
vg() { timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$@"; }
fail=0
vg "$MRUN" --cpu-prof --prof-out "$d/p.cpuprofile" --prof-live "unix:$d/s.sock" --prof-live-wait \
    tests/scripts/busy_live.rb 2 >"$d/out" 2>"$d/err" &
mrun=$!
i=0
# up to 120 s: mrun's start under valgrind on a loaded machine takes many seconds
while [ ! -S "$d/s.sock" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
vg "$MRPROF" top --attach "unix:$d/s.sock" --once --size 90x12 >"$d/view" 2>"$d/verr" || {
    echo "mrprof top --attach under valgrind:"; head -n 30 "$d/verr"; fail=1; }
wait $mrun || { echo "mrun --prof-live under valgrind:"; head -n 30 "$d/err"; fail=1; }
grep -q 'busy_live done' "$d/out" || { echo "mrun's output: $(cat "$d/out")"; fail=1; }
grep -q ' spin ' "$d/view" || { echo "the viewer saw no spin: $(cat "$d/view")"; fail=1; }
vg "$MRPROF" view --once --view all --size 80x24 "$d/p.cpuprofile" >/dev/null 2>"$d/verr2" || {
    echo "mrprof view under valgrind:"; head -n 30 "$d/verr2"; fail=1; }
exit $fail
