#!/bin/sh
# valgrind_net.sh — Net under valgrind's leak checker (run by tests/run.sh's valgrind suite):
# errors and resets, backpressure (8 MiB), GC during traffic, 200 clients at once, large writes
# sent without a copy (the String changed right after write).
set -u
fail=0
# The scripts' deadlines (10 s to 60 s) are for the plain build; timeout(1) below bounds a hang.
export MRPROF_DEADLINE_SCALE=10
for args in "errors" "backpressure 8388608" "gc_traffic 50" "many_clients 200" "half_close" "large_write_then_change"; do
    set -- $args
    name=$1; shift
    log=$(mktemp /tmp/mrprof-vg-net.XXXXXX)
    if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" "tests/scripts/net/$name.rb" "$@" >"$log.out" 2>"$log"; then
        echo "net/$name.rb under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
        fail=1
    fi
    rm -f "$log" "$log.out"
done
exit $fail
