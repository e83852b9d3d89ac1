#!/bin/sh
# valgrind_clusterlive.sh — `mrprof top` following a cluster live, under valgrind's leak checker
# (run by tests/run.sh's valgrind suite): the viewer (under valgrind; mrun is not) attached to a
# clustered script's primary finds the workers' streams beside its socket, skips a stray file
# matching their names, merges every process and prints the threads of each.
set -u
d=$(mktemp -d /tmp/mrprof-vg-clusterlive.XXXXXX)
trap 'rm -rf "$d"' EXIT
vg() { timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$@"; }
fail=0
: >"$d/s.sock.worker-5.1" # not a socket: skipped
"$MRUN" --prof-live "unix:$d/s.sock" --prof-live-wait tests/scripts/cluster/spin.rb 1500000 \
    >"$d/out" 2>"$d/err" &
mrun=$!
i=0
while [ ! -S "$d/s.sock" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
vg "$MRPROF" top --attach "unix:$d/s.sock" --once --view threads --size 100x14 >"$d/view" \
    2>"$d/verr" || { echo "mrprof top --attach (a cluster) under valgrind:"; head -n 30 "$d/verr"; fail=1; }
wait $mrun || { echo "mrun: $(head -n 30 "$d/err")"; fail=1; }
grep -q 'skipped s.sock.worker-5.1: not a socket' "$d/verr" || {
    echo "the stray file was not skipped: $(cat "$d/verr")"; fail=1; }
for w in 1 2; do
    pid=$(awk -v w=$w '$1 == "worker" && $2 == w { print $3 }' "$d/out")
    grep -q "worker $w ($pid): main" "$d/view" || {
        echo "worker $w (pid $pid) is not in the viewer's threads: $(cat "$d/view")"; fail=1; }
done
exit $fail
