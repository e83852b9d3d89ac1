#!/bin/sh
# valgrind_memory.sh — memory profiling under valgrind's leak checker (run by tests/run.sh's
# valgrind suite): the GC-stress script with --heap-prof at a small interval (many samples, many
# sampled blocks freed and reallocated), with CPU sampling beside it, and the script API with
# Deferred workers allocating. The hook must add no error and no leak of its own.
set -u
fail=0
dir=$(mktemp -d /tmp/mrprof-vg-mem.XXXXXX)
check() {  # check NAME MRUN-ARGS...
    name=$1; shift
    if ! timeout -k 5 300 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$MRUN" "$@" >"$dir/out" 2>"$dir/log"; then
        echo "$name under valgrind:"; head -n 30 "$dir/log"; tail -n 5 "$dir/out"
        fail=1
    fi
}
check "gc_stress --heap-prof" --heap-prof --heap-prof-interval 4096 --heap-prof-out "$dir/a.heapprofile" tests/scripts/gc_stress.rb
check "gc_stress --cpu-prof --heap-prof-all" --cpu-prof --prof-out "$dir/b.json" --heap-prof-all \
    --heap-prof-interval 2048 --heap-prof-out "$dir/b.heapprofile" tests/scripts/gc_stress.rb
check "memory/live.rb (script API)" tests/scripts/memory/live.rb "$dir/c.heapprofile"
check "memory/workers.rb" --workers 2 --heap-prof --heap-prof-interval 4096 --heap-prof-out "$dir/d.heapprofile" tests/scripts/memory/workers.rb
for f in a b c d; do
    [ -s "$dir/$f.heapprofile" ] || { echo "no $f.heapprofile written"; fail=1; }
done
rm -rf "$dir"
exit $fail
