#!/bin/sh
# valgrind_process.sh — Process, signals, ChildProcess and sleep/system/backticks/at_exit under
# valgrind's leak checker (run by tests/run.sh's valgrind suite): tests/scripts/process/all.rb.
set -u
log=$(mktemp /tmp/mrprof-vg-process.XXXXXX)
fail=0
if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    "$MRUN" tests/scripts/process/all.rb >"$log.out" 2>"$log" || [ "$(cat "$log.out")" != ok ]; then
    echo "process/all.rb under valgrind:"; head -n 30 "$log"; tail -n 5 "$log.out"
    fail=1
fi
rm -f "$log" "$log.out"
exit $fail
