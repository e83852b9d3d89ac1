#!/usr/bin/env bash
# End-to-end tests of the viewer on big and many-threaded inputs (issue 18.6-18.8): counts that
# come from the file or the program (top-level functions, Deferred tasks, threads) have no fixed
# limit in the viewer, equal frames stay one frame, saving keeps every thread, and the memory
# view reads the counters of a recorded trace.
source "$(dirname "$0")/lib.sh"

# wide_profile N PATH: a .cpuprofile whose root has N children fn_0..fn_N-1, each calling a leaf,
# with 1 to 3 samples of 1 ms each.
wide_profile() {
    awk -v n="$1" 'BEGIN {
        printf "{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"(root)\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1},\"children\":["
        for (i = 0; i < n; i++) printf "%s%d", i ? "," : "", 2 + 2 * i
        printf "]}"
        for (i = 0; i < n; i++) {
            id = 2 + 2 * i
            printf ",{\"id\":%d,\"callFrame\":{\"functionName\":\"fn_%d\",\"scriptId\":\"1\",\"url\":\"/src/f%d.rb\",\"lineNumber\":%d,\"columnNumber\":0},\"children\":[%d]}", id, i, i % 50, i, id + 1
            printf ",{\"id\":%d,\"callFrame\":{\"functionName\":\"leaf_%d\",\"scriptId\":\"1\",\"url\":\"/src/leaf.rb\",\"lineNumber\":%d,\"columnNumber\":0}}", id + 1, i % 7, i % 7
        }
        printf "],\"startTime\":0,\"samples\":["
        k = 0
        for (i = 0; i < n; i++) for (j = 0; j <= i % 3; j++) { printf "%s%d", k ? "," : "", 3 + 2 * i; k++ }
        printf "],\"timeDeltas\":["
        for (m = 0; m < k; m++) printf "%s1000", m ? "," : ""
        printf "],\"endTime\":%d}\n", k * 1000
    }' >"$2"
}

# 18.6: the call tree of a profile with 5 000 top-level functions (the tree's first level used to
# be pushed onto a fixed 256-slot stack: a heap overflow from 257 on).
t_view_5000_top_level_functions_every_view() {
    wide_profile 5000 "$T/wide.cpuprofile"
    local v
    for v in top tree flame timeline threads memory; do
        run $MRPROF view "$T/wide.cpuprofile" --once --view $v --size 100x40
        expect_rc 0
        [ "$(printf '%s\n' "$out" | wc -l)" = 40 ] || fail "--view $v is not one 40-line screen: $out"
    done
    run $MRPROF view "$T/wide.cpuprofile" --once --view tree --size 100x40
    expect_out_has "9999 samples"
    # The tree lists the heaviest first-level functions (3 samples: fn_2, fn_5, ...) in order.
    printf '%s\n' "$out" | grep -q '▸ fn_2  /src/f2.rb:3' || fail "tree lacks fn_2 first: $out"
    [ "$(printf '%s\n' "$out" | grep -c '▸ fn_')" -ge 30 ] || fail "tree shows too few rows: $out"
}

# 18.6: `mrprof top` on a program that ships 10 000 Deferred tasks. Each task's block is loaded
# anew in its worker; the block must stay one frame per worker (it was one new top-level frame per
# task, 173 rows in the tree of this program at 1 kHz), and the viewer must not overflow.
t_top_10000_deferred_tasks_one_frame_per_block() {
    cat >"$T/tasks.rb" <<'EOF'
Deferred.pool_size = 2
done = 0
10_000.times { |i| Deferred.new(i) { |x| y = 0; 300.times { |k| y += k * x }; y }.then { done += 1 } }
set_timeout(0) { }
EOF
    run $MRPROF top --view tree --size 120x400 -o "$T/live.cpuprofile" -- "$T/tasks.rb"
    expect_rc 0
    local rows
    rows=$(first_level_rows 'block in <main>  .*tasks.rb:3')
    [ "$rows" -ge 1 ] && [ "$rows" -le 2 ] ||
        fail "the task block shows as $rows first-level rows of the tree (one per worker expected): $(printf "%s" "$out" | head -c 1500)"
    # The written files (one per thread) hold it once per worker thread too.
    local f
    for f in "$T"/live.thread-*.cpuprofile; do
        run $MRPROF view "$f" --once --view tree --size 120x100
        expect_rc 0
        rows=$(first_level_rows 'block in <main>  .*tasks.rb:3')
        [ "$rows" = 1 ] || fail "$f holds the task block as $rows first-level rows: $out"
    done
}

# first_level_rows PATTERN: how many rows of the call tree in $out are first-level (not indented)
# rows whose function matches PATTERN.
first_level_rows() {
    printf '%s\n' "$out" | grep -cE "^ +[0-9.]+% +[0-9.]+% +[0-9.]+  ([▸▾] |  )$1"
}

run_tests
