#!/bin/sh
# valgrind_inspect_threads.sh — mrun --inspect's NodeWorker sessions under valgrind's leak checker
# (run by tests/run.sh's valgrind suite): against tests/scripts/inspect/threads.rb (a Deferred
# worker and a Worker beside the main VM), a chrome-remote-interface client enables NodeWorker,
# profiles each thread in its own session, sends bad sessions and messages, terminates the Worker
# (detachedFromWorker), then ends the program with exit 0 through Runtime.evaluate. Skipped (with
# the reason) when tests/node has no chrome-remote-interface.
set -u
if [ ! -d tests/node/node_modules/chrome-remote-interface ]; then
    echo "valgrind_inspect_threads.sh: SKIP chrome-remote-interface is not installed in tests/node"
    exit 0
fi
fail=0
log=$(mktemp /tmp/mrprof-vg-inspthreads.XXXXXX)
timeout -k 5 600 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file="$log.vg" \
    "$MRUN" --inspect-wait=127.0.0.1:0 tests/scripts/inspect/threads.rb >"$log.out" 2>"$log" &
pid=$!
port=
i=0
while [ $i -lt 1200 ] && [ -z "$port" ]; do
    port=$(sed -n 's|.*Debugger listening on ws://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$log" | head -n 1)
    kill -0 "$pid" 2>/dev/null || break
    [ -n "$port" ] || sleep 0.1
    i=$((i + 1))
done
if [ -z "$port" ]; then
    echo "mrun --inspect-wait under valgrind did not listen:"; cat "$log"; kill "$pid" 2>/dev/null; exit 1
fi
dir=$(mktemp -d /tmp/mrprof-vg-inspthreads-d.XXXXXX)
for step in "threads:$dir any" "exit:"; do
    mode=${step%%:*} arg=${step#*:}
    if ! timeout 300 node tests/node/inspect_client.js "$mode" "$port" $arg >"$dir/client" 2>&1; then
        echo "inspect_client.js $mode under valgrind failed:"; cat "$dir/client"
        fail=1
        kill "$pid" 2>/dev/null
        break
    fi
done
wait "$pid"; st=$?
if [ "$fail" = 0 ] && [ "$st" != 0 ]; then
    echo "mrun --inspect under valgrind: exit $st"; head -n 40 "$log.vg"; tail -n 5 "$log"
    fail=1
fi
[ "$fail" = 0 ] && echo "valgrind_inspect_threads.sh: NodeWorker sessions, a profile per thread, bad input, a Worker detached, exit: no errors, no leaks"
rm -rf "$dir" "$log" "$log.out" "$log.vg"
exit $fail
