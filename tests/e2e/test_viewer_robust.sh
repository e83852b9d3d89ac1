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

# A private tmux server per test; the pane runs in $T so that `s` saves there.
tm() { tmux -L "mrprof-$$" -f /dev/null "$@"; }
tui_in_t() {
    tm new-session -d -s t -x 160 -y 30 "cd '$T' && $*; echo EXIT=\$?; sleep 60" ||
        fail "tmux could not start"
}
screen() { tm capture-pane -p -t t; }
wait_for() {
    local i
    for i in $(seq $((${2:-10} * 10))); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    fail "the screen never showed [$1]; it shows:
$(screen)"
}
cleanup_tmux() { tm kill-server 2>/dev/null; true; }

# A script that keeps the main thread and two Deferred workers busy (three sampled threads).
# Each task waits for the other to start (meet.rb), so each worker runs one.
three_threads_script() {
    cat >"$T/three.rb" <<'EOF'
Deferred.pool_size = 2
Deferred.load("tests/scripts/deferred/meet.rb")
def spin(ms) = (t = Time.now; x = 0; x += 1 while (Time.now - t) * 1000 < ms; x)
Profiler.start_profiling(hz: 1000) if ARGV[0]
m = "#{__FILE__}.#{Process.pid}" # fresh meeting files for each run
d = Deferred.all([Deferred.new("#{m}.a", "#{m}.b") { |a, b| meet(a, b); spin(200) },
                  Deferred.new("#{m}.b", "#{m}.a") { |a, b| meet(a, b); spin(200) }])
spin(150)
d.value
if ARGV[0]
  Profiler.stop_profiling
  p Profiler.get_profile.save(ARGV[0])
end
EOF
}

# samples_of FILE: the sample count in mrprof report's header.
samples_of() { $MRPROF report "$1" --top 0 | sed -n 's/.* \([0-9][0-9]*\) samples.*/\1/p' | head -1; }
# thread_of FILE: the thread a .cpuprofile holds.
thread_of() { grep -o '"thread":"[^"]*"' "$1" | head -1 | sed 's/"thread":"\(.*\)"/\1/'; }

# 18.7: `s` in view on a 3-thread trace writes every thread (one .cpuprofile per thread, as
# --cpu-prof does) and says what it wrote; it wrote the main thread's samples alone.
t_view_save_writes_every_thread() {
    trap cleanup_tmux EXIT
    three_threads_script
    run $MRUN --cpu-prof --prof-out "$T/t.json" "$T/three.rb"
    expect_rc 0
    local total
    total=$(samples_of "$T/t.json")
    [ "$total" -gt 0 ] || fail "no samples in the trace"
    tui_in_t "LANG=C.UTF-8 $MRPROF view t.json"
    wait_for "1 Top"
    tm send-keys -t t s
    wait_for "saved $total samples in 3 files"
    local main=$(ls "$T"/mrprof-*.cpuprofile | grep -v thread- | head -1)
    [ -n "$main" ] || fail "no file saved: $(ls "$T")"
    local base=${main%.cpuprofile} sum=0 f n
    [ "$(thread_of "$main")" = main ] || fail "$main holds thread $(thread_of "$main")"
    for n in 1 2; do
        f=$base.thread-$n.cpuprofile
        expect_file "$f"
        [ "$(thread_of "$f")" = "Deferred worker $n" ] || fail "$f holds thread $(thread_of "$f")"
    done
    for f in "$main" "$base".thread-*.cpuprofile; do
        sum=$((sum + $(samples_of "$f")))
    done
    [ "$sum" = "$total" ] || fail "the saved files hold $sum samples, the trace $total"
}

# 18.7 and 18.12: Profile#save writes every thread and returns the paths; NAME.thread-N holds
# "Deferred worker N" (in --cpu-prof's files too).
t_profile_save_writes_every_thread() {
    three_threads_script
    run $MRUN "$T/three.rb" "$T/s.cpuprofile"
    expect_rc 0
    expect_out "[\"$T/s.cpuprofile\", \"$T/s.thread-1.cpuprofile\", \"$T/s.thread-2.cpuprofile\"]"
    [ "$(thread_of "$T/s.cpuprofile")" = main ] || fail "s.cpuprofile holds $(thread_of "$T/s.cpuprofile")"
    local n
    for n in 1 2; do
        [ "$(thread_of "$T/s.thread-$n.cpuprofile")" = "Deferred worker $n" ] ||
            fail "s.thread-$n.cpuprofile holds $(thread_of "$T/s.thread-$n.cpuprofile")"
    done
    run $MRUN --cpu-prof --prof-out "$T/c.cpuprofile" "$T/three.rb"
    expect_rc 0
    for n in 1 2; do
        [ "$(thread_of "$T/c.thread-$n.cpuprofile")" = "Deferred worker $n" ] ||
            fail "c.thread-$n.cpuprofile holds $(thread_of "$T/c.thread-$n.cpuprofile")"
        expect_err_has "c.thread-$n.cpuprofile ("
        expect_err_has "thread Deferred worker $n)"
    done
}

