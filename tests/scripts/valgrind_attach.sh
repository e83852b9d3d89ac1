#!/bin/sh
# valgrind_attach.sh — attach on demand under valgrind's leak checker (run by tests/run.sh's
# valgrind suite): an mrun started with no flag gets SIGUSR2, opens its agent on
# /tmp/mrun-<euid>/<pid>.sock, a viewer attaches twice and leaves, the script ends by itself and
# valgrind checks the exit. (By pid, `mrprof record --pid` refuses a process whose program is
# valgrind's, not mrun: so the signal is sent here and the viewer attaches by the socket.)
# The script runs until this test creates its stop file (at most 240 s): a fixed 25 s ran out
# in a loaded round before the second viewer came, and the second SIGUSR2 found no program.
set -u
d=$(mktemp -d /tmp/mrprof-vg-attach.XXXXXX)
vg_pid=
trap '[ -z "$vg_pid" ] || kill "$vg_pid" 2>/dev/null; rm -rf "$d"' EXIT # ends mrun on an early exit
vg() { timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$@"; }
fail=0
timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    "$MRUN" tests/scripts/attach/hot.rb 0.004 240 "$d/stop" >"$d/out" 2>"$d/err" &
vg_pid=$!
# mrun's own pid: timeout's child (valgrind runs the program in its own process)
pid= i=0 # ready once the script runs (up to 120 s: valgrind's start on a loaded machine)
while [ $i -lt 1200 ]; do
    [ -n "$pid" ] || pid=$(pgrep -P "$vg_pid" | head -n 1)
    [ -n "$pid" ] && grep -q 'hot ready' "$d/err" && break # valgrind catches every signal itself
    sleep 0.1; i=$((i + 1))
done
[ -n "$pid" ] || { echo "no mrun under valgrind: $(cat "$d/err")"; exit 1; }
sock=/tmp/mrun-$(id -u)/$pid.sock
for round in 1 2; do
    kill -USR2 "$pid"
    i=0
    while [ ! -S "$sock" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    [ -S "$sock" ] || { echo "round $round: no socket $sock: $(cat "$d/err")"; fail=1; break; }
    "$MRPROF" top --attach "unix:$sock" --once --for 0.5 --size 90x12 >"$d/view" 2>"$d/verr" || {
        echo "round $round: mrprof top --attach: $(head -n 20 "$d/verr")"; fail=1; }
    grep -q 'hot_attach_fn' "$d/view" || { echo "round $round: the viewer saw no hot_attach_fn: $(cat "$d/view")"; fail=1; }
    i=0 # the agent closes its socket when the viewer leaves
    while [ -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    [ ! -S "$sock" ] || { echo "round $round: the socket stayed after the viewer left"; fail=1; }
done
: >"$d/stop"
wait $vg_pid || { echo "mrun under valgrind:"; head -n 30 "$d/err"; fail=1; }
vg_pid=
grep -q 'hot done' "$d/out" || { echo "mrun's output: $(cat "$d/out") $(head -n 20 "$d/err")"; fail=1; }
exit $fail
