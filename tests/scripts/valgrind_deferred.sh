#!/bin/sh
# valgrind_deferred.sh — Deferred under valgrind's leak checker (run by tests/run.sh's valgrind
# suite): 2 000 tasks, every kind of copied value, failures carried back, refused blocks,
# Deferred.load/setup, a profiled run with two workers.
set -u
fail=0
printf 'def broken(\n' >/tmp/mrprof-vg-bad.$$.rb
for args in "many 2000" "copy_types" "failures" "errors" "chain" "load_setup /tmp/mrprof-vg-bad.$$.rb"; do
    set -- $args
    name=$1; shift
    log=$(mktemp /tmp/mrprof-vg-def.XXXXXX)
    if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" --workers 2 "tests/scripts/deferred/$name.rb" "$@" >"$log.out" 2>"$log"; then
        echo "deferred/$name.rb under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
        fail=1
    fi
    rm -f "$log" "$log.out"
done
rm -f /tmp/mrprof-vg-bad.$$.rb
exit $fail
