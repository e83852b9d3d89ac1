#!/bin/sh
# valgrind_robust.sh — issue 19's runtime fixes under valgrind's leak checker (run by
# tests/run.sh's valgrind suite): NoMemoryError past Deferred.heap_limit while arguments are
# decoded and while results are copied (the worker's VM is replaced each time), and 20 000
# immediates (run_immediates' GC arena).
set -u
fail=0
for args in "heap_limit_args.rb 20" "heap_limit_result.rb" "immediates.rb 20000"; do
    set -- $args
    name=$1; shift
    log=$(mktemp /tmp/mrprof-vg-robust.XXXXXX)
    if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" "tests/scripts/robust/$name" "$@" >"$log.out" 2>"$log"; then
        echo "robust/$name under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
        fail=1
    fi
    rm -f "$log" "$log.out"
done
exit $fail
