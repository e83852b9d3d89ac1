#!/bin/sh
# valgrind_json.sh — JSON under valgrind's leak checker (run by tests/run.sh's valgrind suite):
# parse, generate, pretty_generate, errors at every stage and in the generator, a Deferred
# worker (tests/scripts/json/valgrind.rb).
set -u
log=$(mktemp /tmp/mrprof-vg-json.XXXXXX)
if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    "$MRUN" tests/scripts/json/valgrind.rb >"$log.out" 2>"$log" || ! grep -q '^worker ' "$log.out"; then
    echo "json/valgrind.rb under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
    rm -f "$log" "$log.out"
    exit 1
fi
rm -f "$log" "$log.out"
