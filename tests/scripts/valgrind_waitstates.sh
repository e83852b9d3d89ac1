#!/bin/sh
# valgrind_waitstates.sh — wall mode's wait states under valgrind's leak checker (run by
# tests/run.sh's valgrind suite): the scripts of tests/scripts/waitstates/ recorded in wall mode
# (sleep in a timer, a FIFO read with FS.read_file_sync, system and backticks), each profile
# then read back by mrprof report --hide-idle (which must show a blocked frame).
# Not deferred_wait.rb: under valgrind a profiled Deferred worker dies of its SIGPROF ("Profiling
# timer expired"), with or without the wait states (seen with the build before them too).
set -u
fail=0
dir=$(mktemp -d /tmp/mrprof-vg-wait.XXXXXX)
mkfifo "$dir/fifo"
for args in "sleep_in_timer" "sync_calls $dir/fifo"; do
    set -- $args
    name=$1; shift
    if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" --cpu-prof --prof-mode wall --prof-out "$dir/$name.cpuprofile" \
        "tests/scripts/waitstates/$name.rb" "$@" >"$dir/out" 2>"$dir/log"; then
        echo "waitstates/$name.rb under valgrind:"; head -n 30 "$dir/log"; tail -n 5 "$dir/out"
        fail=1
    elif ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRPROF" report --hide-idle --tree "$dir/$name.cpuprofile" >"$dir/out" 2>"$dir/log" ||
        ! grep -q '(blocked: ' "$dir/out"; then
        echo "mrprof report --hide-idle of $name under valgrind:"; head -n 30 "$dir/log"; head -n 30 "$dir/out"
        fail=1
    fi
done
rm -rf "$dir"
exit $fail