# 18.8: the memory view reads the counters of a recorded trace (it said "no memory counters").
t_memory_view_reads_a_recorded_trace() {
    run $MRPROF record --memory -f trace -o "$T/m.json" -- tests/scripts/gc_stress.rb
    expect_rc 0
    run $MRPROF view "$T/m.json" --once --view memory --size 100x20
    expect_rc 0
    local k
    for k in "RSS " "in use (sampled)" "allocated " "live objects"; do
        printf '%s\n' "$out" | grep -F " $k" | grep -qE ' [0-9.]+[A-Za-z]* +[0-9.]+[A-Za-z]* +[▁▂▃▄▅▆▇█]+$' ||
            fail "the memory view lacks the counter [$k]: $out"
    done
    expect_out_has "no allocation samples in this file"
}

# A trace written by another tool: counters out of time order and with several series in one
# event ("NAME KEY", as Perfetto names them) are read, sorted, and drawn.
t_memory_view_reads_foreign_counters() {
    cat >"$T/c.json" <<'EOF'
{"traceEvents":[
{"ph":"M","name":"thread_name","pid":1,"tid":1,"args":{"name":"main"}},
{"ph":"P","name":"Profile","id":"0x1","pid":1,"tid":1,"ts":1000,"args":{"data":{"startTime":1000}}},
{"ph":"P","name":"ProfileChunk","id":"0x1","pid":1,"tid":1,"ts":1000,"args":{"data":{"cpuProfile":{"nodes":[{"id":1,"callFrame":{"functionName":"(root)","url":"","scriptId":0,"lineNumber":-1,"columnNumber":-1}},{"id":2,"parent":1,"callFrame":{"functionName":"work","url":"w.js","scriptId":1,"lineNumber":3,"columnNumber":0}}],"samples":[2,2,2]},"timeDeltas":[100,1000,1000]}}},
{"ph":"C","name":"RSS bytes","pid":1,"tid":1,"ts":3000,"args":{"value":20971520}},
{"ph":"C","name":"RSS bytes","pid":1,"tid":1,"ts":1000,"args":{"value":5242880}},
{"ph":"C","name":"heap","pid":1,"tid":1,"ts":2000,"args":{"used":5,"total":9,"note":"x"}},
{"ph":"C","name":"RSS bytes","pid":1,"tid":1,"ts":2000,"args":{"value":10485760}}
]}
EOF
    run $MRPROF view "$T/c.json" --once --view memory --size 100x12
    expect_rc 0
    printf '%s\n' "$out" | grep -qE '^ RSS +20MB +20MB ' || fail "RSS: last and peak should be the 20 MB read last in time: $out"
    printf '%s\n' "$out" | grep -qE '^ RSS +20MB +20MB +▂+▄+█$' ||
        fail "RSS's sparkline should rise in time order: $out"
}

# 18.7 sweep: convert of a 3-thread trace to .cpuprofile wrote the first thread alone and said
# nothing; it writes every thread as --cpu-prof does and lists the files.
t_convert_to_cpuprofile_writes_every_thread() {
    three_threads_script
    run $MRUN --cpu-prof --prof-out "$T/t.json" "$T/three.rb"
    expect_rc 0
    local total sum=0 f
    total=$(samples_of "$T/t.json")
    run $MRPROF convert "$T/t.json" "$T/c.cpuprofile"
    expect_rc 0
    expect_err_has "a .cpuprofile holds one thread; wrote 3 files: $T/c.cpuprofile (main, "
    expect_err_has "$T/c.thread-2.cpuprofile (Deferred worker 2, "
    for f in "$T/c.cpuprofile" "$T/c.thread-1.cpuprofile" "$T/c.thread-2.cpuprofile"; do
        sum=$((sum + $(samples_of "$f")))
    done
    [ "$sum" = "$total" ] || fail "the converted files hold $sum samples, the trace $total"
    run $MRPROF convert "$T/t.json" "$T/one.cpuprofile" --thread 2
    expect_rc 0; expect_file "$T/one.cpuprofile"
    [ ! -e "$T/one.thread-1.cpuprofile" ] || fail "--thread 2 wrote other threads too"
    run $MRPROF convert "$T/t.json" "$T/x.folded" --thread 1
    expect_rc 2; expect_err_has "--thread picks the one thread a .cpuprofile holds; collapsed holds every thread"
}

run_tests
