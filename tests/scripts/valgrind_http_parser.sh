#!/bin/sh
# valgrind_http_parser.sh — HTTP::Parser under valgrind's leak checker (run by tests/run.sh's
# valgrind suite): tests/scripts/http_parser/valgrind.rb.
set -u
log=$(mktemp /tmp/mrprof-vg-http-parser.XXXXXX)
if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    "$MRUN" tests/scripts/http_parser/valgrind.rb >"$log.out" 2>"$log" || ! grep -q '^events true' "$log.out"; then
    echo "http_parser/valgrind.rb under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
    rm -f "$log" "$log.out"
    exit 1
fi
rm -f "$log" "$log.out"
