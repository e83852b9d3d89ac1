#!/bin/sh
# valgrind_stdlib.sh — the script that uses all six of issue 21's modules at once under valgrind's
# leak checker (run by tests/run.sh's valgrind suite): samples/notes_service.rb --demo (Regexp
# routes, JSON bodies, ChildProcess.exec, FS.read_file, Process.on signals, URI and the core
# additions, a Deferred report) under its own bounded load, then a clean exit.
set -u
log=$(mktemp /tmp/mrprof-vg-stdlib.XXXXXX)
if timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --trace-children=no \
    "$MRUN" samples/notes_service.rb --demo 2 >"$log.out" 2>"$log" &&
    grep -q "GET /report" "$log.out" && grep -q "POST /notes" "$log.out"; then
    rm -f "$log" "$log.out"
    exit 0
fi
echo "samples/notes_service.rb --demo under valgrind:"
head -n 30 "$log"
tail -n 8 "$log.out"
rm -f "$log" "$log.out"
exit 1
