#!/bin/sh
# valgrind_clusterprof.sh — a cluster profiled as one program under valgrind's leak checker (run by
# tests/run.sh's valgrind suite): the primary (under valgrind; its workers run the same binary
# under valgrind too, through readlink of /proc/self/exe) records a trace and merges its workers'
# files into it; then mrprof reads it back, and filters a process.
set -u
fail=0
dir=$(mktemp -d /tmp/mrprof-vg-clusterprof.XXXXXX)
vg="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
if ! timeout -k 5 300 $vg "$MRUN" --cpu-prof --prof-format trace --prof-out "$dir/c.json" \
    tests/scripts/cluster/spin.rb 20000 >"$dir/out" 2>"$dir/err"; then
    echo "cluster/spin.rb --cpu-prof --prof-format trace under valgrind:"; head -n 30 "$dir/err"
    fail=1
elif ! grep -q "cluster worker 2 (pid" "$dir/err"; then
    echo "cluster/spin.rb under valgrind: the workers were not merged:"; head -n 30 "$dir/err"
    fail=1
elif ! timeout -k 5 300 $vg "$MRPROF" report "$dir/c.json" --process "worker 1" >"$dir/rep" 2>"$dir/err2"; then
    echo "mrprof report --process under valgrind:"; head -n 30 "$dir/err2"
    fail=1
fi
rm -rf "$dir"
exit $fail
