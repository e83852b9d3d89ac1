#!/bin/sh
# valgrind_regexp.sh — Regexp under valgrind's leak checker (run by tests/run.sh's valgrind
# suite): the CRuby comparison scripts (every method), then the error and cleanup paths
# (tests/scripts/regexp/stress.rb: bad patterns, exceptions out of blocks, the retry limit, a
# Deferred worker's VM).
set -u
fail=0
for s in literals match subst scan_split index_slice errors stress; do
    log=$(mktemp /tmp/mrprof-vg-rx.XXXXXX)
    if ! timeout -k 5 600 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" "tests/scripts/regexp/$s.rb" >"$log.out" 2>"$log"; then
        echo "regexp/$s.rb under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
        fail=1
    fi
    rm -f "$log" "$log.out"
done
exit $fail
