#!/bin/sh
# valgrind_worker.sh — Worker under valgrind's leak checker (run by tests/run.sh's valgrind
# suite): every copier type both ways, uncaught errors (:error, :exit 1), terminate of busy,
# waiting and unstarted Workers, 30 Workers started and ended, the parent exiting while a Worker
# runs.
set -u
fail=0
for args in "roundtrip.rb" "raise_main.rb" "busy_main.rb" "many.rb 30" "api_main.rb"; do
    set -- $args
    name=$1; shift
    log=$(mktemp /tmp/mrprof-vg-worker.XXXXXX)
    if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" "tests/scripts/worker/$name" "$@" >"$log.out" 2>"$log"; then
        echo "worker/$name under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
        fail=1
    fi
    rm -f "$log" "$log.out"
done
# exit(3) in the parent while a Worker is busy: the Worker is terminated and joined, no leak.
log=$(mktemp /tmp/mrprof-vg-worker.XXXXXX)
timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    "$MRUN" -e 'w = Worker.new(ARGV[0], data: "calls"); w.on(:message) { exit 3 }' \
    tests/scripts/worker/busy_child.rb >"$log.out" 2>"$log"
rc=$?
if [ "$rc" != 3 ]; then
    echo "parent exit while a Worker runs, under valgrind: exit $rc"; head -n 30 "$log"
    fail=1
fi
rm -f "$log" "$log.out"
exit $fail
