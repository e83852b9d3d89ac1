#!/bin/sh
# valgrind_svg.sh — the flame graph writers and check's evidence under valgrind's leak checker
# (run by tests/run.sh's valgrind suite): convert to SVG (a profile with threads, a hostile
# folded file, a malformed one), diff -o OUT.svg, and check with annotations, metrics and
# artifacts.
set -u
d=$(mktemp -d /tmp/mrprof-vg-svg.XXXXXX)
trap 'rm -rf "$d"' EXIT
W=tests/scripts/svg/work.rb
# At 5000 Hz: under load a CPU-mode run keeps only the signals that find the thread on the CPU,
# and at 1000 Hz a loaded CI run once left check too few samples to call the 3x slowdown.
"$MRUN" --cpu-prof --prof-hz 5000 --prof-out "$d/t.json" samples/deferred_parallel.rb 22 >/dev/null 2>&1 &&
    "$MRUN" --cpu-prof --prof-hz 5000 --prof-out "$d/b.cpuprofile" "$W" 1 >/dev/null 2>&1 &&
    "$MRUN" --cpu-prof --prof-hz 5000 --prof-out "$d/n.cpuprofile" "$W" 3 >/dev/null 2>&1 || { echo "recording failed"; exit 1; }
printf 'main;a<b&c\xff;x 5\nmain;y 3\n' >"$d/h.folded"
printf '{"nodes": [' >"$d/bad.cpuprofile"
vg() {  # vg EXPECTED_STATUS ARGS...: mrprof ARGS under valgrind, no error, no leak, that status
    want=$1; shift
    timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$MRPROF" "$@" >"$d/out" 2>"$d/log"
    rc=$?
    if [ "$rc" != "$want" ]; then
        echo "mrprof $* under valgrind: status $rc, expected $want"; head -n 30 "$d/log"; exit 1
    fi
}
vg 0 convert "$d/t.json" "$d/t.svg"
vg 0 convert "$d/h.folded" "$d/h.svg"
vg 2 convert "$d/bad.cpuprofile" "$d/bad.svg"
vg 0 diff "$d/b.cpuprofile" "$d/n.cpuprofile" -o "$d/d.svg" --no-tree
vg 1 check --baseline "$d/b.cpuprofile" "$d/n.cpuprofile" --annotations github --metrics "$d/m.txt" --artifacts "$d/ev"
grep -q '^::error file=' "$d/out" || { echo "check under valgrind wrote no annotation"; exit 1; }
exit 0
