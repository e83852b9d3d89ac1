#!/bin/sh
# valgrind_deferred_map.sh — Deferred.map, Deferred#cancel and Deferred.stats under valgrind's
# leak checker (run by tests/run.sh's valgrind suite): failures that cancel queued chunks, the
# enumerables and refused calls, tiny items inline, a stuck worker, cancel of queued tasks.
set -u
fail=0
for args in "errors" "forms" "tiny" "stats" "split DIR" "cancel DIR"; do
    set -- $args
    name=$1; shift
    dir=$(mktemp -d /tmp/mrprof-vg-dmap.XXXXXX)
    [ $# -gt 0 ] && set -- "$dir"
    log=$(mktemp /tmp/mrprof-vg-dmap-log.XXXXXX)
    if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" "tests/scripts/deferred_map/$name.rb" "$@" >"$log.out" 2>"$log"; then
        echo "deferred_map/$name.rb under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
        fail=1
    fi
    rm -rf "$log" "$log.out" "$dir"
done
exit $fail
