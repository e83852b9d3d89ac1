#!/bin/sh
# valgrind_cluster.sh — Cluster's primary under valgrind's leak checker (run by tests/run.sh's
# valgrind suite; --trace-children=no: the workers run plain): two workers listening on one
# port under each scheduling policy (the primary's Listener: a socket passed over the channel,
# or a SO_REUSEPORT one held), HTTP requests from the primary, messages both ways, a graceful
# disconnect of every worker (tests/scripts/cluster/valgrind.rb).
set -u
fail=0
for policy in reuseport shared; do
    log=$(mktemp /tmp/mrprof-vg-cluster.XXXXXX)
    if ! timeout -k 5 300 valgrind -q --trace-children=no --leak-check=full \
        --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=99 "$MRUN" tests/scripts/cluster/valgrind.rb "$policy" >"$log.out" 2>"$log" ||
        ! grep -q "answers 6, replies 2" "$log.out"; then
        echo "cluster/valgrind.rb $policy under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
        fail=1
    fi
    rm -f "$log" "$log.out"
done
exit $fail
